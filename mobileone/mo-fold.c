/* mobileone-gst engine: re-parameterisation (SPEC.md, "Folding"). Each
 * training-time branch is turned into a KxK kernel and a bias and added to
 * the block's single fused conv. */
#include "mo-model-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  float *gamma, *beta, *mean, *var;
} Bn;

static void
bn_clear (Bn *bn)
{
  g_free (bn->gamma);
  g_free (bn->beta);
  g_free (bn->mean);
  g_free (bn->var);
  memset (bn, 0, sizeof *bn);
}

/* Reads @bn_name.{weight,bias,running_mean,running_var}, all [c]. */
static gboolean
bn_read (MoWeights *ws, const char *prefix, const char *bn_name, int c,
    Bn *bn, GError **error)
{
  const int64_t shape[1] = { c };
  char *n;

  memset (bn, 0, sizeof *bn);
#define READ(field, suffix) \
  n = g_strconcat (bn_name, suffix, NULL); \
  bn->field = mo_weights_get (ws, prefix, n, 1, shape, error); \
  g_free (n); \
  if (bn->field == NULL) goto fail;
  READ (gamma, ".weight");
  READ (beta, ".bias");
  READ (mean, ".running_mean");
  READ (var, ".running_var");
#undef READ
  for (int i = 0; i < c; i++) {
    if (!(bn->var[i] + ws->eps > 0.0)) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s: tensor '%s%s.running_var' has a negative value (%g at %d); "
          "a variance cannot be negative", ws->file, prefix, bn_name,
          bn->var[i], i);
      goto fail;
    }
  }
  return TRUE;

fail:
  bn_clear (bn);
  return FALSE;
}

gboolean
mo_fold_conv_bn (MoWeights *ws, const char *prefix, const char *branch,
    int cout, int cin_g, int k, int K, float *W, float *b, GError **error)
{
  const int64_t shape[4] = { cout, cin_g, k, k };
  char *n = g_strconcat (branch, ".conv.weight", NULL);
  float *w = mo_weights_get (ws, prefix, n, 4, shape, error);
  Bn bn;
  int off = (K - k) / 2;

  g_free (n);
  if (w == NULL)
    return FALSE;
  n = g_strconcat (branch, ".bn", NULL);
  if (!bn_read (ws, prefix, n, cout, &bn, error)) {
    g_free (n);
    g_free (w);
    return FALSE;
  }
  g_free (n);

  for (int o = 0; o < cout; o++) {
    float t = bn.gamma[o] / sqrtf (bn.var[o] + (float) ws->eps);
    for (int i = 0; i < cin_g; i++)
      for (int y = 0; y < k; y++)
        for (int x = 0; x < k; x++)
          W[(((size_t) o * cin_g + i) * K + y + off) * K + x + off] +=
              w[(((size_t) o * cin_g + i) * k + y) * k + x] * t;
    b[o] += bn.beta[o] - bn.mean[o] * t;
  }
  bn_clear (&bn);
  g_free (w);
  return TRUE;
}

gboolean
mo_fold_bn_identity (MoWeights *ws, const char *prefix, const char *branch,
    int cout, int cin_g, int K, float *W, float *b, GError **error)
{
  Bn bn;
  int c = K / 2;

  if (!bn_read (ws, prefix, branch, cout, &bn, error))
    return FALSE;
  /* The identity kernel has a 1 at the centre tap of input channel
   * o % cin_g; folding scales it like any conv branch. */
  for (int o = 0; o < cout; o++) {
    float t = bn.gamma[o] / sqrtf (bn.var[o] + (float) ws->eps);
    W[(((size_t) o * cin_g + o % cin_g) * K + c) * K + c] += t;
    b[o] += bn.beta[o] - bn.mean[o] * t;
  }
  bn_clear (&bn);
  return TRUE;
}

gboolean
mo_load_conv_bn (MoWeights *ws, const char *name, gboolean fused, int cout,
    int cin_g, int k, float *W, float *b, GError **error)
{
  size_t wn = (size_t) cout * cin_g * k * k;

  if (fused) {
    const int64_t wshape[4] = { cout, cin_g, k, k };
    const int64_t bshape[1] = { cout };
    char *wn_name = g_strconcat (name, ".conv.weight", NULL);
    char *bn_name = g_strconcat (name, ".conv.bias", NULL);
    float *w = mo_weights_get (ws, "", wn_name, 4, wshape, error);
    float *bb = w ? mo_weights_get (ws, "", bn_name, 1, bshape, error) : NULL;
    g_free (wn_name);
    g_free (bn_name);
    if (bb == NULL) {
      g_free (w);
      return FALSE;
    }
    memcpy (W, w, wn * sizeof (float));
    memcpy (b, bb, cout * sizeof (float));
    g_free (w);
    g_free (bb);
    return TRUE;
  }
  memset (W, 0, wn * sizeof (float));
  memset (b, 0, cout * sizeof (float));
  return mo_fold_conv_bn (ws, "", name, cout, cin_g, k, k, W, b, error);
}
