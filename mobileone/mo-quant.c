/* mobileone-gst engine: post-training int8 quantisation (docs/int8.md).
 *
 * Calibration runs the float model on pictures and records, for the output
 * of every named ReLU layer, the largest value of each picture; its scale
 * is the mean of those maxima (or the largest of them) / 255 (uint8, zero
 * point 0). The loader then turns each depthwise
 * or pointwise ReLU layer whose input and output both have a scale into
 * an int8 layer (weights symmetric per output channel, requantisation in
 * the kernel) and inserts a conversion wherever a float layer meets a
 * uint8 tensor or the other way round: the stem, squeeze-excite, the
 * heads' last layers and everything without a scale stay float. */
#include "mo-model-private.h"

#include <math.h>
#include <string.h>

#define SCALE_SUFFIX ".output_scale"
#define CORR_SUFFIX ".bias_correction"

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

/* Whether layer @l's output may be calibrated: a named ReLU layer (its
 * output is >= 0: uint8 with zero point 0) writing a plain tensor. */
static gboolean
layer_has_scale_slot (const MoModel *m, const MoLayer *l)
{
  return l->name != NULL && l->act == MO_ACT_RELU
      && (l->type == MO_OP_CONV || l->type == MO_OP_DWCONV
      || l->type == MO_OP_PWCONV) && tensor_can_be_u8 (m, l->out);
}

/* The int8 weights of output channel @n of depthwise or pointwise layer
 * @l (symmetric, max |w| / 127) into @q (taps bytes, NULL: not stored);
 * returns their scale. Calibration and the loader share it, so that the
 * bias correction is computed for the weights that run. */
static double
quantize_channel (const MoLayer *l, int n, gint8 *q, double *err_sum,
    const double *in_mean)
{
  const int ldw = l->ldw, dw = l->type == MO_OP_DWCONV;
  const int taps = dw ? 9 : l->cin;
  double amax = 0.0, sw, e = 0.0;
#define WF(t) (dw ? l->w[(size_t) (t) * ldw + n] \
    : l->w[mo_pw_index (l->cin, ldw, (t), n)])
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

static void
quantize_weights (MoLayer *l, float s_in, float s_out, const float *corr)
{
  const int ldw = l->ldw, dw = l->type == MO_OP_DWCONV;
  size_t size = dw ? (size_t) 9 * ldw : mo_pw8_size (l->cin, ldw);

  l->wq = g_aligned_alloc0 (size, 1, 64);
  l->qmul = g_aligned_alloc0 (ldw, sizeof (float), 64);
  l->qadd = g_aligned_alloc0 (ldw, sizeof (float), 64);
  for (int n = 0; n < l->cout; n++) {
    double sw = quantize_channel (l, n, l->wq, NULL, NULL);
    double b = l->b[n] - (corr != NULL ? corr[n] : 0.0);
    l->qmul[n] = (float) ((double) s_in * sw / s_out);
    l->qadd[n] = (float) (b / s_out);
  }
}

/* Whether layer @l can run in int8 once its input and output have scales. */
static gboolean
layer_can_be_int8 (const MoLayer *l)
{
  return (l->type == MO_OP_PWCONV || (l->type == MO_OP_DWCONV && l->k == 3))
      && l->in2 < 0 && l->act == MO_ACT_RELU;
}

/* A new layer @type from tensor @in to a new tensor, at index @at. */
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

gboolean
mo_model_quantize (MoModel *m, const char *path, GError **error)
{
  MoSafetensors *st = mo_safetensors_open (path, error);
  GHashTable *by_name, *corr_of;
  int nt = m->tensors->len;
  float *tscale;
  int *qcopy, *fcopy;
  gboolean ok = FALSE;

  if (st == NULL)
    return FALSE;
  by_name = g_hash_table_new (g_str_hash, g_str_equal);
  corr_of = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  tscale = g_new0 (float, nt);
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
   * and positive, or a bias correction, finite, one per output channel; a
   * file calibrated for another model is an error. */
  for (guint i = 0; i < mo_safetensors_n_tensors (st); i++) {
    const MoStTensor *t = mo_safetensors_nth (st, i);
    gboolean is_corr = g_str_has_suffix (t->name, CORR_SUFFIX);
    const char *suffix = is_corr ? CORR_SUFFIX : SCALE_SUFFIX;
    char *lname;
    MoLayer *l;
    float v;

    if (!is_corr && !g_str_has_suffix (t->name, SCALE_SUFFIX)) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s' is not "
          "an activation scale (LAYER" SCALE_SUFFIX ") nor a bias correction "
          "(LAYER" CORR_SUFFIX ", docs/int8.md)", path, t->name);
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
    if (is_corr) {
      const int64_t cshape[1] = { l->cout };
      float *corr;

      if (!layer_can_be_int8 (l)) {
        g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: tensor '%s': "
            "layer '%s' is not a depthwise 3x3 or pointwise ReLU layer "
            "(no int8 weights to correct)", path, t->name, l->name);
        goto out;
      }
      corr = g_new (float, l->cout);
      /* Checks the dtype, the shape [cout] and finiteness, naming both. */
      if (!mo_safetensors_read_f32 (st, t->name, 1, cshape, corr, error)) {
        g_free (corr);
        goto out;
      }
      g_hash_table_replace (corr_of, l, corr);
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
    if (layer_has_scale_slot (m, l))
      tscale[l->out] = v;
    else
      g_debug ("%s: '%s': layer '%s' keeps float outputs", path, t->name,
          l->name);
  }

  /* The int8 layers, their uint8 outputs and their weights. */
  m->n_int8 = 0;
  for (guint li = 0; li < m->layers->len; li++) {
    MoLayer *l = g_ptr_array_index (m->layers, li);
    if (!layer_can_be_int8 (l) || tscale[l->in] <= 0.0f
        || tscale[l->out] <= 0.0f)
      continue;
    l->int8 = TRUE;
    quantize_weights (l, tscale[l->in], tscale[l->out],
        g_hash_table_lookup (corr_of, l));
    g_array_index (m->tensors, MoTensorDef, l->out).u8 = TRUE;
    g_array_index (m->tensors, MoTensorDef, l->out).scale = tscale[l->out];
    m->n_int8++;
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
  ok = TRUE;

out:
  g_free (tscale);
  g_free (qcopy);
  g_free (fcopy);
  g_hash_table_unref (by_name);
  g_hash_table_unref (corr_of);
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
};

typedef struct
{
  const MoLayer *l;
  double max;                   /* over all runs */
  double sum_max;               /* sum over runs of each run's maximum */
  double *sum;                  /* per channel: sum over runs and pixels */
  double pixels;                /* pixels summed */
} Slot;

static void
observe (gpointer data, guint li)
{
  MoCalibration *c = data;
  Slot *sl;
  int h, w, cs;
  const float *d;
  float mx = 0.0f;

  if (li == 0)
    c->runs++;
  if (c->slot_of[li] < 0)
    return;
  sl = &g_array_index (c->slots, Slot, c->slot_of[li]);
  d = mo_session_tensor (c->s, sl->l->out, &h, &w, &cs);
  for (gsize p = 0; p < (gsize) h * w; p++)
    for (int k = 0; k < sl->l->cout; k++) {
      mx = MAX (mx, d[p * cs + k]);
      sl->sum[k] += d[p * cs + k];
    }
  sl->pixels += (double) h * w;
  sl->max = MAX (sl->max, mx);
  sl->sum_max += mx;
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
  c->slots = g_array_new (FALSE, TRUE, sizeof (Slot));
  c->slot_of = g_new (int, m->layers->len);
  for (guint li = 0; li < m->layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (m->layers, li);
    c->slot_of[li] = -1;
    if (layer_has_scale_slot (m, l)) {
      Slot sl = { l, 0.0, 0.0, g_new0 (double, l->cout), 0.0 };
      c->slot_of[li] = c->slots->len;
      g_array_append_val (c->slots, sl);
    }
  }
  mo_session_set_observer (s, observe, c);
  return c;
}

gboolean
mo_calibration_write (const MoCalibration *c, const char *path,
    GError **error)
{
  MoStWriter *w;
  gboolean ok;

  if (c->runs == 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no calibration run "
        "observed", path);
    return FALSE;
  }
  w = mo_st_writer_new ();
  for (guint i = 0; i < c->slots->len; i++) {
    const Slot *sl = &g_array_index (c->slots, Slot, i);
    const int64_t shape[1] = { 1 };
    double range = c->stat == MO_CALIB_MAX ? sl->max : sl->sum_max / c->runs;
    /* An output that stayed 0 everywhere keeps a harmless scale. */
    float v = range > 0.0 ? (float) (range / 255.0) : 1.0f / 255.0f;
    char *name = g_strconcat (sl->l->name, SCALE_SUFFIX, NULL);
    mo_st_writer_add_f32 (w, name, 1, shape, &v);
    g_free (name);
  }
  /* Bias corrections (docs/int8.md): for every layer that will run in int8
   * (its input and output calibrated), the expected error its int8
   * weights add to each output channel, from the calibration means of its
   * input channels; the loader subtracts it from the bias. */
  for (guint i = 0; c->bias_correction && i < c->slots->len; i++) {
    const Slot *sl = &g_array_index (c->slots, Slot, i), *in = NULL;
    const MoLayer *l = sl->l;
    const int64_t shape[1] = { l->cout };
    double *mean;
    float *corr;
    char *name;

    if (!layer_can_be_int8 (l))
      continue;
    for (guint j = 0; j < c->slots->len && in == NULL; j++)
      if (g_array_index (c->slots, Slot, j).l->out == l->in)
        in = &g_array_index (c->slots, Slot, j);
    if (in == NULL || in->pixels <= 0.0)
      continue;
    mean = g_new (double, in->l->cout);
    for (int k = 0; k < in->l->cout; k++)
      mean[k] = in->sum[k] / in->pixels;
    corr = g_new (float, l->cout);
    for (int n = 0; n < l->cout; n++) {
      double e;
      quantize_channel (l, n, NULL, &e, mean);
      corr[n] = (float) e;
    }
    name = g_strconcat (l->name, CORR_SUFFIX, NULL);
    mo_st_writer_add_f32 (w, name, 1, shape, corr);
    g_free (name);
    g_free (corr);
    g_free (mean);
  }
  ok = mo_st_writer_write (w, path, error);
  mo_st_writer_free (w);
  return ok;
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
  for (guint i = 0; i < c->slots->len; i++)
    g_free (g_array_index (c->slots, Slot, i).sum);
  g_array_free (c->slots, TRUE);
  g_free (c->slot_of);
  g_free (c);
}
