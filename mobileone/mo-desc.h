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
 * @MO_LOAD_FORCE_FP32: run in float32 even when the description says
 *   'precision: int8' (its scales file is then not read; docs/int8.md).
 */
typedef enum
{
  MO_LOAD_DEFAULT = 0,
  MO_LOAD_ALLOW_EXTERNAL_PATHS = 1 << 0,
  MO_LOAD_FORCE_FP32 = 1 << 1
} MoLoadFlags;

/**
 * MoPrecision: the arithmetic a model description asks for.
 * @MO_PRECISION_FP32: float32 everywhere.
 * @MO_PRECISION_INT8: 8-bit activations and weights where calibrated
 *   scales allow (docs/int8.md).
 */
typedef enum
{
  MO_PRECISION_FP32,
  MO_PRECISION_INT8
} MoPrecision;

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
  MoPrecision precision;        /* 'precision'; fp32 under MO_LOAD_FORCE_FP32 */
  char *int8_scales_path;       /* 'int8_scales'; NULL unless int8 */
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
