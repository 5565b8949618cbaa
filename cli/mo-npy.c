/* mobileone-gst engine: minimal .npy reader (float32) and writer.
 *
 * A .npy file is: the magic "\x93NUMPY", a major and a minor version byte,
 * a little-endian header length (2 bytes in version 1, 4 bytes in versions
 * 2 and 3), a Python dict literal padded with spaces and ended by '\n', then
 * the raw array data. */

#include "mo-npy.h"
#include "mo-error.h"
#include "mo-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

/* numpy aligns the start of the data to this many bytes. */
#define NPY_ALIGN 64

/* read() and write() of more than SSIZE_MAX bytes are implementation-defined. */
#define NPY_IO_CHUNK ((size_t) 1 << 30)

/* Whole file into a g_malloc'd buffer. */
static gboolean
read_file (const char *path, guint8 ** buf_out, size_t * len_out,
    GError ** error)
{
  struct stat sb;
  guint8 *buf;
  size_t len, got = 0;
  int fd, errsv;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    errsv = errno;
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot open: %s", path,
        g_strerror (errsv));
    return FALSE;
  }
  if (fstat (fd, &sb) != 0) {
    errsv = errno;
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot stat: %s", path,
        g_strerror (errsv));
    return FALSE;
  }
  if (!S_ISREG (sb.st_mode)) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: not a regular file",
        path);
    return FALSE;
  }
  if ((guint64) sb.st_size >= G_MAXSIZE) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: file is too large",
        path);
    return FALSE;
  }
  len = (size_t) sb.st_size;
  buf = g_malloc (len + 1);
  while (got < len) {
    ssize_t n = read (fd, buf + got, MIN (len - got, NPY_IO_CHUNK));

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      errsv = errno;
      close (fd);
      g_free (buf);
      g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot read: %s", path,
          g_strerror (errsv));
      return FALSE;
    }
    if (n == 0)                 /* shrank since fstat: parse what is there */
      break;
    got += (size_t) n;
  }
  close (fd);
  *buf_out = buf;
  *len_out = got;
  return TRUE;
}

/* Header dict parser.  numpy writes the header with repr() of a dict, so
 * only the three keys it writes are accepted, with the literal forms repr()
 * produces (plus whitespace and trailing commas, which hand-written or
 * other writers' headers contain). */

typedef struct
{
  const char *path;
  const char *text;
  size_t pos;
  size_t len;
  GError **error;
} HeaderParser;

static gboolean
hp_fail (HeaderParser * hp, const char *what)
{
  g_set_error (hp->error, MO_ERROR, MO_ERROR_FORMAT,
      "%s: malformed .npy header at column %" G_GSIZE_FORMAT ": expected %s",
      hp->path, hp->pos + 1, what);
  return FALSE;
}

static void
hp_skip_ws (HeaderParser * hp)
{
  while (hp->pos < hp->len && g_ascii_isspace (hp->text[hp->pos]))
    hp->pos++;
}

/* Skips whitespace, then consumes @c if it is next. */
static gboolean
hp_accept (HeaderParser * hp, char c)
{
  hp_skip_ws (hp);
  if (hp->pos < hp->len && hp->text[hp->pos] == c) {
    hp->pos++;
    return TRUE;
  }
  return FALSE;
}

static gboolean
hp_expect (HeaderParser * hp, char c, const char *what)
{
  if (!hp_accept (hp, c))
    return hp_fail (hp, what);
  return TRUE;
}

/* A Python string literal in single or double quotes, into a new string.
 * Bytes outside printable ASCII come back as \xNN: every string the reader
 * accepts is plain ASCII, and the others end up in error messages, which
 * must be valid UTF-8. */
static gboolean
hp_string (HeaderParser * hp, char **out, const char *what)
{
  GString *s;
  char quote;

  hp_skip_ws (hp);
  if (hp->pos >= hp->len || (hp->text[hp->pos] != '\''
          && hp->text[hp->pos] != '"'))
    return hp_fail (hp, what);
  quote = hp->text[hp->pos++];
  s = g_string_new (NULL);
  while (hp->pos < hp->len && hp->text[hp->pos] != quote) {
    guchar c;

    /* repr() only escapes what the dtype strings never contain; keeping the
     * escaped character is enough to not end the string early. */
    if (hp->text[hp->pos] == '\\' && hp->pos + 1 < hp->len)
      hp->pos++;
    c = (guchar) hp->text[hp->pos++];
    if (c >= 0x20 && c < 0x7f)
      g_string_append_c (s, (char) c);
    else
      g_string_append_printf (s, "\\x%02x", c);
  }
  if (hp->pos >= hp->len) {
    g_string_free (s, TRUE);
    return hp_fail (hp, "a closing quote");
  }
  hp->pos++;
  *out = g_string_free (s, FALSE);
  return TRUE;
}

static gboolean
hp_word (HeaderParser * hp, const char *word)
{
  size_t n = strlen (word);

  hp_skip_ws (hp);
  if (hp->len - hp->pos < n || memcmp (hp->text + hp->pos, word, n) != 0)
    return FALSE;
  /* "Truex" is not "True". */
  if (hp->pos + n < hp->len && (g_ascii_isalnum (hp->text[hp->pos + n])
          || hp->text[hp->pos + n] == '_'))
    return FALSE;
  hp->pos += n;
  return TRUE;
}

static gboolean
hp_bool (HeaderParser * hp, gboolean * out)
{
  if (hp_word (hp, "True"))
    *out = TRUE;
  else if (hp_word (hp, "False"))
    *out = FALSE;
  else
    return hp_fail (hp, "True or False for 'fortran_order'");
  return TRUE;
}

/* A shape tuple: "()", "(3,)", "(2, 3)", "(2, 3,)"; "(3)" is an int in
 * parentheses, not a tuple, and numpy rejects it too. */
static gboolean
hp_shape (HeaderParser * hp, int *ndim, int64_t * shape)
{
  int n = 0;
  gboolean trailing_comma = FALSE;

  if (!hp_expect (hp, '(', "a shape tuple '(...)'"))
    return FALSE;
  while (!hp_accept (hp, ')')) {
    int64_t v = 0;
    gboolean any = FALSE;

    if (n > 0 && !trailing_comma)
      return hp_fail (hp, "',' or ')' in the shape tuple");
    if (n == MO_NPY_MAX_DIMS) {
      g_set_error (hp->error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: array has more than %d dimensions", hp->path, MO_NPY_MAX_DIMS);
      return FALSE;
    }
    hp_skip_ws (hp);
    while (hp->pos < hp->len && g_ascii_isdigit (hp->text[hp->pos])) {
      int digit = hp->text[hp->pos] - '0';

      if (v > (G_MAXINT64 - digit) / 10) {
        g_set_error (hp->error, MO_ERROR, MO_ERROR_FORMAT,
            "%s: shape dimension %d does not fit a 64-bit integer",
            hp->path, n);
        return FALSE;
      }
      v = v * 10 + digit;
      hp->pos++;
      any = TRUE;
    }
    if (!any)
      return hp_fail (hp, "a non-negative integer in the shape tuple");
    /* Python 2 numpy wrote longs as "3L". */
    if (hp->pos < hp->len && hp->text[hp->pos] == 'L')
      hp->pos++;
    shape[n++] = v;
    trailing_comma = hp_accept (hp, ',');
  }
  if (n == 1 && !trailing_comma)
    return hp_fail (hp, "a ',' after the only dimension, e.g. (3,)");
  *ndim = n;
  return TRUE;
}

typedef struct
{
  char *descr;
  gboolean fortran_order;
  int ndim;
  int64_t shape[MO_NPY_MAX_DIMS];
} NpyHeader;

static gboolean
parse_header (const char *path, const char *text, size_t len,
    NpyHeader * h, GError ** error)
{
  HeaderParser hp = { path, text, 0, len, error };
  gboolean have_descr = FALSE, have_fortran = FALSE, have_shape = FALSE;
  gboolean need_comma = FALSE;

  if (!hp_expect (&hp, '{', "'{'"))
    return FALSE;
  while (!hp_accept (&hp, '}')) {
    char *key;
    gboolean *seen;

    if (need_comma)
      return hp_fail (&hp, "',' or '}'");
    if (!hp_string (&hp, &key, "a quoted key or '}'"))
      return FALSE;
    if (strcmp (key, "descr") == 0)
      seen = &have_descr;
    else if (strcmp (key, "fortran_order") == 0)
      seen = &have_fortran;
    else if (strcmp (key, "shape") == 0)
      seen = &have_shape;
    else {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: .npy header has unexpected key '%s'", path, key);
      g_free (key);
      return FALSE;
    }
    if (*seen) {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: .npy header has the key '%s' more than once", path, key);
      g_free (key);
      return FALSE;
    }
    *seen = TRUE;
    if (!hp_expect (&hp, ':', "':' after a key")) {
      g_free (key);
      return FALSE;
    }
    if (seen == &have_descr) {
      hp_skip_ws (&hp);
      if (hp.pos < hp.len && hp.text[hp.pos] == '[') {
        g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
            "%s: structured dtypes are not supported", path);
        g_free (key);
        return FALSE;
      }
      if (!hp_string (&hp, &h->descr, "a quoted dtype string for 'descr'")) {
        g_free (key);
        return FALSE;
      }
    } else if (seen == &have_fortran) {
      if (!hp_bool (&hp, &h->fortran_order)) {
        g_free (key);
        return FALSE;
      }
    } else if (!hp_shape (&hp, &h->ndim, h->shape)) {
      g_free (key);
      return FALSE;
    }
    g_free (key);
    need_comma = !hp_accept (&hp, ',');
  }
  hp_skip_ws (&hp);
  if (hp.pos != hp.len)
    return hp_fail (&hp, "only padding after '}'");
  if (!have_descr || !have_fortran || !have_shape) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: .npy header lacks the key '%s'", path,
        !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    return FALSE;
  }
  return TRUE;
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000 | (mant << 13);
  else if (exp != 0)
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  else {
    /* Zero or subnormal: mant * 2^-24 is exact in float32. */
    f = (float) mant * 5.9604644775390625e-08f;
    memcpy (&bits, &f, 4);
    bits |= sign;
  }
  memcpy (&f, &bits, 4);
  return f;
}

gboolean
mo_npy_read_f32 (const char *path, MoNpy * out, GError ** error)
{
  guint8 *buf = NULL;
  size_t len, pre, header_len, data_len, itemsize;
  const guint8 *data;
  NpyHeader h = { NULL, FALSE, 0, {0} };
  int64_t numel = 1, k;
  guint major, minor;
  gboolean ok = FALSE;
  int i;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);
  if (!read_file (path, &buf, &len, error))
    return FALSE;

  if (len < NPY_MAGIC_LEN + 2 || memcmp (buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: not a .npy file (it does not start with \"\\x93NUMPY\")", path);
    goto out;
  }
  major = buf[6];
  minor = buf[7];
  if (major == 1 && len >= 10) {
    header_len = (size_t) buf[8] | (size_t) buf[9] << 8;
    pre = 10;
  } else if ((major == 2 || major == 3) && len >= 12) {
    header_len = (size_t) buf[8] | (size_t) buf[9] << 8
        | (size_t) buf[10] << 16 | (size_t) buf[11] << 24;
    pre = 12;
  } else if (major >= 1 && major <= 3) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: file is %" G_GSIZE_FORMAT " bytes, too short for a .npy "
        "version %u.%u preamble", path, len, major, minor);
    goto out;
  } else {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: unsupported .npy format version %u.%u", path, major, minor);
    goto out;
  }
  if (header_len > len - pre) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: .npy header length %" G_GSIZE_FORMAT " is larger than the %"
        G_GSIZE_FORMAT " bytes that follow it", path, header_len, len - pre);
    goto out;
  }
  /* Version 3 only differs by allowing UTF-8 in the header; every key and
   * value accepted here is ASCII, so the same parser serves all three. */
  if (!parse_header (path, (const char *) buf + pre, header_len, &h, error))
    goto out;

  if (strcmp (h.descr, "<f4") == 0)
    itemsize = 4;
  else if (strcmp (h.descr, "<f8") == 0)
    itemsize = 8;
  else if (strcmp (h.descr, "<f2") == 0)
    itemsize = 2;
  else {
    if (h.descr[0] == '>')
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: big-endian dtype '%s' is not supported (expected '<f4', "
          "'<f8' or '<f2')", path, h.descr);
    else
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: dtype '%s' is not supported (expected '<f4', '<f8' or "
          "'<f2')", path, h.descr);
    goto out;
  }
  if (h.fortran_order) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: Fortran-order arrays are not supported (save with C order, "
        "e.g. numpy.ascontiguousarray)", path);
    goto out;
  }

  for (i = 0; i < h.ndim; i++) {
    if (h.shape[i] == 0)
      numel = 0;
  }
  for (i = 0; i < h.ndim && numel != 0; i++) {
    if (numel > G_MAXINT64 / h.shape[i]) {
      numel = -1;
      break;
    }
    numel *= h.shape[i];
  }
  data_len = len - pre - header_len;
  if (numel < 0 || (guint64) numel > G_MAXSIZE / MAX (itemsize, sizeof (float))
      || (size_t) numel * itemsize != data_len) {
    GString *s = g_string_new ("(");

    for (i = 0; i < h.ndim; i++)
      g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "",
          (gint64) h.shape[i]);
    g_string_append (s, h.ndim == 1 ? ",)" : ")");
    if (numel < 0 || (guint64) numel > G_MAXSIZE / MAX (itemsize,
            sizeof (float)))
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: shape %s has too many elements", path, s->str);
    else
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: shape %s of '%s' needs %" G_GUINT64_FORMAT " data bytes, "
          "the file holds %" G_GSIZE_FORMAT, path, s->str, h.descr,
          (guint64) numel * itemsize, data_len);
    g_string_free (s, TRUE);
    goto out;
  }

  data = buf + pre + header_len;
  out->data = g_new (float, MAX (numel, 1));
  /* Elements are little-endian and, after an odd header, unaligned. */
  for (k = 0; k < numel; k++) {
    const guint8 *p = data + (size_t) k * itemsize;

    if (itemsize == 4) {
      guint32 bits;

      memcpy (&bits, p, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&out->data[k], &bits, 4);
    } else if (itemsize == 8) {
      guint64 bits;
      double d;

      memcpy (&bits, p, 8);
      bits = GUINT64_FROM_LE (bits);
      memcpy (&d, &bits, 8);
      out->data[k] = (float) d;
    } else {
      guint16 bits;

      memcpy (&bits, p, 2);
      out->data[k] = half_to_float (GUINT16_FROM_LE (bits));
    }
  }
  out->ndim = h.ndim;
  for (i = 0; i < h.ndim; i++)
    out->shape[i] = h.shape[i];
  out->numel = numel;
  ok = TRUE;

out:
  g_free (h.descr);
  g_free (buf);
  return ok;
}

void
mo_npy_clear (MoNpy * npy)
{
  if (npy == NULL)
    return;
  g_free (npy->data);
  memset (npy, 0, sizeof *npy);
}

gboolean
mo_npy_write (const char *path, const char *descr, size_t elem_size,
    int ndim, const int64_t * shape, const void *data, GError ** error)
{
  GString *hdr;
  MoFileWriter fw;
  int64_t numel = 1;
  size_t pre, total;
  int i;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (descr != NULL, FALSE);
  /* The descr is written inside a quoted literal. */
  g_return_val_if_fail (strpbrk (descr, "'\\\n") == NULL, FALSE);
  g_return_val_if_fail (elem_size > 0, FALSE);
  g_return_val_if_fail (ndim >= 0 && ndim <= MO_NPY_MAX_DIMS, FALSE);
  g_return_val_if_fail (ndim == 0 || shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  for (i = 0; i < ndim; i++) {
    g_return_val_if_fail (shape[i] >= 0, FALSE);
    if (shape[i] == 0)
      numel = 0;
  }
  for (i = 0; i < ndim && numel != 0; i++) {
    g_return_val_if_fail (numel <= G_MAXINT64 / shape[i], FALSE);
    numel *= shape[i];
  }
  g_return_val_if_fail ((guint64) numel <= G_MAXSIZE / elem_size, FALSE);
  g_return_val_if_fail (numel == 0 || data != NULL, FALSE);

  /* The same dict numpy's repr() writes; the data is written as it is in
   * memory, so @descr must describe the host's byte order. */
  hdr = g_string_new (NULL);
  g_string_append_printf (hdr, "{'descr': '%s', 'fortran_order': False, "
      "'shape': (", descr);
  for (i = 0; i < ndim; i++)
    g_string_append_printf (hdr, "%s%" G_GINT64_FORMAT, i ? ", " : "",
        (gint64) shape[i]);
  g_string_append (hdr, ndim == 1 ? ",), }" : "), }");

  /* Version 1.0 has a 16-bit header length; version 2.0 exists only for
   * headers that do not fit it. */
  pre = 10;
  total = pre + hdr->len + 1;
  if (total + NPY_ALIGN > 65535 + pre) {
    pre = 12;
    total = pre + hdr->len + 1;
  }
  while (total % NPY_ALIGN != 0) {
    g_string_append_c (hdr, ' ');
    total++;
  }
  g_string_append_c (hdr, '\n');

  {
    guint8 preamble[12];

    memcpy (preamble, NPY_MAGIC, NPY_MAGIC_LEN);
    preamble[6] = pre == 10 ? 1 : 2;
    preamble[7] = 0;
    preamble[8] = hdr->len & 0xff;
    preamble[9] = (hdr->len >> 8) & 0xff;
    preamble[10] = (hdr->len >> 16) & 0xff;
    preamble[11] = (hdr->len >> 24) & 0xff;

    ok = mo_file_writer_open (&fw, path, error)
        && mo_file_writer_write (&fw, preamble, pre, error)
        && mo_file_writer_write (&fw, hdr->str, hdr->len, error)
        && mo_file_writer_write (&fw, data, (size_t) numel * elem_size, error)
        && mo_file_writer_commit (&fw, error);
  }

  g_string_free (hdr, TRUE);
  return ok;
}
