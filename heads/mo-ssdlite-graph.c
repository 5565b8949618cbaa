/* mobileone-gst heads: SSDLite detection, the description and the graph
 * (SPEC.md, "SSDLite"; the keys and names are in docs/model-format.md,
 * "SSDLite head"); mo-ssdlite-post.c has the post-processing.
 *
 * The graph: the backbone's stage3 (stride 16) and stage4 (stride 32)
 * outputs, four extra blocks after stage4 (1x1 reduce, 3x3 depthwise
 * stride 2, 1x1 expand, each conv + BN + ReLU), and on each of the six maps a
 * classification and a regression head (3x3 depthwise conv + BN + ReLU, then
 * a 1x1 conv with bias). */

#include "mo-ssdlite-private.h"

#include <math.h>
#include <string.h>

const SsdConfig *
mo_ssdlite_config (const MoModel *m)
{
  if (m == NULL || m->head_class != &mo_ssdlite_class)
    return NULL;
  return m->head_data;
}

const MoSsdParams *
mo_ssdlite_params (const MoModel *m)
{
  const SsdConfig *c = mo_ssdlite_config (m);
  return c ? &c->params : NULL;
}

int
mo_ssdlite_num_classes (const MoModel *m)
{
  const SsdConfig *c = mo_ssdlite_config (m);
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

/* head.class_thresholds: {label: threshold, ...}, labels as in the labels
 * file (ASCII case ignored) or class ids; each threshold in (0, 1). */
static gboolean
parse_class_thresholds (const MoDesc *d, SsdConfig *c, GError **error)
{
  const MoYamlNode *map;

  if (!mo_yaml_get_map (d->head, "class_thresholds", FALSE, &map, error))
    return FALSE;
  if (map == NULL)
    return TRUE;
  c->class_thresholds = g_new0 (double, c->num_classes);
  c->params.class_thresholds = c->class_thresholds;
  for (guint i = 0; i < map->keys->len; i++) {
    const char *name = g_ptr_array_index (map->keys, i);
    const MoYamlNode *v = g_ptr_array_index (map->items, i);
    int k = -1;
    char *end;
    double t;

    if ((int) d->labels->len == c->num_classes) {
      for (int j = 1; j < c->num_classes && k < 0; j++)
        if (g_ascii_strcasecmp (g_ptr_array_index (d->labels, j), name) == 0)
          k = j;
    }
    if (k < 0) {
      gint64 id = g_ascii_strtoll (name, &end, 10);
      if (*name != '\0' && *end == '\0' && id >= 1 && id < c->num_classes)
        k = (int) id;
    }
    if (k < 0) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s:%d: key '%s': '%s' is not a class of the model (%s%s%sa "
          "class id from 1 to %d)", d->path, v->line, v->keypath, name,
          d->labels_path ? "a label of '" : "",
          d->labels_path ? d->labels_path : "",
          d->labels_path ? "' other than the background, or " : "",
          c->num_classes - 1);
      return FALSE;
    }
    if (!get_open_double (map, name, 0.5, 1.0, TRUE, &t, error))
      return FALSE;
    c->class_thresholds[k] = t;
  }
  return TRUE;
}

static void
ssd_config_free (gpointer data)
{
  SsdConfig *c = data;

  g_free (c->class_thresholds);
  g_free (c);
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
  if (!parse_class_thresholds (d, c, error))
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

static gboolean
ssdlite_build (MoModel *m, MoWeights *ws, GError **error)
{
  SsdConfig *c = g_new0 (SsdConfig, 1);
  MoBackboneOut bb;
  int map[MO_SSD_N_MAPS], ch[MO_SSD_N_MAPS];
  char name[64], hint[160];

  m->head_data = c;
  m->head_data_free = ssd_config_free;
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
      *(branch ? &c->reg_out[j] : &c->cls_out[j]) =
          mo_model_add_output (m, name, x);
    }
  }
  return TRUE;
}

static gpointer
ssdlite_post_new (MoSession *s, GError **error)
{
  return mo_ssdlite_post_new (s, 0, error);
}

static int
ssdlite_post_run (gpointer post, gconstpointer params, gpointer out,
    int max_out)
{
  return mo_ssdlite_post_run (post, params, out, max_out);
}

static void
ssdlite_post_free (gpointer post)
{
  mo_ssdlite_post_free (post);
}

const MoHeadClass mo_ssdlite_class = {
  .type = "ssdlite",
  .build = ssdlite_build,
  .check_input = ssd_check_input,
  .post_new = ssdlite_post_new,
  .post_run = ssdlite_post_run,
  .post_free = ssdlite_post_free,
};

