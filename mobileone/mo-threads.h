/* mobileone-gst engine: a fixed thread pool with a spin barrier, created once
 * per session so that no thread is ever created per inference. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoThreadPool MoThreadPool;

/** MoTaskFunc: runs on every thread; @ith in [0, @nth), 0 is the caller. */
typedef void (*MoTaskFunc) (gpointer data, int ith, int nth);

/** mo_thread_pool_new: @n_threads in total, the caller included (0 = all cores). */
MoThreadPool *mo_thread_pool_new (int n_threads);

/** mo_thread_pool_free: stops and joins the workers; NULL is allowed. */
void mo_thread_pool_free (MoThreadPool * pool);

/** mo_thread_pool_size: the number of threads, the caller included. */
int mo_thread_pool_size (const MoThreadPool * pool);

/** mo_thread_pool_run: runs @func on every thread and returns when all are done. */
void mo_thread_pool_run (MoThreadPool * pool, MoTaskFunc func, gpointer data);

/** mo_thread_pool_barrier: called by every thread of a running task; returns when all arrived. */
void mo_thread_pool_barrier (MoThreadPool * pool, int ith);

G_END_DECLS
