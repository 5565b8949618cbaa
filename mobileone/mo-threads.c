/* mobileone-gst engine: thread pool (see mo-threads.h for the tokens).
 *
 * Between jobs a worker first spins for up to SPIN_US on its job counter
 * (back-to-back inferences, a batch or a benchmark, start without a futex
 * wake-up, which costs tens of microseconds on a VM), then sleeps on its
 * condition variable; a caller waits for its workers the same way. Between
 * layers threads spin (then yield) on the task's barrier, where waits are
 * microseconds long.
 *
 * The pool's lock is a pthread mutex, which ThreadSanitizer sees (GLib's
 * GMutex is a bare futex it cannot see): what one thread writes under it
 * (a job, the idle list, the tokens) is ordered for the others. */
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

/* How long a thread spins for the next job (or for the workers to finish)
 * before it sleeps: long enough for a caller's loop to come back, short
 * against a video frame period. */
#define SPIN_US 100

/* Owners that acquired within this window share the tokens. */
#define RECENT_US 100000
#define MAX_OWNERS 64

typedef struct
{
  gconstpointer owner;
  gint64 time;
} Recent;

typedef struct _Worker Worker;

struct _Worker
{
  MoThreadPool *pool;
  GThread *thread;
  pthread_cond_t wake;
  gint generation;              /* atomic: bumped for each job */
  gint sleeping;                /* atomic, written under the pool lock */
  /* the job, written under the pool lock before generation moves */
  MoTaskFunc func;
  gpointer data;
  int ith, nth;
  gint *pending;
};

struct _MoThreadPool
{
  gint ref_count;               /* atomic */
  gboolean shared;              /* the process-wide pool */
  int n;                        /* tokens; n - 1 workers */
  Worker *workers;
  pthread_mutex_t lock;
  pthread_cond_t turn;          /* tokens freed, or the queue moved */
  pthread_cond_t done;          /* a task's workers all finished */
  gboolean quit;
  /* under lock */
  Worker **idle;
  int n_idle;
  int free;                     /* tokens */
  guint64 next_ticket, serving; /* callers served in arrival order */
  Recent recent[MAX_OWNERS];
};

/* The process-wide pool: a weak pointer, set while some session holds a
 * reference, under shared_lock (which also guards the last unref). */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static MoThreadPool *shared_pool;

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
  gint seen = 0;

  for (;;) {
    MoTaskFunc func;
    gpointer data;
    int ith, nth;
    gint *pending;

    spin_until (&w->generation, seen, FALSE);
    pthread_mutex_lock (&p->lock);
    while (g_atomic_int_get (&w->generation) == seen && !p->quit) {
      g_atomic_int_set (&w->sleeping, TRUE);
      pthread_cond_wait (&w->wake, &p->lock);
      g_atomic_int_set (&w->sleeping, FALSE);
    }
    if (p->quit) {
      pthread_mutex_unlock (&p->lock);
      break;
    }
    seen = g_atomic_int_get (&w->generation);
    func = w->func;
    data = w->data;
    ith = w->ith;
    nth = w->nth;
    pending = w->pending;
    pthread_mutex_unlock (&p->lock);

    func (data, ith, nth);

    /* Idle again before the caller can give its tokens back, so that a
     * token always finds a worker. */
    pthread_mutex_lock (&p->lock);
    p->idle[p->n_idle++] = w;
    pthread_mutex_unlock (&p->lock);
    if (g_atomic_int_dec_and_test (pending)) {
      pthread_mutex_lock (&p->lock);
      pthread_cond_broadcast (&p->done);
      pthread_mutex_unlock (&p->lock);
    }
  }
  return NULL;
}

MoThreadPool *
mo_thread_pool_new (int n_threads)
{
  MoThreadPool *p = g_new0 (MoThreadPool, 1);

  p->ref_count = 1;
  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  p->n = CLAMP (n_threads, 1, 256);
  p->free = p->n;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->turn, NULL);
  pthread_cond_init (&p->done, NULL);
  p->workers = g_new0 (Worker, p->n);
  p->idle = g_new0 (Worker *, p->n);
  for (int i = 1; i < p->n; i++) {
    Worker *w = &p->workers[i];

    w->pool = p;
    pthread_cond_init (&w->wake, NULL);
    p->idle[p->n_idle++] = w;
    w->thread = g_thread_new ("mobileone", worker_main, w);
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
  pthread_mutex_lock (&p->lock);
  p->quit = TRUE;
  for (int i = 1; i < p->n; i++)
    pthread_cond_signal (&p->workers[i].wake);
  pthread_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n; i++) {
    g_thread_join (p->workers[i].thread);
    pthread_cond_destroy (&p->workers[i].wake);
  }
  g_free (p->workers);
  g_free (p->idle);
  pthread_mutex_destroy (&p->lock);
  pthread_cond_destroy (&p->turn);
  pthread_cond_destroy (&p->done);
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

/* Notes that @owner acquires at @now; returns how many owners did within
 * RECENT_US. Under the lock. */
static int
note_owner (MoThreadPool *p, gconstpointer owner, gint64 now)
{
  Recent *slot = NULL;
  int n = 0;

  for (int i = 0; i < MAX_OWNERS; i++) {
    Recent *r = &p->recent[i];

    if (r->owner == owner)
      slot = r;
  }
  /* New: the slot used longest ago (an empty one has time 0). */
  if (slot == NULL) {
    slot = &p->recent[0];
    for (int i = 1; i < MAX_OWNERS; i++)
      if (p->recent[i].time < slot->time)
        slot = &p->recent[i];
  }
  slot->owner = owner;
  slot->time = now;
  for (int i = 0; i < MAX_OWNERS; i++)
    if (p->recent[i].owner != NULL && now - p->recent[i].time < RECENT_US)
      n++;
  return MAX (n, 1);
}

int
mo_thread_pool_acquire (MoThreadPool *p, gconstpointer owner, int want)
{
  guint64 ticket;
  int owners, k;

  want = CLAMP (want, 1, p->n);
  pthread_mutex_lock (&p->lock);
  ticket = p->next_ticket++;
  owners = note_owner (p, owner, g_get_monotonic_time ());
  while (ticket != p->serving || p->free == 0)
    pthread_cond_wait (&p->turn, &p->lock);
  k = MIN (want, MIN (p->free, MAX (1, p->n / owners)));
  p->free -= k;
  p->serving++;
  /* The next in line may find tokens left. */
  pthread_cond_broadcast (&p->turn);
  pthread_mutex_unlock (&p->lock);
  return k;
}

void
mo_thread_pool_release (MoThreadPool *p, int n)
{
  pthread_mutex_lock (&p->lock);
  p->free += n;
  g_assert (p->free <= p->n);
  pthread_cond_broadcast (&p->turn);
  pthread_mutex_unlock (&p->lock);
}

void
mo_thread_pool_run_n (MoThreadPool *p, int n, MoTaskFunc func, gpointer data)
{
  gint pending = n - 1;

  if (n <= 1) {
    func (data, 0, 1);
    return;
  }
  pthread_mutex_lock (&p->lock);
  /* Tokens held guarantee the workers (see worker_main). */
  g_assert (p->n_idle >= n - 1);
  for (int i = 1; i < n; i++) {
    Worker *w = p->idle[--p->n_idle];

    w->func = func;
    w->data = data;
    w->ith = i;
    w->nth = n;
    w->pending = &pending;
    g_atomic_int_inc (&w->generation);
    if (g_atomic_int_get (&w->sleeping))
      pthread_cond_signal (&w->wake);
  }
  pthread_mutex_unlock (&p->lock);

  func (data, 0, n);

  if (!spin_until (&pending, 0, TRUE)) {
    pthread_mutex_lock (&p->lock);
    while (g_atomic_int_get (&pending) > 0)
      pthread_cond_wait (&p->done, &p->lock);
    pthread_mutex_unlock (&p->lock);
  }
}

void
mo_barrier_init (MoBarrier *b)
{
  b->count = 0;
  b->generation = 0;
}

/* A generation count, not per-thread senses: tasks of one barrier may
 * have different numbers of threads. The generation read before arriving
 * cannot move until this thread has arrived. */
void
mo_barrier_wait (MoBarrier *b, int ith, int nth)
{
  gint gen;

  (void) ith;
  if (nth == 1)
    return;
  gen = g_atomic_int_get (&b->generation);
  if (g_atomic_int_add (&b->count, 1) == nth - 1) {
    g_atomic_int_set (&b->count, 0);
    g_atomic_int_inc (&b->generation);
    return;
  }
  /* Spin briefly, then yield so an oversubscribed machine still progresses. */
  for (int spins = 0; g_atomic_int_get (&b->generation) == gen; spins++) {
    if (spins < 4000)
      cpu_relax ();
    else
      g_thread_yield ();
  }
}
