/* mobileone-gst engine: a fixed thread pool with a spin barrier, created
 * once (per session, or once per process for the shared pool) so that no
 * thread is ever created per inference. A pool runs one task at a time:
 * callers from several threads (sessions sharing the pool) take turns in
 * arrival order. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoThreadPool MoThreadPool;

/** MoTaskFunc: runs on every thread; @ith in [0, @nth), 0 is the caller. */
typedef void (*MoTaskFunc) (gpointer data, int ith, int nth);

/** mo_thread_pool_new: @n_threads in total, the caller included (0 = all cores). */
MoThreadPool *mo_thread_pool_new (int n_threads);

/**
 * mo_thread_pool_shared: a new reference to the process-wide pool of one
 * thread per core, created on first use and stopped when its last reference
 * goes. Sessions holding it take turns, so that any number of them never
 * run more threads than there are cores.
 */
MoThreadPool *mo_thread_pool_shared (void);

/** mo_thread_pool_ref: adds a reference. */
MoThreadPool *mo_thread_pool_ref (MoThreadPool * pool);

/** mo_thread_pool_unref: drops a reference; the last stops and joins the workers. NULL is allowed. */
void mo_thread_pool_unref (MoThreadPool * pool);

/** mo_thread_pool_free: the same as mo_thread_pool_unref(). */
void mo_thread_pool_free (MoThreadPool * pool);

/** mo_thread_pool_size: the number of threads, the caller included. */
int mo_thread_pool_size (const MoThreadPool * pool);

/**
 * mo_thread_pool_run: runs @func on every thread and returns when all are
 * done. Thread-safe: while another caller's task runs, it waits its turn
 * (first come, first served).
 */
void mo_thread_pool_run (MoThreadPool * pool, MoTaskFunc func, gpointer data);

/** mo_thread_pool_barrier: called by every thread of a running task; returns when all arrived. */
void mo_thread_pool_barrier (MoThreadPool * pool, int ith);

G_END_DECLS
