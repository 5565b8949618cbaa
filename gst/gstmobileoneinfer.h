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

/* The formats every inference element accepts (the engine's pre-processing
 * reads them). */
#define GST_MOBILE_ONE_INFER_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, NV12, I420, " \
    "YUY2, UYVY, GRAY8 }"

#define GST_TYPE_MOBILE_ONE_FIT (gst_mobile_one_fit_get_type ())
/** gst_mobile_one_fit_get_type: the enum type of the fit property (MoFit). */
GType gst_mobile_one_fit_get_type (void);

/**
 * GstMobileOneInferClass:
 * @head_type: the model head.type the element runs ("classifier", ...)
 * @default_model: file name of the model used when the model property is
 *   not set, looked up in $MOBILEONE_MODEL_DIR or the installed models folder
 * @default_fit: the fit property's default, the same as the CLI's for the
 *   head so that a picture gets the same results from both
 * @object_class_is_output: object-class names the model's own labels
 *   (detect, segment), so names that are none of them get a warning
 * @setup: called by start() once the model and the session exist; creates
 *   what the post-processing needs so that no frame allocates. Called
 *   again (after @teardown) at a frame boundary when the model or
 *   object-class changes while playing
 * @teardown: frees what @setup made
 * @get_regions: (optional) called on frames the model runs on: the parts of
 *   @frame to run it on, in frame pixels, in *@rects (the subclass's own
 *   array); returns how many (0: the model does not run). Unset: the whole
 *   frame, once.
 * @decode: called after each run of the model, for region @index (0 for
 *   the whole frame) whose mapping back to the frame is @xf; reads the
 *   session's outputs and keeps the results. FALSE stops the stream (after
 *   posting an error).
 * @decode_region: (optional) replaces @decode for subclasses whose regions
 *   are independent: the base runs a frame's regions as one batch spread
 *   over the session's threads (mo_session_run_regions()) and calls this
 *   for region @index with the session holding its outputs; called from
 *   several threads at once, so it writes only what belongs to @index.
 * @attach: called for every frame: attaches the kept results to
 *   @frame->buffer (writable) as metas marked repeated when @repeated (the
 *   model did not run on this frame), and when @message is not NULL adds
 *   the same results to it (the element message's structure, which already
 *   holds the timestamps and "repeated").
 *
 * The base class owns the per-frame flow: mapping, regions,
 * pre-processing, running the model and the inference interval; subclasses
 * never run the model themselves.
 */
struct _GstMobileOneInferClass
{
  GstVideoFilterClass parent_class;

  const gchar *head_type;
  const gchar *default_model;
  MoFit default_fit;
  gboolean object_class_is_output;

  gboolean (*setup) (GstMobileOneInfer * self, GError ** error);
  void (*teardown) (GstMobileOneInfer * self);
  guint (*get_regions) (GstMobileOneInfer * self, GstVideoFrame * frame,
      const MoRect ** rects);
  gboolean (*decode) (GstMobileOneInfer * self, GstVideoFrame * frame,
      guint index, const MoTransform * xf);
  void (*decode_region) (GstMobileOneInfer * self, guint index,
      const MoSession * outputs, const MoTransform * xf);
  GstFlowReturn (*attach) (GstMobileOneInfer * self, GstVideoFrame * frame,
      gboolean repeated, GstStructure * message);
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
 * GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS:
 *
 * The property id of object-class, installed on each subclass by
 * gst_mobile_one_infer_class_install_object_class() with that element's
 * description; above every subclass's own ids.
 */
#define GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS 0x4000

void gst_mobile_one_infer_class_install_object_class (GstMobileOneInferClass *
    klass, const gchar * blurb);

G_END_DECLS
