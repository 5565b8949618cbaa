/* mobileone-gst heads: classifier. Built on the backbone's graph; post-
 * processing is a softmax and a partial selection. */
#include "mo-classifier.h"
#include "mo-heads-private.h"

#include <math.h>

/* What post-processing needs of the graph. */
typedef struct
{
  int logits;                   /* output index */
} ClsData;

typedef struct
{
  MoSession *s;
  const MoOutput *logits;
} ClsPost;

static gboolean
classifier_build (MoModel *m, MoWeights *ws, GError **error)
{
  const MoDesc *d = m->desc;
  MoBackboneOut bb;
  int nc;

  if (!mo_yaml_get_int (d->head, "num_classes", TRUE, 0, 1, 1000000, &nc,
          error))
    return FALSE;
  if (d->labels->len > 0 && (int) d->labels->len != nc) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: key 'labels': '%s' has %u labels but head.num_classes is %d",
        d->path, d->labels_path, d->labels->len, nc);
    return FALSE;
  }
  if (!mo_backbone_build (m, ws, NULL, &bb, error))
    return FALSE;

  int c = bb.channels[4];
  const int64_t wshape[2] = { nc, c }, bshape[1] = { nc };
  float *w = mo_weights_get (ws, d->backbone.prefix, "linear.weight", 2,
      wshape, error);
  float *b = w ? mo_weights_get (ws, d->backbone.prefix, "linear.bias", 1,
      bshape, error) : NULL;
  if (b == NULL) {
    g_free (w);
    return FALSE;
  }
  int pooled = mo_model_add_tensor (m, c);
  int logits = mo_model_add_tensor (m, nc);
  mo_model_add_layer (m, MO_OP_GAP, NULL, bb.tensor[4], pooled);
  MoLayer *l = mo_model_add_layer (m, MO_OP_PWCONV, "linear", pooled, logits);
  l->cin = c;
  l->cout = nc;
  l->act = MO_ACT_NONE;
  l->export_2d = TRUE;
  mo_layer_set_weights (m, l, w, b);
  g_free (w);
  g_free (b);
  ClsData *data = g_new (ClsData, 1);
  data->logits = mo_model_add_output (m, "logits", logits);
  m->head_data = data;
  m->head_data_free = g_free;
  return TRUE;
}

static gpointer
classifier_post_new (MoSession *s, GError **error)
{
  const ClsData *data = mo_session_model (s)->head_data;
  ClsPost *p = g_new (ClsPost, 1);

  p->s = s;
  p->logits = mo_session_nth_output (s, data->logits);
  return p;
}

static int
classifier_post_run (gpointer post, gconstpointer params, gpointer out,
    int max_out)
{
  const ClsPost *p = post;

  return mo_classifier_topk (p->logits->data, p->logits->c, MAX (max_out, 0),
      out);
}

const MoHeadClass mo_classifier_class = {
  .type = "classifier",
  .build = classifier_build,
  .post_new = classifier_post_new,
  .post_run = classifier_post_run,
  .post_free = g_free,
};

int
mo_classifier_topk (const float *logits, int n, int k, MoClass *out)
{
  double mx = -INFINITY, sum = 0.0;
  int count = 0;

  for (int i = 0; i < n; i++)
    mx = MAX (mx, logits[i]);
  for (int i = 0; i < n; i++)
    sum += exp (logits[i] - mx);
  k = MIN (k, n);
  /* k is small (top-5): an insertion into a sorted k-array beats a sort. */
  for (int i = 0; i < n; i++) {
    float s = (float) (exp (logits[i] - mx) / sum);
    int pos = count;
    while (pos > 0 && out[pos - 1].score < s)
      pos--;
    if (pos >= k)
      continue;
    for (int j = MIN (count, k - 1); j > pos; j--)
      out[j] = out[j - 1];
    out[pos].label = i;
    out[pos].score = s;
    count = MIN (count + 1, k);
  }
  return count;
}
