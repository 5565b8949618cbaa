/* mobileone-gst engine: a fixed thread pool, created once (per session, or
 * once per process for the shared pool) so that no thread is ever created
 * per inference.
 *
 * A pool of N has N tokens: one per thread that may compute at once, the
 * callers' own threads included, and N - 1 workers. A caller takes 1 to
 * N tokens (mo_thread_pool_acquire), runs a task on its own thread and
 * that many - 1 workers (mo_thread_pool_run_n) and gives them back. Callers
 * of several threads (the sessions sharing the process-wide pool) are
 * served in arrival order, each granted its share of the tokens: N divided
 * by the sessions that ran recently, at least 1. So one stream gets every
 * core, and N streams each get one thread and run side by side, never more
 * threads computing than tokens. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoThreadPool MoThreadPool;

/** MoTaskFunc: runs on every thread of a task; @ith in [0, @nth), 0 is the caller. */
typedef void (*MoTaskFunc) (gpointer data, int ith, int nth);

/**
 * MoBarrier: a spin barrier for the threads of one task, owned by its user
 * (a session runs one task at a time), so that tasks of one pool running
 * at once each have their own; initialise with mo_barrier_init().
 */
typedef struct
{
  gint count;                   /* atomic */
  gint generation;              /* atomic */
} MoBarrier;

/** mo_barrier_init: an empty barrier. */
void mo_barrier_init (MoBarrier * b);

/** mo_barrier_wait: called by every thread @ith of a task of @nth threads; returns when all arrived. */
void mo_barrier_wait (MoBarrier * b, int ith, int nth);

/** mo_thread_pool_new: @n_threads tokens, the caller included (0 = all cores). */
MoThreadPool *mo_thread_pool_new (int n_threads);

/**
 * mo_thread_pool_shared: a new reference to the process-wide pool of one
 * token per core, created on first use and stopped when its last reference
 * goes.
 */
MoThreadPool *mo_thread_pool_shared (void);

/** mo_thread_pool_ref: adds a reference. */
MoThreadPool *mo_thread_pool_ref (MoThreadPool * pool);

/** mo_thread_pool_unref: drops a reference; the last stops and joins the workers. NULL is allowed. */
void mo_thread_pool_unref (MoThreadPool * pool);

/** mo_thread_pool_free: the same as mo_thread_pool_unref(). */
void mo_thread_pool_free (MoThreadPool * pool);

/** mo_thread_pool_size: the number of tokens (the most threads of one task). */
int mo_thread_pool_size (const MoThreadPool * pool);

/**
 * mo_thread_pool_acquire: waits for its turn (arrival order) and at least
 * one free token, then takes up to @want: @owner's share (the pool's size
 * divided by the owners that acquired in the last 100 ms) of what is free.
 * Returns how many it took; give them back with mo_thread_pool_release().
 * Thread-safe; allocates nothing.
 */
int mo_thread_pool_acquire (MoThreadPool * pool, gconstpointer owner,
    int want);

/** mo_thread_pool_release: gives back @n tokens taken by mo_thread_pool_acquire(). */
void mo_thread_pool_release (MoThreadPool * pool, int n);

/**
 * mo_thread_pool_run_n: runs @func on the calling thread and @n - 1 workers
 * (@n tokens the caller holds) and returns when all are done.
 */
void mo_thread_pool_run_n (MoThreadPool * pool, int n, MoTaskFunc func,
    gpointer data);

G_END_DECLS
