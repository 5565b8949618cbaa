/**
 * SECTION:element-mobileoneclassify
 * @title: mobileoneclassify
 *
 * Classifies video frames with a MobileOne classifier. Without
 * #GstMobileOneInfer:object-class it classifies the whole frame and
 * attaches one #GstVideoRegionOfInterestMeta covering the frame; with it,
 * it classifies each upstream region of interest of those labels (cropped
 * and resized from the frame), typically from mobileonedetect. Either way
 * the result is a "classification" structure in the region's params:
 * label_id (int), label (string), confidence (double). Built against
 * GStreamer >= 1.24 it also attaches a GstAnalytics ClsMtd per result,
 * related to the region's ODMtd when it classified a region (one is added
 * for a region an upstream element attached as an ROI meta alone).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! mobileoneclassify model=tests/data/k1-fused.yaml post-messages=true ! fakesink
 * ]| Classifies each frame and posts the result on the bus.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonedetect ! mobileoneclassify model=colour.yaml object-class=car ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Classifies the cars found by the detector.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneclassify.h"
#include "gstmobileoneanalytics.h"
#include "mo-classifier.h"

#include <math.h>

/* Regions classified per frame at most; results are kept in a fixed table
 * so that no frame allocates. */
#define MAX_REGIONS 256

typedef struct
{
  MoRect rect;                  /* frame pixels */
  GQuark roi_type;
  MoClass best;
} Result;

struct _GstMobileOneClassify
{
  GstMobileOneInfer parent;

  /* properties, under the object lock */
  gdouble threshold;

  Result results[MAX_REGIONS];
  guint n_results;
  gboolean warned_regions;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_classify_debug);
#define GST_CAT_DEFAULT gst_mobile_one_classify_debug

enum
{
  PROP_0,
  PROP_THRESHOLD,
};

#define DEFAULT_THRESHOLD 0.0
#define DEFAULT_MODEL "mobileone-s0-imagenet.yaml"

/* Between inferences a region takes the result of the last inferred region
 * of its label that it overlaps this much. */
#define MATCH_IOU 0.5

#define gst_mobile_one_classify_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneClassify, gst_mobile_one_classify,
    GST_TYPE_MOBILE_ONE_INFER);
GST_ELEMENT_REGISTER_DEFINE (mobileoneclassify, "mobileoneclassify",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_CLASSIFY);

static void gst_mobile_one_classify_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_classify_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static gboolean gst_mobile_one_classify_setup (GstMobileOneInfer * infer,
    GError ** error);
static GstFlowReturn gst_mobile_one_classify_process (GstMobileOneInfer *
    infer, GstVideoFrame * frame, gboolean run);
static GstStructure *gst_mobile_one_classify_describe (GstMobileOneInfer *
    infer);

static void
gst_mobile_one_classify_class_init (GstMobileOneClassifyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstMobileOneInferClass *infer_class = GST_MOBILE_ONE_INFER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_classify_debug, "mobileoneclassify",
      0, "MobileOne classification");

  gobject_class->set_property = gst_mobile_one_classify_set_property;
  gobject_class->get_property = gst_mobile_one_classify_get_property;

  /**
   * GstMobileOneClassify:threshold:
   *
   * The smallest confidence (softmax probability) of a result that is
   * attached; below it the frame or region gets no classification.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Smallest confidence of a classification that is attached", 0.0,
          1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "MobileOne classifier", "Filter/Analyzer/Video",
      "Classifies video frames or regions of interest with a MobileOne "
      "network", "mobileone-gst developers");

  infer_class->head_type = "classifier";
  infer_class->default_model = DEFAULT_MODEL;
  infer_class->setup = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_setup);
  infer_class->process = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_process);
  infer_class->describe = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_describe);
}

static void
gst_mobile_one_classify_init (GstMobileOneClassify * self)
{
  self->threshold = DEFAULT_THRESHOLD;
}

static void
gst_mobile_one_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_classify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobile_one_classify_setup (GstMobileOneInfer * infer, GError ** error)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  MoSession *session = gst_mobile_one_infer_get_session (infer);
  const MoOutput *logits = mo_session_output (session, "logits");

  if (logits == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: the model has no "
        "'logits' output", gst_mobile_one_infer_get_desc (infer)->path);
    return FALSE;
  }
  gst_mobile_one_infer_set_num_classes (infer, logits->c);
  self->n_results = 0;
  self->warned_regions = FALSE;
  return TRUE;
}

static void
classify (GstMobileOneClassify * self, const GstVideoFrame * frame,
    const MoRect * crop, Result * r)
{
  GstMobileOneInfer *infer = GST_MOBILE_ONE_INFER (self);
  const MoOutput *logits;

  gst_mobile_one_infer_run (infer, frame, crop, NULL);
  logits = mo_session_output (gst_mobile_one_infer_get_session (infer),
      "logits");
  mo_classifier_topk (logits->data, logits->c, 1, &r->best);
}

/* The result as a param of @roi and, with GstAnalytics, as a ClsMtd: for a
 * region (@whole FALSE) related to the region's ODMtd, made when an
 * upstream element attached the ROI alone. */
static void
add_classification (GstMobileOneClassify * self, GstBuffer * buf,
    GstVideoRegionOfInterestMeta * roi, gboolean whole, const MoClass * best)
{
  GstMobileOneInfer *infer = GST_MOBILE_ONE_INFER (self);
  gchar **labels = gst_mobile_one_infer_get_labels (infer);
  guint od = GST_MOBILE_ONE_NO_MTD;

  if (!whole && gst_mobile_one_analytics_enabled ()) {
    const GstStructure *s =
        gst_video_region_of_interest_meta_get_param (roi, "detection");
    gdouble conf = 1.0;

    od = gst_mobile_one_analytics_find_detection (buf, (guint) roi->id,
        roi->roi_type, roi->x, roi->y, (gint) roi->w, (gint) roi->h);
    if (od == GST_MOBILE_ONE_NO_MTD) {
      if (s != NULL)
        gst_structure_get_double (s, "confidence", &conf);
      od = gst_mobile_one_analytics_add_detection (buf, roi->roi_type,
          (gint) roi->x, (gint) roi->y, (gint) roi->w, (gint) roi->h, conf);
    }
  }
  gst_mobile_one_analytics_add_classification (buf, od,
      gst_mobile_one_infer_get_label_quark (infer, best->label), best->score);

  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("classification",
          "label_id", G_TYPE_INT, best->label,
          "label", G_TYPE_STRING, labels[best->label],
          "confidence", G_TYPE_DOUBLE, (gdouble) best->score, NULL));
}

static gdouble
iou (const MoRect * a, const MoRect * b)
{
  gdouble x0 = MAX (a->x, b->x), y0 = MAX (a->y, b->y);
  gdouble x1 = MIN (a->x + a->w, b->x + b->w);
  gdouble y1 = MIN (a->y + a->h, b->y + b->h);
  gdouble inter = MAX (x1 - x0, 0) * MAX (y1 - y0, 0);
  gdouble uni = a->w * a->h + b->w * b->h - inter;

  return uni > 0 ? inter / uni : 0;
}

static const Result *
match (GstMobileOneClassify * self, const MoRect * rect, GQuark roi_type)
{
  const Result *best = NULL;
  gdouble best_iou = MATCH_IOU;

  for (guint i = 0; i < self->n_results; i++) {
    const Result *r = &self->results[i];
    gdouble v;

    if (r->roi_type != roi_type)
      continue;
    v = iou (rect, &r->rect);
    if (v >= best_iou) {
      best_iou = v;
      best = r;
    }
  }
  return best;
}

static GstFlowReturn
gst_mobile_one_classify_process (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean run)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  GstBuffer *buf = frame->buffer;
  gdouble threshold;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  GST_OBJECT_UNLOCK (self);

  if (!gst_mobile_one_infer_has_object_class (infer)) {
    /* The whole frame: one region covering it, labelled with the class. */
    Result *r = &self->results[0];
    GstVideoRegionOfInterestMeta *roi;

    if (run) {
      r->rect.x = r->rect.y = 0;
      r->rect.w = GST_VIDEO_FRAME_WIDTH (frame);
      r->rect.h = GST_VIDEO_FRAME_HEIGHT (frame);
      r->roi_type = 0;
      classify (self, frame, NULL, r);
      self->n_results = 1;
    }
    if (self->n_results == 0 || r->best.score < threshold)
      return GST_FLOW_OK;
    roi = gst_buffer_add_video_region_of_interest_meta_id (buf,
        gst_mobile_one_infer_get_label_quark (infer, r->best.label), 0, 0,
        GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame));
    add_classification (self, buf, roi, TRUE, &r->best);
    return GST_FLOW_OK;
  }

  /* Upstream regions of the selected labels. */
  {
    gpointer state = NULL;
    GstMeta *meta;
    guint n = 0;

    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
      MoRect rect = { roi->x, roi->y, roi->w, roi->h };
      const Result *r;

      if (!gst_mobile_one_infer_roi_selected (infer, roi->roi_type))
        continue;
      if (roi->w == 0 || roi->h == 0)
        continue;
      if (run) {
        Result *slot;

        if (n == MAX_REGIONS) {
          if (!self->warned_regions)
            GST_WARNING_OBJECT (self, "more than %d regions in a frame: "
                "classifying the first %d", MAX_REGIONS, MAX_REGIONS);
          self->warned_regions = TRUE;
          break;
        }
        slot = &self->results[n++];
        slot->rect = rect;
        slot->roi_type = roi->roi_type;
        classify (self, frame, &rect, slot);
        r = slot;
      } else {
        r = match (self, &rect, roi->roi_type);
      }
      if (r != NULL && r->best.score >= threshold)
        add_classification (self, buf, roi, FALSE, &r->best);
    }
    if (run)
      self->n_results = n;
  }
  return GST_FLOW_OK;
}

static GstStructure *
gst_mobile_one_classify_describe (GstMobileOneInfer * infer)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  gchar **labels = gst_mobile_one_infer_get_labels (infer);
  GValue list = G_VALUE_INIT;
  GstStructure *s;

  g_value_init (&list, GST_TYPE_ARRAY);
  for (guint i = 0; i < self->n_results; i++) {
    const Result *r = &self->results[i];
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("classification",
            "label_id", G_TYPE_INT, r->best.label,
            "label", G_TYPE_STRING, labels[r->best.label],
            "confidence", G_TYPE_DOUBLE, (gdouble) r->best.score,
            "x", G_TYPE_INT, (gint) r->rect.x,
            "y", G_TYPE_INT, (gint) r->rect.y,
            "width", G_TYPE_INT, (gint) r->rect.w,
            "height", G_TYPE_INT, (gint) r->rect.h, NULL));
    gst_value_array_append_and_take_value (&list, &v);
  }
  s = gst_structure_new_empty ("mobileoneclassify");
  gst_structure_take_value (s, "classifications", &list);
  return s;
}
