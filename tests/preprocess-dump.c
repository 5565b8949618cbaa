/* mobileone-gst: the engine's pre-processing as a command, for
 * test_preprocess.py, which compares its output with an independent
 * PyTorch / NumPy / Pillow reference.
 *
 *   preprocess-dump FORMAT W H MATRIX RANGE FIT DW DH CROP IN OUT MODEL
 *     PLANE_OFFSET:STRIDE...
 *
 * FORMAT: rgb bgr rgbx bgrx xrgb xbgr gray8 nv12 i420 yuy2 uyvy; MATRIX:
 * 601 or 709; RANGE: full or limited; FIT: stretch, letterbox or crop;
 * CROP: x,y,w,h or none. IN holds the planes at the given byte offsets with
 * the given strides. OUT receives DW x DH x 3 float32 values v / 255 (mean
 * 0, std 1) and, on stdout, the transform. The same picture also goes
 * through mo_session_set_input_image() on a 3-thread session of MODEL (any
 * model that runs at DW x DH) with the model's mean and std, which must give
 * the same outputs bit for bit as mo_preprocess_fit() on one thread. */
#include "mobileone.h"
#include "mo-heads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const formats[] = {
  [MO_PIXEL_RGB] = "rgb",[MO_PIXEL_BGR] = "bgr",[MO_PIXEL_RGBX] = "rgbx",
  [MO_PIXEL_BGRX] = "bgrx",[MO_PIXEL_XRGB] = "xrgb",[MO_PIXEL_XBGR] = "xbgr",
  [MO_PIXEL_GRAY8] = "gray8",[MO_PIXEL_NV12] = "nv12",[MO_PIXEL_I420] = "i420",
  [MO_PIXEL_YUY2] = "yuy2",[MO_PIXEL_UYVY] = "uyvy",
};

static int
die (const char *what)
{
  fprintf (stderr, "preprocess-dump: %s\n", what);
  return 1;
}

int
main (int argc, char **argv)
{
  MoImage img = { 0 };
  MoRect crop, *cropp = NULL;
  MoFit fit;
  MoTransform xf, xf2;
  GError *error = NULL;
  gchar *data;
  gsize len;
  int dw, dh, n_planes;
  gboolean found = FALSE;

  if (argc < 14)
    return die ("usage: FORMAT W H MATRIX RANGE FIT DW DH CROP IN OUT MODEL "
        "OFFSET:STRIDE...");
  for (int f = 0; f < MO_PIXEL_N_FORMATS; f++)
    if (strcmp (argv[1], formats[f]) == 0) {
      img.format = (MoPixelFormat) f;
      found = TRUE;
    }
  if (!found)
    return die ("unknown format");
  img.width = atoi (argv[2]);
  img.height = atoi (argv[3]);
  img.matrix = strcmp (argv[4], "709") == 0 ? MO_YUV_BT709 : MO_YUV_BT601;
  img.full_range = strcmp (argv[5], "full") == 0;
  if (!mo_fit_from_string (argv[6], &fit))
    return die ("unknown fit");
  dw = atoi (argv[7]);
  dh = atoi (argv[8]);
  if (strcmp (argv[9], "none") != 0) {
    if (sscanf (argv[9], "%lf,%lf,%lf,%lf", &crop.x, &crop.y, &crop.w,
            &crop.h) != 4)
      return die ("bad crop");
    cropp = &crop;
  }
  if (!g_file_get_contents (argv[10], &data, &len, &error))
    return die (error->message);
  n_planes = argc - 13;
  for (int i = 0; i < n_planes && i < 3; i++) {
    long off, stride;

    if (sscanf (argv[13 + i], "%ld:%ld", &off, &stride) != 2
        || off < 0 || (gsize) off >= len)
      return die ("bad plane");
    img.planes[i] = (const guint8 *) data + off;
    img.strides[i] = (int) stride;
  }

  {
    const double mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
    float *out = g_new (float, (gsize) dw * dh * 3);

    mo_preprocess_fit (&img, cropp, fit, mean, std, out, dw, dh, 3, &xf);
    if (!g_file_set_contents (argv[11], (const gchar *) out,
            (gssize) ((gsize) dw * dh * 3 * sizeof (float)), &error))
      return die (error->message);
    g_free (out);
  }
  printf ("%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", xf.src.x,
      xf.src.y, xf.src.w, xf.src.h, xf.dst.x, xf.dst.y, xf.dst.w, xf.dst.h);

  /* The session (3 threads, rows split in its run) against one thread:
   * the same input gives the same outputs bit for bit. */
  {
    MoModel *m = mo_model_load (argv[12], &error);
    MoSession *s;
    const MoDesc *d;
    GPtrArray *want = g_ptr_array_new_with_free_func (g_free);
    float *in;
    int w, h, cs;

    if (m == NULL)
      return die (error->message);
    s = mo_session_new (m, dw, dh, 3, &error);
    if (s == NULL)
      return die (error->message);
    d = mo_model_desc (m);
    in = mo_session_input (s, &w, &h, &cs);
    mo_preprocess_fit (&img, cropp, fit, d->mean, d->std, in, w, h, cs, NULL);
    mo_session_run (s);
    for (int i = 0; i < mo_session_n_outputs (s); i++) {
      const MoOutput *o = mo_session_nth_output (s, i);

      g_ptr_array_add (want, g_memdup2 (o->data, (gsize) o->h * o->w * o->cs
              * sizeof (float)));
    }
    /* Every input value must come from this pre-processing. */
    memset (in, 0x7f, (gsize) w * h * cs * sizeof (float));
    mo_session_set_input_image (s, &img, cropp, fit, &xf2);
    mo_session_run (s);
    for (int i = 0; i < mo_session_n_outputs (s); i++) {
      const MoOutput *o = mo_session_nth_output (s, i);

      if (memcmp (want->pdata[i], o->data, (gsize) o->h * o->w * o->cs
              * sizeof (float)) != 0)
        return die ("the session's threaded pre-processing gives other "
            "outputs than one thread");
    }
    if (memcmp (&xf, &xf2, sizeof (xf)) != 0)
      return die ("the session's transform differs");
    g_ptr_array_unref (want);
    mo_session_free (s);
    mo_model_unref (m);
  }
  g_free (data);
  return 0;
}
