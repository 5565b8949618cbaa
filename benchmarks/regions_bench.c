/* mobileone-gst: classifying N regions of one frame (issue 15), the two
 * ways side by side in one run on one session:
 *   seq:   each region in turn on all the session's threads (set_input_image
 *          + run per region: what mobileoneclassify did before),
 *   batch: mo_session_run_regions (regions spread over the threads, one
 *          region per thread, no barrier per layer: what it does now),
 * against one whole-frame inference. Prints the median time per frame, fps
 * and the ratio to the whole frame's fps, and checks that both ways give
 * the same logits bit for bit. Built and run by regions_bench.sh. */
#include "mobileone.h"
#include "mo-heads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 640
#define H 480
#define MAX_N 100

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return v[n / 2];
}

typedef struct
{
  float *logits[MAX_N];
  int c;
} Keep;

static void
keep (gpointer user, int index, const MoSession *outputs,
    const MoTransform *xf)
{
  Keep *k = user;
  const MoOutput *o = mo_session_output (outputs, "logits");

  (void) xf;
  memcpy (k->logits[index], o->data, k->c * sizeof (float));
}

int
main (int argc, char **argv)
{
  static const int counts[] = { 1, 10, 100 };
  int threads = argc > 2 ? atoi (argv[2]) : 0;
  GError *error = NULL;
  MoModel *m = argc > 1 ? mo_model_load (argv[1], &error) : NULL;
  const MoDesc *d;
  MoSession *s;
  guint8 *pixels = g_malloc ((gsize) W * H * 3);
  MoImage img = { MO_PIXEL_RGB, W, H, {pixels}, {W * 3}, MO_YUV_BT601, 0 };
  MoRect whole = { 0, 0, W, H }, rects[MAX_N];
  Keep seq = { {0}, 0 }, bat = { {0}, 0 };
  double t_whole;

  if (m == NULL) {
    fprintf (stderr, "usage: regions_bench MODEL.yaml [THREADS]: %s\n",
        error ? error->message : "no model");
    return 1;
  }
  d = mo_model_desc (m);
  s = mo_session_new (m, d->input_width, d->input_height, threads, &error);
  if (s == NULL) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  seq.c = bat.c = mo_session_output (s, "logits")->c;
  for (int i = 0; i < MAX_N; i++) {
    seq.logits[i] = g_new (float, seq.c);
    bat.logits[i] = g_new (float, seq.c);
    /* Object-sized boxes all over the frame. */
    rects[i].x = (i * 53) % (W - 96);
    rects[i].y = (i * 37) % (H - 128);
    rects[i].w = 48 + (i * 7) % 48;
    rects[i].h = 64 + (i * 11) % 64;
  }
  for (gsize i = 0; i < (gsize) W * H * 3; i++)
    pixels[i] = (guint8) ((i * 2654435761u) >> 13);

  printf ("model %s, %dx%d input, %d threads, %s kernels, %dx%d frame\n",
      d->name, d->input_width, d->input_height, mo_session_n_threads (s),
      mo_session_isa (s), W, H);
  {
    int reps = 41;
    double *t = g_new (double, reps);

    for (int r = -3; r < reps; r++) {
      gint64 t0 = g_get_monotonic_time ();
      mo_session_set_input_image (s, &img, &whole, MO_FIT_CROP, NULL);
      mo_session_run (s);
      if (r >= 0)
        t[r] = (g_get_monotonic_time () - t0) / 1e3;
    }
    t_whole = median (t, reps);
    g_free (t);
  }
  printf ("whole frame (alone): %.2f ms, %.1f fps\n\n", t_whole,
      1e3 / t_whole);
  printf ("%8s %8s %12s %10s %10s %12s %10s %10s %9s\n", "regions",
      "whole ms",
      "seq ms/frame", "seq fps", "seq ratio", "batch ms/fr", "batch fps",
      "batch rat", "speed-up");
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++) {
    int n = counts[c];
    int reps = MAX (7, 400 / n) | 1;
    double *ts = g_new (double, reps), *tb = g_new (double, reps);
    double *tw = g_new (double, reps);

    /* Alternated, so that both ways see the same load. */
    for (int r = -1; r < reps; r++) {
      gint64 tw0 = g_get_monotonic_time ();
      mo_session_set_input_image (s, &img, &whole, MO_FIT_CROP, NULL);
      mo_session_run (s);
      gint64 t0 = g_get_monotonic_time ();
      for (int i = 0; i < n; i++) {
        mo_session_set_input_image (s, &img, &rects[i], MO_FIT_CROP, NULL);
        mo_session_run (s);
        memcpy (seq.logits[i], mo_session_output (s, "logits")->data,
            seq.c * sizeof (float));
      }
      gint64 t1 = g_get_monotonic_time ();
      mo_session_run_regions (s, &img, rects, n, MO_FIT_CROP, keep, &bat);
      gint64 t2 = g_get_monotonic_time ();
      if (r >= 0) {
        tw[r] = (t0 - tw0) / 1e3;
        ts[r] = (t1 - t0) / 1e3;
        tb[r] = (t2 - t1) / 1e3;
      }
    }
    for (int i = 0; i < n; i++)
      if (memcmp (seq.logits[i], bat.logits[i], seq.c * sizeof (float))) {
        fprintf (stderr, "region %d: batch and seq differ\n", i);
        return 1;
      }
    {
      double ms = median (ts, reps), mb = median (tb, reps);

      t_whole = median (tw, reps);
      printf ("%8d %8.2f %12.2f %10.2f %10.3f %12.2f %10.2f %10.3f %8.2fx\n",
          n, t_whole, ms,
          1e3 / ms, t_whole / ms, mb, 1e3 / mb, t_whole / mb, ms / mb);
    }
    g_free (ts);
    g_free (tb);
    g_free (tw);
  }
  printf ("\nwhole ms: one whole-frame inference, timed in the same rounds; "
      "ratio: the fps over the whole frame's fps; results of batch and seq "
      "identical (memcmp)\n");
  for (int i = 0; i < MAX_N; i++) {
    g_free (seq.logits[i]);
    g_free (bat.logits[i]);
  }
  mo_session_free (s);
  mo_model_unref (m);
  g_free (pixels);
  return 0;
}
