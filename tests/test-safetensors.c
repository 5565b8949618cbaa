/* Tests of the safetensors reader and writer: round trips, float16 and
 * bfloat16 conversion, and that every malformed file is an error whose
 * message names the file and the tensor. */

#include "mo-error.h"
#include "mo-safetensors.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static char *
write_bytes (const char *name, const void *bytes, gsize len)
{
  char *path = tmp_path (name);
  GError *error = NULL;

  g_file_set_contents (path, bytes, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

/* A safetensors file with @header as its JSON and @data_len bytes of @data
 * (zeros when @data is NULL). */
static char *
write_st (const char *name, const char *header, const void *data,
    gsize data_len)
{
  gsize hlen = strlen (header);
  guint64 len_le = GUINT64_TO_LE ((guint64) hlen);
  guint8 *buf = g_malloc0 (8 + hlen + data_len + 1);
  char *path;

  memcpy (buf, &len_le, 8);
  memcpy (buf + 8, header, hlen);
  if (data != NULL)
    memcpy (buf + 8 + hlen, data, data_len);
  path = write_bytes (name, buf, 8 + hlen + data_len);
  g_free (buf);
  return path;
}

/* Opening @path fails with @code, and the message starts with the path and
 * contains @needle (when not NULL). */
static void
assert_open_fails (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (path, &error);

  g_assert_null (st);
  g_assert_error (error, MO_ERROR, code);
  if (g_test_verbose ())
    g_printerr ("  %s\n", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
  g_error_free (error);
}

static void
assert_message_has (const GError * error, const char *path,
    const char *needle)
{
  if (g_test_verbose ())
    g_printerr ("  %s\n", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  if (strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
}

static void
test_round_trip_f32 (void)
{
  static const char *odd_name = "odd \"name\" \\ with/unicode \xc3\xa9";
  const int64_t shape_a[] = { 2, 3 };
  const int64_t shape_e[] = { 4, 0 };
  const float a[] = { 1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f };
  const float b = 42.0f;
  const float c[] = { 7.0f, 8.0f };
  const int64_t shape_c[] = { 2 };
  float out[6];
  MoStWriter *w = mo_st_writer_new ();
  MoSafetensors *st;
  GError *error = NULL;
  char *path = tmp_path ("round-trip.safetensors");
  char *contents;
  gsize len;
  guint64 hlen;
  const MoStTensor *t;

  mo_st_writer_add_f32 (w, "stage0.weight", 2, shape_a, a);
  mo_st_writer_add_f32 (w, "scalar", 0, NULL, &b);
  mo_st_writer_add_f32 (w, "empty", 2, shape_e, NULL);
  mo_st_writer_add_f32 (w, odd_name, 1, shape_c, c);
  g_assert_true (mo_st_writer_write (w, path, &error));
  g_assert_no_error (error);
  mo_st_writer_free (w);

  /* The data area starts 8-byte aligned. */
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  memcpy (&hlen, contents, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_assert_cmpuint (hlen % 8, ==, 0);
  g_assert_cmpuint (len, ==, 8 + hlen + sizeof a + sizeof b + sizeof c);
  g_free (contents);

  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpstr (mo_safetensors_path (st), ==, path);
  g_assert_cmpuint (mo_safetensors_n_tensors (st), ==, 4);

  /* Insertion order is data order; the empty tensor shares its offset with
   * the next one and sorts first by its end. */
  g_assert_cmpstr (mo_safetensors_nth (st, 0)->name, ==, "stage0.weight");
  g_assert_cmpstr (mo_safetensors_nth (st, 1)->name, ==, "scalar");
  g_assert_cmpstr (mo_safetensors_nth (st, 2)->name, ==, "empty");
  g_assert_cmpstr (mo_safetensors_nth (st, 3)->name, ==, odd_name);

  t = mo_safetensors_find (st, "stage0.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, MO_DTYPE_F32);
  g_assert_cmpstr (t->dtype_str, ==, "F32");
  g_assert_cmpint (t->ndim, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 3);
  g_assert_cmpint (t->numel, ==, 6);
  g_assert_cmpuint (t->nbytes, ==, sizeof a);
  g_assert_null (mo_safetensors_find (st, "nope"));

  g_assert_true (mo_safetensors_read_f32 (st, "stage0.weight", 2, shape_a,
          out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, sizeof a, a, sizeof a);

  g_assert_true (mo_safetensors_read_f32 (st, "scalar", 0, NULL, out,
          &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (out[0], ==, 42.0f);

  g_assert_true (mo_safetensors_read_f32 (st, "empty", 2, shape_e, NULL,
          &error));
  g_assert_no_error (error);

  g_assert_true (mo_safetensors_read_f32 (st, odd_name, 1, shape_c, out,
          &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (out[0], ==, 7.0f);
  g_assert_cmpfloat (out[1], ==, 8.0f);

  mo_safetensors_close (st);

  /* Writing again replaces the file atomically. */
  w = mo_st_writer_new ();
  mo_st_writer_add_f32 (w, "only", 1, shape_c, c);
  g_assert_true (mo_st_writer_write (w, path, &error));
  g_assert_no_error (error);
  mo_st_writer_free (w);
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_safetensors_n_tensors (st), ==, 1);
  mo_safetensors_close (st);
  g_unlink (path);
  g_free (path);
}

static void
test_writer_rejects_duplicates (void)
{
  const int64_t shape[] = { 1 };
  const float v = 1.0f;
  MoStWriter *w = mo_st_writer_new ();
  GError *error = NULL;
  char *path = tmp_path ("dup-writer.safetensors");

  mo_st_writer_add_f32 (w, "twice", 1, shape, &v);
  mo_st_writer_add_f32 (w, "twice", 1, shape, &v);
  g_assert_false (mo_st_writer_write (w, path, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_FORMAT);
  assert_message_has (error, path, "'twice'");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_error_free (error);
  mo_st_writer_free (w);
  g_free (path);
}

static void
test_writer_bad_dir (void)
{
  MoStWriter *w = mo_st_writer_new ();
  GError *error = NULL;
  char *path = tmp_path ("no-such-dir/x.safetensors");

  g_assert_false (mo_st_writer_write (w, path, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_error_free (error);
  mo_st_writer_free (w);
  g_free (path);
}

static void
test_f16 (void)
{
  /* Hand-computed: 1.0, -2.0, smallest subnormal 2^-24, -0.0, largest
   * normal 65504, smallest normal 2^-14, 0x3555 = 1365/4096, largest
   * subnormal 1023 * 2^-24. */
  static const guint16 h[] = {
    0x3C00, 0xC000, 0x0001, 0x8000, 0x7BFF, 0x0400, 0x3555, 0x03FF
  };
  static const float expect[] = {
    1.0f, -2.0f, 5.96046448e-08f, -0.0f, 65504.0f, 6.10351562e-05f,
    0.333251953f, 6.09755516e-05f
  };
  const int64_t shape[] = { 8 };
  guint16 le[8];
  float out[8];
  GError *error = NULL;
  MoSafetensors *st;
  char *path;
  guint i;

  for (i = 0; i < 8; i++)
    le[i] = GUINT16_TO_LE (h[i]);
  path = write_st ("f16.safetensors",
      "{\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]}}",
      le, sizeof le);
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mo_safetensors_find (st, "h")->dtype, ==, MO_DTYPE_F16);
  g_assert_true (mo_safetensors_read_f32 (st, "h", 1, shape, out, &error));
  g_assert_no_error (error);
  for (i = 0; i < 8; i++)
    g_assert_cmpfloat (out[i], ==, expect[i]);
  /* -0.0 == 0.0, so check the sign bit on its own. */
  g_assert_true (signbit (out[3]));
  mo_safetensors_close (st);
  g_free (path);
}

static void
test_bf16 (void)
{
  /* 1.0, -3.0, 3.140625, smallest float32 subnormal 2^-133 (bits 0x10000),
   * -0.0 */
  static const guint16 h[] = { 0x3F80, 0xC040, 0x4049, 0x0001, 0x8000 };
  static const float expect[] = {
    1.0f, -3.0f, 3.140625f, 9.18354962e-41f, -0.0f
  };
  const int64_t shape[] = { 5, 1 };
  guint16 le[5];
  float out[5];
  GError *error = NULL;
  MoSafetensors *st;
  char *path;
  guint i;

  for (i = 0; i < 5; i++)
    le[i] = GUINT16_TO_LE (h[i]);
  /* One byte of lead-in puts the tensor at an odd address. */
  {
    guint8 buf[11];

    buf[0] = 0xAB;
    memcpy (buf + 1, le, sizeof le);
    path = write_st ("bf16.safetensors",
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[5,1],\"data_offsets\":[1,11]}}",
        buf, sizeof buf);
  }
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_safetensors_n_tensors (st), ==, 1);
  g_assert_true (mo_safetensors_read_f32 (st, "b", 2, shape, out, &error));
  g_assert_no_error (error);
  for (i = 0; i < 5; i++)
    g_assert_cmpfloat (out[i], ==, expect[i]);
  g_assert_true (signbit (out[4]));
  mo_safetensors_close (st);
  g_free (path);
}

/* read_f32 of tensor "w" in a file holding @data fails with MO_ERROR_MODEL
 * and a message containing @needle. */
static void
assert_read_fails (const char *file, const char *dtype, const void *data,
    gsize len, int64_t n, const char *needle)
{
  char *header = g_strdup_printf ("{\"blk.w\":{\"dtype\":\"%s\",\"shape\":[%"
      G_GINT64_FORMAT "],\"data_offsets\":[0,%" G_GSIZE_FORMAT "]}}", dtype,
      (gint64) n, len);
  char *path = write_st (file, header, data, len);
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (path, &error);
  float out[8];

  g_assert_no_error (error);
  g_assert_false (mo_safetensors_read_f32 (st, "blk.w", 1, &n, out, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  assert_message_has (error, path, "'blk.w'");
  assert_message_has (error, path, needle);
  g_error_free (error);
  mo_safetensors_close (st);
  g_free (header);
  g_free (path);
}

static void
test_nan_inf (void)
{
  float f[4] = { 1.0f, 2.0f, 0.0f, 4.0f };
  guint32 bits;
  guint16 h[3] = { GUINT16_TO_LE (0x3C00), GUINT16_TO_LE (0x3C00), 0 };

  bits = GUINT32_TO_LE (0x7FC00000);
  memcpy (&f[2], &bits, 4);
  assert_read_fails ("nan32.safetensors", "F32", f, sizeof f, 4,
      "NaN at element 2");
  bits = GUINT32_TO_LE (0xFF800000);
  memcpy (&f[2], &bits, 4);
  assert_read_fails ("inf32.safetensors", "F32", f, sizeof f, 4,
      "infinite value at element 2");

  h[2] = GUINT16_TO_LE (0x7E00);
  assert_read_fails ("nan16.safetensors", "F16", h, sizeof h, 3,
      "NaN at element 2");
  h[1] = GUINT16_TO_LE (0x7C00);
  assert_read_fails ("inf16.safetensors", "F16", h, sizeof h, 3,
      "infinite value at element 1");
  h[1] = GUINT16_TO_LE (0xFF81);       /* bfloat16 NaN */
  assert_read_fails ("nanbf16.safetensors", "BF16", h, sizeof h, 3,
      "NaN at element 1");
}

static void
test_nan_index (void)
{
  float f[6] = { 0 };
  const int64_t shape[] = { 2, 3 };
  guint32 bits = GUINT32_TO_LE (0x7F800001);
  char *path;
  GError *error = NULL;
  MoSafetensors *st;
  float out[6];

  memcpy (&f[5], &bits, 4);
  path = write_st ("nan-index.safetensors",
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
      "\"data_offsets\":[0,24]}}", f, sizeof f);
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (mo_safetensors_read_f32 (st, "conv.weight", 2, shape, out,
          &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  assert_message_has (error, path, "'conv.weight' has a NaN at element 5 "
      "(index [1, 2])");
  g_error_free (error);
  mo_safetensors_close (st);
  g_free (path);
}

static void
test_read_errors (void)
{
  const int64_t want[] = { 48, 1, 1, 1 };
  const int64_t want_i64[] = { 2 };
  char *path;
  GError *error = NULL;
  MoSafetensors *st;
  float *out = g_new0 (float, 48 * 9);

  path = write_st ("model.safetensors",
      "{\"stage1.0.rbr_conv.0.conv.weight\":{\"dtype\":\"F32\","
      "\"shape\":[48,1,3,3],\"data_offsets\":[0,1728]},"
      "\"num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[2],"
      "\"data_offsets\":[1728,1744]}}", NULL, 1744);
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);

  g_assert_false (mo_safetensors_read_f32 (st,
          "stage1.0.rbr_conv.0.conv.weight", 4, want, out, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  assert_message_has (error, path, ": tensor "
      "'stage1.0.rbr_conv.0.conv.weight' has shape [48, 1, 3, 3], "
      "expected [48, 1, 1, 1]");
  g_clear_error (&error);

  g_assert_false (mo_safetensors_read_f32 (st,
          "stage1.0.rbr_conv.0.conv.weight", 1, want, out, &error));
  assert_message_has (error, path, "expected [48]");
  g_clear_error (&error);

  g_assert_false (mo_safetensors_read_f32 (st, "num_batches_tracked", 1,
          want_i64, out, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  assert_message_has (error, path, "'num_batches_tracked' has dtype I64, "
      "expected a float type");
  g_clear_error (&error);

  g_assert_false (mo_safetensors_read_f32 (st, "stage2.missing.weight", 1,
          want_i64, out, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  assert_message_has (error, path, "'stage2.missing.weight' not found");
  g_clear_error (&error);

  mo_safetensors_close (st);
  g_free (out);
  g_free (path);
}

static void
test_too_short (void)
{
  char *path = write_bytes ("empty.safetensors", "", 0);

  assert_open_fails (path, MO_ERROR_FORMAT, "0 bytes");
  g_free (path);
  path = write_bytes ("four.safetensors", "\x10\0\0\0", 4);
  assert_open_fails (path, MO_ERROR_FORMAT, "4 bytes");
  g_free (path);
}

static void
test_missing_file (void)
{
  char *path = tmp_path ("does-not-exist.safetensors");

  assert_open_fails (path, MO_ERROR_IO, "cannot open");
  g_free (path);
  assert_open_fails (tmp_dir, MO_ERROR_IO, "not a regular file");
}

static void
test_header_too_long (void)
{
  guint8 buf[20] = { 0 };
  guint64 len = GUINT64_TO_LE (1000);
  char *path;

  memcpy (buf, &len, 8);
  memcpy (buf + 8, "{}", 2);
  path = write_bytes ("long-header.safetensors", buf, sizeof buf);
  assert_open_fails (path, MO_ERROR_FORMAT, "header length 1000");
  g_free (path);

  len = GUINT64_TO_LE (G_MAXUINT64);
  memcpy (buf, &len, 8);
  path = write_bytes ("huge-header.safetensors", buf, sizeof buf);
  assert_open_fails (path, MO_ERROR_FORMAT, "header length");
  g_free (path);

  /* A length that fits the file but not the sanity limit; the file is
   * sparse, so this costs no disk space. */
  {
    FILE *f;

    len = GUINT64_TO_LE (200 * 1000 * 1000);
    memcpy (buf, &len, 8);
    path = write_bytes ("sparse.safetensors", buf, sizeof buf);
    f = fopen (path, "r+b");
    g_assert_nonnull (f);
    g_assert_cmpint (fseek (f, 8 + 200 * 1000 * 1000, SEEK_SET), ==, 0);
    g_assert_cmpint (fputc ('}', f), ==, '}');
    g_assert_cmpint (fclose (f), ==, 0);
    assert_open_fails (path, MO_ERROR_FORMAT, "header length 200000000 "
        "exceeds the limit");
    g_unlink (path);
    g_free (path);
  }
}

/* Every malformed header: (file name, header, data bytes, expected text). */
typedef struct
{
  const char *file;
  const char *header;
  gsize data_len;
  const char *needle;
} BadHeader;

static const BadHeader bad_headers[] = {
  {"truncated.safetensors",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_off", 4,
      "not valid JSON"},
  {"array.safetensors", "[1, 2, 3]", 0, "not a JSON object"},
  {"string.safetensors", "\"hello\"", 0, "not a JSON object"},
  {"blank.safetensors", "        ", 0, NULL},
  {"beyond.safetensors",
        "{\"stem.conv.weight\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}", 4,
      "'stem.conv.weight' has data_offsets [0, 8] beyond the end of the "
        "data area (4 bytes)"},
  {"mismatch.safetensors",
        "{\"stem.bn.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
        "\"data_offsets\":[0,8]}}", 12,
      "'stem.bn.bias' has data_offsets [0, 8] (8 bytes), but shape [3] of "
        "F32 takes 12 bytes"},
  {"mismatch16.safetensors",
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}",
        16, "'h' has data_offsets [0, 16] (16 bytes), but shape [4] of F16"},
  {"overlap.safetensors",
        "{\"first.w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"second.w\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[4,12]}}", 12,
      "tensors 'first.w' (data_offsets [0, 8]) and 'second.w' "
        "(data_offsets [4, 12]) overlap"},
  {"same-offsets.safetensors",
        "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
        "\"y\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
      "overlap"},
  {"duplicate.safetensors",
        "{\"dup.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]},"
        "\"dup.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}", 8,
      "tensor 'dup.weight' appears more than once"},
  {"duplicate-key.safetensors",
        "{\"other\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
        "\"k.w\":{\"dtype\":\"F32\",\"shape\":[1],\"dtype\":\"F32\","
        "\"data_offsets\":[0,4]}}", 8,
      "entry 'k.w' repeats the key 'dtype'"},
  {"unknown-dtype.safetensors",
        "{\"q.w\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        1, "'q.w' has unknown dtype 'Q4_K'"},
  {"no-dtype.safetensors",
        "{\"q.w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
      "'q.w' has no \"dtype\" string"},
  {"number-dtype.safetensors",
        "{\"q.w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
      "'q.w' has no \"dtype\" string"},
  {"negative-shape.safetensors",
        "{\"neg.w\":{\"dtype\":\"F32\",\"shape\":[-1],"
        "\"data_offsets\":[0,4]}}", 4,
      "'neg.w' has dimension -1 at shape element 0"},
  {"float-shape.safetensors",
        "{\"flt.w\":{\"dtype\":\"F32\",\"shape\":[1.0],"
        "\"data_offsets\":[0,4]}}", 4, "'flt.w' has a shape whose element 0"},
  {"huge-shape.safetensors",
        "{\"big.w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
        "\"data_offsets\":[0,4]}}", 4, "'big.w'"},
  {"overflow-shape.safetensors",
        "{\"ovf.w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
        "\"data_offsets\":[0,4]}}", 4,
      "'ovf.w' has shape [4294967296, 4294967296], too many elements"},
  {"overflow-bytes.safetensors",
        "{\"ovb.w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
        "\"data_offsets\":[0,4]}}", 4, "'ovb.w' has shape"},
  {"too-many-dims.safetensors",
        "{\"dims.w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
        "\"data_offsets\":[0,4]}}", 4,
      "'dims.w' has 9 dimensions, at most 8"},
  {"no-shape.safetensors",
        "{\"s.w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
      "'s.w' has no \"shape\" array"},
  {"no-offsets.safetensors",
        "{\"o.w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
      "'o.w' has no \"data_offsets\""},
  {"three-offsets.safetensors",
        "{\"o.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
        8, "'o.w' has no \"data_offsets\""},
  {"negative-offset.safetensors",
        "{\"o.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
        8, "'o.w' has data_offsets that are not two non-negative integers"},
  {"reversed-offsets.safetensors",
        "{\"o.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
        8, "'o.w' has data_offsets [8, 4] that end before they begin"},
  {"entry-not-object.safetensors", "{\"e.w\":[1,2]}", 0,
      "header entry 'e.w' is not a JSON object"},
  {"metadata-not-object.safetensors", "{\"__metadata__\":\"x\"}", 0,
      "'__metadata__' is not a JSON object"},
  {"single-quotes.safetensors",
        "{'sq.w':{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        4, "unexpected ''' at byte 1"},
  {"comment.safetensors", "{/* c */}", 0, "unexpected '/' at byte 1"},
  {"slash-in-name.safetensors",
        "{\"a/b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"q\\\"[{'\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}", 4,
      "tensor 'q\"[{'' has data_offsets [4, 8] beyond"},
  {"trailing.safetensors", "{} {}", 0, "more JSON after its object"},
  {"trailing-array.safetensors", "{\"a\":{}} [1]", 0,
      "more JSON after its object"},
  {"trailing-value.safetensors", "{} 5", 0, "not valid JSON"},
};

static void
test_bad_headers (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad_headers); i++) {
    const BadHeader *b = &bad_headers[i];
    char *path = write_st (b->file, b->header, NULL, b->data_len);

    if (g_test_verbose ())
      g_printerr ("%s\n", b->file);
    assert_open_fails (path, MO_ERROR_FORMAT, b->needle);
    g_free (path);
  }
}

static void
test_bad_text (void)
{
  static const char nul[] = "{\"a\0\":{}}";
  static const char latin1[] = "{\"caf\xe9\":{}}";
  char *path;

  path = write_st ("nul.safetensors", "", NULL, 0);
  /* write_st() uses strlen(): build the NUL header by hand. */
  {
    guint8 buf[8 + sizeof nul - 1];
    guint64 len = GUINT64_TO_LE (sizeof nul - 1);

    memcpy (buf, &len, 8);
    memcpy (buf + 8, nul, sizeof nul - 1);
    g_free (path);
    path = write_bytes ("nul.safetensors", buf, sizeof buf);
  }
  assert_open_fails (path, MO_ERROR_FORMAT, "NUL byte");
  g_free (path);

  path = write_st ("latin1.safetensors", latin1, NULL, 0);
  assert_open_fails (path, MO_ERROR_FORMAT, "UTF-8");
  g_free (path);
}

static void
test_deep_nesting (void)
{
  GString *h = g_string_new ("{\"__metadata__\":");
  char *path;
  guint i;

  for (i = 0; i < 100000; i++)
    g_string_append_c (h, '[');
  for (i = 0; i < 100000; i++)
    g_string_append_c (h, ']');
  g_string_append_c (h, '}');
  path = write_st ("deep.safetensors", h->str, NULL, 0);
  assert_open_fails (path, MO_ERROR_FORMAT, "nests deeper than");
  g_string_free (h, TRUE);
  g_free (path);
}

static void
test_good_layouts (void)
{
  /* Listed out of data order, with a gap, with an empty tensor at the end
   * of the data area, and with types that are never converted. */
  char *path = write_st ("layout.safetensors",
      "{\"late\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]},"
      "\"early\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
      "\"none\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[16,16]},"
      "\"flag\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[8,9]},"
      "\"__metadata__\":{\"format\":\"pt\"}}   ", NULL, 16);
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (path, &error);
  const MoStTensor *t;

  g_assert_no_error (error);
  g_assert_cmpuint (mo_safetensors_n_tensors (st), ==, 4);
  g_assert_cmpstr (mo_safetensors_nth (st, 0)->name, ==, "early");
  g_assert_cmpstr (mo_safetensors_nth (st, 1)->name, ==, "flag");
  g_assert_cmpstr (mo_safetensors_nth (st, 2)->name, ==, "late");
  g_assert_cmpstr (mo_safetensors_nth (st, 3)->name, ==, "none");
  t = mo_safetensors_find (st, "early");
  g_assert_cmpint (t->dtype, ==, MO_DTYPE_OTHER);
  g_assert_cmpstr (t->dtype_str, ==, "I64");
  t = mo_safetensors_find (st, "flag");
  g_assert_cmpint (t->ndim, ==, 0);
  g_assert_cmpint (t->numel, ==, 1);
  g_assert_cmpuint (t->nbytes, ==, 1);
  t = mo_safetensors_find (st, "none");
  g_assert_cmpint (t->numel, ==, 0);
  g_assert_null (mo_safetensors_find (st, "__metadata__"));
  mo_safetensors_close (st);
  g_free (path);

  path = write_st ("no-tensors.safetensors", "{}", NULL, 0);
  st = mo_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_safetensors_n_tensors (st), ==, 0);
  mo_safetensors_close (st);
  mo_safetensors_close (NULL);
  g_free (path);
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
  tmp_dir = g_dir_make_tmp ("mo-test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/safetensors/round-trip-f32", test_round_trip_f32);
  g_test_add_func ("/safetensors/writer-duplicates",
      test_writer_rejects_duplicates);
  g_test_add_func ("/safetensors/writer-bad-dir", test_writer_bad_dir);
  g_test_add_func ("/safetensors/f16", test_f16);
  g_test_add_func ("/safetensors/bf16", test_bf16);
  g_test_add_func ("/safetensors/nan-inf", test_nan_inf);
  g_test_add_func ("/safetensors/nan-index", test_nan_index);
  g_test_add_func ("/safetensors/read-errors", test_read_errors);
  g_test_add_func ("/safetensors/too-short", test_too_short);
  g_test_add_func ("/safetensors/missing-file", test_missing_file);
  g_test_add_func ("/safetensors/header-too-long", test_header_too_long);
  g_test_add_func ("/safetensors/bad-headers", test_bad_headers);
  g_test_add_func ("/safetensors/bad-text", test_bad_text);
  g_test_add_func ("/safetensors/deep-nesting", test_deep_nesting);
  g_test_add_func ("/safetensors/good-layouts", test_good_layouts);

  ret = g_test_run ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return ret;
}
