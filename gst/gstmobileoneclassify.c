/**
 * SECTION:element-mobileoneclassify
 * @title: mobileoneclassify
 *
 * Classifies video frames, or the regions of interest found upstream
 * (typically by mobileonedetect), with a MobileOne classifier.
 *
 * What it classifies (#GstMobileOneClassify:inference-region): the whole
 * frame, or each upstream #GstVideoRegionOfInterestMeta (all of them, or
 * those whose label #GstMobileOneInfer:object-class names), at most
 * #GstMobileOneClassify:max-regions per frame. The default, auto, keeps the
 * old rule: regions when object-class is set, else the frame. A region is
 * cut out of the frame and resized like a frame; one partly outside the
 * frame is clipped to it (the part inside is classified), one wholly
 * outside or empty is skipped. The regions of one frame run as one batch,
 * spread over the element's threads one region per thread; results equal
 * classifying each region alone, bit for bit.
 *
 * Each result is a structure: label_id (int), label (string), confidence
 * (double), repeated (boolean: TRUE when it was not computed on this frame:
 * between two inferences with #GstMobileOneInfer:inference-interval, or
 * carried on a track with #GstMobileOneClassify:reclassify-interval), model
 * (string, the model's name) and element (string, this element's name). It
 * is named #GstMobileOneClassify:result-name ("classification" unless set),
 * so that several classifiers coexist: when a region already carries a
 * result of that name from another element and result-name is unset, the
 * result takes this element's name instead (set result-name for names that
 * never change). Results below #GstMobileOneClassify:threshold are neither
 * attached nor posted.
 *
 * A region's result is a param of its #GstVideoRegionOfInterestMeta. The
 * whole frame's is frame-level metadata, not a region: a #GstCustomMeta
 * named "GstMobileOneClassificationMeta" with one field per classifier
 * (see gstmobileonemeta.h); with #GstMobileOneClassify:frame-roi it is also
 * attached as a region covering the frame, as before.
 *
 * With mobileonetrack upstream, #GstMobileOneClassify:reclassify-interval=N
 * classifies a tracked object (a region with a "tracking" param) once and
 * then every N frames; in between the region gets its track's last result,
 * marked repeated, like DL Streamer's gvaclassify reclassify-interval.
 *
 * #GstMobileOneInfer:fit defaults to crop, ImageNet's evaluation
 * pre-processing, like mobileone-cli image.
 *
 * Built against GStreamer >= 1.24 it also attaches a GstAnalytics ClsMtd
 * per result, related to the region's ODMtd when it classified a region
 * (one is added for a region an upstream element attached as an ROI meta
 * alone).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! mobileoneclassify model=tests/data/k1-fused.yaml post-messages=true ! fakesink
 * ]| Classifies each frame and posts the result on the bus.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonedetect ! mobileoneclassify model=colour.yaml object-class=car ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Classifies the cars found by the detector.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonedetect ! mobileonetrack ! mobileoneclassify model=colour.yaml inference-region=roi-list reclassify-interval=10 result-name=colour ! mobileoneclassify model=type.yaml inference-region=roi-list result-name=type ! fakesink
 * ]| Two classifiers on every tracked object; colours are recomputed every
 * tenth frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneclassify.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileonemeta.h"
#include "gstmobileoneroi.h"
#include "mo-classifier.h"

#include <math.h>
#include <string.h>

/* One region of the frame being classified, in the order of the buffer's
 * region metas. */
typedef struct
{
  MoRect rect;                  /* clipped to the frame, frame pixels */
  GQuark roi_type;
  gint track_id;                /* -1: not tracked */
  MoClass best;
  gboolean valid;               /* best holds a result */
  gboolean ran;                 /* computed on that frame (not a track's) */
} Item;

/* The last result of a tracked object (reclassify-interval). */
typedef struct
{
  gint track_id;                /* -1: a free slot */
  MoClass best;
  guint64 classified;           /* frame number of the result */
  guint64 seen;                 /* last frame the track was met */
} Track;

struct _GstMobileOneClassify
{
  GstMobileOneInfer parent;

  /* properties, under the object lock */
  gdouble threshold;
  gchar *result_name;
  gboolean frame_roi;
  GstMobileOneInferenceRegion inference_region;
  guint max_regions;
  guint reclassify_interval;

  /* from setup() to teardown(): tables sized once, so no frame allocates */
  gboolean whole;               /* classify the frame, not regions */
  guint capacity;               /* max-regions at setup */
  Item *items;
  guint n_items;
  MoRect *rects;                /* the regions run, for the base class */
  guint *run_items;             /* the item of each region run */
  Track *tracks;
  guint n_tracks;               /* slots of tracks */
  GQuark name;                  /* result-name, or "classification" */
  gboolean name_set;            /* result-name was set: never renamed */
  GQuark own_name;              /* this element's name */
  gchar *model_name;
  guint64 frame_no;
  gboolean warned_regions;
  gboolean warned_name;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_classify_debug);
#define GST_CAT_DEFAULT gst_mobile_one_classify_debug

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_RESULT_NAME,
  PROP_FRAME_ROI,
  PROP_INFERENCE_REGION,
  PROP_MAX_REGIONS,
  PROP_RECLASSIFY_INTERVAL,
};

#define DEFAULT_THRESHOLD 0.0
#define DEFAULT_RESULT_NAME NULL
#define DEFAULT_FRAME_ROI FALSE
#define DEFAULT_INFERENCE_REGION GST_MOBILE_ONE_INFERENCE_REGION_AUTO
#define DEFAULT_MAX_REGIONS 256
#define DEFAULT_RECLASSIFY_INTERVAL 1
#define DEFAULT_MODEL "mobileone-s0-imagenet.yaml"

/* The result's structure name unless result-name says otherwise. */
#define CLASSIFICATION "classification"

/* Between inferences a region takes the result of the last inferred region
 * of its label that it overlaps this much. */
#define MATCH_IOU 0.5

#define gst_mobile_one_classify_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneClassify, gst_mobile_one_classify,
    GST_TYPE_MOBILE_ONE_INFER);
GST_ELEMENT_REGISTER_DEFINE (mobileoneclassify, "mobileoneclassify",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_CLASSIFY);

GType
gst_mobile_one_inference_region_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILE_ONE_INFERENCE_REGION_AUTO, "The upstream regions when "
          "object-class is set, else the whole frame", "auto"},
    {GST_MOBILE_ONE_INFERENCE_REGION_FULL_FRAME, "The whole frame",
        "full-frame"},
    {GST_MOBILE_ONE_INFERENCE_REGION_ROI_LIST, "Every upstream region of "
          "interest (of the object-class labels when set)", "roi-list"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOneInferenceRegion", values);

    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_mobile_one_classify_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_classify_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_classify_finalize (GObject * object);
static gboolean gst_mobile_one_classify_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_mobile_one_classify_setup (GstMobileOneInfer * infer,
    GError ** error);
static void gst_mobile_one_classify_teardown (GstMobileOneInfer * infer);
static guint gst_mobile_one_classify_get_regions (GstMobileOneInfer * infer,
    GstVideoFrame * frame, const MoRect ** rects);
static void gst_mobile_one_classify_decode_region (GstMobileOneInfer * infer,
    guint index, const MoSession * outputs, const MoTransform * xf);
static GstFlowReturn gst_mobile_one_classify_attach (GstMobileOneInfer *
    infer, GstVideoFrame * frame, gboolean repeated, GstStructure * message);

static void
gst_mobile_one_classify_class_init (GstMobileOneClassifyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstMobileOneInferClass *infer_class = GST_MOBILE_ONE_INFER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_classify_debug, "mobileoneclassify",
      0, "MobileOne classification");

  gobject_class->set_property = gst_mobile_one_classify_set_property;
  gobject_class->get_property = gst_mobile_one_classify_get_property;
  gobject_class->finalize = gst_mobile_one_classify_finalize;

  /**
   * GstMobileOneClassify:threshold:
   *
   * The smallest confidence (softmax probability) of a result that is
   * attached and posted; below it the frame or region gets no
   * classification.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Smallest confidence of a classification that is attached and "
          "posted", 0.0, 1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneClassify:result-name:
   *
   * The name of the result's structure (the region param, the field of
   * the frame-level meta, the key in mobileonepublish's JSON). Unset, it is
   * "classification", or this element's name when the region (or frame)
   * already has a "classification" from another element, so that several
   * classifiers on one region all stay reachable.
   */
  g_object_class_install_property (gobject_class, PROP_RESULT_NAME,
      g_param_spec_string ("result-name", "Result name",
          "Name of the result structure (unset: \"classification\", or the "
          "element's name when another classifier already used that)",
          DEFAULT_RESULT_NAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneClassify:frame-roi:
   *
   * Also attach a whole-frame classification as a
   * #GstVideoRegionOfInterestMeta covering the frame (labelled with the
   * class, the result as its param), as the element did before; it is
   * always attached as frame-level metadata.
   */
  g_object_class_install_property (gobject_class, PROP_FRAME_ROI,
      g_param_spec_boolean ("frame-roi", "Frame ROI",
          "Also attach a whole-frame classification as a region of interest "
          "covering the frame", DEFAULT_FRAME_ROI,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneClassify:inference-region:
   *
   * What is classified: the whole frame (full-frame), every upstream
   * region of interest, or those whose label object-class names
   * (roi-list), or, by default (auto), the regions when object-class is
   * set and the whole frame otherwise.
   */
  g_object_class_install_property (gobject_class, PROP_INFERENCE_REGION,
      g_param_spec_enum ("inference-region", "Inference region",
          "Classify the whole frame or the upstream regions (auto: the "
          "regions of object-class when set, else the frame)",
          GST_TYPE_MOBILE_ONE_INFERENCE_REGION, DEFAULT_INFERENCE_REGION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneClassify:max-regions:
   *
   * The most regions of one frame that get a classification: the first
   * ones in the buffer's order (mobileonedetect adds them most confident
   * first); the others get none and a warning is logged once.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_REGIONS,
      g_param_spec_uint ("max-regions", "Max regions",
          "Most regions of a frame classified (the first in the buffer's "
          "order)", 1, 4096, DEFAULT_MAX_REGIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneClassify:reclassify-interval:
   *
   * With a tracker upstream (mobileonetrack: regions with a "tracking"
   * param), classify a tracked object once and then only every Nth frame;
   * in between its region gets the track's last result, marked repeated.
   * 1 classifies every region on every inferred frame.
   */
  g_object_class_install_property (gobject_class, PROP_RECLASSIFY_INTERVAL,
      g_param_spec_uint ("reclassify-interval", "Reclassify interval",
          "Classify a tracked object every Nth frame and carry its last "
          "result in between (1 = every frame)", 1, G_MAXUINT,
          DEFAULT_RECLASSIFY_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "MobileOne classifier", "Filter/Analyzer/Video",
      "Classifies video frames or regions of interest with a MobileOne "
      "network", MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileoneclassify");

  trans_class->sink_event =
      GST_DEBUG_FUNCPTR (gst_mobile_one_classify_sink_event);

  gst_mobile_one_infer_class_install_object_class (infer_class,
      "Comma-separated labels (ASCII case ignored) of the upstream regions "
      "to classify (inference-region=auto or roi-list); empty = the whole "
      "frame (auto) or every region (roi-list); applies from the next frame");

  infer_class->head_type = "classifier";
  infer_class->default_model = DEFAULT_MODEL;
  infer_class->setup = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_setup);
  infer_class->teardown = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_teardown);
  infer_class->default_fit = MO_FIT_CROP;
  infer_class->get_regions =
      GST_DEBUG_FUNCPTR (gst_mobile_one_classify_get_regions);
  infer_class->decode_region =
      GST_DEBUG_FUNCPTR (gst_mobile_one_classify_decode_region);
  infer_class->attach = GST_DEBUG_FUNCPTR (gst_mobile_one_classify_attach);

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_INFERENCE_REGION, 0);
  gst_mobile_one_classification_meta_register ();
}

static void
gst_mobile_one_classify_init (GstMobileOneClassify * self)
{
  self->threshold = DEFAULT_THRESHOLD;
  self->result_name = g_strdup (DEFAULT_RESULT_NAME);
  self->frame_roi = DEFAULT_FRAME_ROI;
  self->inference_region = DEFAULT_INFERENCE_REGION;
  self->max_regions = DEFAULT_MAX_REGIONS;
  self->reclassify_interval = DEFAULT_RECLASSIFY_INTERVAL;
}

static void
gst_mobile_one_classify_finalize (GObject * object)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (object);

  g_free (self->result_name);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mobile_one_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (object);

  if (prop_id == GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS) {
    G_OBJECT_CLASS (parent_class)->set_property (object, prop_id, value,
        pspec);
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_RESULT_NAME:
      g_free (self->result_name);
      self->result_name = g_value_dup_string (value);
      break;
    case PROP_FRAME_ROI:
      self->frame_roi = g_value_get_boolean (value);
      break;
    case PROP_INFERENCE_REGION:
      self->inference_region = g_value_get_enum (value);
      break;
    case PROP_MAX_REGIONS:
      self->max_regions = g_value_get_uint (value);
      break;
    case PROP_RECLASSIFY_INTERVAL:
      self->reclassify_interval = g_value_get_uint (value);
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

  if (prop_id == GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS) {
    G_OBJECT_CLASS (parent_class)->get_property (object, prop_id, value,
        pspec);
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_RESULT_NAME:
      g_value_set_string (value, self->result_name);
      break;
    case PROP_FRAME_ROI:
      g_value_set_boolean (value, self->frame_roi);
      break;
    case PROP_INFERENCE_REGION:
      g_value_set_enum (value, self->inference_region);
      break;
    case PROP_MAX_REGIONS:
      g_value_set_uint (value, self->max_regions);
      break;
    case PROP_RECLASSIFY_INTERVAL:
      g_value_set_uint (value, self->reclassify_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
forget_tracks (GstMobileOneClassify * self)
{
  for (guint i = 0; i < self->n_tracks; i++)
    self->tracks[i].track_id = -1;
}

static gboolean
gst_mobile_one_classify_sink_event (GstBaseTransform * trans,
    GstEvent * event)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (trans);

  /* Track ids start again after these (mobileonetrack). */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP
      || GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
    forget_tracks (self);
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_mobile_one_classify_setup (GstMobileOneInfer * infer, GError ** error)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  MoSession *session = gst_mobile_one_infer_get_session (infer);
  const MoOutput *logits = mo_session_output (session, "logits");
  GstMobileOneInferenceRegion region;
  gchar *name;

  if (logits == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: the model has no "
        "'logits' output", gst_mobile_one_infer_get_desc (infer)->path);
    return FALSE;
  }
  gst_mobile_one_infer_set_num_classes (infer, logits->c);

  GST_OBJECT_LOCK (self);
  region = self->inference_region;
  self->capacity = self->max_regions;
  self->name_set = self->result_name != NULL && self->result_name[0] != '\0';
  self->name = g_quark_from_string (self->name_set ? self->result_name :
      CLASSIFICATION);
  GST_OBJECT_UNLOCK (self);

  self->whole = region == GST_MOBILE_ONE_INFERENCE_REGION_FULL_FRAME
      || (region == GST_MOBILE_ONE_INFERENCE_REGION_AUTO
      && !gst_mobile_one_infer_has_object_class (infer));
  if (region == GST_MOBILE_ONE_INFERENCE_REGION_FULL_FRAME
      && gst_mobile_one_infer_has_object_class (infer))
    GST_WARNING_OBJECT (self, "object-class is ignored with "
        "inference-region=full-frame");
  self->items = g_new0 (Item, self->capacity);
  self->rects = g_new0 (MoRect, self->capacity);
  self->run_items = g_new0 (guint, self->capacity);
  /* Room for the tracks of two frames: ones that left are replaced. */
  self->n_tracks = 2 * self->capacity;
  self->tracks = g_new0 (Track, self->n_tracks);
  forget_tracks (self);
  name = gst_object_get_name (GST_OBJECT (self));
  self->own_name = g_quark_from_string (name);
  g_free (name);
  self->model_name = g_strdup (gst_mobile_one_infer_get_desc (infer)->name);
  self->n_items = 0;
  self->frame_no = 0;
  self->warned_regions = FALSE;
  self->warned_name = FALSE;
  return TRUE;
}

static void
gst_mobile_one_classify_teardown (GstMobileOneInfer * infer)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);

  g_clear_pointer (&self->items, g_free);
  g_clear_pointer (&self->rects, g_free);
  g_clear_pointer (&self->run_items, g_free);
  g_clear_pointer (&self->tracks, g_free);
  g_clear_pointer (&self->model_name, g_free);
  self->n_tracks = 0;
  self->n_items = 0;
}

/* Whether upstream region @roi is classified, and the part of it inside
 * the @width x @height frame in *@rect: a region partly outside is
 * clipped, one wholly outside or empty is skipped. The meta's x and y are
 * unsigned: a producer's negative int (left of or above the frame) reads
 * as one again. */
static gboolean
region_of (GstMobileOneClassify * self, GstVideoRegionOfInterestMeta * roi,
    gint width, gint height, MoRect * rect)
{
  gint64 x = (gint) roi->x, y = (gint) roi->y;
  gint64 x0 = MAX (x, 0), y0 = MAX (y, 0);
  gint64 x1 = MIN (x + roi->w, width);
  gint64 y1 = MIN (y + roi->h, height);

  if (!gst_mobile_one_infer_roi_selected (GST_MOBILE_ONE_INFER (self),
          roi->roi_type))
    return FALSE;
  if (x1 <= x0 || y1 <= y0)
    return FALSE;
  rect->x = x0;
  rect->y = y0;
  rect->w = x1 - x0;
  rect->h = y1 - y0;
  return TRUE;
}

/* The id mobileonetrack gave @roi's object, or -1. */
static gint
track_id_of (GstVideoRegionOfInterestMeta * roi)
{
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi,
      "tracking");
  gint id;

  return s && gst_structure_get_int (s, "id", &id) && id >= 0 ? id : -1;
}

static Track *
track_find (GstMobileOneClassify * self, gint track_id)
{
  for (guint i = 0; i < self->n_tracks; i++)
    if (self->tracks[i].track_id == track_id)
      return &self->tracks[i];
  return NULL;
}

/* Keeps @it's result on its track, in a free slot or the one met longest
 * ago. */
static void
track_store (GstMobileOneClassify * self, const Item * it)
{
  Track *t = track_find (self, it->track_id);

  for (guint i = 0; t == NULL && i < self->n_tracks; i++)
    if (self->tracks[i].track_id < 0)
      t = &self->tracks[i];
  if (t == NULL) {
    t = &self->tracks[0];
    for (guint i = 1; i < self->n_tracks; i++)
      if (self->tracks[i].seen < t->seen)
        t = &self->tracks[i];
  }
  t->track_id = it->track_id;
  t->best = it->best;
  t->classified = t->seen = self->frame_no;
}

/* The frame, or the upstream regions, in the order attach() meets them;
 * tracked objects whose result is recent enough are not run again. */
static guint
gst_mobile_one_classify_get_regions (GstMobileOneInfer * infer,
    GstVideoFrame * frame, const MoRect ** rects)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gpointer state = NULL;
  GstMeta *meta;
  guint n_run = 0, reclassify;

  GST_OBJECT_LOCK (self);
  reclassify = self->reclassify_interval;
  GST_OBJECT_UNLOCK (self);

  *rects = self->rects;
  self->n_items = 0;
  if (self->whole) {
    Item *it = &self->items[0];
    MoRect all = { 0, 0, width, height };

    memset (it, 0, sizeof (*it));
    it->rect = self->rects[0] = all;
    it->track_id = -1;
    it->ran = TRUE;
    self->run_items[0] = 0;
    self->n_items = 1;
    return 1;
  }
  while ((meta = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    MoRect rect;
    Item *it;
    Track *t;

    if (!region_of (self, roi, width, height, &rect))
      continue;
    if (self->n_items == self->capacity) {
      if (!self->warned_regions)
        GST_WARNING_OBJECT (self, "more than %u regions in a frame: "
            "classifying the first %u (max-regions)", self->capacity,
            self->capacity);
      self->warned_regions = TRUE;
      break;
    }
    it = &self->items[self->n_items++];
    memset (it, 0, sizeof (*it));
    it->rect = rect;
    it->roi_type = roi->roi_type;
    it->track_id = track_id_of (roi);
    if (reclassify > 1 && it->track_id >= 0
        && (t = track_find (self, it->track_id)) != NULL
        && self->frame_no - t->classified < reclassify) {
      it->best = t->best;
      it->valid = TRUE;
      t->seen = self->frame_no;
      continue;
    }
    it->ran = TRUE;
    self->run_items[n_run] = self->n_items - 1;
    self->rects[n_run++] = rect;
  }
  return n_run;
}

/* With GstAnalytics, the result attached to @roi as a ClsMtd too: for a
 * region (@whole FALSE) related to the region's ODMtd, made when an
 * upstream element attached the ROI alone. */
static void
add_cls_mtd (GstMobileOneClassify * self, GstBuffer * buf,
    GstVideoRegionOfInterestMeta * roi, gboolean whole, const MoClass * best)
{
  GstMobileOneInfer *infer = GST_MOBILE_ONE_INFER (self);
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
}

/* On the session's threads, several regions at once: touches only its
 * own item. */
static void
gst_mobile_one_classify_decode_region (GstMobileOneInfer * infer,
    guint index, const MoSession * outputs, const MoTransform * xf)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  const MoOutput *logits = mo_session_output (outputs, "logits");
  Item *it = &self->items[self->run_items[index]];

  mo_classifier_topk (logits->data, logits->c, 1, &it->best);
  it->valid = TRUE;
}

static GstStructure *
make_result (GstMobileOneClassify * self, GQuark name, const MoClass * best,
    gboolean repeated)
{
  gchar **labels = gst_mobile_one_infer_get_labels (GST_MOBILE_ONE_INFER
      (self));

  return gst_structure_new (g_quark_to_string (name),
      "label_id", G_TYPE_INT, best->label,
      "label", G_TYPE_STRING, labels[best->label],
      "confidence", G_TYPE_DOUBLE, (gdouble) best->score,
      "repeated", G_TYPE_BOOLEAN, repeated,
      "model", G_TYPE_STRING, self->model_name,
      "element", G_TYPE_STRING, g_quark_to_string (self->own_name), NULL);
}

/* The name of this element's result beside @other, a result of the same
 * name already there (or NULL). */
static GQuark
result_name (GstMobileOneClassify * self, const GstStructure * other)
{
  if (self->name_set || other == NULL
      || g_strcmp0 (gst_structure_get_string (other, "element"),
          g_quark_to_string (self->own_name)) == 0)
    return self->name;
  if (!self->warned_name)
    GST_INFO_OBJECT (self, "another classifier's result is called '%s': "
        "naming this one's '%s' (set result-name to choose)",
        g_quark_to_string (self->name), g_quark_to_string (self->own_name));
  self->warned_name = TRUE;
  return self->own_name;
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

/* Between inferences: the last inferred region of @roi_type that overlaps
 * @rect most (at least MATCH_IOU). */
static const Item *
match (GstMobileOneClassify * self, const MoRect * rect, GQuark roi_type)
{
  const Item *best = NULL;
  gdouble best_iou = MATCH_IOU;

  for (guint i = 0; i < self->n_items; i++) {
    const Item *it = &self->items[i];
    gdouble v;

    if (!it->valid || it->roi_type != roi_type)
      continue;
    v = iou (rect, &it->rect);
    if (v >= best_iou) {
      best_iou = v;
      best = it;
    }
  }
  return best;
}

/* Adds result @c to the message's list, with its region and track id. */
static void
add_to_message (GValue * list, const GstStructure * c, const MoRect * rect,
    gint track_id)
{
  GValue v = G_VALUE_INIT;
  GstStructure *s = gst_structure_copy (c);

  gst_structure_set (s,
      "x", G_TYPE_INT, (gint) rect->x,
      "y", G_TYPE_INT, (gint) rect->y,
      "width", G_TYPE_INT, (gint) rect->w,
      "height", G_TYPE_INT, (gint) rect->h, NULL);
  if (track_id >= 0)
    gst_structure_set (s, "id", G_TYPE_INT, track_id, NULL);
  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, s);
  gst_value_array_append_and_take_value (list, &v);
}

/* The whole frame's result: frame-level metadata, and a region covering
 * the frame when frame-roi asks for one. */
static void
attach_whole (GstMobileOneClassify * self, GstVideoFrame * frame,
    const MoClass * best, gboolean repeated, gboolean frame_roi, GValue * list)
{
  GstBuffer *buf = frame->buffer;
  GQuark name = result_name (self,
      gst_buffer_get_mobile_one_classification (buf,
          g_quark_to_string (self->name)));
  GstStructure *c = make_result (self, name, best, repeated);

  if (list) {
    MoRect all = { 0, 0, GST_VIDEO_FRAME_WIDTH (frame),
      GST_VIDEO_FRAME_HEIGHT (frame)
    };

    add_to_message (list, c, &all, -1);
  }
  if (frame_roi) {
    GstVideoRegionOfInterestMeta *roi;
    /* An id no other region of the buffer has. */
    gint id = gst_mobile_one_roi_next_id (buf);

    roi = gst_buffer_add_video_region_of_interest_meta_id (buf,
        gst_mobile_one_infer_get_label_quark (GST_MOBILE_ONE_INFER (self),
            best->label), 0, 0, GST_VIDEO_FRAME_WIDTH (frame),
        GST_VIDEO_FRAME_HEIGHT (frame));
    roi->id = id;
    gst_video_region_of_interest_meta_add_param (roi, gst_structure_copy (c));
  }
  add_cls_mtd (self, buf, NULL, TRUE, best);
  gst_buffer_add_mobile_one_classification (buf, c);
}

static GstFlowReturn
gst_mobile_one_classify_attach (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean repeated, GstStructure * message)
{
  GstMobileOneClassify *self = GST_MOBILE_ONE_CLASSIFY (infer);
  GstBuffer *buf = frame->buffer;
  GValue list = G_VALUE_INIT;
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gpointer state = NULL;
  GstMeta *meta;
  gdouble threshold;
  gboolean frame_roi;
  guint k = 0;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  frame_roi = self->frame_roi;
  GST_OBJECT_UNLOCK (self);

  if (message)
    g_value_init (&list, GST_TYPE_ARRAY);

  if (self->whole) {
    const Item *it = &self->items[0];

    if (self->n_items == 1 && it->valid && it->best.score >= threshold)
      attach_whole (self, frame, &it->best, repeated, frame_roi,
          message ? &list : NULL);
    goto done;
  }

  /* Upstream regions: on an inferred frame the kth is the kth that
   * get_regions() kept; in between, its track's result or the best
   * overlap. */
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    const MoClass *best = NULL;
    gboolean rep = repeated;
    gint track_id = -1;
    GstStructure *c;
    MoRect rect;

    if (!region_of (self, roi, width, height, &rect))
      continue;
    if (!repeated) {
      const Item *it;

      if (k == self->n_items)
        break;
      it = &self->items[k++];
      if (!it->valid)
        continue;
      best = &it->best;
      rep = !it->ran;
      track_id = it->track_id;
      if (it->ran && track_id >= 0)
        track_store (self, it);
    } else {
      Track *t;
      const Item *it;

      track_id = track_id_of (roi);
      if (track_id >= 0 && (t = track_find (self, track_id)) != NULL) {
        t->seen = self->frame_no;
        best = &t->best;
      } else if ((it = match (self, &rect, roi->roi_type)) != NULL) {
        best = &it->best;
      }
    }
    if (best == NULL || best->score < threshold)
      continue;
    c = make_result (self, result_name (self,
            gst_video_region_of_interest_meta_get_param (roi,
                g_quark_to_string (self->name))), best, rep);
    if (message)
      add_to_message (&list, c, &rect, track_id);
    gst_video_region_of_interest_meta_add_param (roi, c);
    add_cls_mtd (self, buf, roi, FALSE, best);
  }

done:
  self->frame_no++;
  if (message)
    gst_structure_take_value (message, "classifications", &list);
  return GST_FLOW_OK;
}
