/* No allocation per inference: malloc, calloc, realloc and free are
 * interposed and counted while sessions of every head run (pre- and
 * post-processing included), with 1 and 2 threads. Skipped in sanitizer builds, whose own
 * allocator must not be replaced. */
#include "mo-heads.h"
#include "mo-deeplab.h"
#include "mo-ssdlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void __libc_free (void *);

static volatile int counting;
static volatile long n_calls;

void *malloc (size_t n);
void *calloc (size_t a, size_t b);
void *realloc (void *p, size_t n);
void free (void *p);

void *
malloc (size_t n)
{
  if (counting)
    __atomic_add_fetch (&n_calls, 1, __ATOMIC_RELAXED);
  return __libc_malloc (n);
}

void *
calloc (size_t a, size_t b)
{
  if (counting)
    __atomic_add_fetch (&n_calls, 1, __ATOMIC_RELAXED);
  return __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  if (counting)
    __atomic_add_fetch (&n_calls, 1, __ATOMIC_RELAXED);
  return __libc_realloc (p, n);
}

void
free (void *p)
{
  if (counting && p != NULL)
    __atomic_add_fetch (&n_calls, 1, __ATOMIC_RELAXED);
  __libc_free (p);
}

/* Runs @yaml 5 times (after a warm-up) and returns the allocator calls. */
static long
count_calls (const char *yaml, int threads, int *n_dets)
{
  GError *error = NULL;
  MoModel *m = mo_model_load (yaml, &error);
  if (m == NULL) {
    printf ("FAIL: %s\n", error->message);
    exit (1);
  }
  const MoDesc *d = mo_model_desc (m);
  MoSession *s = mo_session_new (m, d->input_width, d->input_height, threads,
      &error);
  if (s == NULL) {
    printf ("FAIL: %s\n", error->message);
    exit (1);
  }
  int w, h, cs;
  float *in = mo_session_input (s, &w, &h, &cs);
  for (int i = 0; i < w * h; i++)
    for (int c = 0; c < 3; c++)
      in[(gsize) i * cs + c] = (float) ((i * 31 + c * 7) % 97) / 48.0f - 1.0f;

  MoSsdPost *post = NULL;
  MoDetection dets[64];
  guint8 *mask = g_malloc ((gsize) w * h);
  gboolean ssd = g_str_equal (d->head_type, "ssdlite");
  gboolean seg = g_str_equal (d->head_type, "deeplabv3");
  if (ssd)
    post = mo_ssdlite_post_new (s, 0, &error);

  /* A 4:2:0 picture, pre-processed by the session on every other run. */
  int pw = 2 * w + 3, ph = 2 * h + 1;
  guint8 *pix = g_malloc0 ((gsize) pw * ph * 2);
  MoImage img = {.format = MO_PIXEL_I420,.width = pw,.height = ph,
    .planes = {pix, pix + (gsize) pw * ph, pix + (gsize) pw * ph * 3 / 2},
    .strides = {pw, pw / 2 + 1, pw / 2 + 1}
  };
  MoTransform xf;

  mo_session_run (s);
  n_calls = 0;
  counting = 1;
  for (int i = 0; i < 5; i++) {
    if (i % 2)
      mo_session_set_input_image (s, &img, NULL, (MoFit) (i % 3), &xf);
    mo_session_run (s);
    if (ssd)
      *n_dets = mo_ssdlite_post_run (post, NULL, dets, G_N_ELEMENTS (dets));
    if (seg)
      mo_deeplab_argmax (mo_session_output (s, "logits"), mask, w);
  }
  counting = 0;
  long calls = n_calls;

  g_free (mask);
  g_free (pix);
  mo_ssdlite_post_free (post);
  mo_session_free (s);
  mo_model_unref (m);
  return calls;
}
#endif

/* An int8 copy of @yaml in a new temporary folder (its weights linked
 * in), calibrated on one synthetic input; returns the new description. */
static char *
make_int8 (const char *yaml)
{
  GError *error = NULL;
  MoModel *m = mo_model_load (yaml, &error);
  g_assert_no_error (error);
  const MoDesc *d = mo_model_desc (m);
  char *dir = g_dir_make_tmp ("mobileone-noalloc-XXXXXX", &error);
  char *base = g_path_get_basename (d->weights_path);
  char *link = g_build_filename (dir, base, NULL);
  char *abs = g_canonicalize_filename (d->weights_path, NULL);
  char *scales = g_build_filename (dir, "scales.safetensors", NULL);
  char *out = g_build_filename (dir, "int8.yaml", NULL);
  char *text, *text8;
  MoSession *s = mo_session_new (m, d->input_width, d->input_height, 1,
      &error);
  g_assert_no_error (error);
  MoCalibration *c = mo_calibration_new (s, &error);
  int w, h, cs;
  float *in = mo_session_input (s, &w, &h, &cs);
  for (int i = 0; i < w * h; i++)
    for (int k = 0; k < 3; k++)
      in[(gsize) i * cs + k] = (float) ((i * 13 + k * 5) % 89) / 44.0f - 1.0f;
  mo_session_run (s);
  g_assert_true (mo_calibration_write (c, scales, &error));
  g_assert_true (symlink (abs, link) == 0);
  g_assert_true (g_file_get_contents (yaml, &text, NULL, NULL));
  text8 = g_strconcat (text, "\nprecision: int8\n"
      "int8_scales: scales.safetensors\n", NULL);
  g_assert_true (g_file_set_contents (out, text8, -1, NULL));
  MoModel *m8 = mo_model_load (out, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_model_n_int8_layers (m8), >, 0);
  mo_model_unref (m8);
  mo_calibration_free (c);
  mo_session_free (s);
  mo_model_unref (m);
  g_free (text);
  g_free (text8);
  g_free (dir);
  g_free (base);
  g_free (link);
  g_free (abs);
  g_free (scales);
  return out;
}

/* Removes make_int8()'s folder. */
static void
remove_int8 (char *yaml)
{
  char *dir = g_path_get_dirname (yaml);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL) {
    char *p = g_build_filename (dir, n, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
  g_free (yaml);
}

int
main (void)
{
#ifdef SANITIZED
  printf ("SKIP: sanitizer build (the allocator cannot be interposed)\n");
  return 77;
#else
  static const char *const models[] = {
    "k2se-unfused.yaml", "ssd/ssd-fused.yaml", "deeplab/dense-fused.yaml",
    "deeplab/sep-os8-unfused.yaml",
  };
  int passed = 0, failed = 0;

  /* Each model in float32, then the first two in int8 (docs/int8.md). */
  for (guint i = 0; i < G_N_ELEMENTS (models) + 2; i++) {
    gboolean int8 = i >= G_N_ELEMENTS (models);
    const char *name = models[int8 ? i - G_N_ELEMENTS (models) : i];
    char *yaml = g_build_filename (MOBILEONE_TEST_DATA, name, NULL);
    if (int8) {
      char *y8 = make_int8 (yaml);
      g_free (yaml);
      yaml = y8;
    }
    for (int threads = 1; threads <= 2; threads++) {
      int n_dets = -1;
      long calls = count_calls (yaml, threads, &n_dets);
      printf ("%-4s %s%s, %d thread(s): %ld allocator calls in 5 "
          "inferences%s\n", calls ? "FAIL" : "ok", name, int8 ? " (int8)" : "",
          threads, calls,
          n_dets >= 0 ? " (with detection post-processing)" : "");
      if (calls)
        failed++;
      else
        passed++;
    }
    if (int8)
      remove_int8 (yaml);
    else
      g_free (yaml);
  }
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
#endif
}
