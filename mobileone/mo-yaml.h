/* mobileone-gst engine: a small YAML tree (libyaml) with typed, checked getters.
 *
 * Every getter error names the file, the line and the full key path
 * ("backbone.width_multipliers[2]"), and every key read is marked so that
 * mo_yaml_check_unused() can reject typos such as "fussed: true". */
#pragma once

#include <glib.h>
#include "mo-api.h"

G_BEGIN_DECLS

typedef enum
{
  MO_YAML_SCALAR,
  MO_YAML_SEQUENCE,
  MO_YAML_MAPPING
} MoYamlType;

typedef struct _MoYamlNode MoYamlNode;

struct _MoYamlNode
{
  MoYamlType type;
  char *keypath;                /* "head.num_classes", "" for the root */
  const char *file;             /* owned by the root */
  int line;                     /* 1-based */
  char *scalar;                 /* MO_YAML_SCALAR */
  gboolean quoted;              /* scalar was written in quotes */
  GPtrArray *items;             /* sequence items, or mapping values */
  GPtrArray *keys;              /* mapping keys (char *) */
  GArray *used;                 /* mapping: gboolean per key */
};

/** mo_yaml_load: parses @path; the root must be a mapping. */
MO_API MoYamlNode *mo_yaml_load (const char *path, GError **error);

/** mo_yaml_free: frees a tree returned by mo_yaml_load(). */
MO_API void mo_yaml_free (MoYamlNode *root);

/** mo_yaml_lookup: the value of @key in mapping @map (marked used), or NULL. */
MO_API const MoYamlNode *mo_yaml_lookup (const MoYamlNode *map,
    const char *key);

/** mo_yaml_get_map: a mapping value; absent and not @required gives NULL and TRUE. */
MO_API gboolean mo_yaml_get_map (const MoYamlNode *map, const char *key,
    gboolean required, const MoYamlNode **out, GError **error);

/** mo_yaml_get_string: a scalar as a string (@def when absent and not @required). */
MO_API gboolean mo_yaml_get_string (const MoYamlNode *map, const char *key,
    gboolean required, const char *def, char **out, GError **error);

/** mo_yaml_get_bool: true/false (also yes/no/on/off). */
MO_API gboolean mo_yaml_get_bool (const MoYamlNode *map, const char *key,
    gboolean required, gboolean def, gboolean *out, GError **error);

/** mo_yaml_get_int: an integer in [@min, @max]. */
MO_API gboolean mo_yaml_get_int (const MoYamlNode *map, const char *key,
    gboolean required, int def, int min, int max, int *out, GError **error);

/** mo_yaml_get_double: a finite number in [@min, @max]. */
MO_API gboolean mo_yaml_get_double (const MoYamlNode *map, const char *key,
    gboolean required, double def, double min, double max, double *out,
    GError **error);

/**
 * mo_yaml_get_double_list: a sequence of numbers in [@min, @max] with
 * between @min_len and @max_len items, copied to @out (room for @max_len).
 * When absent and not @required, @out is left alone and @n_out is set to 0.
 */
MO_API gboolean mo_yaml_get_double_list (const MoYamlNode *map, const char *key,
    gboolean required, int min_len, int max_len, double min, double max,
    double *out, int *n_out, GError **error);

/** mo_yaml_get_int_list: as mo_yaml_get_double_list() for integers. */
MO_API gboolean mo_yaml_get_int_list (const MoYamlNode *map, const char *key,
    gboolean required, int min_len, int max_len, int min, int max,
    int *out, int *n_out, GError **error);

/** mo_yaml_check_unused: fails naming the first key never looked up. */
MO_API gboolean mo_yaml_check_unused (const MoYamlNode *root, GError **error);

G_END_DECLS
