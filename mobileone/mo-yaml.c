/* mobileone-gst engine: YAML tree and checked getters. */
#include "mo-yaml.h"
#include "mo-error.h"
#include "mo-file.h"
#include "mo-limits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Nesting deeper than this is never a model description; refusing it keeps
 * recursion bounded on hostile input. */
#define MAX_DEPTH 32

static MoYamlNode *
node_new (MoYamlType type, const char *file, const char *keypath, int line)
{
  MoYamlNode *n = g_new0 (MoYamlNode, 1);
  n->type = type;
  n->file = file;
  n->keypath = g_strdup (keypath);
  n->line = line;
  if (type != MO_YAML_SCALAR)
    n->items = g_ptr_array_new ();
  if (type == MO_YAML_MAPPING) {
    n->keys = g_ptr_array_new_with_free_func (g_free);
    n->used = g_array_new (FALSE, TRUE, sizeof (gboolean));
  }
  return n;
}

static void
node_free (MoYamlNode *n)
{
  if (n == NULL)
    return;
  if (n->items) {
    for (guint i = 0; i < n->items->len; i++)
      node_free (g_ptr_array_index (n->items, i));
    g_ptr_array_free (n->items, TRUE);
  }
  if (n->keys)
    g_ptr_array_free (n->keys, TRUE);
  if (n->used)
    g_array_free (n->used, TRUE);
  g_free (n->scalar);
  g_free (n->keypath);
  g_free (n);
}

void
mo_yaml_free (MoYamlNode *root)
{
  if (root == NULL)
    return;
  char *file = (char *) root->file;
  node_free (root);
  g_free (file);
}

/* What the tree may still take: libyaml shares an aliased node, but the
 * tree copies it at every alias, so a few hundred bytes of nested aliases
 * ("billion laughs") would expand to gigabytes without a bound. */
typedef struct
{
  int nodes;
  gsize bytes;
} Budget;

static gboolean
spend (Budget *b, const char *file, int line, gsize bytes, GError **error)
{
  if (++b->nodes > MO_YAML_MAX_NODES) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s:%d: more than %d YAML nodes (aliases expanded): not a model "
        "description", file, line, MO_YAML_MAX_NODES);
    return FALSE;
  }
  b->bytes += bytes;
  if (b->bytes > MO_YAML_MAX_EXPANDED_BYTES) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s:%d: more than %" G_GSIZE_FORMAT " bytes of YAML values (aliases "
        "expanded): not a model description", file, line,
        MO_YAML_MAX_EXPANDED_BYTES);
    return FALSE;
  }
  return TRUE;
}

static char *
child_path (const char *parent, const char *key, int index)
{
  if (key != NULL)
    return *parent ? g_strdup_printf ("%s.%s", parent, key) : g_strdup (key);
  return g_strdup_printf ("%s[%d]", parent, index);
}

static MoYamlNode *
convert (yaml_document_t *doc, yaml_node_t *yn, const char *file,
    const char *keypath, int depth, Budget *budget, GError **error)
{
  int line = (int) yn->start_mark.line + 1;

  if (!spend (budget, file, line, strlen (keypath) + (yn->type ==
              YAML_SCALAR_NODE ? yn->data.scalar.length : 0), error))
    return NULL;
  if (depth > MAX_DEPTH) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s:%d: nesting deeper than %d levels", file, line, MAX_DEPTH);
    return NULL;
  }

  switch (yn->type) {
    case YAML_SCALAR_NODE:{
      MoYamlNode *n = node_new (MO_YAML_SCALAR, file, keypath, line);
      n->scalar = g_strndup ((const char *) yn->data.scalar.value,
          yn->data.scalar.length);
      n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      return n;
    }
    case YAML_SEQUENCE_NODE:{
      MoYamlNode *n = node_new (MO_YAML_SEQUENCE, file, keypath, line);
      int idx = 0;
      for (yaml_node_item_t * it = yn->data.sequence.items.start;
          it < yn->data.sequence.items.top; it++, idx++) {
        char *cp = child_path (keypath, NULL, idx);
        MoYamlNode *c = convert (doc, yaml_document_get_node (doc, *it), file,
            cp, depth + 1, budget, error);
        g_free (cp);
        if (c == NULL) {
          node_free (n);
          return NULL;
        }
        g_ptr_array_add (n->items, c);
      }
      return n;
    }
    case YAML_MAPPING_NODE:{
      MoYamlNode *n = node_new (MO_YAML_MAPPING, file, keypath, line);
      for (yaml_node_pair_t * p = yn->data.mapping.pairs.start;
          p < yn->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node (doc, p->key);
        yaml_node_t *v = yaml_document_get_node (doc, p->value);
        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE) {
          g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
              "%s:%d: mapping keys under '%s' must be plain strings", file,
              line, *keypath ? keypath : "(top level)");
          node_free (n);
          return NULL;
        }
        char *key = g_strndup ((const char *) k->data.scalar.value,
            k->data.scalar.length);
        for (guint i = 0; i < n->keys->len; i++) {
          if (g_str_equal (g_ptr_array_index (n->keys, i), key)) {
            char *cp = child_path (keypath, key, 0);
            g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
                "%s:%d: key '%s' appears twice", file,
                (int) k->start_mark.line + 1, cp);
            g_free (cp);
            g_free (key);
            node_free (n);
            return NULL;
          }
        }
        char *cp = child_path (keypath, key, 0);
        MoYamlNode *c = convert (doc, v, file, cp, depth + 1, budget, error);
        g_free (cp);
        if (c == NULL) {
          g_free (key);
          node_free (n);
          return NULL;
        }
        gboolean f = FALSE;
        g_ptr_array_add (n->keys, key);
        g_ptr_array_add (n->items, c);
        g_array_append_val (n->used, f);
      }
      return n;
    }
    default:
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s:%d: empty or unsupported YAML node", file, line);
      return NULL;
  }
}

MoYamlNode *
mo_yaml_load (const char *path, GError **error)
{
  gchar *contents = NULL;
  gsize len = 0;
  Budget budget = { 0, 0 };

  if (!mo_file_read_all (path, "model description", MO_YAML_MAX_BYTES,
          &contents, &len, error))
    return NULL;

  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_parser_initialize (&parser);
  yaml_parser_set_input_string (&parser, (const unsigned char *) contents, len);
  if (!yaml_parser_load (&parser, &doc)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s:%d:%d: YAML syntax error: %s%s%s", path,
        (int) parser.problem_mark.line + 1,
        (int) parser.problem_mark.column + 1,
        parser.problem ? parser.problem : "unknown problem",
        parser.context ? " " : "", parser.context ? parser.context : "");
    yaml_parser_delete (&parser);
    g_free (contents);
    return NULL;
  }

  MoYamlNode *root = NULL;
  char *file = g_strdup (path);
  yaml_node_t *top = yaml_document_get_root_node (&doc);
  if (top == NULL || top->type != YAML_MAPPING_NODE) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: a model description must be a YAML mapping (key: value lines)",
        path);
  } else {
    root = convert (&doc, top, file, "", 0, &budget, error);
  }
  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  g_free (contents);
  if (root == NULL)
    g_free (file);
  return root;
}

const MoYamlNode *
mo_yaml_lookup (const MoYamlNode *map, const char *key)
{
  if (map == NULL || map->type != MO_YAML_MAPPING)
    return NULL;
  for (guint i = 0; i < map->keys->len; i++) {
    if (g_str_equal (g_ptr_array_index (map->keys, i), key)) {
      g_array_index (map->used, gboolean, i) = TRUE;
      return g_ptr_array_index (map->items, i);
    }
  }
  return NULL;
}

static gboolean
missing (const MoYamlNode *map, const char *key, GError **error)
{
  char *cp = child_path (map->keypath, key, 0);
  g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
      "%s: missing required key '%s'", map->file, cp);
  g_free (cp);
  return FALSE;
}

static gboolean
bad (const MoYamlNode *n, GError **error, const char *fmt, ...)
G_GNUC_PRINTF (3, 4);

static gboolean
bad (const MoYamlNode *n, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s:%d: key '%s': %s",
      n->file, n->line, n->keypath, what);
  g_free (what);
  return FALSE;
}

/* Looks @key up; *out is NULL when absent (which is an error if required). */
static gboolean
get_node (const MoYamlNode *map, const char *key, gboolean required,
    const MoYamlNode **out, GError **error)
{
  *out = mo_yaml_lookup (map, key);
  if (*out == NULL && required)
    return missing (map, key, error);
  return TRUE;
}

static gboolean
scalar_double (const MoYamlNode *n, double min, double max, double *out,
    GError **error)
{
  if (n->type != MO_YAML_SCALAR || n->quoted)
    return bad (n, error, "expected a number");
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (n->scalar, &end);
  if (end == n->scalar || *end != '\0' || errno == ERANGE || !isfinite (v))
    return bad (n, error, "expected a number, found '%s'", n->scalar);
  if (v < min || v > max)
    return bad (n, error, "%g is out of range [%g, %g]", v, min, max);
  *out = v;
  return TRUE;
}

static gboolean
scalar_int (const MoYamlNode *n, int min, int max, int *out, GError **error)
{
  if (n->type != MO_YAML_SCALAR || n->quoted)
    return bad (n, error, "expected an integer");
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (n->scalar, &end, 10);
  if (end == n->scalar || *end != '\0' || errno == ERANGE)
    return bad (n, error, "expected an integer, found '%s'", n->scalar);
  if (v < min || v > max)
    return bad (n, error, "%" G_GINT64_FORMAT " is out of range [%d, %d]", v,
        min, max);
  *out = (int) v;
  return TRUE;
}

gboolean
mo_yaml_get_map (const MoYamlNode *map, const char *key, gboolean required,
    const MoYamlNode **out, GError **error)
{
  const MoYamlNode *n;
  *out = NULL;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL)
    return TRUE;
  if (n->type != MO_YAML_MAPPING)
    return bad (n, error, "expected a mapping ({key: value, ...})");
  *out = n;
  return TRUE;
}

gboolean
mo_yaml_get_string (const MoYamlNode *map, const char *key, gboolean required,
    const char *def, char **out, GError **error)
{
  const MoYamlNode *n;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL) {
    *out = g_strdup (def);
    return TRUE;
  }
  if (n->type != MO_YAML_SCALAR)
    return bad (n, error, "expected a string");
  /* An unquoted empty value ("prefix:") is YAML's null, which we read as "". */
  *out = g_strdup (n->scalar);
  return TRUE;
}

gboolean
mo_yaml_get_bool (const MoYamlNode *map, const char *key, gboolean required,
    gboolean def, gboolean *out, GError **error)
{
  static const char *const yes[] = { "true", "True", "TRUE", "yes", "on" };
  static const char *const no[] = { "false", "False", "FALSE", "no", "off" };
  const MoYamlNode *n;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL) {
    *out = def;
    return TRUE;
  }
  if (n->type == MO_YAML_SCALAR && !n->quoted) {
    for (guint i = 0; i < G_N_ELEMENTS (yes); i++) {
      if (g_str_equal (n->scalar, yes[i])) {
        *out = TRUE;
        return TRUE;
      }
      if (g_str_equal (n->scalar, no[i])) {
        *out = FALSE;
        return TRUE;
      }
    }
  }
  return bad (n, error, "expected true or false, found '%s'",
      n->scalar ? n->scalar : "a collection");
}

gboolean
mo_yaml_get_int (const MoYamlNode *map, const char *key, gboolean required,
    int def, int min, int max, int *out, GError **error)
{
  const MoYamlNode *n;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL) {
    *out = def;
    return TRUE;
  }
  return scalar_int (n, min, max, out, error);
}

gboolean
mo_yaml_get_double (const MoYamlNode *map, const char *key, gboolean required,
    double def, double min, double max, double *out, GError **error)
{
  const MoYamlNode *n;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL) {
    *out = def;
    return TRUE;
  }
  return scalar_double (n, min, max, out, error);
}

static gboolean
get_seq (const MoYamlNode *map, const char *key, gboolean required,
    int min_len, int max_len, const MoYamlNode **out, int *n_out,
    GError **error)
{
  const MoYamlNode *n;
  *out = NULL;
  *n_out = 0;
  if (!get_node (map, key, required, &n, error))
    return FALSE;
  if (n == NULL)
    return TRUE;
  if (n->type != MO_YAML_SEQUENCE)
    return bad (n, error, "expected a list [a, b, ...]");
  if ((int) n->items->len < min_len || (int) n->items->len > max_len) {
    if (min_len == max_len)
      return bad (n, error, "expected %d values, found %u", min_len,
          n->items->len);
    return bad (n, error, "expected %d to %d values, found %u", min_len,
        max_len, n->items->len);
  }
  *out = n;
  return TRUE;
}

gboolean
mo_yaml_get_double_list (const MoYamlNode *map, const char *key,
    gboolean required, int min_len, int max_len, double min, double max,
    double *out, int *n_out, GError **error)
{
  const MoYamlNode *seq;
  int n;
  if (!get_seq (map, key, required, min_len, max_len, &seq, &n, error))
    return FALSE;
  if (seq == NULL)
    return TRUE;
  for (guint i = 0; i < seq->items->len; i++)
    if (!scalar_double (g_ptr_array_index (seq->items, i), min, max, &out[i],
            error))
      return FALSE;
  *n_out = seq->items->len;
  return TRUE;
}

gboolean
mo_yaml_get_int_list (const MoYamlNode *map, const char *key,
    gboolean required, int min_len, int max_len, int min, int max, int *out,
    int *n_out, GError **error)
{
  const MoYamlNode *seq;
  int n;
  if (!get_seq (map, key, required, min_len, max_len, &seq, &n, error))
    return FALSE;
  if (seq == NULL)
    return TRUE;
  for (guint i = 0; i < seq->items->len; i++)
    if (!scalar_int (g_ptr_array_index (seq->items, i), min, max, &out[i],
            error))
      return FALSE;
  *n_out = seq->items->len;
  return TRUE;
}

gboolean
mo_yaml_check_unused (const MoYamlNode *n, GError **error)
{
  if (n->type == MO_YAML_MAPPING) {
    for (guint i = 0; i < n->keys->len; i++) {
      const MoYamlNode *c = g_ptr_array_index (n->items, i);
      if (!g_array_index (n->used, gboolean, i)) {
        g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
            "%s:%d: unknown key '%s' (see docs/model-format.md)", n->file,
            c->line, c->keypath);
        return FALSE;
      }
      if (!mo_yaml_check_unused (c, error))
        return FALSE;
    }
  }
  return TRUE;
}
