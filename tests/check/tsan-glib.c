/* mobileone-gst: GLib's futex locks made visible to ThreadSanitizer, for the
 * element tests of a -Db_sanitize=thread build (docs/security.md).
 *
 * GLib (Debian 12: 2.74) implements GMutex and GCond on bare futexes, which
 * TSan cannot see: a buffer written by one streaming thread and read by the
 * next after a queue (GstQueue hands it over under a GMutex and a GCond)
 * would be reported as a race in our code. GRecMutex and GRWLock are pthread
 * locks and need nothing. These wrappers, linked into each test program,
 * take the place of GLib's functions for every call that crosses a library
 * boundary (GStreamer, its plugins, ours, the test itself; GLib calls its
 * own functions directly), call GLib's and tell TSan about the
 * happens-before edge: a release of the lock's address before it is
 * unlocked, an acquire after it is locked. GAsyncQueue (GstHarness's
 * buffer queues) locks inside GLib, so its push and pop are wrapped the same
 * way.
 *
 * Nothing here changes what the locks do: they stay GLib's. It only orders
 * memory for TSan; races in code that takes no lock at all are still
 * reported. */
#include <glib.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sanitizer/tsan_interface.h>

/* GLib's function @name; resolved on first use, since GLib and GObject call
 * some of them from their own constructors, before this program's run. Two
 * threads may both look one up: they store the same pointer. */
static void *
real (void **slot, const char *name)
{
  void *f = __atomic_load_n (slot, __ATOMIC_ACQUIRE);

  if (f == NULL) {
    f = dlsym (RTLD_NEXT, name);
    if (f == NULL) {
      fprintf (stderr, "tsan-glib: %s not found after the test program\n",
          name);
      abort ();
    }
    __atomic_store_n (slot, f, __ATOMIC_RELEASE);
  }
  return f;
}

/* REAL (name) is GLib's name (), with name's type. */
#define REAL(name) ((__typeof__ (&name)) real (&real_##name, #name))

static void *real_g_mutex_lock, *real_g_mutex_trylock, *real_g_mutex_unlock;
static void *real_g_cond_wait, *real_g_cond_wait_until;
static void *real_g_async_queue_push, *real_g_async_queue_push_front;
static void *real_g_async_queue_pop, *real_g_async_queue_try_pop;
static void *real_g_async_queue_timeout_pop;

void
g_mutex_lock (GMutex * mutex)
{
  REAL (g_mutex_lock) (mutex);
  __tsan_acquire (mutex);
}

gboolean
g_mutex_trylock (GMutex * mutex)
{
  if (!REAL (g_mutex_trylock) (mutex))
    return FALSE;
  __tsan_acquire (mutex);
  return TRUE;
}

void
g_mutex_unlock (GMutex * mutex)
{
  __tsan_release (mutex);
  REAL (g_mutex_unlock) (mutex);
}

/* The mutex is let go while waiting and taken again on return. */
void
g_cond_wait (GCond * cond, GMutex * mutex)
{
  __tsan_release (mutex);
  REAL (g_cond_wait) (cond, mutex);
  __tsan_acquire (mutex);
}

gboolean
g_cond_wait_until (GCond * cond, GMutex * mutex, gint64 end_time)
{
  gboolean signalled;

  __tsan_release (mutex);
  signalled = REAL (g_cond_wait_until) (cond, mutex, end_time);
  __tsan_acquire (mutex);
  return signalled;
}

void
g_async_queue_push (GAsyncQueue * queue, gpointer data)
{
  __tsan_release (queue);
  REAL (g_async_queue_push) (queue, data);
}

void
g_async_queue_push_front (GAsyncQueue * queue, gpointer data)
{
  __tsan_release (queue);
  REAL (g_async_queue_push_front) (queue, data);
}

gpointer
g_async_queue_pop (GAsyncQueue * queue)
{
  gpointer data = REAL (g_async_queue_pop) (queue);

  __tsan_acquire (queue);
  return data;
}

gpointer
g_async_queue_try_pop (GAsyncQueue * queue)
{
  gpointer data = REAL (g_async_queue_try_pop) (queue);

  if (data != NULL)
    __tsan_acquire (queue);
  return data;
}

gpointer
g_async_queue_timeout_pop (GAsyncQueue * queue, guint64 timeout)
{
  gpointer data = REAL (g_async_queue_timeout_pop) (queue, timeout);

  if (data != NULL)
    __tsan_acquire (queue);
  return data;
}
