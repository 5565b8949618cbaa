/* Tests of the .npy reader and writer: round trips, the header forms numpy
 * and other writers produce, float64/float16 conversion, and that every
 * malformed file is an error naming the file. */

#include "mo-error.h"
#include "mo-npy.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A .npy file of format version @major.0 with @header (written as given,
 * not padded) and @data_len bytes of @data. */
static char *
write_npy (const char *name, guint major, const char *header,
    const void *data, gsize data_len)
{
  gsize hlen = strlen (header);
  gsize pre = major == 1 ? 10 : 12;
  guint8 *buf = g_malloc0 (pre + hlen + data_len + 1);
  char *path = tmp_path (name);
  GError *error = NULL;

  memcpy (buf, "\x93NUMPY", 6);
  buf[6] = (guint8) major;
  buf[7] = 0;
  buf[8] = hlen & 0xff;
  buf[9] = (hlen >> 8) & 0xff;
  if (major != 1) {
    buf[10] = (hlen >> 16) & 0xff;
    buf[11] = (hlen >> 24) & 0xff;
  }
  memcpy (buf + pre, header, hlen);
  if (data != NULL)
    memcpy (buf + pre + hlen, data, data_len);
  g_file_set_contents (path, (const char *) buf,
      (gssize) (pre + hlen + data_len), &error);
  g_assert_no_error (error);
  g_free (buf);
  return path;
}

static void
assert_read_fails (const char *path, int code, const char *needle)
{
  MoNpy npy;
  GError *error = NULL;

  g_assert_false (mo_npy_read_f32 (path, &npy, &error));
  g_assert_error (error, MO_ERROR, code);
  if (g_test_verbose ())
    g_printerr ("  %s\n", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
  g_assert_null (npy.data);
  g_assert_cmpint (npy.ndim, ==, 0);
  g_error_free (error);
}

static void
test_round_trip (void)
{
  const float a[] = { 1.0f, -2.5f, 3.25f, 0.0f, 1e-30f, 65536.0f };
  const int64_t shape2[] = { 2, 3 };
  const int64_t shape1[] = { 6 };
  const int64_t shape0[] = { 4, 0, 2 };
  char *path = tmp_path ("round-trip.npy");
  char *contents;
  gsize len, hlen;
  GError *error = NULL;
  MoNpy npy;

  g_assert_true (mo_npy_write (path, "<f4", 4, 2, shape2, a, &error));
  g_assert_no_error (error);

  /* The layout numpy itself writes: version 1.0, data 64-byte aligned,
   * header ended by a newline. */
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, 8, "\x93NUMPY\x01\x00", 8);
  hlen = (guint8) contents[8] | (guint8) contents[9] << 8;
  g_assert_cmpuint ((10 + hlen) % 64, ==, 0);
  g_assert_cmpuint (len, ==, 10 + hlen + sizeof a);
  g_assert_cmpint (contents[10 + hlen - 1], ==, '\n');
  g_assert_true (strstr (contents + 10, "'shape': (2, 3)") != NULL);
  g_free (contents);

  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (npy.ndim, ==, 2);
  g_assert_cmpint (npy.shape[0], ==, 2);
  g_assert_cmpint (npy.shape[1], ==, 3);
  g_assert_cmpint (npy.numel, ==, 6);
  g_assert_cmpmem (npy.data, 6 * sizeof (float), a, sizeof a);
  mo_npy_clear (&npy);
  g_assert_null (npy.data);

  /* One dimension is written "(6,)", zero dimensions "()". */
  g_assert_true (mo_npy_write (path, "<f4", 4, 1, shape1, a, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_true (strstr (contents + 10, "'shape': (6,)") != NULL);
  g_free (contents);
  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (npy.ndim, ==, 1);
  g_assert_cmpint (npy.numel, ==, 6);
  mo_npy_clear (&npy);

  g_assert_true (mo_npy_write (path, "<f4", 4, 0, NULL, a, &error));
  g_assert_no_error (error);
  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (npy.ndim, ==, 0);
  g_assert_cmpint (npy.numel, ==, 1);
  g_assert_cmpfloat (npy.data[0], ==, 1.0f);
  mo_npy_clear (&npy);

  g_assert_true (mo_npy_write (path, "<f4", 4, 3, shape0, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (npy.ndim, ==, 3);
  g_assert_cmpint (npy.numel, ==, 0);
  mo_npy_clear (&npy);
  mo_npy_clear (NULL);

  g_unlink (path);
  g_free (path);
}

static void
test_write_other_dtype (void)
{
  const guint8 px[] = { 0, 127, 255 };
  const int64_t shape[] = { 3 };
  char *path = tmp_path ("u8.npy");
  GError *error = NULL;

  g_assert_true (mo_npy_write (path, "|u1", 1, 1, shape, px, &error));
  g_assert_no_error (error);
  /* Written fine, but the float reader does not take it. */
  assert_read_fails (path, MO_ERROR_FORMAT, "dtype '|u1' is not supported");
  g_free (path);

  path = tmp_path ("no-such-dir/x.npy");
  g_assert_false (mo_npy_write (path, "|u1", 1, 1, shape, px, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_error_free (error);
  g_free (path);
}

static void
test_f8_f2 (void)
{
  const double d[] = { 1.0, -0.5, 1e10, 3.141592653589793 };
  /* 1.0, -2.0, smallest subnormal 2^-24, 65504, -inf */
  const guint16 h[] = { 0x3C00, 0xC000, 0x0001, 0x7BFF, 0xFC00 };
  const int64_t shape_d[] = { 2, 2 };
  const int64_t shape_h[] = { 5 };
  guint16 h_le[5];
  char *path = tmp_path ("f8.npy");
  GError *error = NULL;
  MoNpy npy;
  guint i;

  g_assert_true (mo_npy_write (path, "<f8", 8, 2, shape_d, d, &error));
  g_assert_no_error (error);
  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (npy.numel, ==, 4);
  for (i = 0; i < 4; i++)
    g_assert_cmpfloat (npy.data[i], ==, (float) d[i]);
  mo_npy_clear (&npy);
  g_free (path);

  for (i = 0; i < 5; i++)
    h_le[i] = GUINT16_TO_LE (h[i]);
  path = tmp_path ("f2.npy");
  g_assert_true (mo_npy_write (path, "<f2", 2, 1, shape_h, h_le, &error));
  g_assert_no_error (error);
  g_assert_true (mo_npy_read_f32 (path, &npy, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (npy.data[0], ==, 1.0f);
  g_assert_cmpfloat (npy.data[1], ==, -2.0f);
  g_assert_cmpfloat (npy.data[2], ==, 5.96046448e-08f);
  g_assert_cmpfloat (npy.data[3], ==, 65504.0f);
  g_assert_true (isinf (npy.data[4]) && npy.data[4] < 0);
  mo_npy_clear (&npy);
  g_free (path);
}

/* Headers other writers produce, all equivalent to shape (2,) of <f4. */
static void
test_header_forms (void)
{
  static const char *const headers[] = {
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
    "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,)}",
    "  { 'shape' : ( 2 , ) ,\t'fortran_order':False , 'descr':'<f4' , }   \n",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }\n",
  };
  const float v[] = { 0.5f, -4.0f };
  guint i, major;

  for (major = 1; major <= 3; major++) {
    for (i = 0; i < G_N_ELEMENTS (headers); i++) {
      char *name = g_strdup_printf ("form-%u-%u.npy", major, i);
      char *path = write_npy (name, major, headers[i], v, sizeof v);
      GError *error = NULL;
      MoNpy npy;

      g_assert_true (mo_npy_read_f32 (path, &npy, &error));
      g_assert_no_error (error);
      g_assert_cmpint (npy.ndim, ==, 1);
      g_assert_cmpint (npy.shape[0], ==, 2);
      g_assert_cmpfloat (npy.data[0], ==, 0.5f);
      g_assert_cmpfloat (npy.data[1], ==, -4.0f);
      mo_npy_clear (&npy);
      g_free (path);
      g_free (name);
    }
  }
}

static void
test_bad_files (void)
{
  const float v[4] = { 0 };
  char *path;

  path = tmp_path ("missing.npy");
  assert_read_fails (path, MO_ERROR_IO, "cannot open");
  g_free (path);

  path = tmp_path ("magic.npy");
  g_file_set_contents (path, "\x93NUMPZ\x01\x00\x02\x00{}", 12, NULL);
  assert_read_fails (path, MO_ERROR_FORMAT, "not a .npy file");
  g_free (path);

  path = tmp_path ("empty.npy");
  g_file_set_contents (path, "", 0, NULL);
  assert_read_fails (path, MO_ERROR_FORMAT, "not a .npy file");
  g_free (path);

  path = tmp_path ("preamble.npy");
  g_file_set_contents (path, "\x93NUMPY\x02\x00\x02\x00", 10, NULL);
  assert_read_fails (path, MO_ERROR_FORMAT, "too short");
  g_free (path);

  path = tmp_path ("header-len.npy");
  g_file_set_contents (path, "\x93NUMPY\x01\x00\xff\x00{}", 12, NULL);
  assert_read_fails (path, MO_ERROR_FORMAT, "header length 255");
  g_free (path);

  path = write_npy ("version.npy", 4,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", v, 4);
  assert_read_fails (path, MO_ERROR_FORMAT, "version 4.0");
  g_free (path);
}

typedef struct
{
  const char *file;
  const char *header;
  gsize data_len;
  const char *needle;
} BadHeader;

static const BadHeader bad_headers[] = {
  {"truncated.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12,
      "needs 16 data bytes, the file holds 12"},
  {"too-long.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12,
      "needs 8 data bytes, the file holds 12"},
  {"fortran.npy",
      "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
      "Fortran-order"},
  {"big-endian.npy",
      "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
      "big-endian dtype '>f4'"},
  {"int64.npy",
      "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16,
      "dtype '<i8' is not supported"},
  {"structured.npy",
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
      "structured dtypes"},
  {"no-shape.npy", "{'descr': '<f4', 'fortran_order': False, }", 4,
      "lacks the key 'shape'"},
  {"extra-key.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
      "unexpected key 'x'"},
  {"repeated-key.npy",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
        "'shape': (1,)}", 4, "key 'descr' more than once"},
  {"int-shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
      12, "(3,)"},
  {"negative-shape.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4,
      "non-negative integer"},
  {"overflow-dim.npy",
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (99999999999999999999,)}", 4, "does not fit"},
  {"overflow-numel.npy",
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (4294967296, 4294967296)}", 4, "too many elements"},
  {"overflow-bytes.npy",
        "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (4611686018427387904,)}", 4, "too many elements"},
  {"too-many-dims.npy",
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}", 4, "more than 8 dimensions"},
  {"bad-bool.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4,
      "True or False"},
  {"no-colon.npy", "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}",
      4, "':'"},
  {"no-comma.npy", "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
      4, "',' or '}'"},
  {"unterminated.npy", "{'descr': '<f4", 4, "closing quote"},
  {"unclosed.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
      4, NULL},
  {"latin1-key.npy", "{'caf\xe9\x01': 1}", 4,
      "unexpected key 'caf\\xe9\\x01'"},
  {"not-dict.npy", "['<f4', False, (1,)]", 4, "'{'"},
  {"trailing.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4,
      "only padding"},
  {"nul.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n",
      4, NULL},
};

static void
test_bad_headers (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad_headers); i++) {
    const BadHeader *b = &bad_headers[i];
    char *path = write_npy (b->file, 1, b->header, NULL, b->data_len);

    if (g_test_verbose ())
      g_printerr ("%s\n", b->file);
    if (strcmp (b->file, "nul.npy") == 0) {
      /* Turn the final newline into a NUL inside the header. */
      char *contents;
      gsize len;

      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      contents[10 + strlen (b->header) - 1] = '\0';
      g_assert_true (g_file_set_contents (path, contents, (gssize) len,
              NULL));
      g_free (contents);
    }
    assert_read_fails (path, MO_ERROR_FORMAT, b->needle);
    g_free (path);
  }
}

static void
remove_tmp_dir (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL) {
    char *path = tmp_path (name);

    g_unlink (path);
    g_free (path);
  }
  g_dir_close (dir);
  g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("mo-test-npy-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/npy/round-trip", test_round_trip);
  g_test_add_func ("/npy/write-other-dtype", test_write_other_dtype);
  g_test_add_func ("/npy/f8-f2", test_f8_f2);
  g_test_add_func ("/npy/header-forms", test_header_forms);
  g_test_add_func ("/npy/bad-files", test_bad_files);
  g_test_add_func ("/npy/bad-headers", test_bad_headers);

  ret = g_test_run ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return ret;
}
