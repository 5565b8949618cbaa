/* mobileone-gst engine: the model description (a YAML file, see docs/model-format.md). */
#pragma once

#include <glib.h>
#include "mo-yaml.h"

G_BEGIN_DECLS

/**
 * MoLoadFlags: how far a model description is trusted.
 * @MO_LOAD_DEFAULT: the paths it names ('weights', 'labels') must be
 *   relative and stay inside its own folder (no absolute path, no '..').
 * @MO_LOAD_ALLOW_EXTERNAL_PATHS: they may name any file (the description
 *   is trusted; docs/security.md).
 */
typedef enum
{
  MO_LOAD_DEFAULT = 0,
  MO_LOAD_ALLOW_EXTERNAL_PATHS = 1 << 0
} MoLoadFlags;

typedef struct
{
  char variant[8];              /* "s0".."s4", or "custom" */
  double width_multipliers[4];
  int num_conv_branches;        /* k */
  gboolean use_se;
  gboolean fused;               /* weights hold reparam_conv tensors */
  char *prefix;                 /* before Apple's tensor names, e.g. "backbone." */
  double bn_eps;
} MoBackboneDesc;

typedef struct
{
  char *path;                   /* the YAML file */
  char *dir;                    /* its folder: relative paths start here */
  char *name;
  MoBackboneDesc backbone;
  int input_width, input_height;
  double mean[3], std[3];
  char *head_type;              /* "classifier", "ssdlite", "deeplabv3" */
  const MoYamlNode *head;       /* the head mapping: each head parses its own keys */
  char *weights_path;           /* in dir unless MO_LOAD_ALLOW_EXTERNAL_PATHS */
  char *labels_path;            /* NULL when the description names none */
  GPtrArray *labels;            /* char *, empty when there is no labels file */
  MoYamlNode *root;
} MoDesc;

/**
 * mo_desc_load: reads and checks the common keys of a model description
 * (name, backbone, input, head.type, weights, labels) and the labels file.
 * The head's own keys are left for the head to read; call
 * mo_yaml_check_unused (desc->root) once it has.
 */
MO_API MoDesc *mo_desc_load (const char *path, GError **error);

/** mo_desc_load_full: mo_desc_load() with @flags (MoLoadFlags). */
MO_API MoDesc *mo_desc_load_full (const char *path, MoLoadFlags flags,
    GError **error);

/** mo_desc_free: frees; NULL is allowed. */
MO_API void mo_desc_free (MoDesc *desc);

/** mo_desc_label: label @i, or NULL when the model has no label for it. */
MO_API const char *mo_desc_label (const MoDesc *desc, int i);

G_END_DECLS
