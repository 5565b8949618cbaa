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
 * label_id (int), label (string), confidence (double) and repeated
 * (boolean: TRUE on the frames between two inferences with
 * #GstMobileOneInfer:inference-interval, whose classes are the last
 * inference's). #GstMobileOneInfer:fit defaults to crop, ImageNet's
 * evaluation pre-processing, like mobileone-cli image.
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
  MoRect rects[MAX_REGIONS];    /* the regions of the frame being inferred */
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
static guint gst_mobile_one_classify_get_regions (GstMobileOneInfer * infer,
    GstVideoFrame * frame, const MoRect ** rects);
static gboolean gst_mobile_one_classify_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf);
static GstFlowReturn gst_mobile_one_classify_attach (GstMobileOneInfer *
    infer, GstVideoFrame * frame, gboolean repeated, GstStructure * message);

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
  infer_class->default_fit = MO_FIT_CROP;
  infer_class->get_regions =
      GST_DEBUG_FUNCPTR (gst_mobile_one_classify_get_regions);
  infer_class->decode = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_decode);
  infer_class->attach = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_attach);
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

/* The frame, or the upstream regions of the selected labels, in the order
 * attach() meets them. */
static guint
gst_mobile_one_classify_get_regions (GstMobileOneInfer * infer,
    GstVideoFrame * frame, const MoRect ** rects)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0;

  *rects = self->rects;
  if (!gst_mobile_one_infer_has_object_class (infer)) {
    MoRect whole = { 0, 0, GST_VIDEO_FRAME_WIDTH (frame),
      GST_VIDEO_FRAME_HEIGHT (frame)
    };

    self->rects[0] = self->results[0].rect = whole;
    self->results[0].roi_type = 0;
    self->n_results = 1;
    return 1;
  }
  while ((meta = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;

    if (!gst_mobile_one_infer_roi_selected (infer, roi->roi_type))
      continue;
    if (roi->w == 0 || roi->h == 0)
      continue;
    if (n == MAX_REGIONS) {
      if (!self->warned_regions)
        GST_WARNING_OBJECT (self, "more than %d regions in a frame: "
            "classifying the first %d", MAX_REGIONS, MAX_REGIONS);
      self->warned_regions = TRUE;
      break;
    }
    self->rects[n].x = roi->x;
    self->rects[n].y = roi->y;
    self->rects[n].w = roi->w;
    self->rects[n].h = roi->h;
    self->results[n].rect = self->rects[n];
    self->results[n].roi_type = roi->roi_type;
    n++;
  }
  self->n_results = n;
  return n;
}

static gboolean
gst_mobile_one_classify_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  const MoOutput *logits =
      mo_session_output (gst_mobile_one_infer_get_session (infer), "logits");

  mo_classifier_topk (logits->data, logits->c, 1, &self->results[index].best);
  return TRUE;
}

static GstStructure *
classification (GstMobileOneClassify * self, const MoClass * best,
    gboolean repeated)
{
  gchar **labels = gst_mobile_one_infer_get_labels (GST_MOBILE_ONE_INFER
      (self));

  return gst_structure_new ("classification",
      "label_id", G_TYPE_INT, best->label,
      "label", G_TYPE_STRING, labels[best->label],
      "confidence", G_TYPE_DOUBLE, (gdouble) best->score,
      "repeated", G_TYPE_BOOLEAN, repeated, NULL);
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

/* Adds @r to @message's classifications, with its region. */
static void
add_to_message (GValue * list, const GstStructure * c, const MoRect * rect)
{
  GValue v = G_VALUE_INIT;
  GstStructure *s = gst_structure_copy (c);

  gst_structure_set (s,
      "x", G_TYPE_INT, (gint) rect->x,
      "y", G_TYPE_INT, (gint) rect->y,
      "width", G_TYPE_INT, (gint) rect->w,
      "height", G_TYPE_INT, (gint) rect->h, NULL);
  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, s);
  gst_value_array_append_and_take_value (list, &v);
}

static GstFlowReturn
gst_mobile_one_classify_attach (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean repeated, GstStructure * message)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  GstBuffer *buf = frame->buffer;
  GValue list = G_VALUE_INIT;
  gdouble threshold;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  GST_OBJECT_UNLOCK (self);

  if (message)
    g_value_init (&list, GST_TYPE_ARRAY);

  if (!gst_mobile_one_infer_has_object_class (infer)) {
    /* The whole frame: one region covering it, labelled with the class. */
    const Result *r = &self->results[0];
    GstVideoRegionOfInterestMeta *roi;
    GstStructure *c;

    if (self->n_results == 0)
      goto done;
    c = classification (self, &r->best, repeated);
    if (message)
      add_to_message (&list, c, &r->rect);
    if (r->best.score < threshold) {
      gst_structure_free (c);
      goto done;
    }
    roi = gst_buffer_add_video_region_of_interest_meta_id (buf,
        gst_mobile_one_infer_get_label_quark (infer, r->best.label), 0, 0,
        GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame));
    gst_video_region_of_interest_meta_add_param (roi, c);
    goto done;
  }

  /* Upstream regions of the selected labels: on an inferred frame the nth
   * is the nth get_regions() found, in between the best overlap. */
  {
    gpointer state = NULL;
    GstMeta *meta;
    guint n = 0;

    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
      MoRect rect = { roi->x, roi->y, roi->w, roi->h };
      const Result *r;
      GstStructure *c;

      if (!gst_mobile_one_infer_roi_selected (infer, roi->roi_type))
        continue;
      if (roi->w == 0 || roi->h == 0)
        continue;
      if (!repeated) {
        if (n == self->n_results)
          break;
        r = &self->results[n++];
      } else {
        r = match (self, &rect, roi->roi_type);
      }
      if (r == NULL)
        continue;
      c = classification (self, &r->best, repeated);
      if (message)
        add_to_message (&list, c, &rect);
      if (r->best.score >= threshold)
        gst_video_region_of_interest_meta_add_param (roi, c);
      else
        gst_structure_free (c);
    }
  }

done:
  if (message)
    gst_structure_take_value (message, "classifications", &list);
  return GST_FLOW_OK;
}
