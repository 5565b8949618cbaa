/* mobileone-gst engine: the MobileOne backbone (SPEC.md, "The network"),
 * built block by block from Apple's checkpoint names. */
#include "mo-model-private.h"

#include <string.h>

static const int stage_blocks[5] = { 1, 2, 8, 10, 1 };
static const int stage_base[5] = { 64, 64, 128, 256, 512 };

typedef struct
{
  const char *name;             /* "stage2.5" */
  int cin, cout, k, stride, dilation;
  gboolean dw, se, skip;
  int branches;
} Block;

/* Squeeze-excite after the block's conv: gap -> reduce+relu ->
 * expand+sigmoid -> gate, with the block's ReLU fused into the gate. */
static int
add_se (MoModel *m, MoWeights *ws, const char *name, int x, int c,
    GError **error)
{
  const char *px = m->desc->backbone.prefix;
  int rd = (int) (c * 0.0625);
  const int64_t rw[4] = { rd, c, 1, 1 }, rb[1] = { rd };
  const int64_t ew[4] = { c, rd, 1, 1 }, eb[1] = { c };
  char *n[4];
  float *t[4];
  gboolean ok = TRUE;

  if (rd < 1) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: block '%s' has %d channels, too few for squeeze-excite "
        "(needs at least 16)", m->desc->path, name, c);
    return -1;
  }
  n[0] = g_strconcat (name, ".se.reduce.weight", NULL);
  n[1] = g_strconcat (name, ".se.reduce.bias", NULL);
  n[2] = g_strconcat (name, ".se.expand.weight", NULL);
  n[3] = g_strconcat (name, ".se.expand.bias", NULL);
  t[0] = mo_weights_get (ws, px, n[0], 4, rw, error);
  t[1] = t[0] ? mo_weights_get (ws, px, n[1], 1, rb, error) : NULL;
  t[2] = t[1] ? mo_weights_get (ws, px, n[2], 4, ew, error) : NULL;
  t[3] = t[2] ? mo_weights_get (ws, px, n[3], 1, eb, error) : NULL;
  ok = t[3] != NULL;

  int out = -1;
  if (ok) {
    int g = mo_model_add_tensor (m, c);
    int r = mo_model_add_tensor (m, rd);
    int e = mo_model_add_tensor (m, c);
    char *ln;
    MoLayer *l;

    mo_model_add_layer (m, MO_OP_GAP, NULL, x, g);
    ln = g_strconcat (name, ".se.reduce", NULL);
    l = mo_model_add_layer (m, MO_OP_PWCONV, ln, g, r);
    g_free (ln);
    l->cin = c;
    l->cout = rd;
    l->k = 1;
    l->act = MO_ACT_RELU;
    mo_layer_set_weights (m, l, t[0], t[1]);
    ln = g_strconcat (name, ".se.expand", NULL);
    l = mo_model_add_layer (m, MO_OP_PWCONV, ln, r, e);
    g_free (ln);
    l->cin = rd;
    l->cout = c;
    l->k = 1;
    l->act = MO_ACT_SIGMOID;
    mo_layer_set_weights (m, l, t[2], t[3]);
    out = mo_model_add_tensor (m, c);
    /* Named like PyTorch's SE module (its output: x times the gate), so
     * that the int8 scales file can name the gated output (docs/int8.md). */
    ln = g_strconcat (name, ".se", NULL);
    l = mo_model_add_layer (m, MO_OP_SCALE, ln, x, out);
    g_free (ln);
    l->in2 = e;
    l->cin = l->cout = c;
    l->act = MO_ACT_RELU;
  }
  for (int i = 0; i < 4; i++) {
    g_free (n[i]);
    g_free (t[i]);
  }
  return out;
}

/* Appends one MobileOneBlock; returns its output tensor or -1. */
static int
add_block (MoModel *m, MoWeights *ws, const Block *bl, int x, GError **error)
{
  const MoBackboneDesc *bd = &m->desc->backbone;
  const char *px = bd->prefix;
  int cin_g = bl->dw ? 1 : bl->cin;
  size_t wn = (size_t) bl->cout * cin_g * bl->k * bl->k;
  float *W = mo_weights_alloc (ws, NULL, wn, error);
  float *b = W ? mo_weights_alloc (ws, NULL, bl->cout, error) : NULL;
  char *n = NULL;
  gboolean ok = b != NULL;

  if (bd->fused) {
    const int64_t wshape[4] = { bl->cout, cin_g, bl->k, bl->k };
    const int64_t bshape[1] = { bl->cout };
    float *t;
    n = g_strconcat (bl->name, ".reparam_conv.weight", NULL);
    ok = (t = mo_weights_get (ws, px, n, 4, wshape, error)) != NULL;
    if (ok) {
      memcpy (W, t, wn * sizeof (float));
      g_free (t);
      g_free (n);
      n = g_strconcat (bl->name, ".reparam_conv.bias", NULL);
      ok = (t = mo_weights_get (ws, px, n, 1, bshape, error)) != NULL;
      if (ok) {
        memcpy (b, t, bl->cout * sizeof (float));
        g_free (t);
      }
    }
    g_free (n);
  } else {
    for (int i = 0; ok && i < bl->branches; i++) {
      n = g_strdup_printf ("%s.rbr_conv.%d", bl->name, i);
      ok = mo_fold_conv_bn (ws, px, n, bl->cout, cin_g, bl->k, bl->k, W, b,
          error);
      g_free (n);
    }
    if (ok && bl->k > 1) {
      n = g_strconcat (bl->name, ".rbr_scale", NULL);
      ok = mo_fold_conv_bn (ws, px, n, bl->cout, cin_g, 1, bl->k, W, b, error);
      g_free (n);
    }
    if (ok && bl->skip) {
      n = g_strconcat (bl->name, ".rbr_skip", NULL);
      ok = mo_fold_bn_identity (ws, px, n, bl->cout, cin_g, bl->k, W, b,
          error);
      g_free (n);
    }
  }

  int out = -1;
  if (ok) {
    MoOpType type = bl->dw ? MO_OP_DWCONV : bl->k == 1 ? MO_OP_PWCONV :
        MO_OP_CONV;
    int y = mo_model_add_tensor (m, bl->cout);
    n = g_strconcat (bl->name, ".reparam_conv", NULL);
    MoLayer *l = mo_model_add_layer (m, type, n, x, y);
    g_free (n);
    l->cin = bl->cin;
    l->cout = bl->cout;
    l->k = bl->k;
    l->stride = bl->stride;
    l->dilation = bl->dilation;
    l->pad = bl->dilation * (bl->k / 2);
    l->act = bl->se ? MO_ACT_NONE : MO_ACT_RELU;
    mo_layer_set_weights (m, l, W, b);
    out = bl->se ? add_se (m, ws, bl->name, y, bl->cout, error) : y;
  }
  g_free (W);
  g_free (b);
  return out;
}

/* A missing first tensor usually means the wrong "fused" setting: say so. */
static void
hint_fused (MoModel *m, MoWeights *ws, GError **error)
{
  const MoBackboneDesc *bd = &m->desc->backbone;
  const char *other = bd->fused ? "stage0.rbr_conv.0.conv.weight" :
      "stage0.reparam_conv.weight";
  if (error && *error && mo_weights_has (ws, bd->prefix, other)) {
    char *msg = g_strdup_printf ("%s (the file holds %s weights: set "
        "'backbone.fused: %s' in %s)", (*error)->message,
        bd->fused ? "training-time (unfused)" : "fused",
        bd->fused ? "false" : "true", m->desc->path);
    g_free ((*error)->message);
    (*error)->message = msg;
  } else if (error && *error && bd->prefix[0] == '\0'
      && mo_weights_has (ws, "backbone.", "stage0.rbr_conv.0.conv.weight")) {
    char *msg = g_strdup_printf ("%s (the file's names start with "
        "'backbone.': set 'backbone.prefix: \"backbone.\"')",
        (*error)->message);
    g_free ((*error)->message);
    (*error)->message = msg;
  }
}

gboolean
mo_backbone_build (MoModel *m, MoWeights *ws, const MoBackboneOpts *opts,
    MoBackboneOut *out, GError **error)
{
  const MoBackboneDesc *bd = &m->desc->backbone;
  const double *wm = bd->width_multipliers;
  int planes[5];
  int x = m->input;
  char name[32];

  planes[0] = MIN (64, (int) (64 * wm[0]));
  for (int s = 1; s < 5; s++)
    planes[s] = (int) (stage_base[s] * wm[s - 1]);
  for (int s = 0; s < 5; s++) {
    if (planes[s] < 1) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s: key 'backbone.width_multipliers' gives stage%d no channels",
          m->desc->path, s);
      return FALSE;
    }
  }

  Block stem = { "stage0", 3, planes[0], 3, 2, 1, FALSE, FALSE, FALSE, 1 };
  x = add_block (m, ws, &stem, x, error);
  if (x < 0) {
    hint_fused (m, ws, error);
    return FALSE;
  }
  out->tensor[0] = x;
  out->channels[0] = planes[0];

  int in_planes = planes[0];
  for (int s = 1; s < 5; s++) {
    int n = stage_blocks[s];
    int num_se = !bd->use_se ? 0 : s == 3 ? n / 2 : s == 4 ? n : 0;
    int dil = opts ? MAX (1, opts->dilation[s]) : 1;
    for (int i = 0; i < n; i++) {
      /* The branch structure follows the nominal stride even when dilation
       * replaces it, so an ImageNet checkpoint still loads. */
      int nominal = i == 0 ? 2 : 1;
      gboolean se = i >= n - num_se;
      Block dwb = { name, in_planes, in_planes, 3, dil > 1 ? 1 : nominal, dil,
        TRUE, se, nominal == 1, bd->num_conv_branches
      };
      g_snprintf (name, sizeof name, "stage%d.%d", s, 2 * i);
      if ((x = add_block (m, ws, &dwb, x, error)) < 0)
        return FALSE;
      Block pwb = { name, in_planes, planes[s], 1, 1, 1, FALSE, se,
        in_planes == planes[s], bd->num_conv_branches
      };
      g_snprintf (name, sizeof name, "stage%d.%d", s, 2 * i + 1);
      if ((x = add_block (m, ws, &pwb, x, error)) < 0)
        return FALSE;
      in_planes = planes[s];
    }
    out->tensor[s] = x;
    out->channels[s] = planes[s];
  }
  return TRUE;
}
