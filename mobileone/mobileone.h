/* mobileone-gst engine: the public API.
 *
 * A MoModel is the loaded, folded and packed network: immutable, reference
 * counted, shareable between threads and elements. It is loaded with
 * mo_model_load() of mo-heads.h: the heads layer knows which head.type
 * builds what. A MoSession holds what one user needs to run it: the
 * activation arena planned for one input size and a thread pool. Nothing is
 * allocated by mo_session_run().
 *
 *   MoModel *m = mo_model_load ("model.yaml", &err);     (mo-heads.h)
 *   MoSession *s = mo_session_new (m, 224, 224, 0, &err);
 *   mo_session_set_input_nchw (s, pixels);
 *   mo_session_run (s);
 *   const MoOutput *logits = mo_session_output (s, "logits");
 */
#pragma once

#include <glib.h>
#include "mo-desc.h"
#include "mo-api.h"
#include "mo-error.h"
#include "mo-preprocess.h"

G_BEGIN_DECLS

typedef struct _MoModel MoModel;
typedef struct _MoSession MoSession;
typedef struct _MoCalibration MoCalibration;

/* One output tensor of a session, NHWC with channel stride cs. */
typedef struct
{
  const char *name;
  int h, w, c, cs;
  const float *data;
} MoOutput;

/** mo_model_ref: adds a reference. */
MO_API MoModel *mo_model_ref (MoModel * model);

/** mo_model_unref: drops a reference; frees on the last one. NULL is allowed. */
MO_API void mo_model_unref (MoModel * model);

/** mo_model_desc: the description the model was loaded from. */
MO_API const MoDesc *mo_model_desc (const MoModel * model);

/** mo_model_n_params: parameters of the fused network (weights + biases). */
MO_API guint64 mo_model_n_params (const MoModel * model);

/** mo_model_n_layers: compute layers of the fused network. */
MO_API guint mo_model_n_layers (const MoModel * model);

/**
 * mo_model_n_int8_layers: layers that run on 8-bit activations (0 for a
 * float model; docs/int8.md).
 */
MO_API guint mo_model_n_int8_layers (const MoModel * model);

/**
 * mo_model_export_fused: writes the folded weights as F32 safetensors under
 * the fused checkpoint names (stageN.M.reparam_conv.weight, ...), so that an
 * unfused checkpoint can be converted once and compared with PyTorch.
 */
MO_API gboolean mo_model_export_fused (const MoModel * model, const char *path,
    GError ** error);

/**
 * mo_session_new: plans the activation arena for a @width x @height input
 * and starts @n_threads threads of its own, or, with 0, takes the
 * process-wide pool of one thread per core that every session made with 0
 * shares (their runs take turns, so N sessions never run more threads than
 * cores). Results do not depend on the threads. Fails when the input is too
 * small for the network.
 */
MO_API MoSession *mo_session_new (MoModel * model, int width, int height,
    int n_threads, GError ** error);

/** mo_session_free: frees; NULL is allowed. */
MO_API void mo_session_free (MoSession * s);

/** mo_session_model: the session's model (no new reference). */
MO_API MoModel *mo_session_model (const MoSession * s);

/**
 * mo_session_input: the input tensor, NHWC float with channel stride *@cs;
 * channels 0..2 are R, G, B, already normalised. Fill it, then run.
 */
MO_API float *mo_session_input (MoSession * s, int *width, int *height,
    int *cs);

/** mo_session_set_input_nchw: copies a normalised [3][H][W] float image in. */
MO_API void mo_session_set_input_nchw (MoSession * s, const float *chw);

/**
 * mo_session_set_input_image: makes @crop of @img (NULL = all of it),
 * fitted by @fit and normalised with the model's mean and std, the input of
 * the next mo_session_run(), exactly as mo_preprocess_fit() would. The
 * pixels are read by that run, as its first stage, with the rows split
 * over the session's threads: @img's planes must stay valid until it
 * returns (@img itself is copied). @xf (optional) receives the mapping back
 * to image coordinates now. Allocates nothing.
 */
MO_API void mo_session_set_input_image (MoSession * s, const MoImage * img,
    const MoRect * crop, MoFit fit, MoTransform * xf);

/** mo_session_run: one inference. Allocates nothing. */
MO_API void mo_session_run (MoSession * s);

/**
 * MoRegionFunc: called by mo_session_run_regions() once region @index has
 * run: @outputs is the session whose outputs (mo_session_output()) hold its
 * results, valid until this returns; @xf maps them back to the image. May be
 * called from several of the session's threads at once (each with its own
 * @index and @outputs): write only what belongs to @index.
 */
typedef void (*MoRegionFunc) (gpointer user, int index,
    const MoSession * outputs, const MoTransform * xf);

/**
 * mo_session_run_regions: runs the model on each of the @n crops @rects of
 * @img (fitted by @fit, as mo_session_set_input_image()) and calls @done
 * for each. With several threads the regions are spread over them, one
 * region per thread at a time, each thread with an activation arena of its
 * own (made on the first call); results are bit for bit those of running
 * each region alone. Returns when all are done.
 */
MO_API void mo_session_run_regions (MoSession * s, const MoImage * img,
    const MoRect * rects, int n, MoFit fit, MoRegionFunc done, gpointer user);

/** mo_session_n_outputs: the number of outputs. */
MO_API int mo_session_n_outputs (const MoSession * s);

/** mo_session_nth_output: output @i (valid until the next run or free). */
MO_API const MoOutput *mo_session_nth_output (const MoSession * s, int i);

/** mo_session_output: the output called @name, or NULL. */
MO_API const MoOutput *mo_session_output (const MoSession * s,
    const char *name);

/** mo_session_macs: multiply-accumulates of one inference. */
MO_API guint64 mo_session_macs (const MoSession * s);

/** mo_session_arena_bytes: bytes of the activation arena (the peak activation memory). */
MO_API gsize mo_session_arena_bytes (const MoSession * s);

/** mo_session_n_threads: threads used, the caller included. */
MO_API int mo_session_n_threads (const MoSession * s);

/** mo_session_isa: the kernel level in use ("ref", "avx2", ...). */
MO_API const char *mo_session_isa (const MoSession * s);

/** mo_session_describe: appends a per-layer table (shapes, MACs) to @out. */
MO_API void mo_session_describe (const MoSession * s, GString * out);

/**
 * mo_session_set_profile: when on, mo_session_run() times every layer;
 * mo_session_profile_report() appends totals per layer type to @out,
 * mo_session_profile_layers() one line per layer.
 */
MO_API void mo_session_set_profile (MoSession * s, gboolean on);
MO_API void mo_session_profile_report (const MoSession * s, GString * out);
/** mo_session_profile_layers: appends the time of every layer to @out. */
MO_API void mo_session_profile_layers (const MoSession * s, GString * out);

/**
 * mo_calibration_new: from now until mo_calibration_free(), every
 * mo_session_run() of @s (a float model's session, which must outlive
 * it) records the activation ranges int8 quantisation needs
 * (docs/int8.md). Fails when the model already runs in int8.
 */
MO_API MoCalibration *mo_calibration_new (MoSession * s, GError ** error);

/**
 * MoCalibStatistic: how calibration turns the values a layer output took
 * into its activation range (docs/int8.md):
 * @MO_CALIB_MEAN_MAX: the mean over the pictures of each picture's
 *   largest value (the default: clips rare outliers, measured best);
 * @MO_CALIB_MAX: the largest value of all pictures (nothing clipped).
 */
typedef enum
{
  MO_CALIB_MEAN_MAX = 0,
  MO_CALIB_MAX = 1,
} MoCalibStatistic;

/**
 * mo_calibration_set_statistic: selects the statistic the scales are
 * written from (MO_CALIB_MEAN_MAX unless set); it may change at any time
 * before mo_calibration_write().
 */
MO_API void mo_calibration_set_statistic (MoCalibration * c,
    MoCalibStatistic stat);

/**
 * mo_calibration_set_bias_correction: whether mo_calibration_write() also
 * writes LAYER.bias_correction tensors (default TRUE): per output channel
 * of each int8 layer, the expected error of its int8 weights over the
 * calibration pictures, which the loader subtracts from the bias.
 */
MO_API void mo_calibration_set_bias_correction (MoCalibration * c,
    gboolean on);

/**
 * mo_calibration_set_equalisation: whether mo_calibration_write() also
 * writes LAYER.channel_scale tensors (default TRUE): per output channel of
 * each ReLU layer that allows it, a positive factor that the loader
 * multiplies into that channel's weights and bias and divides out of the
 * next layers' input channels (the float function is unchanged), chosen
 * to balance the channels' activation ranges against those layers'
 * weights (docs/int8.md); scales and bias corrections are then those of
 * the rescaled network.
 */
MO_API void mo_calibration_set_equalisation (MoCalibration * c,
    gboolean on);

/** mo_calibration_n_scales: how many activation scales it writes. */
MO_API int mo_calibration_n_scales (const MoCalibration * c);

/**
 * mo_calibration_write: writes the scales (LAYER.output_scale, F32 [1])
 * and the bias corrections (LAYER.bias_correction, F32 [cout]) into
 * safetensors file @path, the model's 'int8_scales'.
 */
MO_API gboolean mo_calibration_write (const MoCalibration * c,
    const char *path, GError ** error);

/** mo_calibration_free: frees; NULL is allowed. */
MO_API void mo_calibration_free (MoCalibration * c);

G_END_DECLS
