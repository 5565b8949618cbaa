/* mobileone-gst engine: the public API.
 *
 * A MoModel is the loaded, folded and packed network: immutable, reference
 * counted, shareable between threads and elements. A MoSession holds what one
 * user needs to run it: the activation arena planned for one input size and a
 * thread pool. Nothing is allocated by mo_session_run().
 *
 *   MoModel *m = mo_model_load ("model.yaml", &err);
 *   MoSession *s = mo_session_new (m, 224, 224, 0, &err);
 *   mo_session_set_input_nchw (s, pixels);
 *   mo_session_run (s);
 *   const MoOutput *logits = mo_session_output (s, "logits");
 */
#pragma once

#include <glib.h>
#include "mo-desc.h"
#include "mo-error.h"

G_BEGIN_DECLS

typedef struct _MoModel MoModel;
typedef struct _MoSession MoSession;

/* One output tensor of a session, NHWC with channel stride cs. */
typedef struct
{
  const char *name;
  int h, w, c, cs;
  const float *data;
} MoOutput;

/**
 * mo_model_load: reads the description at @yaml_path and its weights, folds
 * the training-time branches (when backbone.fused is false) and packs the
 * weights. Errors name the file and the key or tensor.
 */
MoModel *mo_model_load (const char *yaml_path, GError **error);

/**
 * mo_model_load_full: mo_model_load() with @flags; MO_LOAD_DEFAULT keeps the
 * files the description names inside its folder (docs/security.md).
 */
MoModel *mo_model_load_full (const char *yaml_path, MoLoadFlags flags,
    GError **error);

/** mo_model_ref: adds a reference. */
MoModel *mo_model_ref (MoModel * model);

/** mo_model_unref: drops a reference; frees on the last one. NULL is allowed. */
void mo_model_unref (MoModel * model);

/** mo_model_desc: the description the model was loaded from. */
const MoDesc *mo_model_desc (const MoModel * model);

/** mo_model_n_params: parameters of the fused network (weights + biases). */
guint64 mo_model_n_params (const MoModel * model);

/** mo_model_n_layers: compute layers of the fused network. */
guint mo_model_n_layers (const MoModel * model);

/**
 * mo_model_export_fused: writes the folded weights as F32 safetensors under
 * the fused checkpoint names (stageN.M.reparam_conv.weight, ...), so that an
 * unfused checkpoint can be converted once and compared with PyTorch.
 */
gboolean mo_model_export_fused (const MoModel * model, const char *path,
    GError ** error);

/**
 * mo_session_new: plans the activation arena for a @width x @height input
 * and starts @n_threads threads (0 = one per core). Fails when the input is
 * too small for the network.
 */
MoSession *mo_session_new (MoModel * model, int width, int height,
    int n_threads, GError ** error);

/** mo_session_free: frees; NULL is allowed. */
void mo_session_free (MoSession * s);

/** mo_session_model: the session's model (no new reference). */
MoModel *mo_session_model (const MoSession * s);

/**
 * mo_session_input: the input tensor, NHWC float with channel stride *@cs;
 * channels 0..2 are R, G, B, already normalised. Fill it, then run.
 */
float *mo_session_input (MoSession * s, int *width, int *height, int *cs);

/** mo_session_set_input_nchw: copies a normalised [3][H][W] float image in. */
void mo_session_set_input_nchw (MoSession * s, const float *chw);

/** mo_session_run: one inference. Allocates nothing. */
void mo_session_run (MoSession * s);

/** mo_session_n_outputs: the number of outputs. */
int mo_session_n_outputs (const MoSession * s);

/** mo_session_nth_output: output @i (valid until the next run or free). */
const MoOutput *mo_session_nth_output (const MoSession * s, int i);

/** mo_session_output: the output called @name, or NULL. */
const MoOutput *mo_session_output (const MoSession * s, const char *name);

/** mo_session_macs: multiply-accumulates of one inference. */
guint64 mo_session_macs (const MoSession * s);

/** mo_session_arena_bytes: bytes of the activation arena (the peak activation memory). */
gsize mo_session_arena_bytes (const MoSession * s);

/** mo_session_n_threads: threads used, the caller included. */
int mo_session_n_threads (const MoSession * s);

/** mo_session_isa: the kernel level in use ("ref", "avx2", ...). */
const char *mo_session_isa (const MoSession * s);

/** mo_session_describe: appends a per-layer table (shapes, MACs) to @out. */
void mo_session_describe (const MoSession * s, GString * out);

/**
 * mo_session_set_profile: when on, mo_session_run() times every layer;
 * mo_session_profile_report() appends totals per layer type to @out,
 * mo_session_profile_layers() one line per layer.
 */
void mo_session_set_profile (MoSession * s, gboolean on);
void mo_session_profile_report (const MoSession * s, GString * out);
/** mo_session_profile_layers: appends the time of every layer to @out. */
void mo_session_profile_layers (const MoSession * s, GString * out);

G_END_DECLS
