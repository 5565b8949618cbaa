/* mobileone-cli: inspect, run and benchmark MobileOne models from the shell.
 *
 *   mobileone-cli info MODEL.yaml [--size WxH]
 *   mobileone-cli run MODEL.yaml --input X.npy --output-dir DIR [--threads N]
 *   mobileone-cli bench MODEL.yaml [--threads N] [--iterations N] [--size WxH] [--profile]
 *                       [--profile-layers]
 *   mobileone-cli fuse MODEL.yaml OUT.safetensors
 *   mobileone-cli image MODEL.yaml PICTURE [--output OUT.png] [--threads N]
 *   mobileone-cli calibrate MODEL.yaml --images DIR [--output SCALES.safetensors]
 *                           [--statistic mean-max|max] [--no-bias-correction]
 *                           [--no-equalisation]
 *   mobileone-cli calibrate MODEL.yaml --video FILE [--frames N | --every N] ...
 *
 * Every command that loads a model takes --allow-external-paths and
 * --precision fp32 (run an int8 description in float32).
 */
#include "cli-heads.h"
#ifdef HAVE_GSTREAMER
#include "cli-video.h"
#endif
#include "mo-heads.h"
#include "mo-npy.h"

#include <errno.h>
#ifdef HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
#endif
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

static int opt_threads = 1;
static int opt_iterations = 50;
static char *opt_input = NULL;
static char *opt_output_dir = NULL;
static char *opt_size = NULL;
static char *opt_output = NULL;
static gboolean opt_letterbox = FALSE;
static gchar *opt_fit = NULL;

static const MoCliHead *const cli_heads[] = {
  &mo_cli_classifier,
  &mo_cli_ssdlite,
  &mo_cli_deeplab,
};

static const MoCliHead *
cli_head (const MoModel *m)
{
  const char *type = mo_model_desc (m)->head_type;
  for (guint i = 0; i < G_N_ELEMENTS (cli_heads); i++)
    if (g_str_equal (cli_heads[i]->type, type))
      return cli_heads[i];
  return NULL;
}
static gboolean opt_profile = FALSE;
static gboolean opt_profile_layers = FALSE;
static gboolean opt_allow_external_paths = FALSE;
static gchar *opt_precision = NULL;
static gchar *opt_images = NULL;
static gchar *opt_statistic = NULL;
static gboolean opt_no_bias_correction = FALSE;
static gboolean opt_no_equalisation = FALSE;
static gchar *opt_video = NULL;
static int opt_frames = 0;
static int opt_every = 0;

/* Every command that loads a model takes this one. */
static const GOptionEntry load_entries[] = {
  {"allow-external-paths", 0, 0, G_OPTION_ARG_NONE, &opt_allow_external_paths,
        "Let the model description name labels and weights outside its "
        "own folder (absolute paths, '..'); refused by default, see "
        "docs/security.md", NULL},
  {"precision", 0, 0, G_OPTION_ARG_STRING, &opt_precision,
        "auto (the description's 'precision') or fp32 (float32 even for an "
        "int8 description; docs/int8.md)", "auto|fp32"},
  {NULL}
};

static MoModel *
load_model (const char *path, GError **error)
{
  MoLoadFlags flags = opt_allow_external_paths ?
      MO_LOAD_ALLOW_EXTERNAL_PATHS : MO_LOAD_DEFAULT;

  if (opt_precision != NULL && g_str_equal (opt_precision, "fp32"))
    flags |= MO_LOAD_FORCE_FP32;
  else if (opt_precision != NULL && !g_str_equal (opt_precision, "auto")) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "--precision '%s': "
        "expected auto or fp32", opt_precision);
    return NULL;
  }
  return mo_model_load_full (path, flags, error);
}

static const GOptionEntry run_entries[] = {
  {"input", 'i', 0, G_OPTION_ARG_FILENAME, &opt_input,
      "Input tensor: float32 .npy of shape [1,3,H,W], already normalised",
      "X.npy"},
  {"output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output_dir,
      "Folder for the raw outputs (.npy)", "DIR"},
  {"threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads, the caller included (0 = one per core; default 1)", "N"},
  {NULL}
};

static const GOptionEntry bench_entries[] = {
  {"threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads, the caller included (0 = one per core; default 1)", "N"},
  {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iterations,
      "Timed iterations (default 50)", "N"},
  {"size", 's', 0, G_OPTION_ARG_STRING, &opt_size,
      "Input size (default: the model's input size)", "WxH"},
  {"profile", 'p', 0, G_OPTION_ARG_NONE, &opt_profile,
      "Print the time per layer type", NULL},
  {"profile-layers", 0, 0, G_OPTION_ARG_NONE, &opt_profile_layers,
      "Print the time of every layer", NULL},
  {NULL}
};

static const GOptionEntry image_entries[] = {
  {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
      "Write a picture of the result (segmentation: colour mask PNG)", "OUT"},
  {"threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads, the caller included (0 = one per core; default 1)", "N"},
  {"letterbox", 'l', 0, G_OPTION_ARG_NONE, &opt_letterbox,
      "Keep the aspect ratio (borders in the mean colour): --fit letterbox",
      NULL},
  {"fit", 'f', 0, G_OPTION_ARG_STRING, &opt_fit,
        "How the picture fills the model input: stretch, letterbox or crop "
        "(torchvision's Resize + CenterCrop); the default is crop for "
        "classifiers, stretch for the others, like the elements' fit",
      "FIT"},
  {NULL}
};

static const GOptionEntry calibrate_entries[] = {
  {"images", 'i', 0, G_OPTION_ARG_FILENAME, &opt_images,
        "Folder of calibration pictures (.png, .jpg, .jpeg), pre-processed "
        "like 'image' does", "DIR"},
  {"video", 0, 0, G_OPTION_ARG_FILENAME, &opt_video,
        "A video file instead of --images, decoded by GStreamer (any "
        "container and codec its plugins read); --frames or --every choose "
        "the frames", "FILE"},
  {"frames", 0, 0, G_OPTION_ARG_INT, &opt_frames,
        "With --video: N frames evenly spaced over the video, the middle "
        "frame of each of N equal runs (default 64; every frame of a "
        "shorter video)", "N"},
  {"every", 0, 0, G_OPTION_ARG_INT, &opt_every,
        "With --video: frames 0, N, 2N, ... instead of --frames", "N"},
  {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
        "Scales file (default: MODEL-int8-scales.safetensors beside the "
        "description)", "OUT"},
  {"statistic", 0, 0, G_OPTION_ARG_STRING, &opt_statistic,
        "Activation range of a layer output: mean-max (the mean over the "
        "pictures of each one's largest value; the default) or max (the "
        "largest value of all; docs/int8.md)", "mean-max|max"},
  {"no-bias-correction", 0, 0, G_OPTION_ARG_NONE, &opt_no_bias_correction,
        "Write no LAYER.bias_correction tensors (the expected error of "
        "each int8 layer's weights, subtracted from its bias)", NULL},
  {"no-equalisation", 0, 0, G_OPTION_ARG_NONE, &opt_no_equalisation,
        "Write no LAYER.channel_scale tensors (per-channel rescaling of "
        "the weights that balances activation and weight ranges)", NULL},
  {"threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads, the caller included (0 = one per core; default 1)", "N"},
  {NULL}
};

static const GOptionEntry info_entries[] = {
  {"size", 's', 0, G_OPTION_ARG_STRING, &opt_size,
      "Input size for MACs and memory (default: the model's)", "WxH"},
  {"threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads (for the report only)", "N"},
  {NULL}
};

static int
fail (GError *error)
{
  g_printerr ("mobileone-cli: error: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static gboolean
parse_size (const MoModel *m, int *w, int *h, GError **error)
{
  const MoDesc *d = mo_model_desc (m);
  *w = d->input_width;
  *h = d->input_height;
  if (opt_size == NULL)
    return TRUE;
  if (sscanf (opt_size, "%dx%d", w, h) != 2 || *w < 1 || *h < 1) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "--size: expected WIDTHxHEIGHT, found '%s'", opt_size);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_args (int *argc, char ***argv, const GOptionEntry *entries,
    const char *usage, int n_pos)
{
  GOptionContext *ctx = g_option_context_new (usage);
  GError *error = NULL;
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, load_entries, NULL);
  ok = g_option_context_parse (ctx, argc, argv, &error);
  if (!ok)
    g_printerr ("mobileone-cli: %s\n", error->message);
  else if (*argc != n_pos + 1) {
    g_printerr ("mobileone-cli: expected %s\n", usage);
    ok = FALSE;
  }
  g_clear_error (&error);
  g_option_context_free (ctx);
  return ok;
}

static int
cmd_info (int argc, char **argv)
{
  GError *error = NULL;
  MoModel *m;
  MoSession *s;
  int w, h;

  if (!parse_args (&argc, &argv, info_entries, "info MODEL.yaml", 1))
    return 2;
  if ((m = load_model (argv[1], &error)) == NULL)
    return fail (error);
  if (!parse_size (m, &w, &h, &error)
      || (s = mo_session_new (m, w, h, opt_threads, &error)) == NULL) {
    mo_model_unref (m);
    return fail (error);
  }
  const MoDesc *d = mo_model_desc (m);
  const MoBackboneDesc *b = &d->backbone;
  GString *table = g_string_new (NULL);
  mo_session_describe (s, table);
  printf ("name:        %s\n", d->name);
  printf ("file:        %s\n", d->path);
  printf ("weights:     %s\n", d->weights_path);
  printf ("variant:     %s (width multipliers %g, %g, %g, %g; k = %d; SE %s)\n",
      b->variant, b->width_multipliers[0], b->width_multipliers[1],
      b->width_multipliers[2], b->width_multipliers[3], b->num_conv_branches,
      b->use_se ? "yes" : "no");
  printf ("checkpoint:  %s%s\n", b->fused ? "fused (reparam_conv)" :
      "unfused (training-time branches, folded at load)",
      b->prefix[0] ? "" : "");
  if (b->prefix[0])
    printf ("prefix:      %s\n", b->prefix);
  printf ("head:        %s\n", d->head_type);
  printf ("labels:      %u\n", d->labels->len);
  printf ("input:       %dx%d (mean %g %g %g, std %g %g %g)\n", w, h,
      d->mean[0], d->mean[1], d->mean[2], d->std[0], d->std[1], d->std[2]);
  printf ("layers:      %u (fused)\n", mo_model_n_layers (m));
  if (mo_model_n_int8_layers (m) > 0)
    printf ("precision:   int8 (%u layers; the rest float32)\n",
        mo_model_n_int8_layers (m));
  else
    printf ("precision:   fp32\n");
  printf ("parameters:  %" G_GUINT64_FORMAT " (%.2f M)\n",
      mo_model_n_params (m), mo_model_n_params (m) / 1e6);
  printf ("MACs:        %" G_GUINT64_FORMAT " (%.3f G)\n", mo_session_macs (s),
      mo_session_macs (s) / 1e9);
  printf ("activations: %.2f MiB (arena, peak)\n",
      mo_session_arena_bytes (s) / 1048576.0);
  printf ("kernels:     %s\n\n%s", mo_session_isa (s), table->str);
  g_string_free (table, TRUE);
  mo_session_free (s);
  mo_model_unref (m);
  return 0;
}

#ifdef HAVE_GDK_PIXBUF
GdkPixbuf *
mo_cli_picture_new (int width, int height, const char *path, GError **error)
{
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (pb == NULL)
    g_set_error (error, MO_ERROR, MO_ERROR_IO,
        "%s: cannot allocate a %dx%d picture", path, width, height);
  return pb;
}

gboolean
mo_cli_picture_save (GdkPixbuf *pb, const char *path, GError **error)
{
  /* gdk-pixbuf's messages name the file. */
  gboolean ok = gdk_pixbuf_save (pb, path, "png", error, NULL);
  g_object_unref (pb);
  return ok;
}
#endif

gboolean
mo_cli_write_npy_output (const char *dir, const MoOutput *o, GError **error)
{
  gsize plane = (gsize) o->h * o->w;
  float *chw = g_new (float, plane * o->c);
  char *name = g_strconcat (o->name, ".npy", NULL);
  char *path = g_build_filename (dir, name, NULL);
  int64_t shape[4] = { 1, o->c, o->h, o->w };
  gboolean ok;

  for (gsize p = 0; p < plane; p++)
    for (int c = 0; c < o->c; c++)
      chw[c * plane + p] = o->data[p * o->cs + c];
  ok = mo_npy_write (path, "<f4", 4, plane == 1 ? 2 : 4, shape, chw, error);
  g_free (chw);
  g_free (name);
  g_free (path);
  return ok;
}

static int
cmd_run (int argc, char **argv)
{
  GError *error = NULL;
  MoModel *m = NULL;
  MoSession *s = NULL;
  MoNpy x = { 0 };
  int rc = 1;

  if (!parse_args (&argc, &argv, run_entries,
          "run MODEL.yaml --input X.npy --output-dir DIR", 1))
    return 2;
  if (opt_input == NULL || opt_output_dir == NULL) {
    g_printerr ("mobileone-cli: run needs --input and --output-dir\n");
    return 2;
  }
  if ((m = load_model (argv[1], &error)) == NULL)
    goto out;
  if (!mo_npy_read_f32 (opt_input, &x, &error))
    goto out;
  if (x.ndim != 4 || x.shape[0] != 1 || x.shape[1] != 3 || x.shape[2] < 1
      || x.shape[3] < 1 || x.shape[2] > 16384 || x.shape[3] > 16384) {
    GString *sh = g_string_new ("[");
    for (int i = 0; i < x.ndim; i++)
      g_string_append_printf (sh, "%s%" G_GINT64_FORMAT, i ? ", " : "",
          x.shape[i]);
    g_string_append (sh, "]");
    g_set_error (&error, MO_ERROR, MO_ERROR_INPUT,
        "%s: input has shape %s, expected [1, 3, H, W] (float32 NCHW)",
        opt_input, sh->str);
    g_string_free (sh, TRUE);
    goto out;
  }
  for (gint64 i = 0; i < x.numel; i++) {
    if (!isfinite (x.data[i])) {
      g_set_error (&error, MO_ERROR, MO_ERROR_INPUT,
          "%s: element %" G_GINT64_FORMAT " (channel %" G_GINT64_FORMAT
          ", row %" G_GINT64_FORMAT ", column %" G_GINT64_FORMAT ") is %s",
          opt_input, i, i / (x.shape[2] * x.shape[3]),
          i / x.shape[3] % x.shape[2], i % x.shape[3],
          isnan (x.data[i]) ? "NaN" : "infinite");
      goto out;
    }
  }
  s = mo_session_new (m, (int) x.shape[3], (int) x.shape[2], opt_threads,
      &error);
  if (s == NULL)
    goto out;
  mo_session_set_input_nchw (s, x.data);
  mo_session_run (s);

  if (g_mkdir_with_parents (opt_output_dir, 0755) != 0) {
    g_set_error (&error, MO_ERROR, MO_ERROR_IO, "%s: cannot create: %s",
        opt_output_dir, g_strerror (errno));
    goto out;
  }
  const MoCliHead *head = cli_head (m);
  if (head != NULL) {
    if (!head->write_outputs (s, opt_output_dir, &error))
      goto out;
    if (!head->report_image (s, NULL, NULL, NULL, &error))
      goto out;
  } else {
    for (int i = 0; i < mo_session_n_outputs (s); i++)
      if (!mo_cli_write_npy_output (opt_output_dir,
              mo_session_nth_output (s, i), &error))
        goto out;
  }
  rc = 0;

out:
  if (error)
    rc = fail (error);
  mo_npy_clear (&x);
  mo_session_free (s);
  mo_model_unref (m);
  return rc;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmd_bench (int argc, char **argv)
{
  GError *error = NULL;
  MoModel *m;
  MoSession *s;
  int w, h;

  if (!parse_args (&argc, &argv, bench_entries, "bench MODEL.yaml", 1))
    return 2;
  if (opt_iterations < 1) {
    g_printerr ("mobileone-cli: --iterations must be at least 1\n");
    return 2;
  }
  if ((m = load_model (argv[1], &error)) == NULL)
    return fail (error);
  if (!parse_size (m, &w, &h, &error)
      || (s = mo_session_new (m, w, h, opt_threads, &error)) == NULL) {
    mo_model_unref (m);
    return fail (error);
  }
  /* A fixed, finite input: timings must not depend on denormals or NaNs. */
  int cs, iw, ih;
  float *in = mo_session_input (s, &iw, &ih, &cs);
  for (int p = 0; p < iw * ih; p++)
    for (int c = 0; c < 3; c++)
      in[(gsize) p * cs + c] = (float) ((p * 7 + c * 13) % 255) / 127.5f - 1.0f;

  for (int i = 0; i < 3; i++)
    mo_session_run (s);
  mo_session_set_profile (s, opt_profile || opt_profile_layers);
  double *t = g_new (double, opt_iterations);
  for (int i = 0; i < opt_iterations; i++) {
    double t0 = now_ms ();
    mo_session_run (s);
    t[i] = now_ms () - t0;
  }
  qsort (t, opt_iterations, sizeof (double), cmp_double);
  double median = opt_iterations % 2 ? t[opt_iterations / 2] :
      (t[opt_iterations / 2 - 1] + t[opt_iterations / 2]) / 2;
  printf ("model: %s  input: %dx%d  threads: %d  kernels: %s  GMACs: %.4f\n",
      mo_model_desc (m)->name, w, h, mo_session_n_threads (s),
      mo_session_isa (s), mo_session_macs (s) / 1e9);
  printf ("median_ms: %.4f  min_ms: %.4f  iterations: %d\n", median, t[0],
      opt_iterations);
  if (opt_profile || opt_profile_layers) {
    GString *r = g_string_new (NULL);
    if (opt_profile_layers)
      mo_session_profile_layers (s, r);
    if (opt_profile)
      mo_session_profile_report (s, r);
    printf ("%s", r->str);
    g_string_free (r, TRUE);
  }
  g_free (t);
  mo_session_free (s);
  mo_model_unref (m);
  return 0;
}

static int
cmd_fuse (int argc, char **argv)
{
  GError *error = NULL;
  MoModel *m;

  if (!parse_args (&argc, &argv, info_entries,
          "fuse MODEL.yaml OUT.safetensors", 2))
    return 2;
  if ((m = load_model (argv[1], &error)) == NULL)
    return fail (error);
  if (!mo_model_export_fused (m, argv[2], &error)) {
    mo_model_unref (m);
    return fail (error);
  }
  printf ("%s: %u fused layers, %" G_GUINT64_FORMAT " parameters; use it "
      "with 'backbone.fused: true'\n", argv[2], mo_model_n_layers (m),
      mo_model_n_params (m));
  mo_model_unref (m);
  return 0;
}

#ifdef HAVE_GDK_PIXBUF
/* @path decoded, turned upright (EXIF), as *@img (whose pixels the
 * returned pixbuf holds). */
static GdkPixbuf *
decode_picture (const char *path, MoImage *img, GError **error)
{
  GdkPixbuf *pb, *oriented;

  if ((pb = gdk_pixbuf_new_from_file (path, error)) == NULL) {
    g_prefix_error (error, "%s: ", path);
    return NULL;
  }
  oriented = gdk_pixbuf_apply_embedded_orientation (pb);
  g_object_unref (pb);
  if (gdk_pixbuf_get_bits_per_sample (oriented) != 8
      || gdk_pixbuf_get_n_channels (oriented) < 3) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: only 8-bit RGB or RGBA pictures are supported", path);
    g_object_unref (oriented);
    return NULL;
  }
  memset (img, 0, sizeof *img);
  img->format = gdk_pixbuf_get_n_channels (oriented) == 4 ? MO_PIXEL_RGBX :
      MO_PIXEL_RGB;
  img->width = gdk_pixbuf_get_width (oriented);
  img->height = gdk_pixbuf_get_height (oriented);
  img->planes[0] = gdk_pixbuf_read_pixels (oriented);
  img->strides[0] = gdk_pixbuf_get_rowstride (oriented);
  return oriented;
}
#endif

static int
cmd_image (int argc, char **argv)
{
  GError *error = NULL;

  if (!parse_args (&argc, &argv, image_entries, "image MODEL.yaml PICTURE", 2))
    return 2;
#ifndef HAVE_GDK_PIXBUF
  g_set_error (&error, MO_ERROR, MO_ERROR_UNSUPPORTED,
      "this build has no image decoder (install libgdk-pixbuf-2.0-dev and "
      "rebuild)");
  return fail (error);
#else
  MoModel *m = NULL;
  MoSession *s = NULL;
  int rc = 1;
  GdkPixbuf *oriented = NULL;
  const MoCliHead *head;

  if ((m = load_model (argv[1], &error)) == NULL)
    goto out;
  if ((head = cli_head (m)) == NULL) {
    g_set_error (&error, MO_ERROR, MO_ERROR_UNSUPPORTED,
        "%s: 'image' does not support head '%s'", argv[1],
        mo_model_desc (m)->head_type);
    goto out;
  }
  MoImage img = { 0 };
  if ((oriented = decode_picture (argv[2], &img, &error)) == NULL)
    goto out;

  const MoDesc *d = mo_model_desc (m);
  int iw = d->input_width, ih = d->input_height;

  MoFit fit = head->center_crop ? MO_FIT_CROP : MO_FIT_STRETCH;
  if (opt_letterbox)
    fit = MO_FIT_LETTERBOX;
  if (opt_fit != NULL && !mo_fit_from_string (opt_fit, &fit)) {
    g_set_error (&error, MO_ERROR, MO_ERROR_INPUT, "--fit '%s': expected "
        "stretch, letterbox or crop", opt_fit);
    goto out;
  }

  if ((s = mo_session_new (m, iw, ih, opt_threads, &error)) == NULL)
    goto out;
  MoTransform xf;
  mo_session_set_input_image (s, &img, NULL, fit, &xf);
  mo_session_run (s);
  if (!head->report_image (s, &img, &xf, opt_output, &error))
    goto out;
  rc = 0;

out:
  if (error)
    rc = fail (error);
  if (oriented)
    g_object_unref (oriented);
  mo_session_free (s);
  mo_model_unref (m);
  return rc;
#endif
}

static gboolean
is_picture (const char *name)
{
  char *lower = g_ascii_strdown (name, -1);
  gboolean yes = g_str_has_suffix (lower, ".png")
      || g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg");
  g_free (lower);
  return yes;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* What calibration runs on: one picture or video frame (unused in a build
 * with neither gdk-pixbuf nor GStreamer). */
typedef struct
{
  MoSession *s;
  MoFit fit;
} CalibFeed;

G_GNUC_UNUSED static gboolean
calibrate_on (const MoImage * img, gpointer user_data, GError ** error)
{
  CalibFeed *f = user_data;
  mo_session_set_input_image (f->s, img, NULL, f->fit, NULL);
  mo_session_run (f->s);
  return TRUE;
}

/* Feeds the frames of --video to @feed; *@n: the frames used. */
static gboolean
calibrate_video (CalibFeed * feed, guint * n, GError ** error)
{
#ifdef HAVE_GSTREAMER
  guint total;
  if (!mo_cli_video_frames (opt_video, opt_every > 0 ? 0 : opt_frames,
          opt_every, calibrate_on, feed, n, &total, error))
    return FALSE;
  printf ("%s: %u of %u frames\n", opt_video, *n, total);
  return TRUE;
#else
  g_set_error (error, MO_ERROR, MO_ERROR_UNSUPPORTED, "%s: this build "
      "cannot decode videos (install libgstreamer-plugins-base1.0-dev and "
      "rebuild)", opt_video);
  return FALSE;
#endif
}

/* The activation scales of an int8 model (docs/int8.md): the float model
 * on every picture of --images, pre-processed as 'image' does, or on frames
 * of --video. */
static int
cmd_calibrate (int argc, char **argv)
{
  GError *error = NULL;

  if (!parse_args (&argc, &argv, calibrate_entries,
          "calibrate MODEL.yaml --images DIR|--video FILE", 1))
    return 2;
  if ((opt_images == NULL) == (opt_video == NULL)) {
    g_printerr ("mobileone-cli: calibrate needs --images DIR or --video "
        "FILE (one of them)\n");
    return 2;
  }
  if (opt_frames < 0 || opt_every < 0 || (opt_frames > 0 && opt_every > 0)
      || (opt_video == NULL && (opt_frames > 0 || opt_every > 0))) {
    g_printerr ("mobileone-cli: --frames N or --every N (N >= 1, not both) "
        "go with --video\n");
    return 2;
  }
  if (opt_video != NULL && opt_frames == 0 && opt_every == 0)
    opt_frames = 64;
  MoCalibStatistic stat = MO_CALIB_MEAN_MAX;
  if (opt_statistic != NULL && g_str_equal (opt_statistic, "max"))
    stat = MO_CALIB_MAX;
  else if (opt_statistic != NULL && !g_str_equal (opt_statistic, "mean-max")) {
    g_printerr ("mobileone-cli: --statistic '%s': expected mean-max or "
        "max\n", opt_statistic);
    return 2;
  }
#ifndef HAVE_GDK_PIXBUF
  if (opt_images != NULL) {
    g_set_error (&error, MO_ERROR, MO_ERROR_UNSUPPORTED,
        "this build has no image decoder (install libgdk-pixbuf-2.0-dev and "
        "rebuild)");
    return fail (error);
  }
#endif
  MoModel *m = NULL;
  MoSession *s = NULL;
  MoCalibration *cal = NULL;
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = NULL;
  const char *name;
  char *out = NULL;
  const MoCliHead *head;
  int rc = 1;
  guint n_used = 0;
  CalibFeed feed;

  /* Calibration observes the float model, whatever the description says. */
  g_free (opt_precision);
  opt_precision = g_strdup ("fp32");
  if ((m = load_model (argv[1], &error)) == NULL)
    goto out;
  if (opt_images != NULL) {
    if ((dir = g_dir_open (opt_images, 0, &error)) == NULL)
      goto out;
    while ((name = g_dir_read_name (dir)) != NULL)
      if (is_picture (name))
        g_ptr_array_add (files, g_build_filename (opt_images, name, NULL));
    if (files->len == 0) {
      g_set_error (&error, MO_ERROR, MO_ERROR_INPUT, "%s: no .png or .jpg "
          "picture", opt_images);
      goto out;
    }
    qsort (files->pdata, files->len, sizeof (gpointer), cmp_str);
  }

  const MoDesc *d = mo_model_desc (m);
  head = cli_head (m);
  MoFit fit = head && head->center_crop ? MO_FIT_CROP : MO_FIT_STRETCH;
  if ((s = mo_session_new (m, d->input_width, d->input_height, opt_threads,
              &error)) == NULL
      || (cal = mo_calibration_new (s, &error)) == NULL)
    goto out;
  mo_calibration_set_statistic (cal, stat);
  mo_calibration_set_bias_correction (cal, !opt_no_bias_correction);
  mo_calibration_set_equalisation (cal, !opt_no_equalisation);
  feed.s = s;
  feed.fit = fit;
#ifdef HAVE_GDK_PIXBUF
  for (guint i = 0; i < files->len; i++) {
    MoImage img;
    GdkPixbuf *pb = decode_picture (files->pdata[i], &img, &error);
    if (pb == NULL)
      goto out;
    calibrate_on (&img, &feed, NULL);
    g_object_unref (pb);
    n_used++;
  }
#endif
  if (opt_video != NULL && !calibrate_video (&feed, &n_used, &error))
    goto out;
  if (opt_output != NULL)
    out = g_strdup (opt_output);
  else {
    char *base = g_path_get_basename (argv[1]);
    char *dot = strrchr (base, '.');
    if (dot)
      *dot = '\0';
    char *file = g_strconcat (base, "-int8-scales.safetensors", NULL);
    out = g_build_filename (d->dir, file, NULL);
    g_free (file);
    g_free (base);
  }
  if (!mo_calibration_write (cal, out, &error))
    goto out;
  char *rel = g_path_get_basename (out);
  printf ("%s: %d activation scales from %u %s; to run in int8, add "
      "to %s:\n  precision: int8\n  int8_scales: %s\n", out,
      mo_calibration_n_scales (cal), n_used, opt_video ? "frames" :
      "pictures", argv[1], rel);
  g_free (rel);
  rc = 0;

out:
  if (error)
    rc = fail (error);
  if (dir)
    g_dir_close (dir);
  g_ptr_array_free (files, TRUE);
  g_free (out);
  mo_calibration_free (cal);
  mo_session_free (s);
  mo_model_unref (m);
  return rc;
}

static void
usage (void)
{
  g_printerr ("usage: mobileone-cli COMMAND MODEL.yaml [OPTIONS]\n\n"
      "commands:\n"
      "  info   MODEL.yaml [--size WxH]              architecture, parameters, MACs, memory\n"
      "  run    MODEL.yaml --input X.npy --output-dir DIR [--threads N]\n"
      "                                              raw outputs as .npy (classifier: logits.npy;\n"
      "                                              deeplabv3: logits.npy, mask.npy)\n"
      "  bench  MODEL.yaml [--threads N] [--iterations N] [--size WxH] [--profile]\n"
      "         [--profile-layers]\n"
      "                                              median and min milliseconds per inference\n"
      "  fuse   MODEL.yaml OUT.safetensors           write the folded (fused) weights\n"
      "  image  MODEL.yaml PICTURE [--output OUT] [--fit FIT] [--threads N]\n"
      "                                              run on a JPEG/PNG: top-5, detections or a mask\n"
      "  calibrate MODEL.yaml --images DIR|--video FILE [--output SCALES.safetensors]\n"
      "                                              activation scales for 'precision: int8'\n\n"
      "Every command takes --precision fp32 (float32 even for an int8 model) and\n"
      "--allow-external-paths.\n"
      "Environment: MOBILEONE_ISA=ref|avx2|avx512|neon limits the kernels\n"
      "(avx2-novnni, neon-nodot: without the int8 dot-product instructions).\n"
      "Run 'mobileone-cli COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")) {
    usage ();
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1];
  argv[1] = argv[0];
  argc--;
  argv++;
  if (g_str_equal (cmd, "info"))
    return cmd_info (argc, argv);
  if (g_str_equal (cmd, "run"))
    return cmd_run (argc, argv);
  if (g_str_equal (cmd, "bench"))
    return cmd_bench (argc, argv);
  if (g_str_equal (cmd, "fuse"))
    return cmd_fuse (argc, argv);
  if (g_str_equal (cmd, "image"))
    return cmd_image (argc, argv);
  if (g_str_equal (cmd, "calibrate"))
    return cmd_calibrate (argc, argv);
  g_printerr ("mobileone-cli: unknown command '%s'\n\n", cmd);
  usage ();
  return 2;
}
