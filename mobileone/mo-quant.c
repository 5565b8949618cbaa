/* mobileone-gst engine: post-training int8 quantisation (docs/int8.md).
 *
 * Calibration runs the float model on pictures and records, for the output
 * of every named ReLU layer (convolutions and squeeze-excite gates), the
 * largest value of each picture; its scale is the mean of those maxima (or
 * the largest of them) / 255 (uint8, zero point 0). The signed output of a
 * convolution read by squeeze-excite (conv -> SE -> ReLU) gets the largest
 * |value| / 127 instead, zero point 128. All after channel equalisation:
 * per-channel factors of each ReLU layer's outputs (LAYER.channel_scale)
 * that the loader multiplies into its weights and divides out of its
 * readers' before quantising (the float function is unchanged). The
 * loader then turns each depthwise or pointwise ReLU layer (or
 * squeeze-excite conv) whose input and output both have a scale into an
 * int8 layer (weights symmetric per output channel, requantisation in the
 * kernel) and inserts a conversion wherever a float layer meets a uint8
 * tensor or the other way round: the stem, squeeze-excite's 1x1 layers
 * (its pool and gate read the conv's bytes), the heads' last layers and
 * everything without a scale stay float. */
#include "mo-model-private.h"

#include <math.h>
#include <string.h>

#define SCALE_SUFFIX ".output_scale"
#define CORR_SUFFIX ".bias_correction"
#define CHS_SUFFIX ".channel_scale"

/* Whether tensor @t may hold uint8: not the input, not a view or the
 * parent of views (concatenations stay float), not an output. */
static gboolean
tensor_can_be_u8 (const MoModel *m, int t)
{
  if (t == m->input
      || g_array_index (m->tensors, MoTensorDef, t).parent >= 0)
    return FALSE;
  for (guint i = 0; i < m->tensors->len; i++)
    if (g_array_index (m->tensors, MoTensorDef, i).parent == t)
      return FALSE;
  for (guint i = 0; i < m->outputs->len; i++)
    if (g_array_index (m->outputs, MoOutputDef, i).tensor == t)
      return FALSE;
  return TRUE;
}

static gboolean
is_conv (const MoLayer *l)
{
  return l->type == MO_OP_CONV || l->type == MO_OP_DWCONV
      || l->type == MO_OP_PWCONV;
}

/* Whether tensor @t is read by squeeze-excite only: a global pool (the
 * gate's input) and a scale op (gated, its first input), nothing else. */
static gboolean
tensor_read_by_se (const MoModel *m, int t)
{
  gboolean gap = FALSE, scale = FALSE;

  for (guint i = 0; i < m->layers->len; i++) {
    const MoLayer *c = g_ptr_array_index (m->layers, i);
    if (c->in2 == t)
      return FALSE;
    if (c->in != t)
      continue;
    if (c->type == MO_OP_GAP)
      gap = TRUE;
    else if (c->type == MO_OP_SCALE)
      scale = TRUE;
    else
      return FALSE;
  }
  return gap && scale;
}

/* The zero point of layer @l's calibrated uint8 output, or -1 when its
 * output is not calibrated. 0: a named ReLU layer (convolution or
 * squeeze-excite gate: its output is >= 0) writing a plain tensor. 128: a
 * named convolution without activation whose plain output is read by
 * squeeze-excite (conv -> SE -> ReLU): signed, quantised symmetrically
 * about 128, which needs one statistic (the largest |value|) and keeps
 * the requantisation clamp (rint (acc mul + add), 0, 255) of every kernel,
 * the zero point folded into add. */
static int
layer_out_zero_point (const MoModel *m, const MoLayer *l)
{
  if (l->name == NULL || !tensor_can_be_u8 (m, l->out))
    return -1;
  if (l->act == MO_ACT_RELU && (is_conv (l) || l->type == MO_OP_SCALE))
    return 0;
  if (l->act == MO_ACT_NONE && is_conv (l) && tensor_read_by_se (m, l->out))
    return 128;
  return -1;
}

/* Whether layer @l's output may be calibrated. */
static gboolean
layer_has_scale_slot (const MoModel *m, const MoLayer *l)
{
  return layer_out_zero_point (m, l) >= 0;
}

/* Whether tensor @t is read, and only as the first input of int8 layers. */
static gboolean
tensor_read_by_int8_only (const MoModel *m, int t)
{
  gboolean read = FALSE;

  for (guint i = 0; i < m->layers->len; i++) {
    const MoLayer *c = g_ptr_array_index (m->layers, i);
    if (c->in2 == t || (c->in == t && !c->int8))
      return FALSE;
    read |= c->in == t;
  }
  if (!read)
    return FALSE;
  for (guint i = 0; i < m->outputs->len; i++)
    if (g_array_index (m->outputs, MoOutputDef, i).tensor == t)
      return FALSE;
  return TRUE;
}

/* Whether tensor @t is read by a layer's second input (a gate, an add). */
static gboolean
tensor_is_in2 (const MoModel *m, int t)
{
  for (guint i = 0; i < m->layers->len; i++)
    if (((const MoLayer *) g_ptr_array_index (m->layers, i))->in2 == t)
      return TRUE;
  return FALSE;
}

/* Whether the output channels of layer @l may be rescaled by positive
 * factors t (channel equalisation, docs/int8.md): a named ReLU convolution
 * (ReLU (t x) = t ReLU (x)) whose plain output (not an output of the
 * model, not a concatenation) is read only by convolutions, whose input
 * channels then take 1 / t, or by a global pool read only by pointwise
 * layers (the classifier). Squeeze-excite gates, adds and resizes are
 * not. */
static gboolean
layer_can_equalise (const MoModel *m, const MoLayer *l)
{
  gboolean read = FALSE;

  if (!layer_has_scale_slot (m, l) || !is_conv (l) || l->act != MO_ACT_RELU
      || l->in2 >= 0 || tensor_is_in2 (m, l->out))
    return FALSE;
  for (guint i = 0; i < m->layers->len; i++) {
    const MoLayer *c = g_ptr_array_index (m->layers, i);
    if (c->in != l->out)
      continue;
    read = TRUE;
    if (c->type == MO_OP_CONV || c->type == MO_OP_DWCONV
        || c->type == MO_OP_PWCONV)
      continue;
    if (c->type != MO_OP_GAP || tensor_is_in2 (m, c->out))
      return FALSE;
    for (guint j = 0; j < m->outputs->len; j++)
      if (g_array_index (m->outputs, MoOutputDef, j).tensor == c->out)
        return FALSE;
    for (guint j = 0; j < m->layers->len; j++) {
      const MoLayer *d = g_ptr_array_index (m->layers, j);
      if (d->in == c->out && d->type != MO_OP_PWCONV)
        return FALSE;
    }
  }
  return read;
}

/* The layer whose rescaled output channels are the input channels of
 * layer @l: the writer of its input, or of the input of the global pool
 * it reads; NULL if none. */
static const MoLayer *
scaled_producer (const MoModel *m, const MoLayer *l)
{
  int t = l->in;

  for (int pass = 0; pass < 2; pass++) {
    const MoLayer *w = NULL;
    for (guint i = 0; i < m->layers->len; i++) {
      const MoLayer *p = g_ptr_array_index (m->layers, i);
      if (p->out == t)
        w = p;
    }
    if (w == NULL || w->type != MO_OP_GAP)
      return w;
    t = w->in;
  }
  return NULL;
}

/* Weight (@n output, @k input channel) of a layer whose outputs are
 * rescaled by @tout and inputs by @tin (NULL: 1): the loader stores it,
 * calibration computes the bias correction of exactly this value. */
static inline float
rescaled (float w, const float *tout, int n, const float *tin, int k)
{
  return (float) ((double) w * (tout != NULL ? tout[n] : 1.0)
      / (tin != NULL ? tin[k] : 1.0));
}

/* Applies channel scales @tout (outputs) and @tin (inputs) to layer @l's
 * packed float weights and bias. */
static void
rescale_layer (MoLayer *l, const float *tout, const float *tin)
{
  const int ldw = l->ldw;

  if (tout == NULL && tin == NULL)
    return;
  for (int n = 0; n < l->cout; n++) {
    if (l->type == MO_OP_DWCONV)
      for (int t = 0; t < 9; t++)
        l->w[(size_t) t * ldw + n] = rescaled (l->w[(size_t) t * ldw + n],
            tout, n, tin, n);
    else if (l->type == MO_OP_PWCONV)
      for (int k = 0; k < l->cin; k++) {
        size_t i = mo_pw_index (l->cin, ldw, k, n);
        l->w[i] = rescaled (l->w[i], tout, n, tin, k);
      }
    else                        /* dense: w[kh][kw][cin][ldw] */
      for (int t = 0; t < l->k * l->k; t++)
        for (int k = 0; k < l->cin; k++) {
          size_t i = ((size_t) t * l->cin + k) * ldw + n;
          l->w[i] = rescaled (l->w[i], tout, n, tin, k);
        }
    if (tout != NULL)
      l->b[n] = (float) ((double) l->b[n] * tout[n]);
  }
}

/* The int8 weights of output channel @n of depthwise or pointwise layer
 * @l (symmetric, max |w| / 127) into @q (taps bytes, NULL: not stored),
 * its weights rescaled by @tout and @tin (rescaled ()); returns their scale. Calibration and the loader share it, so that the
 * bias correction is computed for the weights that run. */
static double
quantize_channel (const MoLayer *l, int n, gint8 *q, double *err_sum,
    const double *in_mean, const float *tout, const float *tin)
{
  const int ldw = l->ldw, dw = l->type == MO_OP_DWCONV;
  const int taps = dw ? 9 : l->cin;
  double amax = 0.0, sw, e = 0.0;
#define WF(t) rescaled (dw ? l->w[(size_t) (t) * ldw + n] \
    : l->w[mo_pw_index (l->cin, ldw, (t), n)], tout, n, tin, dw ? n : (t))
  for (int t = 0; t < taps; t++)
    amax = MAX (amax, fabs (WF (t)));
  sw = amax > 0.0 ? amax / 127.0 : 1.0;
  for (int t = 0; t < taps; t++) {
    double v = rint (WF (t) / sw);
    v = CLAMP (v, -127.0, 127.0);
    if (q != NULL)
      q[dw ? (size_t) t * ldw + n : mo_pw8_index (l->cin, ldw, t, n)] =
          (gint8) v;
    /* The expected output error of the channel: sum over its inputs of
     * (quantised - float weight) x the input's calibration mean. */
    if (in_mean != NULL)
      e += (v * sw - WF (t)) * in_mean[dw ? n : t];
  }
#undef WF
  if (err_sum != NULL)
    *err_sum = e;
  return sw;
}

/* Quantises @l's weights; its output is uint8 of scale @s_out and zero
 * point @zp_out (folded into the offset: clamp (rint (acc mul + add)) is
 * then round (x / s_out) + zp_out, clamped). */
static void
quantize_weights (MoLayer *l, float s_in, float s_out, int zp_out,
    const float *corr)
{
  const int ldw = l->ldw, dw = l->type == MO_OP_DWCONV;
  size_t size = dw ? (size_t) 9 * ldw : mo_pw8_size (l->cin, ldw);

  l->wq = g_aligned_alloc0 (size, 1, 64);
  l->qmul = g_aligned_alloc0 (ldw, sizeof (float), 64);
  l->qadd = g_aligned_alloc0 (ldw, sizeof (float), 64);
  for (int n = 0; n < l->cout; n++) {
    double sw = quantize_channel (l, n, l->wq, NULL, NULL, NULL, NULL);
    double b = l->b[n] - (corr != NULL ? corr[n] : 0.0);
    l->qmul[n] = (float) ((double) s_in * sw / s_out);
    l->qadd[n] = (float) (b / s_out + zp_out);
  }
  if (!dw) {
    l->wsum = g_aligned_alloc0 (ldw, sizeof (gint32), 64);
    mo_pw8_wsum (l->wq, l->cin, ldw, l->wsum);
  }
}

/* Whether layer @l can run in int8 once its input (zero point 0) and
 * output have scales: a depthwise 3x3 or pointwise convolution with a
 * ReLU or (read by squeeze-excite) none. */
static gboolean
layer_can_be_int8 (const MoLayer *l)
{
  return (l->type == MO_OP_PWCONV || (l->type == MO_OP_DWCONV && l->k == 3))
      && l->in2 < 0 && (l->act == MO_ACT_RELU || l->act == MO_ACT_NONE);
}

/* A new layer @type from tensor @in to a new tensor, at index @at. A
 * dequantize reads its input tensor's zero point; a quantize writes zero
 * point 0 (only ReLU outputs are quantised: int8 layers read those only). */
static int
insert_conversion (MoModel *m, MoOpType type, int in, guint at,
    float scale)
{
  const MoTensorDef *d = &g_array_index (m->tensors, MoTensorDef, in);
  int c = d->c, out = mo_model_add_tensor (m, c);
  MoTensorDef *od = &g_array_index (m->tensors, MoTensorDef, out);
  MoLayer *l;

  od->u8 = type == MO_OP_QUANTIZE;
  od->scale = scale;
  l = mo_model_add_layer (m, type, NULL, in, out);
  l->cin = l->cout = c;
  l->qscale = type == MO_OP_QUANTIZE ? 1.0f / scale : scale;
  g_ptr_array_steal_index (m->layers, m->layers->len - 1);
  g_ptr_array_insert (m->layers, at, l);
  return out;
}

/* A float dense convolution (the stem) whose output only a quantize
 * conversion reads writes that conversion's uint8 tensor itself
 * (MoConvParams.out_u8: the same bytes): the float tensor, 4 bytes per
 * value written and read back (the stem's is the network's largest), and
 * the pass over it go. */
static void
fuse_quantize_into_conv (MoModel *m)
{
  for (guint qi = 0; qi < m->layers->len; qi++) {
    MoLayer *q = g_ptr_array_index (m->layers, qi);
    MoLayer *w = NULL;
    gboolean other_reader = FALSE;
    int t = q->in;

    if (q->type != MO_OP_QUANTIZE || !tensor_can_be_u8 (m, t))
      continue;
    for (guint li = 0; li < m->layers->len; li++) {
      MoLayer *l = g_ptr_array_index (m->layers, li);
      if (l->out == t)
        w = l;
      if (l != q && (l->in == t || l->in2 == t))
        other_reader = TRUE;
    }
    if (w == NULL || other_reader || w->type != MO_OP_CONV || w->int8
        || (w->act != MO_ACT_RELU && w->act != MO_ACT_NONE))
      continue;
    w->out = q->out;
    g_ptr_array_remove_index (m->layers, qi--);
  }
}

gboolean
mo_model_quantize (MoModel *m, const char *path, GError **error)
{
  MoSafetensors *st = mo_safetensors_open (path, error);
  GHashTable *by_name, *corr_of, *chs_of;
  int nt = m->tensors->len;
  float *tscale;
  int *tzp, *qcopy, *fcopy;
  gboolean ok = FALSE;

  if (st == NULL)
    return FALSE;
  by_name = g_hash_table_new (g_str_hash, g_str_equal);
  corr_of = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  chs_of = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  tscale = g_new0 (float, nt);
  tzp = g_new0 (int, nt);
  qcopy = g_new (int, nt);
  fcopy = g_new (int, nt);
  for (int t = 0; t < nt; t++)
    qcopy[t] = fcopy[t] = -1;
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    if (l->name != NULL)
      g_hash_table_insert (by_name, l->name, l);
  }

  /* Every tensor of the file names a layer of this model: a scale, finite
   * and positive, a bias correction, finite, one per output channel, or
   * channel scales, finite and positive, one per output channel; a file
   * calibrated for another model is an error. */
  for (guint i = 0; i < mo_safetensors_n_tensors (st); i++) {
    const MoStTensor *t = mo_safetensors_nth (st, i);
    gboolean is_corr = g_str_has_suffix (t->name, CORR_SUFFIX);
    gboolean is_chs = g_str_has_suffix (t->name, CHS_SUFFIX);
    const char *suffix = is_corr ? CORR_SUFFIX
        : is_chs ? CHS_SUFFIX : SCALE_SUFFIX;
    char *lname;
    MoLayer *l;
    float v;

    if (!is_corr && !is_chs && !g_str_has_suffix (t->name, SCALE_SUFFIX)) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s' is not "
          "an activation scale (LAYER" SCALE_SUFFIX "), a bias correction "
          "(LAYER" CORR_SUFFIX ") nor channel scales (LAYER" CHS_SUFFIX
          ", docs/int8.md)", path, t->name);
      goto out;
    }
    lname = g_strndup (t->name, strlen (t->name) - strlen (suffix));
    l = g_hash_table_lookup (by_name, lname);
    g_free (lname);
    if (l == NULL) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s' names "
          "no layer of %s (scales calibrated for another model?)", path,
          t->name, m->desc->path);
      goto out;
    }
    if (is_corr || is_chs) {
      const int64_t cshape[1] = { l->cout };
      float *vec;

      if (is_corr && (!layer_can_be_int8 (l)
              || !layer_has_scale_slot (m, l))) {
        g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s': "
            "layer '%s' is not a depthwise 3x3 or pointwise layer with a "
            "ReLU or read by squeeze-excite (no int8 weights to correct)",
            path, t->name, l->name);
        goto out;
      }
      if (is_chs && !layer_can_equalise (m, l)) {
        g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s': "
            "the output channels of layer '%s' cannot be rescaled (not a "
            "ReLU convolution read only by convolutions or a pooled "
            "classifier)", path, t->name, l->name);
        goto out;
      }
      vec = g_new (float, l->cout);
      /* Checks the dtype, the shape [cout] and finiteness, naming both. */
      if (!mo_safetensors_read_f32 (st, t->name, 1, cshape, vec, error)) {
        g_free (vec);
        goto out;
      }
      for (int n = 0; is_chs && n < l->cout; n++)
        if (!(vec[n] > 0.0f) || vec[n] > 1e30f) {
          g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s': "
              "channel scale %g (channel %d) is not a positive finite "
              "number", path, t->name, vec[n], n);
          g_free (vec);
          goto out;
        }
      g_hash_table_replace (is_corr ? corr_of : chs_of, l, vec);
      continue;
    }
    const int64_t shape[1] = { 1 };
    if (!mo_safetensors_read_f32 (st, t->name, 1, shape, &v, error))
      goto out;
    if (!(v > 0.0f) || v > 1e30f) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s': scale "
          "%g is not a positive finite number", path, t->name, v);
      goto out;
    }
    if (layer_has_scale_slot (m, l)) {
      tscale[l->out] = v;
      tzp[l->out] = layer_out_zero_point (m, l);
    } else
      g_debug ("%s: '%s': layer '%s' keeps float outputs", path, t->name,
          l->name);
  }

  /* Channel equalisation: the float weights of every layer take its own
   * channel scales on their outputs and its producer's on their inputs
   * (the float function is unchanged), before they are quantised. The
   * model is not yet shared: its weights may change. */
  if (g_hash_table_size (chs_of) > 0)
    for (guint li = 0; li < m->layers->len; li++) {
      MoLayer *l = g_ptr_array_index (m->layers, li);
      const MoLayer *p;

      if (l->type != MO_OP_CONV && l->type != MO_OP_DWCONV
          && l->type != MO_OP_PWCONV)
        continue;
      p = scaled_producer (m, l);
      rescale_layer (l, g_hash_table_lookup (chs_of, l),
          p != NULL ? g_hash_table_lookup (chs_of, p) : NULL);
    }

  /* The int8 layers, their uint8 outputs and their weights. */
  m->n_int8 = 0;
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    if (!layer_can_be_int8 (l) || tscale[l->in] <= 0.0f || tzp[l->in] != 0
        || tscale[l->out] <= 0.0f)
      continue;
    l->int8 = TRUE;
    quantize_weights (l, tscale[l->in], tscale[l->out], tzp[l->out],
        g_hash_table_lookup (corr_of, l));
    g_array_index (m->tensors, MoTensorDef, l->out).u8 = TRUE;
    g_array_index (m->tensors, MoTensorDef, l->out).scale = tscale[l->out];
    g_array_index (m->tensors, MoTensorDef, l->out).zero_point =
        tzp[l->out];
    m->n_int8++;
  }
  /* Squeeze-excite on uint8: a gate reading an int8 conv's (signed)
   * output, whose own output has a scale and is read by int8 layers only,
   * takes bytes in and out (its kernel folds the dequantize, the gate and
   * the quantize, rounding as they do); the squeeze-excite pool of a
   * uint8 tensor reads the bytes (exact integer sums; other pools, say a
   * classifier's, keep their dequantize, so networks without
   * squeeze-excite compute what they did). Neither has weights: they are
   * not counted in n_int8 (the int8 convolutions). */
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    MoTensorDef *in = &g_array_index (m->tensors, MoTensorDef, l->in);
    MoTensorDef *out = &g_array_index (m->tensors, MoTensorDef, l->out);

    if (l->type == MO_OP_SCALE && l->act == MO_ACT_RELU && in->u8
        && tscale[l->out] > 0.0f && tzp[l->out] == 0
        && tensor_read_by_int8_only (m, l->out)) {
      l->int8 = TRUE;
      out->u8 = TRUE;
      out->scale = tscale[l->out];
      out->zero_point = 0;
    }
  }
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    if (l->type == MO_OP_GAP
        && g_array_index (m->tensors, MoTensorDef, l->in).u8
        && tensor_read_by_se (m, l->in))
      l->int8 = TRUE;
  }
  if (m->n_int8 == 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: no layer of %s can "
        "run in int8 with these scales (a depthwise or pointwise ReLU layer "
        "needs the scales of its input and output)", path, m->desc->path);
    goto out;
  }

  /* Conversions where float meets uint8, once per tensor, just before the
   * first layer that needs them. */
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    int *slot[2] = { &l->in, &l->in2 };

    if (l->type == MO_OP_QUANTIZE || l->type == MO_OP_DEQUANTIZE)
      continue;
    for (int si = 0; si < 2; si++) {
      int t = *slot[si];
      if (t < 0)
        continue;
      gboolean is_u8 = g_array_index (m->tensors, MoTensorDef, t).u8;
      gboolean want_u8 = l->int8 && si == 0;
      if (want_u8 && !is_u8) {
        if (qcopy[t] < 0)
          qcopy[t] = insert_conversion (m, MO_OP_QUANTIZE, t, li++,
              tscale[t]);
        *slot[si] = qcopy[t];
      } else if (!want_u8 && is_u8) {
        if (fcopy[t] < 0)
          fcopy[t] = insert_conversion (m, MO_OP_DEQUANTIZE, t, li++,
              tscale[t]);
        *slot[si] = fcopy[t];
      }
    }
  }
  fuse_quantize_into_conv (m);
  ok = TRUE;

out:
  g_free (tscale);
  g_free (tzp);
  g_free (qcopy);
  g_free (fcopy);
  g_hash_table_unref (by_name);
  g_hash_table_unref (corr_of);
  g_hash_table_unref (chs_of);
  mo_safetensors_close (st);
  return ok;
}

/* ---- calibration ------------------------------------------------------ */

struct _MoCalibration
{
  MoSession *s;
  GArray *slots;                /* Slot */
  int *slot_of;                 /* per layer: its slot, or -1 */
  int runs;
  MoCalibStatistic stat;
  gboolean bias_correction;
  gboolean equalise;
};

typedef struct
{
  const MoLayer *l;
  int zp;                       /* 0: ReLU output; 128: signed, cmax holds
                                 * the largest |value| */
  double *sum;                  /* per channel: sum over runs and pixels */
  double pixels;                /* pixels summed */
  GArray *cmax;                 /* float [runs][cout]: each run's channel
                                 * maxima */
} Slot;

/* The alpha of channel equalisation where the rescaled channels feed
 * weights that are quantised per output channel (docs/int8.md). */
#define EQ_ALPHA 0.5
/* Channel scales stay within [1 / EQ_TMAX, EQ_TMAX]. */
#define EQ_TMAX 1e3

static void
observe (gpointer data, guint li)
{
  MoCalibration *c = data;
  Slot *sl;
  int h, w, cs;
  const float *d;
  float *mx;

  if (li == 0)
    c->runs++;
  if (c->slot_of[li] < 0)
    return;
  sl = &g_array_index (c->slots, Slot, c->slot_of[li]);
  d = mo_session_tensor (c->s, sl->l->out, &h, &w, &cs);
  g_array_set_size (sl->cmax, sl->cmax->len + sl->l->cout);
  mx = &g_array_index (sl->cmax, float, sl->cmax->len - sl->l->cout);
  for (gsize p = 0; p < (gsize) h * w; p++)
    for (int k = 0; k < sl->l->cout; k++) {
      float v = d[p * cs + k];
      mx[k] = MAX (mx[k], sl->zp != 0 ? fabsf (v) : v);
      sl->sum[k] += v;
    }
  sl->pixels += (double) h * w;
}

MoCalibration *
mo_calibration_new (MoSession *s, GError **error)
{
  MoModel *m = mo_session_model (s);
  MoCalibration *c;

  if (m->n_int8 > 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: calibration needs the "
        "float model (load it with MO_LOAD_FORCE_FP32, mobileone-cli "
        "--precision fp32)", m->desc->path);
    return NULL;
  }
  c = g_new0 (MoCalibration, 1);
  c->s = s;
  c->bias_correction = TRUE;
  c->equalise = TRUE;
  c->slots = g_array_new (FALSE, TRUE, sizeof (Slot));
  c->slot_of = g_new (int, m->layers->len);
  for (guint li = 0; li < m->layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (m->layers, li);
    c->slot_of[li] = -1;
    if (layer_has_scale_slot (m, l)) {
      Slot sl = { l, layer_out_zero_point (m, l), g_new0 (double, l->cout),
        0.0,
        g_array_new (FALSE, TRUE, sizeof (float))
      };
      c->slot_of[li] = c->slots->len;
      g_array_append_val (c->slots, sl);
    }
  }
  mo_session_set_observer (s, observe, c);
  return c;
}

/* The slot of the layer writing tensor @t, or NULL. */
static const Slot *
slot_writing (const MoCalibration *c, int t)
{
  for (guint j = 0; j < c->slots->len; j++)
    if (g_array_index (c->slots, Slot, j).l->out == t)
      return &g_array_index (c->slots, Slot, j);
  return NULL;
}

/* The channel scales t of slot @sl's layer (docs/int8.md), or NULL when
 * its channels are not rescaled. a[k] is the channel's range (the mean
 * over runs of each run's maximum). Where the channels feed a dense or
 * pointwise layer, whose weights are quantised per output channel over
 * the input channels, t[k] = wr[k]^(1 - alpha) / a[k]^alpha balances the
 * activation range against wr[k], the largest |weight| of input channel k
 * in those layers (SmoothQuant's rule); where they feed only depthwise
 * layers or the pooled classifier (rescaling there changes no
 * quantised weight), t[k] = 1 / a[k] equalises the ranges. Dead channels
 * keep 1; the geometric mean of the others is 1. */
static float *
channel_scales (const MoCalibration *c, const Slot *sl)
{
  const MoModel *m = mo_session_model (c->s);
  const MoLayer *l = sl->l;
  const int cout = l->cout, runs = sl->cmax->len / cout;
  double *a, *wr, logsum = 0.0;
  gboolean weights = FALSE;
  float *t;
  int live = 0;

  if (!c->equalise || runs == 0 || !layer_can_equalise (m, l))
    return NULL;
  a = g_new0 (double, cout);
  wr = g_new0 (double, cout);
  for (int r = 0; r < runs; r++)
    for (int k = 0; k < cout; k++)
      a[k] += g_array_index (sl->cmax, float, (gsize) r * cout + k);
  for (guint i = 0; i < m->layers->len; i++) {
    const MoLayer *d = g_ptr_array_index (m->layers, i);
    if (d->in != l->out || (d->type != MO_OP_PWCONV && d->type != MO_OP_CONV))
      continue;
    weights = TRUE;
    for (int n = 0; n < d->cout; n++)
      for (int k = 0; k < d->cin; k++) {
        if (d->type == MO_OP_PWCONV)
          wr[k] = MAX (wr[k], fabs (d->w[mo_pw_index (d->cin, d->ldw, k,
                          n)]));
        else
          for (int tp = 0; tp < d->k * d->k; tp++)
            wr[k] = MAX (wr[k], fabs (d->w[((size_t) tp * d->cin + k)
                        * d->ldw + n]));
      }
  }
  t = g_new (float, cout);
  for (int k = 0; k < cout; k++) {
    double alpha = weights ? EQ_ALPHA : 1.0;
    a[k] /= runs;
    if (a[k] > 0.0 && (!weights || wr[k] > 0.0)) {
      a[k] = (weights ? pow (wr[k], 1.0 - alpha) : 1.0) / pow (a[k], alpha);
      logsum += log (a[k]);
      live++;
    } else
      a[k] = 0.0;
  }
  for (int k = 0; k < cout; k++)
    t[k] = a[k] > 0.0 ? (float) CLAMP (a[k] / exp (logsum / live),
        1.0 / EQ_TMAX, EQ_TMAX) : 1.0f;
  g_free (a);
  g_free (wr);
  return t;
}

gboolean
mo_calibration_write (const MoCalibration *c, const char *path,
    GError **error)
{
  MoStWriter *w;
  gboolean ok;
  float **ts;

  if (c->runs == 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no calibration run "
        "observed", path);
    return FALSE;
  }
  w = mo_st_writer_new ();
  ts = g_new0 (float *, c->slots->len);
  for (guint i = 0; i < c->slots->len; i++)
    ts[i] = channel_scales (c, &g_array_index (c->slots, Slot, i));
  /* The range of each output of the (equalised) network: each run's
   * maximum is the largest of its channels' maxima times their scales. */
  for (guint i = 0; i < c->slots->len; i++) {
    const Slot *sl = &g_array_index (c->slots, Slot, i);
    const int64_t shape[1] = { 1 };
    const int cout = sl->l->cout, runs = sl->cmax->len / cout;
    double max = 0.0, sum_max = 0.0, range;
    float v;
    char *name;

    for (int r = 0; r < runs; r++) {
      double mx = 0.0;
      for (int k = 0; k < cout; k++)
        mx = MAX (mx, g_array_index (sl->cmax, float, (gsize) r * cout + k)
            * (ts[i] != NULL ? (double) ts[i][k] : 1.0));
      max = MAX (max, mx);
      sum_max += mx;
    }
    range = c->stat == MO_CALIB_MAX ? max : sum_max / MAX (runs, 1);
    /* An output that stayed 0 everywhere keeps a harmless scale. A signed
     * one (zero point 128) maps [-range, range] to [1, 255]. */
    v = range > 0.0 ? (float) (range / (sl->zp != 0 ? 127.0 : 255.0))
        : 1.0f / 255.0f;
    name = g_strconcat (sl->l->name, SCALE_SUFFIX, NULL);
    mo_st_writer_add_f32 (w, name, 1, shape, &v);
    g_free (name);
    if (ts[i] != NULL) {
      const int64_t cshape[1] = { cout };
      name = g_strconcat (sl->l->name, CHS_SUFFIX, NULL);
      mo_st_writer_add_f32 (w, name, 1, cshape, ts[i]);
      g_free (name);
    }
  }
  /* Bias corrections (docs/int8.md): for every layer that will run in int8
   * (its input and output calibrated), the expected error its int8
   * weights (rescaled as the loader will) add to each output channel, from
   * the calibration means of its input channels (rescaled too); the loader
   * subtracts it from the bias. */
  for (guint i = 0; c->bias_correction && i < c->slots->len; i++) {
    const Slot *sl = &g_array_index (c->slots, Slot, i), *in;
    const MoLayer *l = sl->l;
    const int64_t shape[1] = { l->cout };
    const float *tin;
    double *mean;
    float *corr;
    char *name;

    if (!layer_can_be_int8 (l))
      continue;
    in = slot_writing (c, l->in);
    if (in == NULL || in->zp != 0 || in->pixels <= 0.0)
      continue;
    tin = ts[in - &g_array_index (c->slots, Slot, 0)];
    mean = g_new (double, in->l->cout);
    for (int k = 0; k < in->l->cout; k++)
      mean[k] = in->sum[k] / in->pixels * (tin != NULL ? tin[k] : 1.0);
    corr = g_new (float, l->cout);
    for (int n = 0; n < l->cout; n++) {
      double e;
      quantize_channel (l, n, NULL, &e, mean, ts[i], tin);
      corr[n] = (float) e;
    }
    name = g_strconcat (l->name, CORR_SUFFIX, NULL);
    mo_st_writer_add_f32 (w, name, 1, shape, corr);
    g_free (name);
    g_free (corr);
    g_free (mean);
  }
  for (guint i = 0; i < c->slots->len; i++)
    g_free (ts[i]);
  g_free (ts);
  ok = mo_st_writer_write (w, path, error);
  mo_st_writer_free (w);
  return ok;
}

void
mo_calibration_set_equalisation (MoCalibration *c, gboolean on)
{
  c->equalise = on;
}

void
mo_calibration_set_bias_correction (MoCalibration *c, gboolean on)
{
  c->bias_correction = on;
}

void
mo_calibration_set_statistic (MoCalibration *c, MoCalibStatistic stat)
{
  c->stat = stat;
}

int
mo_calibration_n_scales (const MoCalibration *c)
{
  return c->slots->len;
}

void
mo_calibration_free (MoCalibration *c)
{
  if (c == NULL)
    return;
  mo_session_set_observer (c->s, NULL, NULL);
  for (guint i = 0; i < c->slots->len; i++) {
    g_free (g_array_index (c->slots, Slot, i).sum);
    g_array_free (g_array_index (c->slots, Slot, i).cmax, TRUE);
  }
  g_array_free (c->slots, TRUE);
  g_free (c->slot_of);
  g_free (c);
}
