/* mobileone-gst heads: SSDLite detection (SPEC.md, "SSDLite").
 *
 * The graph (heads/mo-ssdlite-graph.c) ends in twelve outputs, "cls_logits.J" and
 * "bbox_regression.J" for the six maps J = 0..5 (stage3, stage4, then the
 * four extra blocks), NHWC with channel a * K + k (anchor a, class or box
 * coordinate k), which is torchvision's (H, W, A, K) order.
 *
 * Post-processing follows torchvision's SSD.postprocess_detections exactly
 * (DefaultBoxGenerator anchors, BoxCoder.decode_single, softmax, per-class
 * threshold and top-k, clipping, batched_nms, the best max_detections).
 * A MoSsdPost is made once per session; running it allocates nothing.
 *
 *   MoSsdPost *post = mo_ssdlite_post_new (session, 0, &err);
 *   MoDetection dets[100];
 *   mo_session_run (session);
 *   int n = mo_ssdlite_post_run (post, NULL, dets, 100);
 */
#pragma once

#include <glib.h>
#include "mobileone.h"
#include "mo-preprocess.h"

G_BEGIN_DECLS

#define MO_SSD_N_MAPS 6

/* Thresholds of the post-processing (head.score_threshold ... in the YAML). */
typedef struct
{
  double score_threshold;       /* keep softmax scores > this; in (0, 1) */
  double nms_iou_threshold;     /* suppress IoU > this; in (0, 1] */
  int topk_candidates;          /* per class, before NMS; >= 1 */
  int max_detections;           /* after NMS; >= 1 */
  /* NULL, or num_classes thresholds by class id: an entry in (0, 1)
   * replaces score_threshold for that class, 0 keeps score_threshold
   * (head.class_thresholds in the YAML). Owned by whoever set it. */
  const double *class_thresholds;
} MoSsdParams;

/* One detection, in model-input pixels (0 <= x0 <= x1 <= input width). */
typedef struct
{
  float x0, y0, x1, y1;
  float score;                  /* softmax probability of @label */
  int label;                    /* 1 .. num_classes - 1 (0 is background) */
} MoDetection;

typedef struct _MoSsdPost MoSsdPost;

/**
 * mo_ssdlite_params: the post-processing parameters of @model's description
 * (defaults filled in), or NULL when @model is not an SSDLite model.
 */
MO_API const MoSsdParams *mo_ssdlite_params (const MoModel * model);

/** mo_ssdlite_num_classes: head.num_classes (background included), or 0. */
MO_API int mo_ssdlite_num_classes (const MoModel * model);

/**
 * mo_ssdlite_params_check: fails, naming the parameter, when @params is
 * outside the ranges above or asks for more top-k candidates than @post was
 * made for (@post may be NULL to skip that check).
 */
MO_API gboolean mo_ssdlite_params_check (const MoSsdPost * post,
    const MoSsdParams * params, GError ** error);

/**
 * mo_ssdlite_post_new: anchors for @s's input size and scratch space for the
 * worst case of every later run. Later runs may ask for up to
 * MAX (@max_topk, the description's topk_candidates) candidates per class
 * (so 0 allows the description's). @s must outlive the result.
 */
MO_API MoSsdPost *mo_ssdlite_post_new (MoSession * s, int max_topk,
    GError ** error);

/** mo_ssdlite_post_free: frees; NULL is allowed. */
MO_API void mo_ssdlite_post_free (MoSsdPost * post);

/** mo_ssdlite_post_n_anchors: N, the number of anchors (all six maps). */
MO_API int mo_ssdlite_post_n_anchors (const MoSsdPost * post);

/**
 * mo_ssdlite_post_anchors: the anchors, [N][4] as x0, y0, x1, y1 in
 * model-input pixels (torchvision's DefaultBoxGenerator output, float32).
 */
MO_API const float *mo_ssdlite_post_anchors (const MoSsdPost * post);

/**
 * mo_ssdlite_post_gather: copies the session's last outputs into
 * torchvision's flat order: @cls_logits [N][num_classes] and
 * @bbox_regression [N][4], map by map, locations row-major, anchors
 * innermost. Either may be NULL.
 */
MO_API void mo_ssdlite_post_gather (const MoSsdPost * post, float *cls_logits,
    float *bbox_regression);

/**
 * mo_ssdlite_post_run: post-processes the session's last outputs with
 * @params (NULL: the description's) into at most @max_out detections, best
 * first. Returns how many were written, or -1 when @params fails
 * mo_ssdlite_params_check(). Allocates nothing.
 */
MO_API int mo_ssdlite_post_run (MoSsdPost * post, const MoSsdParams * params,
    MoDetection * out, int max_out);

/**
 * mo_ssdlite_post_run_raw: the same on raw head outputs in torchvision's
 * order (@cls_logits [N][num_classes], @bbox_regression [N][4]), e.g.
 * PyTorch's. Allocates nothing.
 */
MO_API int mo_ssdlite_post_run_raw (MoSsdPost * post,
    const MoSsdParams * params, const float *cls_logits,
    const float *bbox_regression, MoDetection * out, int max_out);

/**
 * mo_ssdlite_detection_to_image: @det's box in the coordinates of the
 * picture the input was made from (@xf from mo_preprocess()), clipped to
 * the part of the picture that was used (@xf->src: a letterbox band maps
 * outside it); x0, y0, x1, y1 into @box. A NULL @xf copies the model-input
 * coordinates.
 */
MO_API void mo_ssdlite_detection_to_image (const MoTransform * xf,
    const MoDetection * det, double box[4]);

G_END_DECLS
