/* The DeepLabv3 head against the PyTorch reference (tools/mobileone_tools/reference/
 * deeplab_ref.py, fixtures in tests/data/deeplab/ written by
 * make_deeplab_case.py --fixtures).
 *
 * For every case NAME (NAME-unfused.yaml, NAME-fused.yaml, and per size
 * NAME-logits-WxH.npy / NAME-mask-WxH.npy for input-WxH.npy):
 *  - both forms give PyTorch's logits at the input size,
 *    max |c - ref| / max |ref| < 1e-4;
 *  - the class map (mo_deeplab_argmax) equals PyTorch's argmax pixel for
 *    pixel, except where the reference's two best logits are closer than
 *    2 x the tolerance (either may then legitimately win);
 *  - 1 and 2 or 3 threads give bit-identical outputs;
 *  - the C folding of the unfused checkpoint equals PyTorch's fused tensors.
 * Plus: the bilinear resize kernel against a direct implementation of
 * PyTorch's formula, the argmax's ties and strides, and bad descriptions.
 * MOBILEONE_ISA (set by meson per test) picks the kernel level. */
#include "mo-heads.h"
#include "mo-test-util.h"
#include "mo-deeplab.h"
#include "mo-kernels.h"
#include "mo-npy.h"
#include "mo-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4          /* of the output's max |value| */

static const char *data_dir;

/* Runs @yaml on @input (NCHW) with @threads; returns "logits" as NCHW
 * (g_free) and the low-resolution logits' size. */
static float *
run_model (const char *yaml, const MoNpy *input, int threads, int *nc,
    int *low_h, int *low_w, guint8 **mask)
{
  GError *error = NULL;
  int H = (int) input->shape[2], W = (int) input->shape[3];
  MoModel *m = mo_model_load (yaml, &error);
  g_assert_no_error (error);
  MoSession *s = mo_session_new (m, W, H, threads, &error);
  g_assert_no_error (error);
  mo_session_set_input_nchw (s, input->data);
  mo_session_run (s);
  /* Twice: a second run must not depend on what the first left behind. */
  mo_session_run (s);
  const MoOutput *o = mo_session_output (s, "logits");
  const MoOutput *lo = mo_session_output (s, "logits_lowres");
  g_assert_nonnull (o);
  g_assert_nonnull (lo);
  g_assert_cmpint (o->h, ==, H);
  g_assert_cmpint (o->w, ==, W);
  g_assert_cmpint (lo->c, ==, o->c);
  *nc = o->c;
  *low_h = lo->h;
  *low_w = lo->w;
  gsize plane = (gsize) H * W;
  float *chw = g_new (float, plane * o->c);
  for (gsize p = 0; p < plane; p++)
    for (int c = 0; c < o->c; c++)
      chw[c * plane + p] = o->data[p * o->cs + c];
  /* A row stride wider than the row: the padding must stay untouched. */
  int stride = W + 3;
  guint8 *buf = g_malloc ((gsize) stride * H);
  memset (buf, 0xee, (gsize) stride * H);
  mo_deeplab_argmax (o, buf, stride);
  *mask = g_malloc (plane);
  for (int y = 0; y < H; y++) {
    memcpy (*mask + (gsize) y * W, buf + (gsize) y * stride, W);
    for (int x = W; x < stride; x++)
      g_assert_cmpint (buf[(gsize) y * stride + x], ==, 0xee);
  }
  g_free (buf);
  mo_session_free (s);
  mo_model_unref (m);
  return chw;
}

/* A uint8 .npy of our own fixtures (mo-npy reads floats only): checks the
 * header's dtype and shape and returns the data. */
static guint8 *
read_mask_npy (const char *path, int h, int w)
{
  gchar *raw;
  gsize len;
  GError *error = NULL;
  char shape[64];

  g_assert_true (g_file_get_contents (path, &raw, &len, &error));
  g_assert_cmpuint (len, >, 10);
  g_assert_cmpmem (raw, 6, "\x93NUMPY", 6);
  g_assert_cmpint (raw[6], ==, 1);
  gsize hl = (guint8) raw[8] | ((gsize) (guint8) raw[9] << 8);
  g_assert_cmpuint (10 + hl + (gsize) h * w, ==, len);
  char *header = g_strndup (raw + 10, hl);
  g_assert_nonnull (strstr (header, "'descr': '|u1'"));
  g_assert_nonnull (strstr (header, "'fortran_order': False"));
  g_snprintf (shape, sizeof shape, "'shape': (1, %d, %d)", h, w);
  g_assert_nonnull (strstr (header, shape));
  guint8 *mask = g_memdup2 (raw + 10 + hl, (gsize) h * w);
  g_free (header);
  g_free (raw);
  return mask;
}

static int
ceil_div_pow2 (int v, int times)
{
  for (int i = 0; i < times; i++)
    v = (v + 1) / 2;
  return v;
}

static void
test_case (gconstpointer user)
{
  const char *name = user;
  char *yaml[2] = {
    g_strdup_printf ("%s/%s-unfused.yaml", data_dir, name),
    g_strdup_printf ("%s/%s-fused.yaml", data_dir, name)
  };
  char *pattern = g_strdup_printf ("%s-logits-", name);
  GDir *dir = g_dir_open (data_dir, 0, NULL);
  const char *f;
  int n_sizes = 0;
  /* The output stride, from the YAML through the model's description. */
  GError *error = NULL;
  MoModel *m = mo_model_load (yaml[0], &error);
  g_assert_no_error (error);
  const MoYamlNode *os_node = mo_yaml_lookup (mo_model_desc (m)->head,
      "output_stride");
  int os = os_node ? atoi (os_node->scalar) : 16;
  mo_model_unref (m);

  g_assert_nonnull (dir);
  while ((f = g_dir_read_name (dir)) != NULL) {
    if (!g_str_has_prefix (f, pattern) || !g_str_has_suffix (f, ".npy"))
      continue;
    char *size = g_strndup (f + strlen (pattern),
        strlen (f) - strlen (pattern) - 4);
    char *in_path = g_strdup_printf ("%s/input-%s.npy", data_dir, size);
    char *ref_path = g_build_filename (data_dir, f, NULL);
    char *mask_path = g_strdup_printf ("%s/%s-mask-%s.npy", data_dir, name,
        size);
    MoNpy in = { 0 }, ref = { 0 };

    g_assert_true (mo_npy_read_f32 (in_path, &in, &error));
    g_assert_true (mo_npy_read_f32 (ref_path, &ref, &error));
    g_assert_cmpint (ref.ndim, ==, 4);
    int nc_ref = (int) ref.shape[1], H = (int) ref.shape[2];
    int W = (int) ref.shape[3];
    gsize plane = (gsize) H * W;
    guint8 *ref_mask = read_mask_npy (mask_path, H, W);

    /* Where the reference's decision is within the tolerance. */
    double mx = 0.0;
    for (gint64 i = 0; i < ref.numel; i++)
      mx = MAX (mx, fabs (ref.data[i]));
    gboolean *close = g_new0 (gboolean, plane);
    int n_close = 0;
    for (gsize p = 0; p < plane; p++) {
      float b1 = -INFINITY, b2 = -INFINITY;
      for (int c = 0; c < nc_ref; c++) {
        float v = ref.data[c * plane + p];
        if (v > b1) {
          b2 = b1;
          b1 = v;
        } else if (v > b2)
          b2 = v;
      }
      close[p] = nc_ref > 1 && b1 - b2 <= 2 * TOLERANCE * mx;
      n_close += close[p];
    }

    for (int form = 0; form < 2; form++) {
      int nc, lh, lw, nc3, lh3, lw3;
      guint8 *mask, *mask3;
      float *a = run_model (yaml[form], &in, 1, &nc, &lh, &lw, &mask);
      /* 3 threads (uneven splits) for one form, 2 (rows chained from a
       * depthwise to the next pointwise layer) for the other. */
      float *b = run_model (yaml[form], &in, 3 - form, &nc3, &lh3, &lw3,
          &mask3);
      g_assert_cmpint (nc, ==, nc_ref);
      g_assert_cmpint (lh, ==, ceil_div_pow2 (H, os == 16 ? 4 : 3));
      g_assert_cmpint (lw, ==, ceil_div_pow2 (W, os == 16 ? 4 : 3));
      double e = mo_test_rel_err (a, ref.data, ref.numel, NULL);
      int n_diff = 0;
      for (gsize p = 0; p < plane; p++) {
        if (mask[p] != ref_mask[p]) {
          if (!close[p])
            g_error ("%s %s %s: pixel (%d, %d) is class %d, PyTorch says %d",
                name, form ? "fused" : "unfused", size, (int) (p % W),
                (int) (p / W), mask[p], ref_mask[p]);
          n_diff++;
        }
      }
      g_test_message ("%s %s %s: relative error %.3g; mask: %d pixels differ "
          "(%d near ties allowed)", name, form ? "fused" : "unfused", size, e,
          n_diff, n_close);
      g_assert_cmpfloat (e, <, TOLERANCE);
      g_assert_cmpmem (a, plane * nc * sizeof (float), b,
          plane * nc3 * sizeof (float));
      g_assert_cmpmem (mask, plane, mask3, plane);
      g_free (a);
      g_free (b);
      g_free (mask);
      g_free (mask3);
    }
    n_sizes++;
    g_free (close);
    g_free (ref_mask);
    mo_npy_clear (&in);
    mo_npy_clear (&ref);
    g_free (in_path);
    g_free (ref_path);
    g_free (mask_path);
    g_free (size);
  }
  g_assert_cmpint (n_sizes, >, 0);
  g_dir_close (dir);
  g_free (pattern);
  g_free (yaml[0]);
  g_free (yaml[1]);
}

/* The C folding (backbone and head) against PyTorch's fused tensors. */
static void
test_folding (gconstpointer user)
{
  const char *name = user;
  char *unfused = g_strdup_printf ("%s/%s-unfused.yaml", data_dir, name);
  char *torch_fused = g_strdup_printf ("%s/%s-fused.safetensors", data_dir,
      name);
  guint head;
  guint n = mo_test_check_folding (unfused, torch_fused, &head);
  g_assert_cmpuint (head, >=, 12);
  g_test_message ("%s: %u fused tensors (%u of the head) equal PyTorch's",
      name, n, head);
  g_free (unfused);
  g_free (torch_fused);
}

/* PyTorch's upsample_bilinear2d (align_corners = False, output size given),
 * written out directly, in double. */
static double
torch_bilinear (const float *in, int ih, int iw, int cs, int c, int oh, int ow,
    int oy, int ox)
{
  double sy = (double) ih / oh, sx = (double) iw / ow;
  double ry = MAX (0.0, sy * (oy + 0.5) - 0.5);
  double rx = MAX (0.0, sx * (ox + 0.5) - 0.5);
  int y0 = MIN ((int) floor (ry), ih - 1), x0 = MIN ((int) floor (rx), iw - 1);
  int y1 = y0 + (y0 < ih - 1), x1 = x0 + (x0 < iw - 1);
  double ly1 = ry - y0, lx1 = rx - x0, ly0 = 1 - ly1, lx0 = 1 - lx1;
#define AT(y, x) ((double) in[((gsize) (y) * iw + (x)) * cs + c])
  return ly0 * (lx0 * AT (y0, x0) + lx1 * AT (y0, x1))
      + ly1 * (lx0 * AT (y1, x0) + lx1 * AT (y1, x1));
#undef AT
}

static void
test_resize (void)
{
  static const int sizes[][4] = {
    /* in_h, in_w, out_h, out_w */
    {3, 5, 7, 11}, {4, 4, 16, 16}, {4, 3, 61, 47}, {17, 13, 5, 4},
    {8, 8, 8, 8}, {1, 1, 9, 6}, {6, 9, 1, 1}, {2, 7, 2, 3}, {32, 32, 512, 512},
    {5, 6, 10, 12}, {10, 12, 5, 6}, {7, 1, 3, 5},
  };
  static const int channels[] = { 1, 3, 21, 32 };
  MoKernels k;
  GRand *rnd = g_rand_new_with_seed (7);

  mo_kernels_init (&k, mo_isa_from_env ());
  g_assert_nonnull (k.resize_bilinear);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++) {
    for (guint ci = 0; ci < G_N_ELEMENTS (channels); ci++) {
      int ih = sizes[si][0], iw = sizes[si][1], oh = sizes[si][2];
      int ow = sizes[si][3], c = channels[ci];
      int ics = MO_ROUND_UP (c, MO_CALIGN), ocs = ics + MO_CALIGN;
      float *in = g_new (float, (gsize) ih * iw * ics);
      float *out = g_new (float, (gsize) oh * ow * ocs);
      float *out2 = g_new (float, (gsize) oh * ow * ocs);
      for (gsize i = 0; i < (gsize) ih * iw * ics; i++)
        in[i] = (float) g_rand_double_range (rnd, -4, 4);
      for (gsize i = 0; i < (gsize) oh * ow * ocs; i++)
        out[i] = out2[i] = 12345.0f;

      /* The table's variant in one call, the reference over split rows. */
      MoResizeParams p = { in, out, ih, iw, ics, oh, ow, ocs, c, 0, oh };
      k.resize_bilinear (&p);
      for (int y0 = 0; y0 < oh; y0 += 3) {
        MoResizeParams q = { in, out2, ih, iw, ics, oh, ow, ocs, c, y0,
          MIN (oh, y0 + 3)
        };
        mo_f32_resize_bilinear__ref (&q);
      }
      double err = 0.0;
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
          const float *o = out + ((gsize) y * ow + x) * ocs;
          const float *o2 = out2 + ((gsize) y * ow + x) * ocs;
          for (int ch = 0; ch < c; ch++) {
            double want = torch_bilinear (in, ih, iw, ics, ch, oh, ow, y, x);
            err = MAX (err, fabs (o[ch] - want));
            err = MAX (err, fabs (o2[ch] - want));
            if (ih == oh && iw == ow)
              g_assert_cmpfloat (o[ch], ==, in[((gsize) y * iw + x) * ics + ch]);
          }
          /* Channels beyond the padded count are never written. */
          for (int ch = ics; ch < ocs; ch++)
            g_assert_cmpfloat (o[ch], ==, 12345.0f);
        }
      if (err > 1e-5)
        g_error ("resize %dx%d -> %dx%d, %d channels: max error %g", ih, iw,
            oh, ow, c, err);
      g_free (in);
      g_free (out);
      g_free (out2);
    }
  }
  g_rand_free (rnd);
}

static void
test_argmax (void)
{
  /* 2x3 pixels, 5 classes, channel stride 16. */
  float data[6 * 16];
  static const float px[6][5] = {
    {1, 1, 1, 1, 1},            /* all equal: 0 */
    {0, 2, 2, 1, -1},           /* tie between 1 and 2: 1 */
    {-3, -2, -1, -1, -5},       /* 2 */
    {0, 0, 0, 0, 1e-30f},       /* 4 */
    {-INFINITY, -1e30f, -INFINITY, -INFINITY, -INFINITY},   /* 1 */
    {7, 6, 5, 4, 7},            /* 0 */
  };
  static const guint8 want[6] = { 0, 1, 2, 4, 1, 0 };
  guint8 mask[2 * 8];

  for (int p = 0; p < 6; p++)
    for (int c = 0; c < 16; c++)
      data[p * 16 + c] = c < 5 ? px[p][c] : 100.0f;     /* padding ignored */
  MoOutput o = { "logits", 2, 3, 5, 16, data };
  memset (mask, 0xaa, sizeof mask);
  mo_deeplab_argmax (&o, mask, 8);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 8; x++)
      g_assert_cmpint (mask[y * 8 + x], ==, x < 3 ? want[y * 3 + x] : 0xaa);

  /* One class: all zeros. */
  MoOutput one = { "logits", 2, 3, 1, 16, data };
  mo_deeplab_argmax (&one, mask, 3);
  for (int i = 0; i < 6; i++)
    g_assert_cmpint (mask[i], ==, 0);
}

/* Very small inputs still run (maps of 1x1 all the way down). */
static void
test_small_inputs (void)
{
  char *yaml = g_strdup_printf ("%s/dense-fused.yaml", data_dir);
  GError *error = NULL;
  MoModel *m = mo_model_load (yaml, &error);
  g_assert_no_error (error);
  static const int sz[][2] = { {1, 1}, {2, 3}, {17, 1}, {33, 31} };
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++) {
    MoSession *s = mo_session_new (m, sz[i][0], sz[i][1], 2, &error);
    g_assert_no_error (error);
    int w, h, cs;
    float *in = mo_session_input (s, &w, &h, &cs);
    for (int p = 0; p < w * h; p++)
      for (int c = 0; c < 3; c++)
        in[(gsize) p * cs + c] = (float) ((p * 7 + c * 3) % 11) / 5.0f - 1.0f;
    mo_session_run (s);
    const MoOutput *o = mo_session_output (s, "logits");
    g_assert_cmpint (o->w, ==, sz[i][0]);
    g_assert_cmpint (o->h, ==, sz[i][1]);
    for (int p = 0; p < o->w * o->h; p++)
      for (int c = 0; c < o->c; c++)
        g_assert_true (isfinite (o->data[(gsize) p * o->cs + c]));
    mo_session_free (s);
  }
  mo_model_unref (m);
  g_free (yaml);
}

/* Bad descriptions: a clear error (naming the file and the key or tensor),
 * never a crash. Each case rewrites the dense fixture's fused YAML. */
typedef struct
{
  const char *title;
  const char *from, *to;        /* text replaced in the YAML */
  const char *expect[3];        /* substrings of the message */
  gboolean unfused;             /* start from the unfused YAML */
} BadCase;

static const BadCase bad_cases[] = {
  {"num_classes vs classifier", "num_classes: 3", "num_classes: 5",
      {"classifier.weight", "has shape [3, 16, 1, 1], expected [5, 16, 1, 1]",
          "head.num_classes 5"}, FALSE},
  {"aspp_channels vs tensors", "aspp_channels: 16", "aspp_channels: 32",
      {"aspp.convs.0.conv.weight", "expected [32, 24, 1, 1]",
          "head.aspp_channels 32"}, FALSE},
  {"separable on a dense file", "aspp_separable: false",
        "aspp_separable: true",
      {"aspp.convs.1.dw.conv.weight", "not found",
          "set 'head.aspp_separable: false'"}, FALSE},
  {"output_stride 32", "output_stride: 16", "output_stride: 32",
      {"key 'head.output_stride'", "32 is not supported", ":13:"}, FALSE},
  {"aspp_channels not aligned", "aspp_channels: 16", "aspp_channels: 24",
      {"key 'head.aspp_channels'", "multiple of 16"}, FALSE},
  {"two rates", "aspp_rates: [1, 2, 3]", "aspp_rates: [1, 2]",
      {"key 'head.aspp_rates'", "expected 3 values"}, FALSE},
  {"rate 0", "aspp_rates: [1, 2, 3]", "aspp_rates: [1, 0, 3]",
      {"head.aspp_rates[1]", "out of range"}, FALSE},
  {"rates not a list", "aspp_rates: [1, 2, 3]", "aspp_rates: 6",
      {"key 'head.aspp_rates'", "expected a list"}, FALSE},
  {"too many classes", "num_classes: 3", "num_classes: 300",
      {"key 'head.num_classes'", "out of range [1, 256]"}, FALSE},
  {"no classes", "num_classes: 3", "num_classes: 0",
      {"key 'head.num_classes'", "out of range"}, FALSE},
  {"missing num_classes", "  num_classes: 3\n", "",
      {"head.num_classes"}, FALSE},
  {"unknown key", "aspp_rates:", "aspp_rate:",
      {"head.aspp_rate'"}, FALSE},
  {"not a bool", "aspp_separable: false", "aspp_separable: maybe",
      {"key 'head.aspp_separable'", "expected true or false"}, FALSE},
  {"unfused weights, fused: true", "fused: false", "fused: true",
      {"reparam_conv.weight", "backbone.fused: false"}, TRUE},
};

static void
test_bad (gconstpointer user)
{
  const BadCase *bc = user;
  const char *form = bc->unfused ? "unfused" : "fused";
  char *src = g_strdup_printf ("%s/dense-%s.yaml", data_dir, form);
  char *text, *weights;
  GError *error = NULL;

  g_assert_true (g_file_get_contents (src, &text, NULL, &error));
  /* Point the copy at the fixture's weights by absolute path (so the
   * copy is loaded with external paths allowed). */
  weights = g_strdup_printf ("weights: %s/dense-%s.safetensors", data_dir,
      form);
  GString *s = g_string_new (text);
  char *rel = g_strdup_printf ("weights: dense-%s.safetensors", form);
  g_assert_cmpuint (g_string_replace (s, rel, weights, 1), ==, 1);
  g_assert_cmpuint (g_string_replace (s, bc->from, bc->to, 1), ==, 1);
  char *tmpdir = g_dir_make_tmp ("mobileone-dlbad-XXXXXX", NULL);
  char *path = g_build_filename (tmpdir, "model.yaml", NULL);
  g_assert_true (g_file_set_contents (path, s->str, -1, &error));

  MoModel *m = mo_model_load_full (path, MO_LOAD_ALLOW_EXTERNAL_PATHS,
      &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s: %s", bc->title, error->message);
  g_assert_nonnull (strstr (error->message, path));
  for (int i = 0; i < 3 && bc->expect[i]; i++)
    if (strstr (error->message, bc->expect[i]) == NULL)
      g_error ("%s: message lacks '%s': %s", bc->title, bc->expect[i],
          error->message);
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
  g_free (rel);
  g_string_free (s, TRUE);
  g_free (weights);
  g_free (text);
  g_free (src);
}

/* A labels file with the wrong number of lines. */
static void
test_bad_labels (void)
{
  char *src = g_strdup_printf ("%s/dense-fused.yaml", data_dir);
  char *tmpdir = g_dir_make_tmp ("mobileone-dlbad-XXXXXX", NULL);
  char *path = g_build_filename (tmpdir, "model.yaml", NULL);
  char *labels = g_build_filename (tmpdir, "labels.txt", NULL);
  char *text;
  GError *error = NULL;

  g_assert_true (g_file_get_contents (src, &text, NULL, &error));
  GString *s = g_string_new (text);
  char *weights = g_strdup_printf ("weights: %s/dense-fused.safetensors\n"
      "labels: labels.txt", data_dir);
  g_assert_cmpuint (g_string_replace (s, "weights: dense-fused.safetensors",
          weights, 1), ==, 1);
  g_assert_true (g_file_set_contents (path, s->str, -1, &error));
  g_assert_true (g_file_set_contents (labels, "background\ncat\n", -1,
          &error));
  MoModel *m = mo_model_load_full (path, MO_LOAD_ALLOW_EXTERNAL_PATHS,
      &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "has 2 labels but "
          "head.num_classes is 3"));
  g_clear_error (&error);
  g_unlink (path);
  g_unlink (labels);
  g_rmdir (tmpdir);
  g_free (labels);
  g_free (path);
  g_free (tmpdir);
  g_free (weights);
  g_string_free (s, TRUE);
  g_free (text);
  g_free (src);
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  data_dir = g_getenv ("MOBILEONE_DEEPLAB_DATA");
  if (data_dir == NULL)
    data_dir = MOBILEONE_TEST_DATA "/deeplab";

  GDir *dir = g_dir_open (data_dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *f;
  g_assert_nonnull (dir);
  while ((f = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (f, "-unfused.yaml"))
      g_ptr_array_add (names, g_strndup (f, strlen (f) - strlen ("-unfused.yaml")));
  g_dir_close (dir);
  g_ptr_array_sort (names, cmp_names);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index (names, i);
    char *p = g_strdup_printf ("/deeplab/reference/%s", n);
    g_test_add_data_func (p, n, test_case);
    g_free (p);
    p = g_strdup_printf ("/deeplab/folding/%s", n);
    g_test_add_data_func (p, n, test_folding);
    g_free (p);
  }
  g_test_add_func ("/deeplab/resize", test_resize);
  g_test_add_func ("/deeplab/argmax", test_argmax);
  g_test_add_func ("/deeplab/small-inputs", test_small_inputs);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++) {
    char *p = g_strdup_printf ("/deeplab/bad/%s", bad_cases[i].title);
    g_test_add_data_func (p, &bad_cases[i], test_bad);
    g_free (p);
  }
  g_test_add_func ("/deeplab/bad/labels", test_bad_labels);
  int rc = g_test_run ();
  g_ptr_array_free (names, TRUE);
  return rc;
}
