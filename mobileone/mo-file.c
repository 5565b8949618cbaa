/* mobileone-gst engine: bounded file reading and atomic file writing. */
#include "mo-file.h"
#include "mo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

gboolean
mo_file_read_all (const char *path, const char *what, gsize max_bytes,
    char **contents, gsize *len, GError **error)
{
  struct stat sb;
  char *buf;
  gsize got = 0;
  int fd, errsv;

  *contents = NULL;
  if (len)
    *len = 0;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer, forever. It changes nothing for a regular file. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0) {
    errsv = errno;
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot open %s: %s", path,
        what, g_strerror (errsv));
    return FALSE;
  }
  if (fstat (fd, &sb) != 0) {
    errsv = errno;
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot stat %s: %s", path,
        what, g_strerror (errsv));
    return FALSE;
  }
  if (!S_ISREG (sb.st_mode)) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: the %s is %s, not a "
        "regular file", path, what, file_kind (sb.st_mode));
    return FALSE;
  }
  if ((guint64) sb.st_size > max_bytes) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: the %s is %" G_GUINT64_FORMAT
        " bytes, more than the limit of %" G_GSIZE_FORMAT " (docs/security.md)",
        path, what, (guint64) sb.st_size, max_bytes);
    return FALSE;
  }
  /* One byte more than the limit shows a file that grew since fstat. */
  buf = g_malloc ((gsize) sb.st_size + 2);
  while (got <= (gsize) sb.st_size) {
    ssize_t n = read (fd, buf + got, (gsize) sb.st_size + 1 - got);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0) {
      errsv = errno;
      close (fd);
      g_free (buf);
      g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot read %s: %s",
          path, what, g_strerror (errsv));
      return FALSE;
    }
    if (n == 0)
      break;
    got += (gsize) n;
  }
  close (fd);
  if (got > (gsize) sb.st_size) {
    g_free (buf);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: the %s grew while it was "
        "read", path, what);
    return FALSE;
  }
  buf[got] = '\0';
  *contents = buf;
  if (len)
    *len = got;
  return TRUE;
}
