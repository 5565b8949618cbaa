/* mobileone-gst: GstMobileOneInfer, the abstract base of the elements that
 * run a model (mobileoneclassify, mobileonedetect, mobileonesegment). */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "mobileone.h"
#include "mo-preprocess.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_INFER (gst_mobile_one_infer_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstMobileOneInfer, gst_mobile_one_infer,
    GST, MOBILE_ONE_INFER, GstVideoFilter)

/* The formats every inference element accepts (mo_preprocess reads them). */
#define GST_MOBILE_ONE_INFER_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, NV12, I420 }"

/**
 * GstMobileOneInferClass:
 * @head_type: the model head.type the element runs ("classifier", ...)
 * @default_model: file name of the model used when the model property is
 *   not set, looked up in $MOBILEONE_MODEL_DIR or the installed models folder
 * @setup: called by start() once the model and the session exist; creates
 *   what the post-processing needs so that no frame allocates
 * @teardown: frees what @setup made
 * @process: called for every frame, mapped for reading; when @infer is TRUE
 *   the subclass runs the model (gst_mobile_one_infer_run()) and keeps the
 *   results, otherwise it attaches the results it kept. It attaches metas to
 *   @frame->buffer, which is writable.
 * @describe: the results of the last inference as a new structure, for the
 *   element message posted when post-messages is set
 */
struct _GstMobileOneInferClass
{
  GstVideoFilterClass parent_class;

  const gchar *head_type;
  const gchar *default_model;

  gboolean (*setup) (GstMobileOneInfer * self, GError ** error);
  void (*teardown) (GstMobileOneInfer * self);
  GstFlowReturn (*process) (GstMobileOneInfer * self, GstVideoFrame * frame,
      gboolean infer);
  GstStructure *(*describe) (GstMobileOneInfer * self);
};

/** gst_mobile_one_infer_get_session: the element's session (after start). */
MoSession *gst_mobile_one_infer_get_session (GstMobileOneInfer * self);

/** gst_mobile_one_infer_get_desc: the description of the loaded model. */
const MoDesc *gst_mobile_one_infer_get_desc (GstMobileOneInfer * self);

/**
 * gst_mobile_one_infer_set_num_classes: called by @setup once the number of
 * classes is known; makes the label table (the model's labels, or the class
 * number when it has none) and the object-class selection.
 */
void gst_mobile_one_infer_set_num_classes (GstMobileOneInfer * self,
    guint num_classes);

/** gst_mobile_one_infer_get_num_classes: as set by the subclass. */
guint gst_mobile_one_infer_get_num_classes (GstMobileOneInfer * self);

/**
 * gst_mobile_one_infer_get_labels: the labels, @num_classes strings,
 * reference-counted with gst_mobile_one_labels_ref().
 */
gchar **gst_mobile_one_infer_get_labels (GstMobileOneInfer * self);

/** gst_mobile_one_infer_get_label_quark: the quark of label @class_id. */
GQuark gst_mobile_one_infer_get_label_quark (GstMobileOneInfer * self,
    guint class_id);

/**
 * gst_mobile_one_infer_class_selected: whether the object-class property
 * selects class @class_id (always TRUE when it is empty).
 */
gboolean gst_mobile_one_infer_class_selected (GstMobileOneInfer * self,
    guint class_id);

/**
 * gst_mobile_one_infer_roi_selected: whether object-class names the label
 * @roi_type of an upstream region (always TRUE when it is empty).
 */
gboolean gst_mobile_one_infer_roi_selected (GstMobileOneInfer * self,
    GQuark roi_type);

/** gst_mobile_one_infer_has_object_class: whether object-class is set. */
gboolean gst_mobile_one_infer_has_object_class (GstMobileOneInfer * self);

/**
 * gst_mobile_one_infer_run: pre-processes @crop of @frame (NULL = all of it;
 * letterboxed when the letterbox property is set) into the session input,
 * runs the model and gives the mapping back to frame coordinates in @xf.
 */
void gst_mobile_one_infer_run (GstMobileOneInfer * self,
    const GstVideoFrame * frame, const MoRect * crop, MoTransform * xf);

G_END_DECLS
