/* mobileone-gst engine: model loading, weight packing and fused export. */
#include "mo-model-private.h"
#include "mo-limits.h"

#include <string.h>

int
mo_model_add_tensor (MoModel *m, int c)
{
  MoTensorDef t = { c, -1, 0, FALSE, 0.0f, 0 };
  g_array_append_val (m->tensors, t);
  return (int) m->tensors->len - 1;
}

int
mo_model_add_view (MoModel *m, int parent, int coff, int c)
{
  MoTensorDef t = { c, parent, coff, FALSE, 0.0f, 0 };
  g_return_val_if_fail (coff % MO_CALIGN == 0 && c % MO_CALIGN == 0, -1);
  g_array_append_val (m->tensors, t);
  return (int) m->tensors->len - 1;
}

MoLayer *
mo_model_add_layer (MoModel *m, MoOpType type, const char *name, int in,
    int out)
{
  MoLayer *l = g_new0 (MoLayer, 1);
  l->type = type;
  l->name = g_strdup (name);
  l->in = in;
  l->in2 = -1;
  l->out = out;
  l->k = 1;
  l->stride = 1;
  l->dilation = 1;
  g_ptr_array_add (m->layers, l);
  return l;
}

int
mo_model_add_output (MoModel *m, const char *name, int tensor)
{
  MoOutputDef o = { g_strdup (name), tensor };
  g_array_append_val (m->outputs, o);
  return (int) m->outputs->len - 1;
}

/* Index of OIHW element (o, i, y, x) in the packed layout of @l. */
static size_t
packed_index (const MoLayer *l, int o, int i, int y, int x)
{
  switch (l->type) {
    case MO_OP_DWCONV:
      return (size_t) (y * 3 + x) * l->ldw + o;
    case MO_OP_PWCONV:
      return mo_pw_index (l->cin, l->ldw, i, o);
    default:
      return ((size_t) (y * l->k + x) * l->cin + i) * l->ldw + o;
  }
}

static int
layer_cin_g (const MoLayer *l)
{
  return l->type == MO_OP_DWCONV ? 1 : l->cin;
}

void
mo_layer_set_weights (MoModel *m, MoLayer *l, const float *w, const float *b)
{
  int cin_g = layer_cin_g (l), k = l->k;
  size_t taps = (size_t) k * k * (l->type == MO_OP_DWCONV ? 1 : l->cin);

  l->ldw = MO_ROUND_UP (l->cout, MO_CALIGN);
  l->w = g_aligned_alloc0 (taps * l->ldw, sizeof (float), 64);
  l->b = g_aligned_alloc0 (l->ldw, sizeof (float), 64);
  for (int o = 0; o < l->cout; o++) {
    for (int i = 0; i < cin_g; i++)
      for (int y = 0; y < k; y++)
        for (int x = 0; x < k; x++)
          l->w[packed_index (l, o, i, y, x)] =
              w[(((size_t) o * cin_g + i) * k + y) * k + x];
    l->b[o] = b[o];
  }
  m->n_params += (guint64) l->cout * cin_g * k * k + l->cout;
}

float *
mo_weights_get (MoWeights *ws, const char *prefix, const char *name, int ndim,
    const int64_t *shape, GError **error)
{
  char *full = g_strconcat (prefix, name, NULL);
  const MoStTensor *t = mo_safetensors_find (ws->st, full);
  gboolean fits = t != NULL && t->ndim == ndim;
  float *dst = NULL;

  for (int i = 0; fits && i < ndim; i++)
    fits = t->shape[i] == shape[i];
  /* Only a tensor the file holds, with the expected shape, gets memory:
   * read_f32 names the problem otherwise (dst is not touched then). */
  if (fits && (dst = mo_weights_alloc (ws, full, MAX (t->numel, 1),
              error)) == NULL) {
    g_free (full);
    return NULL;
  }
  if (!mo_safetensors_read_f32 (ws->st, full, ndim, shape, dst, error)) {
    g_free (dst);
    g_free (full);
    return NULL;
  }
  g_hash_table_add (ws->used, full);
  return dst;
}

float *
mo_weights_alloc (MoWeights *ws, const char *tensor, guint64 n,
    GError **error)
{
  float *p;

  if (tensor != NULL && mo_safetensors_find (ws->st, tensor) == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: tensor '%s' not found", ws->file, tensor);
    return NULL;
  }
  if (n > MO_MAX_TENSOR_FLOATS) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: tensor '%s' would hold %" G_GUINT64_FORMAT " values, more than "
        "the limit of %" G_GINT64_FORMAT " (docs/security.md)", ws->file,
        tensor ? tensor : "(folded)", n, MO_MAX_TENSOR_FLOATS);
    return NULL;
  }
  p = g_try_malloc0_n (MAX (n, 1), sizeof (float));
  if (p == NULL)
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: out of memory for the %" G_GUINT64_FORMAT " values of tensor "
        "'%s'", ws->file, n, tensor ? tensor : "(folded)");
  return p;
}

gboolean
mo_weights_has (MoWeights *ws, const char *prefix, const char *name)
{
  char *full = g_strconcat (prefix, name, NULL);
  gboolean has = mo_safetensors_find (ws->st, full) != NULL;
  g_free (full);
  return has;
}

static void
layer_free (gpointer p)
{
  MoLayer *l = p;
  g_free (l->name);
  g_aligned_free (l->w);
  g_aligned_free (l->b);
  g_aligned_free (l->wq);
  g_aligned_free (l->qmul);
  g_aligned_free (l->qadd);
  g_aligned_free (l->wsum);
  g_free (l);
}

static void
output_clear (gpointer p)
{
  g_free (((MoOutputDef *) p)->name);
}

static const MoHeadClass *
head_find (const MoHeadClass *const *heads, const char *type)
{
  for (guint i = 0; heads[i] != NULL; i++)
    if (g_str_equal (heads[i]->type, type))
      return heads[i];
  return NULL;
}

MoModel *
mo_model_load_with_heads (const char *yaml_path,
    const MoHeadClass *const *heads, MoLoadFlags flags, GError **error)
{
  MoModel *m = g_new0 (MoModel, 1);
  MoWeights ws = { 0 };
  const MoHeadClass *klass;

  m->ref = 1;
  m->tensors = g_array_new (FALSE, FALSE, sizeof (MoTensorDef));
  m->layers = g_ptr_array_new_with_free_func (layer_free);
  m->outputs = g_array_new (FALSE, FALSE, sizeof (MoOutputDef));
  g_array_set_clear_func (m->outputs, output_clear);
  m->min_input = 1;

  if ((m->desc = mo_desc_load_full (yaml_path, flags, error)) == NULL)
    goto fail;
  if ((klass = head_find (heads, m->desc->head_type)) == NULL) {
    const MoYamlNode *t = mo_yaml_lookup (m->desc->head, "type");
    GString *known = g_string_new (NULL);
    for (guint i = 0; heads[i] != NULL; i++)
      g_string_append_printf (known, "%s%s", i == 0 ? "" : heads[i + 1] ?
          ", " : " or ", heads[i]->type);
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s:%d: key 'head.type': unknown head '%s' (expected %s)", yaml_path,
        t->line, m->desc->head_type, known->str);
    g_string_free (known, TRUE);
    goto fail;
  }
  m->head_class = klass;
  m->check_input = klass->check_input;
  /* Unknown keys are reported before the (slower) weight loading. */
  ws.st = mo_safetensors_open (m->desc->weights_path, error);
  if (ws.st == NULL)
    goto fail;
  ws.file = m->desc->weights_path;
  ws.eps = m->desc->backbone.bn_eps;
  ws.used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  m->input = mo_model_add_tensor (m, 3);
  if (!klass->build (m, &ws, error))
    goto fail;
  if (!mo_yaml_check_unused (m->desc->root, error))
    goto fail;
  if (m->desc->precision == MO_PRECISION_INT8
      && !mo_model_quantize (m, m->desc->int8_scales_path, error))
    goto fail;

  /* Tensors the graph never read are harmless (num_batches_tracked, a
   * classifier's linear under a detection head) but worth a debug line. */
  guint unused = 0;
  const char *first_unused = NULL;
  for (guint i = 0; i < mo_safetensors_n_tensors (ws.st); i++) {
    const MoStTensor *t = mo_safetensors_nth (ws.st, i);
    if (!g_hash_table_contains (ws.used, t->name)
        && !g_str_has_suffix (t->name, "num_batches_tracked")) {
      unused++;
      first_unused = first_unused ? first_unused : t->name;
    }
  }
  if (unused > 0)
    g_debug ("%s: %u tensors are not used by this model (first: '%s')",
        ws.file, unused, first_unused);
  g_hash_table_unref (ws.used);
  mo_safetensors_close (ws.st);
  return m;

fail:
  if (ws.used)
    g_hash_table_unref (ws.used);
  mo_safetensors_close (ws.st);
  mo_model_unref (m);
  return NULL;
}

MoModel *
mo_model_ref (MoModel *m)
{
  g_atomic_int_inc (&m->ref);
  return m;
}

void
mo_model_unref (MoModel *m)
{
  if (m == NULL || !g_atomic_int_dec_and_test (&m->ref))
    return;
  if (m->head_data_free)
    m->head_data_free (m->head_data);
  g_ptr_array_free (m->layers, TRUE);
  g_array_free (m->tensors, TRUE);
  g_array_free (m->outputs, TRUE);
  mo_desc_free (m->desc);
  g_free (m);
}

const MoDesc *
mo_model_desc (const MoModel *m)
{
  return m->desc;
}

guint64
mo_model_n_params (const MoModel *m)
{
  return m->n_params;
}

guint
mo_model_n_int8_layers (const MoModel *m)
{
  return m->n_int8;
}

guint
mo_model_n_layers (const MoModel *m)
{
  return m->layers->len;
}

gboolean
mo_model_export_fused (const MoModel *m, const char *path, GError **error)
{
  MoStWriter *w = mo_st_writer_new ();
  const char *px = m->desc->backbone.prefix;
  gboolean ok;

  for (guint li = 0; li < m->layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (m->layers, li);
    int cin_g = layer_cin_g (l), k = l->k;
    /* Squeeze-excite gates (BLOCK.se) are named but have no weights. */
    if (l->name == NULL || l->w == NULL)
      continue;
    float *W = g_new (float, (size_t) l->cout * cin_g * k * k);
    for (int o = 0; o < l->cout; o++)
      for (int i = 0; i < cin_g; i++)
        for (int y = 0; y < k; y++)
          for (int x = 0; x < k; x++)
            W[(((size_t) o * cin_g + i) * k + y) * k + x] =
                l->w[packed_index (l, o, i, y, x)];
    /* Backbone names carry the description's prefix, head names none. */
    const char *p = g_str_has_prefix (l->name, "stage")
        || g_str_equal (l->name, "linear") ? px : "";
    char *wn = g_strconcat (p, l->name, ".weight", NULL);
    char *bn = g_strconcat (p, l->name, ".bias", NULL);
    int64_t shape[4] = { l->cout, cin_g, k, k };
    int64_t bshape[1] = { l->cout };
    mo_st_writer_add_f32 (w, wn, l->export_2d ? 2 : 4, shape, W);
    mo_st_writer_add_f32 (w, bn, 1, bshape, l->b);
    g_free (wn);
    g_free (bn);
    g_free (W);
  }
  ok = mo_st_writer_write (w, path, error);
  mo_st_writer_free (w);
  return ok;
}
