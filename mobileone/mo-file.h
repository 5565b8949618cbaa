/* mobileone-gst engine: reading a small file safely (model descriptions,
 * labels) and writing a file atomically (temporary file next to it, fsync,
 * rename), shared by the safetensors and npy writers. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *path;
  char *tmp;
  int fd;
} MoFileWriter;

/** mo_file_writer_open: creates the temporary file next to @path. */
gboolean mo_file_writer_open (MoFileWriter * fw, const char *path,
    GError ** error);

/** mo_file_writer_write: appends @len bytes; on failure the file is removed. */
gboolean mo_file_writer_write (MoFileWriter * fw, const void *buf, size_t len,
    GError ** error);

/** mo_file_writer_commit: syncs, closes and renames to the final path. */
gboolean mo_file_writer_commit (MoFileWriter * fw, GError ** error);

/** mo_file_writer_abort: removes the temporary file (after any failure it is already gone). */
void mo_file_writer_abort (MoFileWriter * fw);

/**
 * mo_file_read_all: reads the regular file @path of at most @max_bytes into
 * a NUL-terminated g_malloc'd buffer. A FIFO, device or directory is refused
 * without blocking, and every message names @path, @what ("model
 * description", "labels file") and the real cause (no such file, a loop of
 * symbolic links, permission denied, too large).
 */
gboolean mo_file_read_all (const char *path, const char *what,
    gsize max_bytes, char **contents, gsize * len, GError ** error);

G_END_DECLS
