/* mobileone-gst engine: atomic file writing. */
#include "mo-file.h"
#include "mo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* write() moves at most about 2 GiB at once on Linux. */
#define WRITE_CHUNK ((size_t) 1 << 30)

static gboolean
fail (MoFileWriter *fw, GError **error)
{
  int errsv = errno;
  g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot write: %s",
      fw->path, g_strerror (errsv));
  mo_file_writer_abort (fw);
  return FALSE;
}

gboolean
mo_file_writer_open (MoFileWriter *fw, const char *path, GError **error)
{
  fw->path = path;
  /* Same directory as @path so that the rename cannot cross filesystems. */
  fw->tmp = g_strdup_printf ("%s.XXXXXX", path);
  fw->fd = g_mkstemp_full (fw->tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fw->fd < 0) {
    int errsv = errno;
    g_set_error (error, MO_ERROR, MO_ERROR_IO,
        "%s: cannot create a temporary file next to it: %s", path,
        g_strerror (errsv));
    g_clear_pointer (&fw->tmp, g_free);
    return FALSE;
  }
  return TRUE;
}

gboolean
mo_file_writer_write (MoFileWriter *fw, const void *buf, size_t len,
    GError **error)
{
  const guint8 *p = buf;

  while (len > 0) {
    ssize_t n = write (fw->fd, p, MIN (len, WRITE_CHUNK));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail (fw, error);
    }
    if (n == 0) {
      errno = EIO;
      return fail (fw, error);
    }
    p += n;
    len -= (size_t) n;
  }
  return TRUE;
}

gboolean
mo_file_writer_commit (MoFileWriter *fw, GError **error)
{
  /* Without the fsync a crash right after the rename can leave an empty
   * file under the final name. */
  if (fsync (fw->fd) != 0)
    return fail (fw, error);
  int rc = close (fw->fd);
  fw->fd = -1;
  if (rc != 0 || g_rename (fw->tmp, fw->path) != 0)
    return fail (fw, error);
  g_clear_pointer (&fw->tmp, g_free);
  return TRUE;
}

void
mo_file_writer_abort (MoFileWriter *fw)
{
  if (fw->fd >= 0)
    close (fw->fd);
  fw->fd = -1;
  if (fw->tmp != NULL)
    g_unlink (fw->tmp);
  g_clear_pointer (&fw->tmp, g_free);
}
