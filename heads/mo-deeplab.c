/* mobileone-gst heads: DeepLabv3 (SPEC.md, "Heads" / DeepLabv3).
 *
 * backbone (stage4, and stage3 at output stride 8, dilated instead of
 * strided) -> ASPP -> 3x3 conv -> 1x1 classifier -> bilinear to the input
 * size. The five ASPP branches write straight into channel views of one
 * concatenation tensor, which the 1x1 projection reads; the image-pool
 * branch is gap -> 1x1 conv -> a bilinear "resize" of its 1x1 map, i.e. a
 * broadcast. Every "X.conv + X.bn" unit is folded at load (mo_load_conv_bn). */
#include "mo-deeplab.h"
#include "mo-heads-private.h"

#include <stdarg.h>
#include <string.h>

/* What post-processing needs of the graph: output indices. */
typedef struct
{
  int logits, lowres;
} DeeplabData;

typedef struct
{
  int num_classes;
  int output_stride;            /* 16 or 8 */
  int channels;                 /* aspp_channels */
  int rates[3];
  gboolean separable;
  int in_channels;              /* of the backbone's last stage */
} Opts;

/* An error about the value of head.@key (which was read). */
static gboolean
key_error (const MoYamlNode *head, const char *key, GError **error,
    const char *fmt, ...)
{
  const MoYamlNode *n = mo_yaml_lookup (head, key);
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: key '%s': %s",
      n->file, n->line, n->keypath, msg);
  g_free (msg);
  return FALSE;
}

static gboolean
parse_opts (const MoDesc *d, Opts *o, GError **error)
{
  const MoYamlNode *h = d->head;
  int n_rates = 0;

  if (!mo_yaml_get_int (h, "num_classes", TRUE, 0, 1, MO_DEEPLAB_MAX_CLASSES,
          &o->num_classes, error)
      || !mo_yaml_get_int (h, "output_stride", FALSE, 16, 1, 64,
          &o->output_stride, error)
      || !mo_yaml_get_int (h, "aspp_channels", FALSE, 256, 1, 8192,
          &o->channels, error)
      || !mo_yaml_get_int_list (h, "aspp_rates", FALSE, 3, 3, 1, 1024,
          o->rates, &n_rates, error)
      || !mo_yaml_get_bool (h, "aspp_separable", FALSE, FALSE, &o->separable,
          error))
    return FALSE;
  if (o->output_stride != 16 && o->output_stride != 8)
    return key_error (h, "output_stride", error, "%d is not supported "
        "(expected 16 or 8)", o->output_stride);
  if (o->channels % MO_CALIGN != 0)
    return key_error (h, "aspp_channels", error, "%d is not a multiple of "
        "%d (the branches write straight into the concatenation, whose "
        "parts must be aligned)", o->channels, MO_CALIGN);
  if (n_rates == 0) {
    o->rates[0] = 6;
    o->rates[1] = 12;
    o->rates[2] = 18;
  }
  if (d->labels->len > 0 && (int) d->labels->len != o->num_classes) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: key 'labels': '%s' has %u labels but head.num_classes is %d",
        d->path, d->labels_path, d->labels->len, o->num_classes);
    return FALSE;
  }
  return TRUE;
}

/* Shape mismatches in the head are nearly always a YAML that does not fit
 * the checkpoint: say what the YAML implied. */
static void
hint_shapes (const MoDesc *d, const Opts *o, MoWeights *ws, GError **error)
{
  const char *extra = NULL;
  char *msg;

  if (error == NULL || *error == NULL)
    return;
  if (!o->separable && mo_weights_has (ws, "", "aspp.convs.1.dw.conv.weight"))
    extra = "; the file holds a separable ASPP: set 'head.aspp_separable: "
        "true'";
  else if (o->separable && mo_weights_has (ws, "", "aspp.convs.1.conv.weight"))
    extra = "; the file holds a dense ASPP: set 'head.aspp_separable: false'";
  msg = g_strdup_printf ("%s (%s: head.num_classes %d, head.aspp_channels "
      "%d, head.aspp_separable %s, backbone output %d channels%s)",
      (*error)->message, d->path, o->num_classes, o->channels,
      o->separable ? "true" : "false", o->in_channels, extra ? extra : "");
  g_free ((*error)->message);
  (*error)->message = msg;
}

/* Appends unit @name ("X": X.conv + X.bn, folded) + ReLU reading @x and
 * writing @y (a new tensor when -1). Returns the output tensor or -1. */
static int
add_unit (MoModel *m, MoWeights *ws, const char *name, MoOpType type,
    int x, int y, int cin, int cout, int k, int dilation, GError **error)
{
  int cin_g = type == MO_OP_DWCONV ? 1 : cin;
  char *tn = g_strconcat (name, ".conv.weight", NULL);
  float *W = mo_weights_alloc (ws, tn, (guint64) cout * cin_g * k * k, error);
  float *b = W ? mo_weights_alloc (ws, NULL, cout, error) : NULL;
  int out = -1;

  g_free (tn);
  if (b != NULL && mo_load_conv_bn (ws, name, m->desc->backbone.fused, cout,
          cin_g, k, W, b, error)) {
    char *ln = g_strconcat (name, ".conv", NULL);
    out = y >= 0 ? y : mo_model_add_tensor (m, cout);
    MoLayer *l = mo_model_add_layer (m, type, ln, x, out);
    g_free (ln);
    l->cin = cin;
    l->cout = cout;
    l->k = k;
    l->dilation = dilation;
    l->pad = dilation * (k / 2);
    l->act = MO_ACT_RELU;
    mo_layer_set_weights (m, l, W, b);
  }
  g_free (W);
  g_free (b);
  return out;
}

static int
add_resize (MoModel *m, int x, int y, int c, int size_like)
{
  MoLayer *l;
  if (y < 0)
    y = mo_model_add_tensor (m, c);
  l = mo_model_add_layer (m, MO_OP_RESIZE, NULL, x, y);
  l->cin = l->cout = c;
  l->size_like = size_like;
  return y;
}

/* ASPP on @x; returns the projection's output or -1. */
static int
add_aspp (MoModel *m, MoWeights *ws, const Opts *o, int x, GError **error)
{
  int cin = o->in_channels, C = o->channels;
  int cat = mo_model_add_tensor (m, 5 * C);
  int v[5];
  char name[64];

  for (int i = 0; i < 5; i++)
    v[i] = mo_model_add_view (m, cat, i * C, C);

  if (add_unit (m, ws, "aspp.convs.0", MO_OP_PWCONV, x, v[0], cin, C, 1, 1,
          error) < 0)
    return -1;
  for (int i = 1; i <= 3; i++) {
    int r = o->rates[i - 1];
    if (o->separable) {
      g_snprintf (name, sizeof name, "aspp.convs.%d.dw", i);
      int t = add_unit (m, ws, name, MO_OP_DWCONV, x, -1, cin, cin, 3, r,
          error);
      g_snprintf (name, sizeof name, "aspp.convs.%d.pw", i);
      if (t < 0 || add_unit (m, ws, name, MO_OP_PWCONV, t, v[i], cin, C, 1,
              1, error) < 0)
        return -1;
    } else {
      g_snprintf (name, sizeof name, "aspp.convs.%d", i);
      if (add_unit (m, ws, name, MO_OP_CONV, x, v[i], cin, C, 3, r,
              error) < 0)
        return -1;
    }
  }

  int g = mo_model_add_tensor (m, cin);
  mo_model_add_layer (m, MO_OP_GAP, NULL, x, g);
  int p = add_unit (m, ws, "aspp.pool", MO_OP_PWCONV, g, -1, cin, C, 1, 1,
      error);
  if (p < 0)
    return -1;
  add_resize (m, p, v[4], C, x);

  return add_unit (m, ws, "aspp.project", MO_OP_PWCONV, cat, -1, 5 * C, C, 1,
      1, error);
}

static gboolean
deeplab_build (MoModel *m, MoWeights *ws, GError **error)
{
  const MoDesc *d = m->desc;
  MoBackboneOpts bo = { {1, 1, 1, 1, 1} };
  MoBackboneOut bb;
  Opts o;

  if (!parse_opts (d, &o, error))
    return FALSE;
  /* Output stride 16: stage4's stride becomes dilation 2. Output stride 8:
   * stage3's too, and stage4 then dilates by 4 to keep its receptive field
   * (every block of a dilated stage, the first included, uses the stage's
   * dilation; tools/mobileone_tools/reference/deeplab_ref.py does the same). */
  bo.dilation[4] = 2;
  if (o.output_stride == 8) {
    bo.dilation[3] = 2;
    bo.dilation[4] = 4;
  }
  if (!mo_backbone_build (m, ws, &bo, &bb, error))
    return FALSE;
  o.in_channels = bb.channels[4];

  int C = o.channels, nc = o.num_classes;
  int y = add_aspp (m, ws, &o, bb.tensor[4], error);
  if (y >= 0)
    y = add_unit (m, ws, "head", MO_OP_CONV, y, -1, C, C, 3, 1, error);
  if (y < 0) {
    hint_shapes (d, &o, ws, error);
    return FALSE;
  }

  const int64_t wshape[4] = { nc, C, 1, 1 }, bshape[1] = { nc };
  float *w = mo_weights_get (ws, "", "classifier.weight", 4, wshape, error);
  float *b = w ? mo_weights_get (ws, "", "classifier.bias", 1, bshape,
      error) : NULL;
  if (b == NULL) {
    g_free (w);
    hint_shapes (d, &o, ws, error);
    return FALSE;
  }
  int lowres = mo_model_add_tensor (m, nc);
  MoLayer *l = mo_model_add_layer (m, MO_OP_PWCONV, "classifier", y, lowres);
  l->cin = C;
  l->cout = nc;
  l->act = MO_ACT_NONE;
  mo_layer_set_weights (m, l, w, b);
  g_free (w);
  g_free (b);

  int logits = add_resize (m, lowres, -1, nc, m->input);
  DeeplabData *data = g_new (DeeplabData, 1);
  data->logits = mo_model_add_output (m, "logits", logits);
  data->lowres = mo_model_add_output (m, "logits_lowres", lowres);
  m->head_data = data;
  m->head_data_free = g_free;
  return TRUE;
}

void
mo_deeplab_argmax (const MoOutput *logits, guint8 *mask, int mask_stride)
{
  int nc = logits->c;

  g_return_if_fail (nc >= 1 && nc <= MO_DEEPLAB_MAX_CLASSES);
  for (int y = 0; y < logits->h; y++) {
    const float *p = logits->data + (gsize) y * logits->w * logits->cs;
    guint8 *row = mask + (gsize) y * mask_stride;
    for (int x = 0; x < logits->w; x++, p += logits->cs) {
      int best = 0;
      float v = p[0];
      /* Strictly greater: the first maximum wins, as in torch.argmax. */
      for (int c = 1; c < nc; c++) {
        if (p[c] > v) {
          v = p[c];
          best = c;
        }
      }
      row[x] = (guint8) best;
    }
  }
}

static gpointer
deeplab_post_new (MoSession *s, GError **error)
{
  const DeeplabData *data = mo_session_model (s)->head_data;

  return (gpointer) mo_session_nth_output (s, data->logits);
}

static int
deeplab_post_run (gpointer post, gconstpointer params, gpointer out,
    int max_out)
{
  const MoOutput *logits = post;

  if (max_out < 0 || (gsize) max_out < (gsize) logits->w * logits->h)
    return -1;
  mo_deeplab_argmax (logits, out, logits->w);
  return logits->w * logits->h;
}

/* The session owns the output the post-processing points at. */
static void
deeplab_post_free (gpointer post)
{
}

const MoHeadClass mo_deeplab_class = {
  .type = "deeplabv3",
  .build = deeplab_build,
  .post_new = deeplab_post_new,
  .post_run = deeplab_post_run,
  .post_free = deeplab_post_free,
};
