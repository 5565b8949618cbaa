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

  for (guint i = 0; i < G_N_ELEMENTS (models); i++) {
    char *yaml = g_build_filename (MOBILEONE_TEST_DATA, models[i], NULL);
    for (int threads = 1; threads <= 2; threads++) {
      int n_dets = -1;
      long calls = count_calls (yaml, threads, &n_dets);
      printf ("%-4s %s, %d thread(s): %ld allocator calls in 5 inferences%s\n",
          calls ? "FAIL" : "ok", models[i], threads, calls,
          n_dets >= 0 ? " (with detection post-processing)" : "");
      if (calls)
        failed++;
      else
        passed++;
    }
    g_free (yaml);
  }
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
#endif
}
