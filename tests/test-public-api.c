/* An application of the installed library: it includes only the public
 * headers (mo-heads.h, mo-preprocess.h, mo-palette.h), links libmobileone
 * like any program, loads the project's detector and segmenter
 * (models/shapes-*.yaml) and runs them on a drawn picture through the
 * uniform post-processing, checking every result against the typed API and
 * the picture's bounds. It also builds against an installed copy:
 *
 *   cc tests/test-public-api.c $(pkg-config --cflags --libs mobileone)
 *
 * usage: test-public-api MODELS_DIR (exit 77 when the models are absent)
 */
#include <mo-heads.h>
#include <mo-preprocess.h>
#include <mo-palette.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 320
#define H 240

static int failures;

static void
check (gboolean ok, const char *what)
{
  printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
  failures += !ok;
}

/* A navy picture with a filled disc (the shapes the models were trained
 * on): RGB, 3 bytes per pixel. */
static void
draw (guint8 *pix)
{
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint8 *p = pix + (y * W + x) * 3;
      gboolean in = (x - 160) * (x - 160) + (y - 120) * (y - 120) < 50 * 50;
      p[0] = in ? 240 : 20;
      p[1] = in ? 200 : 20;
      p[2] = in ? 40 : 90;
    }
}

static MoSession *
session_for (const char *path, const guint8 *pix, MoTransform *xf)
{
  GError *error = NULL;
  MoModel *m = mo_model_load (path, &error);

  if (m == NULL) {
    printf ("FAIL: %s\n", error->message);
    g_error_free (error);
    failures++;
    return NULL;
  }
  const MoDesc *d = mo_model_desc (m);
  MoSession *s = mo_session_new (m, d->input_width, d->input_height, 2,
      &error);
  mo_model_unref (m);
  if (s == NULL) {
    printf ("FAIL: %s\n", error->message);
    g_error_free (error);
    failures++;
    return NULL;
  }
  MoImage img = { .format = MO_PIXEL_RGB, .width = W, .height = H,
    .planes = {pix}, .strides = {W * 3} };
  int iw, ih, cs;
  float *in = mo_session_input (s, &iw, &ih, &cs);
  mo_preprocess (&img, NULL, TRUE, d->mean, d->std, in, iw, ih, cs, xf);
  mo_session_run (s);
  return s;
}

static void
detect (const char *dir, const guint8 *pix)
{
  char *path = g_build_filename (dir, "shapes-detect.yaml", NULL);
  MoTransform xf;
  MoSession *s = session_for (path, pix, &xf);
  GError *error = NULL;

  g_free (path);
  if (s == NULL)
    return;
  MoPost *post = mo_post_new (s, &error);
  MoSsdPost *typed = mo_ssdlite_post_new (s, 0, NULL);
  check (post != NULL && typed != NULL, "detector: post-processing made");
  if (post == NULL || typed == NULL)
    goto out;
  MoDetection dets[100], dets_typed[100];
  const MoSsdParams *params = mo_ssdlite_params (mo_session_model (s));
  int n = mo_post_run (post, NULL, dets, 100);
  int n_typed = mo_ssdlite_post_run (typed, NULL, dets_typed, 100);
  printf ("detector: %d detections\n", n);
  check (n >= 0 && n == n_typed && memcmp (dets, dets_typed,
          n * sizeof *dets) == 0, "detector: mo_post_run == typed API");
  int K = mo_ssdlite_num_classes (mo_session_model (s));
  double best_iou = 0;
  for (int i = 0; i < n; i++) {
    double box[4];
    mo_ssdlite_detection_to_image (&xf, &dets[i], box);
    /* The disc's box is 110..210 x 70..170. */
    double iw = MIN (box[2], 210) - MAX (box[0], 110);
    double ih = MIN (box[3], 170) - MAX (box[1], 70);
    double inter = MAX (iw, 0) * MAX (ih, 0);
    best_iou = MAX (best_iou, inter / ((box[2] - box[0]) * (box[3] - box[1])
            + 100 * 100 - inter));
    gboolean ok = dets[i].label >= 1 && dets[i].label < K
        && dets[i].score > params->score_threshold && dets[i].score <= 1
        && box[0] >= 0 && box[0] <= box[2] && box[2] <= W
        && box[1] >= 0 && box[1] <= box[3] && box[3] <= H;
    char *what = g_strdup_printf ("detection %d: label %d score %.3f box "
        "%.1f %.1f %.1f %.1f in the picture", i, dets[i].label,
        dets[i].score, box[0], box[1], box[2], box[3]);
    check (ok, what);
    g_free (what);
  }
  /* The shipped detector finds a lone ball at this size (docs/models.md). */
  check (best_iou >= 0.5, "detector: the disc found (IoU >= 0.5)");
  {
    MoSsdParams bad = *params;
    bad.score_threshold = 2;
    check (mo_post_run (post, &bad, dets, 100) == -1,
        "detector: bad parameters refused");
  }
out:
  mo_post_free (post);
  mo_ssdlite_post_free (typed);
  mo_session_free (s);
}

static void
segment (const char *dir, const guint8 *pix)
{
  char *path = g_build_filename (dir, "shapes-segment.yaml", NULL);
  MoSession *s = session_for (path, pix, NULL);
  GError *error = NULL;

  g_free (path);
  if (s == NULL)
    return;
  MoPost *post = mo_post_new (s, &error);
  check (post != NULL, "segmenter: post-processing made");
  if (post != NULL) {
    int iw, ih;
    mo_session_input (s, &iw, &ih, NULL);
    guint8 *mask = g_malloc (iw * ih), *typed = g_malloc (iw * ih);
    const MoOutput *logits = mo_session_output (s, "logits");
    check (mo_post_run (post, NULL, mask, iw * ih - 1) == -1,
        "segmenter: a short mask buffer refused");
    check (mo_post_run (post, NULL, mask, iw * ih) == iw * ih,
        "segmenter: one class per input pixel");
    mo_deeplab_argmax (logits, typed, iw);
    check (memcmp (mask, typed, iw * ih) == 0,
        "segmenter: mo_post_run == mo_deeplab_argmax");
    g_free (mask);
    g_free (typed);
  }
  mo_post_free (post);
  mo_session_free (s);
}

int
main (int argc, char **argv)
{
  guint8 rgb[3], other[3];

  if (argc != 2) {
    fprintf (stderr, "usage: %s MODELS_DIR\n", argv[0]);
    return 2;
  }
  char *probe = g_build_filename (argv[1], "shapes-detect.safetensors", NULL);
  gboolean have = g_file_test (probe, G_FILE_TEST_EXISTS);
  g_free (probe);
  if (!have) {
    printf ("SKIP: no %s/shapes-detect.safetensors\n", argv[1]);
    return 77;
  }
  guint8 *pix = g_malloc (W * H * 3);
  draw (pix);
  detect (argv[1], pix);
  segment (argv[1], pix);
  g_free (pix);
  mo_palette_colour (1, rgb);
  mo_palette_colour (2, other);
  check (memcmp (rgb, other, 3) != 0 && rgb[0] + rgb[1] + rgb[2] > 200,
      "palette: bright, distinct neighbours");
  return failures ? 1 : 0;
}
