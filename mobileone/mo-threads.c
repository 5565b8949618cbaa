/* mobileone-gst engine: thread pool. Workers sleep on a condition variable
 * between inferences and spin (then yield) on a barrier between layers, where
 * waits are microseconds long. */
#include "mo-threads.h"

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

struct _MoThreadPool
{
  int n;
  GThread **threads;
  Local *local;
  GMutex lock;
  GCond start;
  GCond done;
  guint64 generation;
  int pending;
  gboolean quit;
  MoTaskFunc func;
  gpointer data;
  gint barrier_count;
  gint barrier_sense;
};

typedef struct
{
  MoThreadPool *pool;
  int ith;
} Worker;

static gpointer
worker_main (gpointer user)
{
  Worker *w = user;
  MoThreadPool *p = w->pool;
  int ith = w->ith;
  guint64 seen = 0;

  g_free (w);
  for (;;) {
    g_mutex_lock (&p->lock);
    while (p->generation == seen && !p->quit)
      g_cond_wait (&p->start, &p->lock);
    if (p->quit) {
      g_mutex_unlock (&p->lock);
      break;
    }
    seen = p->generation;
    MoTaskFunc func = p->func;
    gpointer data = p->data;
    g_mutex_unlock (&p->lock);

    func (data, ith, p->n);

    g_mutex_lock (&p->lock);
    if (--p->pending == 0)
      g_cond_signal (&p->done);
    g_mutex_unlock (&p->lock);
  }
  return NULL;
}

MoThreadPool *
mo_thread_pool_new (int n_threads)
{
  MoThreadPool *p = g_new0 (MoThreadPool, 1);

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

void
mo_thread_pool_free (MoThreadPool *p)
{
  if (p == NULL)
    return;
  g_mutex_lock (&p->lock);
  p->quit = TRUE;
  g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n; i++)
    g_thread_join (p->threads[i]);
  g_free (p->threads);
  g_free (p->local);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->start);
  g_cond_clear (&p->done);
  g_free (p);
}

int
mo_thread_pool_size (const MoThreadPool *p)
{
  return p->n;
}

void
mo_thread_pool_run (MoThreadPool *p, MoTaskFunc func, gpointer data)
{
  if (p->n == 1) {
    func (data, 0, 1);
    return;
  }
  g_mutex_lock (&p->lock);
  p->func = func;
  p->data = data;
  p->pending = p->n - 1;
  p->generation++;
  g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);

  func (data, 0, p->n);

  g_mutex_lock (&p->lock);
  while (p->pending > 0)
    g_cond_wait (&p->done, &p->lock);
  g_mutex_unlock (&p->lock);
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
