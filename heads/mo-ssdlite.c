/* mobileone-gst heads: SSDLite detection (SPEC.md, "SSDLite"; the keys and
 * names are in docs/model-format.md, "SSDLite head").
 *
 * The graph: the backbone's stage3 (stride 16) and stage4 (stride 32)
 * outputs, four extra blocks after stage4 (1x1 reduce, 3x3 depthwise
 * stride 2, 1x1 expand, each conv + BN + ReLU), and on each of the six maps a
 * classification and a regression head (3x3 depthwise conv + BN + ReLU, then
 * a 1x1 conv with bias).
 *
 * The post-processing reproduces torchvision 0.14's float32 arithmetic
 * operation by operation (anchors, decoding, clipping, the IoU of its C++
 * NMS kernel, and batched_nms's coordinate offsets), so that its boxes are
 * those of torchvision, not merely close to them. */

/* An FMA would round once where torchvision rounds twice. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

#include "mo-ssdlite.h"
#include "../mobileone/mo-model-private.h"
#include "../mobileone/mo-limits.h"

#include <math.h>
#include <string.h>

#define MAX_ASPECT_RATIOS 8
#define N_EXTRAS 4

typedef struct
{
  int num_classes;              /* K, background included */
  int anchors;                  /* A */
  int extra_channels[N_EXTRAS];
  double aspect_ratios[MAX_ASPECT_RATIOS];
  int n_aspect_ratios;
  double min_ratio, max_ratio;
  double box_weights[4];
  MoSsdParams params;
} SsdConfig;

gboolean mo_ssdlite_build (MoModel * m, MoWeights * ws, GError ** error);

static const SsdConfig *
ssd_config (const MoModel *m)
{
  if (m == NULL || m->desc == NULL
      || !g_str_equal (m->desc->head_type, "ssdlite"))
    return NULL;
  return m->head_data;
}

const MoSsdParams *
mo_ssdlite_params (const MoModel *m)
{
  const SsdConfig *c = ssd_config (m);
  return c ? &c->params : NULL;
}

int
mo_ssdlite_num_classes (const MoModel *m)
{
  const SsdConfig *c = ssd_config (m);
  return c ? c->num_classes : 0;
}

/* ---------------------------------------------------------------------- */
/* The description                                                          */

/* A number in (0, @max] (or (0, @max) when @max_open), named in errors. */
static gboolean
get_open_double (const MoYamlNode *head, const char *key, double def,
    double max, gboolean max_open, double *out, GError **error)
{
  if (!mo_yaml_get_double (head, key, FALSE, def, -G_MAXDOUBLE, G_MAXDOUBLE,
          out, error))
    return FALSE;
  if (*out > 0.0 && (max_open ? *out < max : *out <= max))
    return TRUE;
  const MoYamlNode *n = mo_yaml_lookup (head, key);
  g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
      "%s:%d: key '%s': %g is out of range (0, %g%s", n->file, n->line,
      n->keypath, *out, max, max_open ? ")" : "]");
  return FALSE;
}

static gboolean
parse_config (const MoDesc *d, SsdConfig *c, GError **error)
{
  const MoYamlNode *h = d->head;
  static const int def_extra[N_EXTRAS] = { 512, 256, 256, 128 };
  int n;

  memcpy (c->extra_channels, def_extra, sizeof def_extra);
  c->aspect_ratios[0] = 2.0;
  c->aspect_ratios[1] = 3.0;
  c->n_aspect_ratios = 2;
  c->box_weights[0] = c->box_weights[1] = 10.0;
  c->box_weights[2] = c->box_weights[3] = 5.0;

  if (!mo_yaml_get_int (h, "num_classes", TRUE, 0, 2, 100000,
          &c->num_classes, error)
      || !mo_yaml_get_int_list (h, "extra_channels", FALSE, N_EXTRAS,
          N_EXTRAS, 2, 65536, c->extra_channels, &n, error))
    return FALSE;
  if (!mo_yaml_get_double_list (h, "aspect_ratios", FALSE, 0,
          MAX_ASPECT_RATIOS, 1e-3, 1e3, c->aspect_ratios, &n, error))
    return FALSE;
  if (mo_yaml_lookup (h, "aspect_ratios") != NULL)
    c->n_aspect_ratios = n;
  /* torchvision's DefaultBoxGenerator: 2 square boxes + 2 per ratio. */
  int expect = 2 + 2 * c->n_aspect_ratios;
  if (!mo_yaml_get_int (h, "anchors_per_location", FALSE, expect, 1, 1000,
          &c->anchors, error))
    return FALSE;
  if (c->anchors != expect) {
    const MoYamlNode *a = mo_yaml_lookup (h, "anchors_per_location");
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s:%d: key 'head.anchors_per_location': %d does not match "
        "'head.aspect_ratios' (%d ratios give 2 + 2 x %d = %d anchors)",
        d->path, a->line, c->anchors, c->n_aspect_ratios,
        c->n_aspect_ratios, expect);
    return FALSE;
  }
  if (!get_open_double (h, "min_ratio", 0.2, 1.0, FALSE, &c->min_ratio, error)
      || !get_open_double (h, "max_ratio", 0.95, 1.0, FALSE, &c->max_ratio,
          error))
    return FALSE;
  if (c->max_ratio < c->min_ratio) {
    const MoYamlNode *a = mo_yaml_lookup (h, "max_ratio");
    if (a == NULL)
      a = mo_yaml_lookup (h, "min_ratio");
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s:%d: key '%s': head.max_ratio (%g) is below head.min_ratio (%g)",
        d->path, a->line, a->keypath, c->max_ratio, c->min_ratio);
    return FALSE;
  }
  if (!mo_yaml_get_double_list (h, "box_coder_weights", FALSE, 4, 4, 1e-6,
          1e6, c->box_weights, &n, error))
    return FALSE;
  /* torchvision's ssdlite320_mobilenet_v3_large defaults. */
  if (!get_open_double (h, "score_threshold", 0.001, 1.0, TRUE,
          &c->params.score_threshold, error)
      || !get_open_double (h, "nms_iou_threshold", 0.55, 1.0, FALSE,
          &c->params.nms_iou_threshold, error)
      || !mo_yaml_get_int (h, "topk_candidates", FALSE, 300, 1, 100000,
          &c->params.topk_candidates, error)
      || !mo_yaml_get_int (h, "max_detections", FALSE, 300, 1, 100000,
          &c->params.max_detections, error))
    return FALSE;
  if (d->labels->len > 0 && (int) d->labels->len != c->num_classes) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: key 'labels': '%s' has %u labels but head.num_classes is %d "
        "(background included, at index 0)", d->path, d->labels_path,
        d->labels->len, c->num_classes);
    return FALSE;
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The graph                                                                */

static void
append_hint (GError **error, const char *hint)
{
  if (error && *error && hint) {
    char *msg = g_strdup_printf ("%s (%s)", (*error)->message, hint);
    g_free ((*error)->message);
    (*error)->message = msg;
  }
}

/* A "NAME.conv + NAME.bn" unit with ReLU: 1x1 (@dw FALSE) or 3x3
 * depthwise. Returns the output tensor or -1. */
static int
add_conv_bn_relu (MoModel *m, MoWeights *ws, const char *name, gboolean dw,
    int in, int cin, int cout, int stride, const char *hint, GError **error)
{
  int k = dw ? 3 : 1, cin_g = dw ? 1 : cin;
  char *tn = g_strconcat (name, ".conv.weight", NULL);
  float *W = mo_weights_alloc (ws, tn, (guint64) cout * cin_g * k * k, error);
  float *b = W ? mo_weights_alloc (ws, NULL, cout, error) : NULL;
  int out = -1;

  g_free (tn);
  if (b != NULL && mo_load_conv_bn (ws, name, m->desc->backbone.fused, cout,
          cin_g, k, W, b, error)) {
    char *ln = g_strconcat (name, ".conv", NULL);
    out = mo_model_add_tensor (m, cout);
    MoLayer *l = mo_model_add_layer (m, dw ? MO_OP_DWCONV : MO_OP_PWCONV, ln,
        in, out);
    g_free (ln);
    l->cin = cin;
    l->cout = cout;
    l->k = k;
    l->stride = stride;
    l->pad = dw ? 1 : 0;
    l->act = MO_ACT_RELU;
    mo_layer_set_weights (m, l, W, b);
  } else {
    append_hint (error, hint);
  }
  g_free (W);
  g_free (b);
  return out;
}

/* A plain 1x1 conv with bias, NAME.weight and NAME.bias, no activation. */
static int
add_pw_bias (MoModel *m, MoWeights *ws, const char *name, int in, int cin,
    int cout, const char *hint, GError **error)
{
  const int64_t wshape[4] = { cout, cin, 1, 1 }, bshape[1] = { cout };
  char *wn = g_strconcat (name, ".weight", NULL);
  char *bn = g_strconcat (name, ".bias", NULL);
  float *w = mo_weights_get (ws, "", wn, 4, wshape, error);
  float *b = w ? mo_weights_get (ws, "", bn, 1, bshape, error) : NULL;
  int out = -1;

  if (b != NULL) {
    out = mo_model_add_tensor (m, cout);
    MoLayer *l = mo_model_add_layer (m, MO_OP_PWCONV, name, in, out);
    l->cin = cin;
    l->cout = cout;
    l->act = MO_ACT_NONE;
    mo_layer_set_weights (m, l, w, b);
  } else {
    append_hint (error, hint);
  }
  g_free (wn);
  g_free (bn);
  g_free (w);
  g_free (b);
  return out;
}

/* The six map sizes (rows, columns) for an input, as the graph computes
 * them: every stride-2 layer is a 3x3 conv with padding 1. */
static void
map_sizes (int width, int height, int sizes[MO_SSD_N_MAPS][2])
{
  int h = height, w = width;
  /* stage0..stage4, then the extras: each halves (rounding up). */
  for (int i = 0; i < 5 + N_EXTRAS; i++) {
    h = (h - 1) / 2 + 1;
    w = (w - 1) / 2 + 1;
    if (i >= 3) {
      sizes[i - 3][0] = h;
      sizes[i - 3][1] = w;
    }
  }
}

static gboolean
maps_distinct (int width, int height)
{
  int s[MO_SSD_N_MAPS][2];
  map_sizes (width, height, s);
  for (int j = 1; j < MO_SSD_N_MAPS; j++)
    if (s[j][0] == s[j - 1][0] && s[j][1] == s[j - 1][1])
      return FALSE;
  return TRUE;
}

/* Too small: two consecutive maps of the same size, i.e. an extra block
 * that cannot reduce (its input is already 1x1): it would only repeat a
 * 1x1 map at another anchor scale. */
static gboolean
ssd_check_input (const MoModel *m, int width, int height, GError **error)
{
  int s[MO_SSD_N_MAPS][2], need = 1;

  if (maps_distinct (width, height))
    return TRUE;
  map_sizes (width, height, s);
  while (!maps_distinct (need, 1))
    need++;
  GString *maps = g_string_new (NULL);
  for (int j = 0; j < MO_SSD_N_MAPS; j++)
    g_string_append_printf (maps, "%s%dx%d", j ? ", " : "", s[j][1], s[j][0]);
  g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
      "%s: a %dx%d input is too small for SSDLite: its six feature maps "
      "would be %s (WxH), and each must be smaller than the one before; the "
      "longer side needs at least %d pixels", m->desc->path, width, height,
      maps->str, need);
  g_string_free (maps, TRUE);
  return FALSE;
}

gboolean
mo_ssdlite_build (MoModel *m, MoWeights *ws, GError **error)
{
  SsdConfig *c = g_new0 (SsdConfig, 1);
  MoBackboneOut bb;
  int map[MO_SSD_N_MAPS], ch[MO_SSD_N_MAPS];
  char name[64], hint[160];

  m->head_data = c;
  m->head_data_free = g_free;
  if (!parse_config (m->desc, c, error))
    return FALSE;
  if (!mo_backbone_build (m, ws, NULL, &bb, error))
    return FALSE;

  map[0] = bb.tensor[3];
  ch[0] = bb.channels[3];
  map[1] = bb.tensor[4];
  ch[1] = bb.channels[4];
  for (int i = 0; i < N_EXTRAS; i++) {
    int cin = ch[1 + i], cout = c->extra_channels[i], mid = cout / 2;
    int x = map[1 + i];
    g_snprintf (hint, sizeof hint, "head.extra_channels[%d] is %d: "
        "%d -> %d -> %d channels", i, cout, cin, mid, cout);
    g_snprintf (name, sizeof name, "extras.%d.0", i);
    x = add_conv_bn_relu (m, ws, name, FALSE, x, cin, mid, 1, hint, error);
    if (x >= 0) {
      g_snprintf (name, sizeof name, "extras.%d.1", i);
      x = add_conv_bn_relu (m, ws, name, TRUE, x, mid, mid, 2, hint, error);
    }
    if (x >= 0) {
      g_snprintf (name, sizeof name, "extras.%d.2", i);
      x = add_conv_bn_relu (m, ws, name, FALSE, x, mid, cout, 1, hint, error);
    }
    if (x < 0)
      return FALSE;
    map[2 + i] = x;
    ch[2 + i] = cout;
  }

  for (int branch = 0; branch < 2; branch++) {
    const char *hn = branch ? "reg_head" : "cls_head";
    const char *on = branch ? "bbox_regression" : "cls_logits";
    int per = branch ? 4 : c->num_classes;
    for (int j = 0; j < MO_SSD_N_MAPS; j++) {
      g_snprintf (hint, sizeof hint, "map %d has %d channels", j, ch[j]);
      g_snprintf (name, sizeof name, "%s.%d.0", hn, j);
      int x = add_conv_bn_relu (m, ws, name, TRUE, map[j], ch[j], ch[j], 1,
          hint, error);
      if (x < 0)
        return FALSE;
      if (branch)
        g_snprintf (hint, sizeof hint, "head.anchors_per_location %d x 4 "
            "box coordinates = %d outputs from %d channels", c->anchors,
            c->anchors * 4, ch[j]);
      else
        g_snprintf (hint, sizeof hint, "head.anchors_per_location %d x "
            "head.num_classes %d = %d outputs from %d channels", c->anchors,
            c->num_classes, c->anchors * c->num_classes, ch[j]);
      g_snprintf (name, sizeof name, "%s.%d.1", hn, j);
      x = add_pw_bias (m, ws, name, x, ch[j], c->anchors * per, hint, error);
      if (x < 0)
        return FALSE;
      g_snprintf (name, sizeof name, "%s.%d", on, j);
      mo_model_add_output (m, name, x);
    }
  }
  m->check_input = ssd_check_input;
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Post-processing                                                          */

struct _MoSsdPost
{
  MoSession *s;
  const SsdConfig *cfg;
  int K, A, N, width, height;
  int max_topk, cap;            /* cap = MIN (max_topk, N) */
  const MoOutput *cls[MO_SSD_N_MAPS], *reg[MO_SSD_N_MAPS];
  float *anchors;               /* [N][4] x0 y0 x1 y1 */
  float *cls_buf, *reg_buf;     /* gathered outputs */
  float *scores;                /* [N][K] softmax */
  float *boxes;                 /* [N][4] decoded and clipped */
  int *idx;                     /* [N] one class's candidates */
  int *range;                   /* [K + 1] candidates of class c: [range[c], range[c+1]) */
  float *cbox, *cscore;         /* [(K - 1) * cap] candidates */
  int *clabel;
  int *ckeep;                   /* [(K - 1) * cap] kept candidates */
  float *nbox, *narea;          /* [cap] one class's boxes as NMS sees them */
  guint8 *supp;                 /* [cap] */
};

gboolean
mo_ssdlite_params_check (const MoSsdPost *post, const MoSsdParams *p,
    GError **error)
{
  const char *key = NULL;
  char range[64] = "";

  if (!(p->score_threshold > 0.0 && p->score_threshold < 1.0)) {
    key = "score_threshold";
    g_snprintf (range, sizeof range, "%g is out of range (0, 1)",
        p->score_threshold);
  } else if (!(p->nms_iou_threshold > 0.0 && p->nms_iou_threshold <= 1.0)) {
    key = "nms_iou_threshold";
    g_snprintf (range, sizeof range, "%g is out of range (0, 1]",
        p->nms_iou_threshold);
  } else if (p->topk_candidates < 1 || (post
          && p->topk_candidates > post->max_topk)) {
    key = "topk_candidates";
    g_snprintf (range, sizeof range, "%d is out of range [1, %d]",
        p->topk_candidates, post ? post->max_topk : 100000);
  } else if (p->max_detections < 1) {
    key = "max_detections";
    g_snprintf (range, sizeof range, "%d is below 1", p->max_detections);
  }
  if (key == NULL)
    return TRUE;
  g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "ssdlite: %s: %s", key,
      range);
  return FALSE;
}

/* torchvision's DefaultBoxGenerator for @maps, in float32 as it computes. */
static void
make_anchors (MoSsdPost *p, const int maps[MO_SSD_N_MAPS][2])
{
  const SsdConfig *c = p->cfg;
  double scales[MO_SSD_N_MAPS + 1];
  float *out = p->anchors;
  const float fw = (float) p->width, fh = (float) p->height;

  for (int k = 0; k < MO_SSD_N_MAPS; k++)
    scales[k] = c->min_ratio + (c->max_ratio - c->min_ratio) * k /
        (MO_SSD_N_MAPS - 1.0);
  scales[MO_SSD_N_MAPS] = 1.0;

  for (int k = 0; k < MO_SSD_N_MAPS; k++) {
    float wh[2 + 2 * MAX_ASPECT_RATIOS][2];
    double sk = scales[k], spk = sqrt (scales[k] * scales[k + 1]);
    int n = 0;
    wh[n][0] = (float) sk;
    wh[n++][1] = (float) sk;
    wh[n][0] = (float) spk;
    wh[n++][1] = (float) spk;
    for (int r = 0; r < c->n_aspect_ratios; r++) {
      double sq = sqrt (c->aspect_ratios[r]);
      double w = sk * sq, h = sk / sq;
      wh[n][0] = (float) w;
      wh[n++][1] = (float) h;
      wh[n][0] = (float) h;
      wh[n++][1] = (float) w;
    }
    for (int a = 0; a < n; a++)       /* clip = True */
      for (int i = 0; i < 2; i++)
        wh[a][i] = wh[a][i] < 0.0f ? 0.0f : wh[a][i] > 1.0f ? 1.0f : wh[a][i];

    int rows = maps[k][0], cols = maps[k][1];
    for (int y = 0; y < rows; y++) {
      float cy = ((float) y + 0.5f) / (float) rows;
      for (int x = 0; x < cols; x++) {
        float cx = ((float) x + 0.5f) / (float) cols;
        for (int a = 0; a < n; a++) {
          float hw = 0.5f * wh[a][0], hh = 0.5f * wh[a][1];
          *out++ = (cx - hw) * fw;
          *out++ = (cy - hh) * fh;
          *out++ = (cx + hw) * fw;
          *out++ = (cy + hh) * fh;
        }
      }
    }
  }
}

MoSsdPost *
mo_ssdlite_post_new (MoSession *s, int max_topk, GError **error)
{
  MoModel *m = mo_session_model (s);
  const SsdConfig *c = ssd_config (m);
  int maps[MO_SSD_N_MAPS][2], n = 0;

  if (c == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: not an SSDLite model (head.type is '%s')", m->desc->path,
        m->desc->head_type);
    return NULL;
  }
  if (max_topk < 0 || max_topk > 100000) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "ssdlite: max_topk %d is out of range [0, 100000]", max_topk);
    return NULL;
  }
  MoSsdPost *p = g_new0 (MoSsdPost, 1);
  p->s = s;
  p->cfg = c;
  p->K = c->num_classes;
  p->A = c->anchors;
  mo_session_input (s, &p->width, &p->height, NULL);
  for (int j = 0; j < MO_SSD_N_MAPS; j++) {
    char name[32];
    g_snprintf (name, sizeof name, "cls_logits.%d", j);
    p->cls[j] = mo_session_output (s, name);
    g_snprintf (name, sizeof name, "bbox_regression.%d", j);
    p->reg[j] = mo_session_output (s, name);
    g_assert (p->cls[j] && p->reg[j]);
    maps[j][0] = p->cls[j]->h;
    maps[j][1] = p->cls[j]->w;
    n += maps[j][0] * maps[j][1] * p->A;
  }
  p->N = n;
  p->max_topk = MAX (max_topk, c->params.topk_candidates);
  p->cap = MIN (p->max_topk, n);

  /* anchors x classes grows fast with the input size and the description's
   * num_classes and aspect_ratios: bounded, and never an abort. */
  guint64 nc = (guint64) (p->K - 1) * p->cap;
  guint64 words = (guint64) n * (4 + 4 + 4 + 1) + (guint64) n * p->K * 2
      + (p->K + 1) + nc * 7 + (guint64) p->cap * 5;
  if (words > MO_MAX_SSD_POST_BYTES / 4) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: SSDLite post-processing for a %dx%d input (%d anchors x %d "
        "classes) needs %" G_GUINT64_FORMAT " MiB, more than the limit of %"
        G_GUINT64_FORMAT " MiB (docs/security.md)", m->desc->path, p->width,
        p->height, n, p->K, words * 4 >> 20, MO_MAX_SSD_POST_BYTES >> 20);
    mo_ssdlite_post_free (p);
    return NULL;
  }
  p->anchors = g_try_new (float, (gsize) n * 4);
  p->cls_buf = g_try_new (float, (gsize) n * p->K);
  p->reg_buf = g_try_new (float, (gsize) n * 4);
  p->scores = g_try_new (float, (gsize) n * p->K);
  p->boxes = g_try_new (float, (gsize) n * 4);
  p->idx = g_try_new (int, MAX (n, 1));
  p->range = g_try_new (int, p->K + 1);
  p->cbox = g_try_new (float, MAX (nc, 1) * 4);
  p->cscore = g_try_new (float, MAX (nc, 1));
  p->clabel = g_try_new (int, MAX (nc, 1));
  p->ckeep = g_try_new (int, MAX (nc, 1));
  p->nbox = g_try_new (float, (gsize) MAX (p->cap, 1) * 4);
  p->narea = g_try_new (float, MAX (p->cap, 1));
  p->supp = g_try_new (guint8, MAX (p->cap, 1));
  if (!p->anchors || !p->cls_buf || !p->reg_buf || !p->scores || !p->boxes
      || !p->idx || !p->range || !p->cbox || !p->cscore || !p->clabel
      || !p->ckeep || !p->nbox || !p->narea || !p->supp) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: out of memory for SSDLite post-processing (%" G_GUINT64_FORMAT
        " MiB)", m->desc->path, words * 4 >> 20);
    mo_ssdlite_post_free (p);
    return NULL;
  }
  make_anchors (p, maps);
  return p;
}

void
mo_ssdlite_post_free (MoSsdPost *p)
{
  if (p == NULL)
    return;
  g_free (p->anchors);
  g_free (p->cls_buf);
  g_free (p->reg_buf);
  g_free (p->scores);
  g_free (p->boxes);
  g_free (p->idx);
  g_free (p->range);
  g_free (p->cbox);
  g_free (p->cscore);
  g_free (p->clabel);
  g_free (p->ckeep);
  g_free (p->nbox);
  g_free (p->narea);
  g_free (p->supp);
  g_free (p);
}

int
mo_ssdlite_post_n_anchors (const MoSsdPost *p)
{
  return p->N;
}

const float *
mo_ssdlite_post_anchors (const MoSsdPost *p)
{
  return p->anchors;
}

void
mo_ssdlite_post_gather (const MoSsdPost *p, float *cls_logits,
    float *bbox_regression)
{
  gsize row = 0;                /* anchor index of the current location */
  for (int j = 0; j < MO_SSD_N_MAPS; j++) {
    const MoOutput *c = p->cls[j], *r = p->reg[j];
    for (int px = 0; px < c->h * c->w; px++, row += p->A) {
      if (cls_logits)
        memcpy (cls_logits + row * p->K, c->data + (gsize) px * c->cs,
            (gsize) p->A * p->K * sizeof (float));
      if (bbox_regression)
        memcpy (bbox_regression + row * 4, r->data + (gsize) px * r->cs,
            (gsize) p->A * 4 * sizeof (float));
    }
  }
}

/* Heap selection on indices, best first: higher key, then lower index
 * (torch.topk and sort order ties arbitrarily; a fixed rule is needed). */
typedef struct
{
  const float *key;
  int stride;
} Keys;

static inline gboolean
better (const Keys *k, int a, int b)
{
  float ka = k->key[(gsize) a * k->stride], kb = k->key[(gsize) b * k->stride];
  return ka > kb || (ka == kb && a < b);
}

static void
sift_down (const Keys *k, int *h, int n, int i)
{
  int v = h[i];
  for (;;) {
    int l = 2 * i + 1, best;
    if (l >= n)
      break;
    best = l + 1 < n && better (k, h[l + 1], h[l]) ? l + 1 : l;
    if (!better (k, h[best], v))
      break;
    h[i] = h[best];
    i = best;
  }
  h[i] = v;
}

static void
heapify (const Keys *k, int *h, int n)
{
  for (int i = n / 2 - 1; i >= 0; i--)
    sift_down (k, h, n, i);
}

/* Removes and returns the best of the heap @h of *@n items. */
static int
pop_best (const Keys *k, int *h, int *n)
{
  int best = h[0];
  h[0] = h[--*n];
  if (*n > 0)
    sift_down (k, h, *n, 0);
  return best;
}

/* std::max and std::min, as the C++ kernel uses them. */
static inline float
max_f (float a, float b)
{
  return a < b ? b : a;
}

static inline float
min_f (float a, float b)
{
  return b < a ? b : a;
}

/* torchvision's nms_kernel_impl (CPU) on one class's candidates, already in
 * its processing order; @bx holds the boxes as NMS sees them. */
static int
nms_class (MoSsdPost *p, const float *bx, int n, int first, double thr,
    int *keep)
{
  float *area = p->narea;
  guint8 *supp = p->supp;
  int kept = 0;

  for (int i = 0; i < n; i++) {
    area[i] = (bx[4 * i + 2] - bx[4 * i]) * (bx[4 * i + 3] - bx[4 * i + 1]);
    supp[i] = 0;
  }
  for (int i = 0; i < n; i++) {
    if (supp[i])
      continue;
    keep[kept++] = first + i;
    const float ix1 = bx[4 * i], iy1 = bx[4 * i + 1];
    const float ix2 = bx[4 * i + 2], iy2 = bx[4 * i + 3], iarea = area[i];
    for (int j = i + 1; j < n; j++) {
      if (supp[j])
        continue;
      float xx1 = max_f (ix1, bx[4 * j]), yy1 = max_f (iy1, bx[4 * j + 1]);
      float xx2 = min_f (ix2, bx[4 * j + 2]), yy2 = min_f (iy2, bx[4 * j + 3]);
      float w = max_f (0.0f, xx2 - xx1), h = max_f (0.0f, yy2 - yy1);
      float inter = w * h;
      float ovr = inter / (iarea + area[j] - inter);
      if ((double) ovr > thr)
        supp[j] = 1;
    }
  }
  return kept;
}

int
mo_ssdlite_post_run_raw (MoSsdPost *p, const MoSsdParams *params,
    const float *cls_logits, const float *bbox_regression, MoDetection *out,
    int max_out)
{
  const SsdConfig *c = p->cfg;
  const int K = p->K, N = p->N;

  if (params == NULL)
    params = &c->params;
  if (!mo_ssdlite_params_check (p, params, NULL))
    return -1;
  if (max_out <= 0)
    return 0;

  /* Softmax over classes (F.softmax: exp (x - max) times 1 / sum). */
  for (int i = 0; i < N; i++) {
    const float *x = cls_logits + (gsize) i * K;
    float *s = p->scores + (gsize) i * K;
    float mx = x[0], sum = 0.0f;
    for (int k = 1; k < K; k++)
      mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k < K; k++) {
      s[k] = expf (x[k] - mx);
      sum += s[k];
    }
    float inv = 1.0f / sum;
    for (int k = 0; k < K; k++)
      s[k] *= inv;
  }

  /* BoxCoder.decode_single, then clip_boxes_to_image. */
  const float wx = (float) c->box_weights[0], wy = (float) c->box_weights[1];
  const float ww = (float) c->box_weights[2], wh = (float) c->box_weights[3];
  const float clip = (float) log (1000.0 / 16);
  const float W = (float) p->width, H = (float) p->height;
  for (int i = 0; i < N; i++) {
    const float *a = p->anchors + 4 * (gsize) i;
    const float *r = bbox_regression + 4 * (gsize) i;
    float *b = p->boxes + 4 * (gsize) i;
    float widths = a[2] - a[0], heights = a[3] - a[1];
    float ctr_x = a[0] + 0.5f * widths, ctr_y = a[1] + 0.5f * heights;
    float dx = r[0] / wx, dy = r[1] / wy, dw = r[2] / ww, dh = r[3] / wh;
    dw = dw > clip ? clip : dw;
    dh = dh > clip ? clip : dh;
    float pcx = dx * widths + ctr_x, pcy = dy * heights + ctr_y;
    float pw = expf (dw) * widths, ph = expf (dh) * heights;
    float cw = 0.5f * pw, chh = 0.5f * ph;
    float v[4] = { pcx - cw, pcy - chh, pcx + cw, pcy + chh };
    for (int q = 0; q < 4; q++) {
      float lim = q % 2 ? H : W;
      b[q] = v[q] < 0.0f ? 0.0f : v[q] > lim ? lim : v[q];
    }
  }

  /* Per class: score > threshold, the topk best, in that order. */
  const float thr = (float) params->score_threshold;
  const int topk = params->topk_candidates;
  int nc = 0;
  for (int k = 1; k < K; k++) {
    Keys keys = { p->scores + k, K };
    int n = 0;
    p->range[k] = nc;
    for (int i = 0; i < N; i++)
      if (p->scores[(gsize) i * K + k] > thr)
        p->idx[n++] = i;
    int m = MIN (n, topk);
    heapify (&keys, p->idx, n);
    for (int t = 0; t < m; t++, nc++) {
      int i = pop_best (&keys, p->idx, &n);
      memcpy (p->cbox + 4 * (gsize) nc, p->boxes + 4 * (gsize) i,
          4 * sizeof (float));
      p->cscore[nc] = p->scores[(gsize) i * K + k];
      p->clabel[nc] = k;
    }
  }
  p->range[K] = nc;
  if (nc == 0)
    return 0;

  /* batched_nms: for more than 4000 coordinates, NMS class by class on the
   * boxes themselves; otherwise one NMS on boxes moved apart by
   * label * (max coordinate + 1), whose rounding shows in the IoU. Boxes
   * of different labels never overlap either way, so both are class by
   * class here. */
  gboolean trick = (gsize) nc * 4 <= 4000;
  float maxc = -INFINITY;
  if (trick)
    for (int t = 0; t < 4 * nc; t++)
      maxc = p->cbox[t] > maxc ? p->cbox[t] : maxc;
  int n_keep = 0;
  for (int k = 1; k < K; k++) {
    int b = p->range[k], n = p->range[k + 1] - b;
    const float *bx = p->cbox + 4 * (gsize) b;
    if (n == 0)
      continue;
    if (trick) {
      float off = (float) k * (maxc + 1.0f);
      for (int t = 0; t < 4 * n; t++)
        p->nbox[t] = bx[t] + off;
      bx = p->nbox;
    }
    n_keep += nms_class (p, bx, n, b, params->nms_iou_threshold,
        p->ckeep + n_keep);
  }

  /* The kept boxes by decreasing score, the first max_detections. */
  Keys keys = { p->cscore, 1 };
  int m = MIN (MIN (n_keep, params->max_detections), max_out);
  heapify (&keys, p->ckeep, n_keep);
  for (int t = 0; t < m; t++) {
    int j = pop_best (&keys, p->ckeep, &n_keep);
    out[t].x0 = p->cbox[4 * (gsize) j];
    out[t].y0 = p->cbox[4 * (gsize) j + 1];
    out[t].x1 = p->cbox[4 * (gsize) j + 2];
    out[t].y1 = p->cbox[4 * (gsize) j + 3];
    out[t].score = p->cscore[j];
    out[t].label = p->clabel[j];
  }
  return m;
}

int
mo_ssdlite_post_run (MoSsdPost *p, const MoSsdParams *params,
    MoDetection *out, int max_out)
{
  mo_ssdlite_post_gather (p, p->cls_buf, p->reg_buf);
  return mo_ssdlite_post_run_raw (p, params, p->cls_buf, p->reg_buf, out,
      max_out);
}

void
mo_ssdlite_detection_to_image (const MoTransform *xf, const MoDetection *d,
    double box[4])
{
  if (xf == NULL) {
    box[0] = d->x0;
    box[1] = d->y0;
    box[2] = d->x1;
    box[3] = d->y1;
    return;
  }
  mo_transform_point (xf, d->x0, d->y0, &box[0], &box[1]);
  mo_transform_point (xf, d->x1, d->y1, &box[2], &box[3]);
  /* A letterbox band is no part of the picture. */
  for (int q = 0; q < 4; q++) {
    double lo = q % 2 ? xf->src.y : xf->src.x;
    double hi = lo + (q % 2 ? xf->src.h : xf->src.w);
    box[q] = CLAMP (box[q], lo, hi);
  }
}
