/* mobileone-gst engine: thread pool. Between inferences a worker first
 * spins for up to SPIN_US on the job counter (back-to-back inferences, a
 * batch or a benchmark, start without a futex wake-up, which costs tens of
 * microseconds on a VM), then sleeps on a condition variable; the caller
 * waits for the workers the same way. Between layers threads spin (then
 * yield) on a barrier, where waits are microseconds long.
 *
 * A pool runs one task at a time; callers of several threads (the sessions
 * sharing the process-wide pool) take tickets and run in arrival order, so
 * that none is starved by one that loops back faster. */
#include "mo-threads.h"

#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause ()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__ ("yield")
#else
#define cpu_relax() do { } while (0)
#endif

/* Per-thread state on its own cache line: threads flipping their barrier
 * sense must not invalidate each other's lines. */
typedef struct
{
  int sense;
  char pad[64 - sizeof (int)];
} Local;

/* How long a thread spins for the next job (or for the workers to finish)
 * before it sleeps: long enough for a caller's loop to come back, short
 * against a video frame period. */
#define SPIN_US 100

struct _MoThreadPool
{
  gint ref_count;               /* atomic */
  gboolean shared;              /* the process-wide pool */
  int n;
  GThread **threads;
  Local *local;
  GMutex lock;
  GCond start;
  GCond done;
  gint generation;              /* atomic; written under lock */
  gint pending;                 /* atomic */
  gint quit;                    /* atomic; written under lock */
  gint sleepers;                /* workers in g_cond_wait, under lock;
                                 * atomic too, so that ThreadSanitizer (which
                                 * cannot see GLib's futex mutex) sees the
                                 * ordering */
  MoTaskFunc func;
  gpointer data;
  gint barrier_count;
  gint barrier_sense;
  /* Turns between callers: a ticket each, served in order. Atomics for
   * ThreadSanitizer as above; the lock and condition only put waiters to
   * sleep. */
  GMutex turn_lock;
  GCond turn_cond;
  gint next_ticket;             /* atomic */
  gint serving;                 /* atomic */
};

/* The process-wide pool: a weak pointer, set while some session holds a
 * reference, under shared_lock (which also guards the last unref). A
 * pthread mutex, which ThreadSanitizer sees, unlike GLib's futex GMutex:
 * the pool made by one thread is published to the others through it. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static MoThreadPool *shared_pool;

typedef struct
{
  MoThreadPool *pool;
  int ith;
} Worker;

/* Spins until (*@v == @value) == @equal or about SPIN_US have passed;
 * TRUE if the condition came true. */
static gboolean
spin_until (gint *v, gint value, gboolean equal)
{
  gint64 t0 = 0;

  for (int i = 1;; i++) {
    if ((g_atomic_int_get (v) == value) == equal)
      return TRUE;
    cpu_relax ();
    if (i % 64 == 0) {
      gint64 t = g_get_monotonic_time ();
      if (t0 == 0)
        t0 = t;
      else if (t - t0 > SPIN_US)
        return FALSE;
    }
  }
}

static gpointer
worker_main (gpointer user)
{
  Worker *w = user;
  MoThreadPool *p = w->pool;
  int ith = w->ith;
  gint seen = 0;

  g_free (w);
  for (;;) {
    spin_until (&p->generation, seen, FALSE);
    g_mutex_lock (&p->lock);
    while (g_atomic_int_get (&p->generation) == seen
        && !g_atomic_int_get (&p->quit)) {
      g_atomic_int_inc (&p->sleepers);
      g_cond_wait (&p->start, &p->lock);
      g_atomic_int_add (&p->sleepers, -1);
    }
    if (g_atomic_int_get (&p->quit)) {
      g_mutex_unlock (&p->lock);
      break;
    }
    seen = g_atomic_int_get (&p->generation);
    MoTaskFunc func = p->func;
    gpointer data = p->data;
    g_mutex_unlock (&p->lock);

    func (data, ith, p->n);

    if (g_atomic_int_dec_and_test (&p->pending)) {
      g_mutex_lock (&p->lock);
      g_cond_signal (&p->done);
      g_mutex_unlock (&p->lock);
    }
  }
  return NULL;
}

MoThreadPool *
mo_thread_pool_new (int n_threads)
{
  MoThreadPool *p = g_new0 (MoThreadPool, 1);

  p->ref_count = 1;
  g_mutex_init (&p->turn_lock);
  g_cond_init (&p->turn_cond);
  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  p->n = CLAMP (n_threads, 1, 256);
  p->local = g_new0 (Local, p->n);
  g_mutex_init (&p->lock);
  g_cond_init (&p->start);
  g_cond_init (&p->done);
  p->threads = g_new0 (GThread *, p->n);
  for (int i = 1; i < p->n; i++) {
    Worker *w = g_new (Worker, 1);
    w->pool = p;
    w->ith = i;
    p->threads[i] = g_thread_new ("mobileone", worker_main, w);
  }
  return p;
}

MoThreadPool *
mo_thread_pool_shared (void)
{
  MoThreadPool *p;

  pthread_mutex_lock (&shared_lock);
  if (shared_pool != NULL) {
    p = mo_thread_pool_ref (shared_pool);
  } else {
    p = shared_pool = mo_thread_pool_new (0);
    p->shared = TRUE;
  }
  pthread_mutex_unlock (&shared_lock);
  return p;
}

MoThreadPool *
mo_thread_pool_ref (MoThreadPool *p)
{
  g_atomic_int_inc (&p->ref_count);
  return p;
}

static void
destroy (MoThreadPool *p)
{
  g_mutex_lock (&p->lock);
  g_atomic_int_set (&p->quit, TRUE);
  g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n; i++)
    g_thread_join (p->threads[i]);
  g_free (p->threads);
  g_free (p->local);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->start);
  g_cond_clear (&p->done);
  g_mutex_clear (&p->turn_lock);
  g_cond_clear (&p->turn_cond);
  g_free (p);
}

void
mo_thread_pool_unref (MoThreadPool *p)
{
  gboolean last;

  if (p == NULL)
    return;
  if (!p->shared) {
    if (g_atomic_int_dec_and_test (&p->ref_count))
      destroy (p);
    return;
  }
  /* Under the lock: mo_thread_pool_shared() must not hand out a reference
   * to a pool whose last one is going. */
  pthread_mutex_lock (&shared_lock);
  last = g_atomic_int_dec_and_test (&p->ref_count);
  if (last)
    shared_pool = NULL;
  pthread_mutex_unlock (&shared_lock);
  if (last)
    destroy (p);
}

void
mo_thread_pool_free (MoThreadPool *p)
{
  mo_thread_pool_unref (p);
}

int
mo_thread_pool_size (const MoThreadPool *p)
{
  return p->n;
}

/* Waits until it is this caller's turn to use the workers. */
static void
take_turn (MoThreadPool *p)
{
  gint ticket = g_atomic_int_add (&p->next_ticket, 1);

  if (g_atomic_int_get (&p->serving) == ticket)
    return;
  g_mutex_lock (&p->turn_lock);
  while (g_atomic_int_get (&p->serving) != ticket)
    g_cond_wait (&p->turn_cond, &p->turn_lock);
  g_mutex_unlock (&p->turn_lock);
}

static void
end_turn (MoThreadPool *p)
{
  g_mutex_lock (&p->turn_lock);
  g_atomic_int_inc (&p->serving);
  g_cond_broadcast (&p->turn_cond);
  g_mutex_unlock (&p->turn_lock);
}

void
mo_thread_pool_run (MoThreadPool *p, MoTaskFunc func, gpointer data)
{
  /* One thread has no workers to share: callers run side by side. */
  if (p->n == 1) {
    func (data, 0, 1);
    return;
  }
  take_turn (p);
  g_mutex_lock (&p->lock);
  p->func = func;
  p->data = data;
  g_atomic_int_set (&p->pending, p->n - 1);
  g_atomic_int_inc (&p->generation);
  if (g_atomic_int_get (&p->sleepers) > 0)
    g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);

  func (data, 0, p->n);

  if (!spin_until (&p->pending, 0, TRUE)) {
    g_mutex_lock (&p->lock);
    while (g_atomic_int_get (&p->pending) > 0)
      g_cond_wait (&p->done, &p->lock);
    g_mutex_unlock (&p->lock);
  }
  end_turn (p);
}

void
mo_thread_pool_barrier (MoThreadPool *p, int ith)
{
  if (p->n == 1)
    return;
  int sense = !p->local[ith].sense;
  p->local[ith].sense = sense;
  if (g_atomic_int_add (&p->barrier_count, 1) == p->n - 1) {
    g_atomic_int_set (&p->barrier_count, 0);
    g_atomic_int_set (&p->barrier_sense, sense);
    return;
  }
  /* Spin briefly, then yield so an oversubscribed machine still progresses. */
  for (int spins = 0; g_atomic_int_get (&p->barrier_sense) != sense; spins++) {
    if (spins < 4000)
      cpu_relax ();
    else
      g_thread_yield ();
  }
}
