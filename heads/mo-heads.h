/* mobileone-gst heads: loading a model and post-processing its outputs,
 * whatever its head.
 *
 * Each head.type (classifier, ssdlite, deeplabv3) is one head class: it
 * builds its part of the graph and knows how to turn the outputs into
 * results. mo_post_run() writes the head's own result type:
 *
 *   classifier  MoClass (mo-classifier.h), the best first; @params unused
 *   ssdlite     MoDetection (mo-ssdlite.h), the best first; @params a
 *               const MoSsdParams * or NULL for the description's
 *   deeplabv3   guint8, the class of every input pixel (argmax of the
 *               "logits" output), rows of the input width; @params unused
 *
 *   MoModel *m = mo_model_load ("shapes-detect.yaml", &err);
 *   MoSession *s = mo_session_new (m, 320, 320, 0, &err);
 *   MoPost *post = mo_post_new (s, &err);
 *   MoDetection dets[100];
 *   ... fill mo_session_input () (mo_preprocess ()), then
 *   mo_session_run (s);
 *   int n = mo_post_run (post, NULL, dets, 100);
 */
#pragma once

#include <glib.h>
#include "mobileone.h"
#include "mo-classifier.h"
#include "mo-deeplab.h"
#include "mo-ssdlite.h"

G_BEGIN_DECLS

typedef struct _MoPost MoPost;

/**
 * mo_model_load: reads the description at @yaml_path and its weights, builds
 * the backbone and the head named by head.type, folds the training-time
 * branches (when backbone.fused is false) and packs the weights. Errors name
 * the file and the key or tensor.
 */
MO_API MoModel *mo_model_load (const char *yaml_path, GError ** error);

/**
 * mo_model_load_full: mo_model_load() with @flags; MO_LOAD_DEFAULT keeps the
 * files the description names inside its folder, MO_LOAD_ALLOW_EXTERNAL_PATHS
 * lets a trusted description name any file (docs/security.md).
 */
MO_API MoModel *mo_model_load_full (const char *yaml_path, MoLoadFlags flags,
    GError ** error);

/**
 * mo_post_new: the post-processing of @s's model's head, with scratch space
 * for every later run. @s must outlive the result.
 */
MO_API MoPost *mo_post_new (MoSession * s, GError ** error);

/**
 * mo_post_run: post-processes the session's last outputs into at most
 * @max_out results of the head's type (above). Returns how many were
 * written, or -1 when @params is invalid. Allocates nothing.
 */
MO_API int mo_post_run (MoPost * post, gconstpointer params, gpointer out,
    int max_out);

/** mo_post_free: frees; NULL is allowed. */
MO_API void mo_post_free (MoPost * post);

G_END_DECLS
