/* mobileone-gst: pre-processing time of one frame, this tree against a
 * peer (another revision's mo-preprocess.c compiled in with its
 * mo_preprocess renamed mo_preprocess_peer), side by side in one run.
 * Built and run by preprocess_bench.sh; prints the median of each:
 * peer / this: mo_preprocess on the calling thread; peer+run and sess+run:
 * a whole frame as an element does it, the peer's pre-processing then
 * mo_session_run, or mo_session_set_input_image then mo_session_run (which
 * pre-processes on the session's threads); tests/data's k1 model, tiny, so
 * that pre-processing weighs. Ratios: peer / this. */
#include "mobileone.h"
#include "mo-heads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mo_preprocess_peer (const MoImage * img, const MoRect * crop,
    gboolean letterbox, const double mean[3], const double std[3], float *dst,
    int dw, int dh, int dcs, MoTransform * xf);

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

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *name;
    MoPixelFormat f;
  } formats[] = {
    {"RGB", MO_PIXEL_RGB}, {"BGRx", MO_PIXEL_BGRX}, {"NV12", MO_PIXEL_NV12},
    {"I420", MO_PIXEL_I420}, {"YUY2", MO_PIXEL_YUY2},
  };
  static const int sizes[][2] = { {640, 480}, {1920, 1080} };
  const double mean[3] = { 0.485, 0.456, 0.406 };
  const double std[3] = { 0.229, 0.224, 0.225 };
  int dw = argc > 2 ? atoi (argv[2]) : 224, dh = argc > 3 ? atoi (argv[3]) : 224;
  int reps = argc > 4 ? atoi (argv[4]) : 201;
  int threads = argc > 5 ? atoi (argv[5]) : 0;
  GError *error = NULL;
  MoModel *m = mo_model_load (argv[1], &error);
  MoSession *s;
  double *tp = g_new (double, reps), *tn = g_new (double, reps), *fp = g_new (double, reps),
      *fs = g_new (double, reps);
  float *out = g_new (float, (gsize) dw * dh * 4);

  if (m == NULL) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  s = mo_session_new (m, dw, dh, threads, &error);
  if (s == NULL) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  printf ("%dx%d model input, %d threads for the session; median ms of %d "
      "runs (interleaved)\n", dw, dh, mo_session_n_threads (s), reps);
  printf ("%-6s %-10s %9s %9s %7s %9s %9s %7s\n", "format", "frame",
      "peer", "this", "ratio", "peer+run", "sess+run", "ratio");
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++) {
    int w = sizes[si][0], h = sizes[si][1];
    guint8 *pix = g_malloc ((gsize) w * h * 4);

    for (gsize i = 0; i < (gsize) w * h * 4; i++)
      pix[i] = (guint8) (i * 2654435761u >> 13);
    for (guint fi = 0; fi < G_N_ELEMENTS (formats); fi++) {
      MoImage img = { 0 };
      gboolean peer_ok = formats[fi].f != MO_PIXEL_YUY2;

      img.format = formats[fi].f;
      img.width = w;
      img.height = h;
      img.planes[0] = pix;
      switch (img.format) {
        case MO_PIXEL_RGB:
          img.strides[0] = 3 * w;
          break;
        case MO_PIXEL_BGRX:
          img.strides[0] = 4 * w;
          break;
        case MO_PIXEL_YUY2:
          img.strides[0] = 2 * w;
          break;
        case MO_PIXEL_NV12:
          img.strides[0] = w;
          img.planes[1] = pix + (gsize) w * h;
          img.strides[1] = w;
          break;
        default:
          img.strides[0] = w;
          img.planes[1] = pix + (gsize) w * h;
          img.planes[2] = pix + (gsize) w * h * 5 / 4;
          img.strides[1] = img.strides[2] = w / 2;
          break;
      }
      for (int r = 0; r < reps; r++) {
        gint64 t0 = g_get_monotonic_time ();
        if (peer_ok)
          mo_preprocess_peer (&img, NULL, FALSE, mean, std, out, dw, dh, 4,
              NULL);
        gint64 t1 = g_get_monotonic_time ();
        mo_preprocess (&img, NULL, FALSE, mean, std, out, dw, dh, 4, NULL);
        gint64 t2 = g_get_monotonic_time ();
        /* As in an element: the run right after wakes the same threads. */
        mo_session_set_input_image (s, &img, NULL, MO_FIT_STRETCH, NULL);
        mo_session_run (s);
        gint64 t4 = g_get_monotonic_time ();
        /* The peer's frame: its pre-processing then the run. */
        int iw, ih, cs;
        float *in = mo_session_input (s, &iw, &ih, &cs);
        if (peer_ok)
          mo_preprocess_peer (&img, NULL, FALSE, mean, std, in, iw, ih, cs,
              NULL);
        mo_session_run (s);
        gint64 t5 = g_get_monotonic_time ();
        tp[r] = (t1 - t0) / 1e3;
        tn[r] = (t2 - t1) / 1e3;
        fs[r] = (t4 - t2) / 1e3;
        fp[r] = (t5 - t4) / 1e3;
      }
      {
        double p = median (tp, reps), n = median (tn, reps),
            a = median (fp, reps),
            b = median (fs, reps);
        char frame[32];

        g_snprintf (frame, sizeof frame, "%dx%d", w, h);
        if (peer_ok)
          printf ("%-6s %-10s %9.3f %9.3f %6.2fx %9.3f %9.3f %6.2fx\n",
              formats[fi].name, frame, p, n, p / n, a, b, a / b);
        else
          printf ("%-6s %-10s %9s %9.3f %7s %9s %9.3f\n",
              formats[fi].name, frame, "-", n, "", "-", b);
      }
    }
    g_free (pix);
  }
  mo_session_free (s);
  mo_model_unref (m);
  g_free (tp);
  g_free (tn);
  g_free (fp);
  g_free (fs);
  g_free (out);
  return 0;
}
