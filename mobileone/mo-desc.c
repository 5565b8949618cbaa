/* mobileone-gst engine: model description. */
#include "mo-desc.h"
#include "mo-error.h"
#include "mo-file.h"
#include "mo-limits.h"

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

/* The file @key names, relative to the description's folder. Unless the
 * description is trusted, it has to stay in that folder: a description
 * from elsewhere must not make the application read (and show, as labels)
 * any file it can, such as /etc/shells. Symbolic links inside the folder
 * are followed: whoever controls the folder controls the model anyway. */
static char *
resolve (const MoDesc *d, const char *key, const char *rel,
    MoLoadFlags flags, GError **error)
{
  const MoYamlNode *n = mo_yaml_lookup (d->root, key);
  int line = n ? n->line : 0;

  if (g_path_is_absolute (rel)) {
    if (flags & MO_LOAD_ALLOW_EXTERNAL_PATHS)
      return g_strdup (rel);
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: key '%s': absolute "
        "path '%s' refused: the files a model description names must lie in "
        "its own folder unless external paths are allowed "
        "(allow-external-paths, docs/security.md)", d->path, line, key, rel);
    return NULL;
  }
  if (!(flags & MO_LOAD_ALLOW_EXTERNAL_PATHS)) {
    char **parts = g_strsplit (rel, G_DIR_SEPARATOR_S, -1);
    gboolean up = FALSE;
    for (int i = 0; parts[i] != NULL; i++)
      up |= g_str_equal (parts[i], "..");
    g_strfreev (parts);
    if (up) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: key '%s': path "
          "'%s' refused: it leaves the description's folder ('..') and "
          "external paths are not allowed (allow-external-paths, "
          "docs/security.md)", d->path, line, key, rel);
      return NULL;
    }
  }
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
  gsize len = 0;
  GError *ferr = NULL;
  int lineno = 0, kept = 0;
  gboolean ok = TRUE;

  if (!mo_file_read_all (d->labels_path, "labels file", MO_LABELS_MAX_BYTES,
          &contents, &len, &ferr)) {
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: key 'labels': %s",
        d->path, ferr->message);
    g_clear_error (&ferr);
    return FALSE;
  }
  /* Labels end up in metadata, messages and on screen: bounded text. */
  for (const char *p = contents, *end = contents + len; p < end;) {
    const char *nl = memchr (p, '\n', (gsize) (end - p));
    gsize n = (nl ? nl : end) - p;
    lineno++;
    if (n > MO_LABELS_MAX_LINE) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: line is %"
          G_GSIZE_FORMAT " bytes, more than the limit of %d for a label",
          d->labels_path, lineno, n, MO_LABELS_MAX_LINE);
      ok = FALSE;
      break;
    }
    if (!g_utf8_validate (p, (gssize) n, NULL)) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: not valid UTF-8 "
          "text (or a NUL byte)", d->labels_path, lineno);
      ok = FALSE;
      break;
    }
    if (lineno > MO_LABELS_MAX_COUNT) {
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: more than %d lines",
          d->labels_path, MO_LABELS_MAX_COUNT);
      ok = FALSE;
      break;
    }
    char *label = g_strstrip (g_strndup (p, n));
    g_ptr_array_add (d->labels, label);
    /* Trailing empty lines are not more (empty) labels. */
    if (label[0] != '\0')
      kept = (int) d->labels->len;
    p = nl ? nl + 1 : end;
  }
  g_free (contents);
  if (!ok)
    return FALSE;
  g_ptr_array_set_size (d->labels, kept);
  return TRUE;
}

/* 'precision' and 'int8_scales' (docs/int8.md). */
static gboolean
parse_precision (MoDesc *d, MoLoadFlags flags, GError **error)
{
  char *precision = NULL, *scales = NULL;
  gboolean ok = FALSE;

  if (!mo_yaml_get_string (d->root, "precision", FALSE, "fp32", &precision,
          error)
      || !mo_yaml_get_string (d->root, "int8_scales", FALSE, NULL, &scales,
          error))
    goto out;
  if (g_str_equal (precision, "int8"))
    d->precision = MO_PRECISION_INT8;
  else if (!g_str_equal (precision, "fp32")) {
    const MoYamlNode *n = mo_yaml_lookup (d->root, "precision");
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: key 'precision': "
        "unknown precision '%s' (expected fp32 or int8)", d->path,
        n ? n->line : 0, precision);
    goto out;
  }
  if (d->precision == MO_PRECISION_INT8 && (scales == NULL
          || scales[0] == '\0')) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: 'precision: int8' "
        "needs key 'int8_scales', the file 'mobileone-cli calibrate' wrote "
        "(docs/int8.md)", d->path);
    goto out;
  }
  if (flags & MO_LOAD_FORCE_FP32)
    d->precision = MO_PRECISION_FP32;
  if (d->precision == MO_PRECISION_INT8 && (d->int8_scales_path =
          resolve (d, "int8_scales", scales, flags, error)) == NULL)
    goto out;
  ok = TRUE;
out:
  g_free (precision);
  g_free (scales);
  return ok;
}

MoDesc *
mo_desc_load (const char *path, GError **error)
{
  return mo_desc_load_full (path, MO_LOAD_DEFAULT, error);
}

MoDesc *
mo_desc_load_full (const char *path, MoLoadFlags flags, GError **error)
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
  if ((d->weights_path = resolve (d, "weights", weights, flags,
              error)) == NULL)
    goto fail;
  if (!mo_yaml_get_string (d->root, "labels", FALSE, NULL, &labels, error))
    goto fail;
  if (labels != NULL && labels[0] != '\0') {
    if ((d->labels_path = resolve (d, "labels", labels, flags, error)) == NULL
        || !load_labels (d, error))
      goto fail;
  }
  if (!parse_precision (d, flags, error))
    goto fail;
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
  g_free (d->int8_scales_path);
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
