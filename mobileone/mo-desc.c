/* mobileone-gst engine: model description. */
#include "mo-desc.h"
#include "mo-error.h"

#include <string.h>

typedef struct
{
  const char *name;
  double w[4];
  int k;
  gboolean se;
} Variant;

/* Apple's published configurations (SPEC.md, "The network"). */
static const Variant variants[] = {
  {"s0", {0.75, 1.0, 1.0, 2.0}, 4, FALSE},
  {"s1", {1.5, 1.5, 2.0, 2.5}, 1, FALSE},
  {"s2", {1.5, 2.0, 2.5, 4.0}, 1, FALSE},
  {"s3", {2.0, 2.5, 3.0, 4.0}, 1, FALSE},
  {"s4", {3.0, 3.5, 3.5, 4.0}, 1, TRUE},
};

static char *
resolve (const MoDesc *d, const char *rel)
{
  if (g_path_is_absolute (rel))
    return g_strdup (rel);
  return g_build_filename (d->dir, rel, NULL);
}

static gboolean
parse_backbone (MoDesc *d, GError **error)
{
  const MoYamlNode *bb;
  MoBackboneDesc *b = &d->backbone;
  char *variant = NULL;
  int n = 0;

  if (!mo_yaml_get_map (d->root, "backbone", TRUE, &bb, error))
    return FALSE;
  if (!mo_yaml_get_string (bb, "variant", FALSE, NULL, &variant, error))
    return FALSE;

  if (variant != NULL) {
    const Variant *v = NULL;
    for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
      if (g_ascii_strcasecmp (variants[i].name, variant) == 0)
        v = &variants[i];
    if (v == NULL) {
      const MoYamlNode *vn = mo_yaml_lookup (bb, "variant");
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s:%d: key 'backbone.variant': unknown variant '%s' (expected s0, "
          "s1, s2, s3 or s4, or give width_multipliers, num_conv_branches and "
          "use_se instead)", d->path, vn->line, variant);
      g_free (variant);
      return FALSE;
    }
    g_strlcpy (b->variant, v->name, sizeof b->variant);
    memcpy (b->width_multipliers, v->w, sizeof v->w);
    b->num_conv_branches = v->k;
    b->use_se = v->se;
    g_free (variant);
    /* Overrides next to a named variant would be ambiguous. */
    for (guint i = 0; i < 3; i++) {
      static const char *const keys[] =
          { "width_multipliers", "num_conv_branches", "use_se" };
      const MoYamlNode *o = mo_yaml_lookup (bb, keys[i]);
      if (o != NULL) {
        g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
            "%s:%d: key 'backbone.%s' cannot be combined with "
            "'backbone.variant'", d->path, o->line, keys[i]);
        return FALSE;
      }
    }
  } else {
    g_strlcpy (b->variant, "custom", sizeof b->variant);
    if (mo_yaml_lookup (bb, "width_multipliers") == NULL) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s: missing required key 'backbone.variant' (or "
          "'backbone.width_multipliers' with 'num_conv_branches' and "
          "'use_se')", d->path);
      return FALSE;
    }
    if (!mo_yaml_get_double_list (bb, "width_multipliers", TRUE, 4, 4,
            0.01, 16.0, b->width_multipliers, &n, error)
        || !mo_yaml_get_int (bb, "num_conv_branches", TRUE, 1, 1, 16,
            &b->num_conv_branches, error)
        || !mo_yaml_get_bool (bb, "use_se", FALSE, FALSE, &b->use_se, error))
      return FALSE;
  }

  return mo_yaml_get_bool (bb, "fused", TRUE, FALSE, &b->fused, error)
      && mo_yaml_get_string (bb, "prefix", FALSE, "", &b->prefix, error)
      && mo_yaml_get_double (bb, "bn_eps", FALSE, 1e-5, 1e-12, 1.0,
      &b->bn_eps, error);
}

static gboolean
parse_input (MoDesc *d, GError **error)
{
  const MoYamlNode *in;
  int n;
  double w, h;

  if (!mo_yaml_get_map (d->root, "input", TRUE, &in, error))
    return FALSE;
  if (!mo_yaml_get_double (in, "width", TRUE, 0, 32, 8192, &w, error)
      || !mo_yaml_get_double (in, "height", TRUE, 0, 32, 8192, &h, error))
    return FALSE;
  if (w != (int) w || h != (int) h) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: keys 'input.width' and 'input.height' must be integers",
        d->path);
    return FALSE;
  }
  d->input_width = (int) w;
  d->input_height = (int) h;
  d->mean[0] = d->mean[1] = d->mean[2] = 0.0;
  d->std[0] = d->std[1] = d->std[2] = 1.0;
  if (!mo_yaml_get_double_list (in, "mean", FALSE, 3, 3, -1e3, 1e3, d->mean,
          &n, error)
      || !mo_yaml_get_double_list (in, "std", FALSE, 3, 3, 1e-6, 1e3, d->std,
          &n, error))
    return FALSE;
  return TRUE;
}

static gboolean
load_labels (MoDesc *d, GError **error)
{
  char *contents = NULL;
  GError *ferr = NULL;

  if (!g_file_get_contents (d->labels_path, &contents, NULL, &ferr)) {
    g_set_error (error, MO_ERROR, MO_ERROR_IO,
        "%s: key 'labels': cannot read '%s': %s", d->path, d->labels_path,
        ferr->message);
    g_clear_error (&ferr);
    return FALSE;
  }
  char **lines = g_strsplit (contents, "\n", -1);
  g_free (contents);
  int n = g_strv_length (lines);
  /* A trailing newline is not one more (empty) label. */
  while (n > 0 && g_strstrip (lines[n - 1])[0] == '\0')
    n--;
  for (int i = 0; i < n; i++)
    g_ptr_array_add (d->labels, g_strdup (g_strstrip (lines[i])));
  g_strfreev (lines);
  return TRUE;
}

MoDesc *
mo_desc_load (const char *path, GError **error)
{
  MoDesc *d = g_new0 (MoDesc, 1);
  char *weights = NULL, *labels = NULL;

  d->path = g_strdup (path);
  d->dir = g_path_get_dirname (path);
  d->labels = g_ptr_array_new_with_free_func (g_free);
  d->root = mo_yaml_load (path, error);
  if (d->root == NULL)
    goto fail;

  if (!mo_yaml_get_string (d->root, "name", FALSE, NULL, &d->name, error))
    goto fail;
  if (d->name == NULL) {
    char *base = g_path_get_basename (path);
    char *dot = strrchr (base, '.');
    if (dot)
      *dot = '\0';
    d->name = base;
  }
  if (!parse_backbone (d, error) || !parse_input (d, error))
    goto fail;
  if (!mo_yaml_get_map (d->root, "head", TRUE, &d->head, error)
      || !mo_yaml_get_string (d->head, "type", TRUE, NULL, &d->head_type,
          error))
    goto fail;
  if (!mo_yaml_get_string (d->root, "weights", TRUE, NULL, &weights, error))
    goto fail;
  if (weights[0] == '\0') {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: key 'weights' is empty", path);
    goto fail;
  }
  d->weights_path = resolve (d, weights);
  if (!mo_yaml_get_string (d->root, "labels", FALSE, NULL, &labels, error))
    goto fail;
  if (labels != NULL && labels[0] != '\0') {
    d->labels_path = resolve (d, labels);
    if (!load_labels (d, error))
      goto fail;
  }
  g_free (weights);
  g_free (labels);
  return d;

fail:
  g_free (weights);
  g_free (labels);
  mo_desc_free (d);
  return NULL;
}

void
mo_desc_free (MoDesc *d)
{
  if (d == NULL)
    return;
  g_free (d->path);
  g_free (d->dir);
  g_free (d->name);
  g_free (d->backbone.prefix);
  g_free (d->head_type);
  g_free (d->weights_path);
  g_free (d->labels_path);
  g_ptr_array_free (d->labels, TRUE);
  mo_yaml_free (d->root);
  g_free (d);
}

const char *
mo_desc_label (const MoDesc *d, int i)
{
  if (i < 0 || (guint) i >= d->labels->len)
    return NULL;
  return g_ptr_array_index (d->labels, i);
}
