/* Hostile model files (issue 14): each small reproducer must fail to load
 * with a message naming the file and the cause, quickly, without aborting,
 * hanging or eating the host's memory. Reproducers that are files live in
 * tests/fuzz/reproducers/; the others (FIFOs, links, sparse files, a model
 * whose weights are written here) are made in a temporary folder. */
#include "mo-heads.h"
#include "mo-safetensors.h"
#include "mo-ssdlite.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

static const char *data_dir = MOBILEONE_TEST_DATA;
static const char *repro_dir = MOBILEONE_REPRODUCERS;

/* A FIFO that blocked the load would hang the suite: the whole test gets
 * this long, then SIGALRM ends it as a failure. */
#define TEST_SECONDS 120

typedef struct
{
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = g_dir_make_tmp ("mobileone-limits-XXXXXX", NULL);
  g_assert_nonnull (t->dir);
}

static void
rm_rf (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL) {
    char *p = g_build_filename (dir, n, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR)
        && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      rm_rf (p);
    else
      g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  rm_rf (t->dir);
  g_free (t->dir);
}

static char *
tmp_file (Tmp *t, const char *name, const char *text)
{
  char *p = g_build_filename (t->dir, name, NULL);
  if (text != NULL)
    g_assert_true (g_file_set_contents (p, text, -1, NULL));
  return p;
}

/* Loading @path fails, with every one of @expect (NULL-terminated) in the
 * message. */
static void
expect_load_fails (const char *path, MoLoadFlags flags, ...)
{
  GError *error = NULL;
  va_list ap;
  const char *s;

  MoModel *m = mo_model_load_full (path, flags, &error);
  if (m != NULL)
    g_error ("%s loaded", path);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  va_start (ap, flags);
  while ((s = va_arg (ap, const char *)) != NULL)
    if (strstr (error->message, s) == NULL)
      g_error ("message lacks '%s': %s", s, error->message);
  va_end (ap);
  g_error_free (error);
}

/* A copy of the k1 classifier in the temporary folder with @labels_line
 * appended ("labels: ..."); its weights are a link in the folder. */
static char *
k1_copy (Tmp *t, const char *labels_line)
{
  char *src = g_build_filename (data_dir, "k1-fused.yaml", NULL);
  char *st = g_build_filename (data_dir, "k1-fused.safetensors", NULL);
  char *link = g_build_filename (t->dir, "k1-fused.safetensors", NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  if (!g_file_test (link, G_FILE_TEST_EXISTS))
    g_assert_cmpint (symlink (st, link), ==, 0);
  char *full = g_strdup_printf ("%s%s\n", text, labels_line ? labels_line :
      "");
  char *path = tmp_file (t, "model.yaml", full);
  g_free (full);
  g_free (text);
  g_free (link);
  g_free (st);
  g_free (src);
  return path;
}

/* 1. Nine levels of nine aliases each: 9^9 "lol"s once expanded. */
static void
test_billion_laughs (void)
{
  char *p = g_build_filename (repro_dir, "yaml-billion-laughs.yaml", NULL);
  expect_load_fails (p, MO_LOAD_DEFAULT, p, "YAML nodes", NULL);
  g_free (p);
}

/* 2. Not regular files: a FIFO (would block forever), /dev/zero (endless),
 * a loop of links (was "no such file"), a directory. */
static void
test_not_regular (Tmp *t, gconstpointer data)
{
  char *fifo = tmp_file (t, "fifo.yaml", NULL);
  char *loop = tmp_file (t, "loop.yaml", NULL);

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  expect_load_fails (fifo, MO_LOAD_DEFAULT, fifo, "FIFO", NULL);
  expect_load_fails ("/dev/zero", MO_LOAD_DEFAULT, "/dev/zero",
      "character device", NULL);
  expect_load_fails (loop, MO_LOAD_DEFAULT, loop, g_strerror (ELOOP), NULL);
  expect_load_fails (t->dir, MO_LOAD_DEFAULT, "directory", NULL);
  char *missing = tmp_file (t, "missing.yaml", NULL);
  expect_load_fails (missing, MO_LOAD_DEFAULT, missing, g_strerror (ENOENT),
      NULL);

  /* The same for the labels file, through links inside the folder. */
  char *zero = tmp_file (t, "zero", NULL), *lfifo = tmp_file (t, "lfifo",
      NULL);
  g_assert_cmpint (symlink ("/dev/zero", zero), ==, 0);
  g_assert_cmpint (mkfifo (lfifo, 0600), ==, 0);
  char *y = k1_copy (t, "labels: zero");
  expect_load_fails (y, MO_LOAD_DEFAULT, "zero", "character device", NULL);
  g_free (y);
  y = k1_copy (t, "labels: lfifo");
  expect_load_fails (y, MO_LOAD_DEFAULT, "lfifo", "FIFO", NULL);
  g_free (y);
  g_free (zero);
  g_free (lfifo);
  g_free (missing);
  g_free (fifo);
  g_free (loop);
}

/* 2. A description bigger than any real one is refused before it is read. */
static void
test_too_big (Tmp *t, gconstpointer data)
{
  char *p = tmp_file (t, "big.yaml", NULL);
  int fd = g_open (p, O_WRONLY | O_CREAT, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) 1 << 30), ==, 0);
  close (fd);
  expect_load_fails (p, MO_LOAD_DEFAULT, p, "limit", NULL);
  g_free (p);
}

/* 5. Labels: one too long line, invalid UTF-8 (with its line number), too
 * many lines. */
static void
test_labels (Tmp *t, gconstpointer data)
{
  char *y = k1_copy (t, "labels: labels.txt");
  char *lp = tmp_file (t, "labels.txt", NULL);
  GString *s = g_string_new (NULL);

  for (int i = 0; i < 10; i++)
    g_string_append_printf (s, "class %d\n", i);
  g_assert_true (g_file_set_contents (lp, s->str, -1, NULL));
  GError *error = NULL;
  MoModel *m = mo_model_load (y, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mo_desc_label (mo_model_desc (m), 9), ==, "class 9");
  mo_model_unref (m);

  g_assert_true (g_file_set_contents (lp, "a\nb\n\xff\xfe\n", -1, NULL));
  expect_load_fails (y, MO_LOAD_DEFAULT, "labels.txt:3:", "UTF-8", NULL);
  g_assert_true (g_file_set_contents (lp, "a\nb\nc\0d\n", 8, NULL));
  expect_load_fails (y, MO_LOAD_DEFAULT, "labels.txt:3:", NULL);

  g_string_truncate (s, 0);
  g_string_append (s, "a\n");
  for (int i = 0; i < 5000; i++)
    g_string_append_c (s, 'x');
  g_assert_true (g_file_set_contents (lp, s->str, -1, NULL));
  expect_load_fails (y, MO_LOAD_DEFAULT, "labels.txt:2:", "limit", NULL);

  g_string_truncate (s, 0);
  for (int i = 0; i < 100001; i++)
    g_string_append (s, "x\n");
  g_assert_true (g_file_set_contents (lp, s->str, -1, NULL));
  expect_load_fails (y, MO_LOAD_DEFAULT, "labels.txt", "100000 lines", NULL);
  g_string_free (s, TRUE);
  g_free (lp);
  g_free (y);
}

/* 6. Paths out of the description's folder need MO_LOAD_ALLOW_EXTERNAL_PATHS. */
static void
test_paths (Tmp *t, gconstpointer data)
{
  char *y = k1_copy (t, "labels: /etc/shells");
  expect_load_fails (y, MO_LOAD_DEFAULT, y, "labels", "/etc/shells",
      "allow-external-paths", NULL);
  g_free (y);
  y = k1_copy (t, "labels: sub/../../outside.txt");
  expect_load_fails (y, MO_LOAD_DEFAULT, y, "'..'", NULL);
  g_free (y);

  /* The weights by absolute path, and labels outside: refused, then
   * loaded when allowed. */
  char *sub = g_build_filename (t->dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  char *src = g_build_filename (data_dir, "k1-fused.yaml", NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  GString *s = g_string_new (text);
  char *w = g_strdup_printf ("weights: %s/k1-fused.safetensors", data_dir);
  g_string_replace (s, "weights: k1-fused.safetensors", w, 1);
  g_string_append (s, "labels: ../outside.txt\n");
  char *lp = tmp_file (t, "outside.txt", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
  char *yp = g_build_filename (sub, "model.yaml", NULL);
  g_assert_true (g_file_set_contents (yp, s->str, -1, NULL));
  expect_load_fails (yp, MO_LOAD_DEFAULT, yp, "weights", "absolute", NULL);
  GError *error = NULL;
  MoModel *m = mo_model_load_full (yp, MO_LOAD_ALLOW_EXTERNAL_PATHS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mo_desc_label (mo_model_desc (m), 3), ==, "3");
  mo_model_unref (m);
  g_free (yp);
  g_free (lp);
  g_free (w);
  g_string_free (s, TRUE);
  g_free (text);
  g_free (src);
  g_free (sub);
}

/* 3. A safetensors header of 90 MB (sparse) and one of many tiny values:
 * refused before json-glib builds a tree. */
static void
test_st_header (Tmp *t, gconstpointer data)
{
  char *p = tmp_file (t, "big.safetensors", NULL);
  GError *error = NULL;
  int fd = g_open (p, O_WRONLY | O_CREAT, 0600);
  guint64 len = GUINT64_TO_LE (90000000);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, &len, 8), ==, 8);
  g_assert_cmpint (write (fd, "{\"a\":", 5), ==, 5);
  g_assert_cmpint (ftruncate (fd, 8 + 90000000), ==, 0);
  close (fd);
  g_assert_null (mo_safetensors_open (p, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "limit"));
  g_clear_error (&error);

  GString *h = g_string_new ("{\"a\":{\"dtype\":\"F32\",\"shape\":[");
  for (int i = 0; i < 1000000; i++)
    g_string_append (h, "1,");
  g_string_append (h, "1],\"data_offsets\":[0,4]}}");
  len = GUINT64_TO_LE ((guint64) h->len);
  GString *file = g_string_new_len ((const char *) &len, 8);
  g_string_append_len (file, h->str, h->len);
  g_string_append_len (file, "\0\0\0\0", 4);
  g_assert_true (g_file_set_contents (p, file->str, file->len, NULL));
  g_assert_null (mo_safetensors_open (p, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "JSON values"));
  g_clear_error (&error);
  g_string_free (file, TRUE);
  g_string_free (h, TRUE);
  g_free (p);
}

/* 4. An input too large for the activation limit: an error, not an abort
 * (the arena is checked before it is allocated). */
static void
test_arena_limit (void)
{
  char *y = g_build_filename (data_dir, "k1-fused.yaml", NULL);
  GError *error = NULL;
  MoModel *m = mo_model_load (y, &error);
  g_assert_no_error (error);
  MoSession *s = mo_session_new (m, 16384, 16384, 1, &error);
  g_assert_null (s);
  g_assert_error (error, MO_ERROR, MO_ERROR_INPUT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "limit"));
  g_clear_error (&error);
  mo_model_unref (m);
  g_free (y);
}

/* 4. The reproducer: an 8192x8192, 1000-class, 8-ratio SSDLite
 * (26 GB asked for, then an abort): the fixture's weights with heads of
 * that size, written here. */
static void
test_big_ssd (Tmp *t, gconstpointer data)
{
  const int A = 18, K = 1000;
  char *src = g_build_filename (data_dir, "ssd", "ssd-fused.safetensors",
      NULL);
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (src, &error);
  g_assert_no_error (error);
  MoStWriter *w = mo_st_writer_new ();

  for (guint i = 0; i < mo_safetensors_n_tensors (st); i++) {
    const MoStTensor *tn = mo_safetensors_nth (st, i);
    int64_t shape[MO_ST_MAX_DIMS];
    memcpy (shape, tn->shape, sizeof shape);
    gboolean cls = g_str_has_prefix (tn->name, "cls_head.");
    if ((cls || g_str_has_prefix (tn->name, "reg_head."))
        && (g_str_has_suffix (tn->name, ".1.weight")
            || g_str_has_suffix (tn->name, ".1.bias")))
      shape[0] = (int64_t) A *(cls ? K : 4);
    int64_t n = 1;
    for (int d = 0; d < tn->ndim; d++)
      n *= shape[d];
    float *v = g_new0 (float, n);
    if (shape[0] == tn->shape[0])
      g_assert_true (mo_safetensors_read_f32 (st, tn->name, tn->ndim,
              tn->shape, v, &error));
    mo_st_writer_add_f32 (w, tn->name, tn->ndim, shape, v);
    g_free (v);
  }
  mo_safetensors_close (st);
  char *wp = tmp_file (t, "big.safetensors", NULL);
  g_assert_true (mo_st_writer_write (w, wp, &error));
  mo_st_writer_free (w);

  char *y = tmp_file (t, "big.yaml",
      "backbone:\n"
      "  width_multipliers: [0.125, 0.0625, 0.0625, 0.0625]\n"
      "  num_conv_branches: 1\n  use_se: false\n  fused: true\n"
      "  prefix: \"backbone.\"\n"
      "input: {width: 8192, height: 8192}\n"
      "head:\n  type: ssdlite\n  num_classes: 1000\n"
      "  extra_channels: [24, 16, 16, 8]\n"
      "  aspect_ratios: [2, 3, 4, 5, 6, 7, 8, 9]\n"
      "weights: big.safetensors\n");
  MoModel *m = mo_model_load (y, &error);
  g_assert_no_error (error);
  MoSession *s = mo_session_new (m, 8192, 8192, 1, &error);
  g_assert_null (s);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "limit"));
  g_clear_error (&error);
  /* At a size the arena allows, the post-processing's anchors x classes
   * still fit their own limit or fail as cleanly. */
  s = mo_session_new (m, 320, 320, 1, &error);
  g_assert_no_error (error);
  MoSsdPost *post = mo_ssdlite_post_new (s, 0, &error);
  g_assert_no_error (error);
  mo_ssdlite_post_free (post);
  mo_session_free (s);
  mo_model_unref (m);

  g_free (y);
  g_free (wp);
  g_free (src);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  alarm (TEST_SECONDS);
  g_test_add_func ("/limits/yaml-billion-laughs", test_billion_laughs);
  g_test_add ("/limits/not-regular-files", Tmp, NULL, tmp_setup,
      test_not_regular, tmp_teardown);
  g_test_add ("/limits/too-big", Tmp, NULL, tmp_setup, test_too_big,
      tmp_teardown);
  g_test_add ("/limits/labels", Tmp, NULL, tmp_setup, test_labels,
      tmp_teardown);
  g_test_add ("/limits/paths", Tmp, NULL, tmp_setup, test_paths,
      tmp_teardown);
  g_test_add ("/limits/safetensors-header", Tmp, NULL, tmp_setup,
      test_st_header, tmp_teardown);
  g_test_add_func ("/limits/arena", test_arena_limit);
  g_test_add ("/limits/big-ssd", Tmp, NULL, tmp_setup, test_big_ssd,
      tmp_teardown);
  return g_test_run ();
}
