/**
 * SECTION:element-mobileonedetect
 * @title: mobileonedetect
 *
 * Detects objects in video frames with a MobileOne SSDLite model. The
 * pixels pass through unchanged; each detection becomes a
 * #GstVideoRegionOfInterestMeta in frame coordinates whose roi_type is the
 * label's quark, with a "detection" structure in its params: label_id
 * (int), label (string), confidence (double) and x_min, y_min, x_max, y_max
 * (doubles, the box normalised to the frame), the fields DL Streamer's
 * elements read, plus x, y, width, height (doubles, the box in frame
 * pixels) and repeated (boolean: TRUE on the frames between two inferences
 * with #GstMobileOneInfer:inference-interval, whose boxes are the last
 * inference's; a tracker uses it to tell fresh detections from kept ones).
 * With post-messages, the message's "detections" holds the same
 * structures.
 * Built against GStreamer >= 1.24 it also attaches a GstAnalytics ODMtd per
 * detection (object type = the label's quark, the same box and confidence),
 * which objectdetectionoverlay draws.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! mobileonedetect ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Detects with the installed default model and draws the boxes.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonedetect threshold=0.6 inference-interval=2 ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| A camera, inferring every second frame.
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! mobileonedetect post-messages=true ! mobileoneoverlay ! videoconvert ! x264enc ! mp4mux ! filesink location=out.mp4
 * ]| Annotates a file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonedetect.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileoneroi.h"
#include "mo-ssdlite.h"

#include <math.h>

/* The largest max-detections; also the size of the result tables. */
#define MAX_DETECTIONS 1000

typedef struct
{
  gdouble box[4];               /* x0, y0, x1, y1 in frame pixels */
  gint label;
  gfloat score;
} Detection;

struct _GstMobileOneDetect
{
  GstMobileOneInfer parent;

  /* properties, under the object lock */
  gdouble threshold;
  gdouble iou_threshold;
  guint max_detections;
  gchar *class_thresholds;
  gboolean class_thresholds_changed;

  /* from setup() */
  gdouble *thresholds;          /* by class: the model's, then the property's */
  gboolean have_thresholds;
  MoSsdPost *post;
  MoDetection *raw;             /* capacity entries */
  Detection *dets;              /* capacity entries, the kept results */
  guint capacity;
  guint n_dets;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_detect_debug);
#define GST_CAT_DEFAULT gst_mobile_one_detect_debug

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_IOU_THRESHOLD,
  PROP_MAX_DETECTIONS,
  PROP_CLASS_THRESHOLDS,
};

#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_IOU_THRESHOLD -1.0
#define DEFAULT_MAX_DETECTIONS 0
#define DEFAULT_CLASS_THRESHOLDS NULL
#define DEFAULT_MODEL "shapes-detect.yaml"

#define gst_mobile_one_detect_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneDetect, gst_mobile_one_detect,
    GST_TYPE_MOBILE_ONE_INFER);
GST_ELEMENT_REGISTER_DEFINE (mobileonedetect, "mobileonedetect",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_DETECT);

static void gst_mobile_one_detect_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_detect_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_detect_finalize (GObject * object);
static gboolean gst_mobile_one_detect_setup (GstMobileOneInfer * infer,
    GError ** error);
static void gst_mobile_one_detect_teardown (GstMobileOneInfer * infer);
static gboolean gst_mobile_one_detect_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf);
static GstFlowReturn gst_mobile_one_detect_attach (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean repeated, GstStructure * message);

static void
gst_mobile_one_detect_class_init (GstMobileOneDetectClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstMobileOneInferClass *infer_class = GST_MOBILE_ONE_INFER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_detect_debug, "mobileonedetect", 0,
      "MobileOne object detection");

  gobject_class->set_property = gst_mobile_one_detect_set_property;
  gobject_class->get_property = gst_mobile_one_detect_get_property;
  gobject_class->finalize = gst_mobile_one_detect_finalize;

  /**
   * GstMobileOneDetect:threshold:
   *
   * Keep detections whose confidence is above this. -1 uses the model's
   * head.score_threshold. Classes with a threshold of their own
   * (#GstMobileOneDetect:class-thresholds, the model's
   * head.class_thresholds) use theirs instead.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Keep detections with a confidence above this (-1 = the model's "
          "head.score_threshold)", -1.0, 1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneDetect:iou-threshold:
   *
   * Non-maximum suppression: of two boxes of one class that overlap more
   * than this (intersection over union), the less confident is dropped. -1
   * uses the model's head.nms_iou_threshold.
   */
  g_object_class_install_property (gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double ("iou-threshold", "IoU threshold",
          "Non-maximum suppression overlap (intersection over union) above "
          "which the less confident box is dropped (-1 = the model's "
          "head.nms_iou_threshold)", -1.0, 1.0, DEFAULT_IOU_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneDetect:max-detections:
   *
   * The most detections per frame, the most confident first. 0 uses the
   * model's head.max_detections.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_uint ("max-detections", "Max detections",
          "The most detections per frame (0 = the model's "
          "head.max_detections)", 0, MAX_DETECTIONS, DEFAULT_MAX_DETECTIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneDetect:class-thresholds:
   *
   * Thresholds of single classes, "label=value,..." (e.g.
   * "star=0.5,ball=0.2"): a detection of such a class is kept when its
   * confidence is above its own value instead of #GstMobileOneDetect:threshold.
   * Labels are matched like object-class (ASCII case ignored; a model
   * without a labels file has the class ids as labels). They apply over the model's head.class_thresholds, which in
   * turn apply over the global threshold. A label the model does not have
   * or a value outside (0, 1) gives a warning and is ignored. Changes apply
   * from the next frame.
   */
  g_object_class_install_property (gobject_class, PROP_CLASS_THRESHOLDS,
      g_param_spec_string ("class-thresholds", "Class thresholds",
          "Per-class thresholds as label=value pairs, e.g. "
          "\"star=0.5,ball=0.2\", over the model's head.class_thresholds "
          "and the global threshold (NULL = the model's)",
          DEFAULT_CLASS_THRESHOLDS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "MobileOne object detector", "Filter/Analyzer/Video",
      "Detects objects with a MobileOne SSDLite network and attaches "
      "regions of interest", MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileonedetect");

  gst_mobile_one_infer_class_install_object_class (infer_class,
      "Comma-separated labels of the model (ASCII case ignored): keep only "
      "detections of these classes, before max-detections cuts; empty = all; "
      "applies from the next frame");

  infer_class->head_type = "ssdlite";
  infer_class->default_model = DEFAULT_MODEL;
  infer_class->setup = GST_DEBUG_FUNCPTR (gst_mobile_one_detect_setup);
  infer_class->teardown = GST_DEBUG_FUNCPTR (gst_mobile_one_detect_teardown);
  infer_class->default_fit = MO_FIT_STRETCH;
  infer_class->object_class_is_output = TRUE;
  infer_class->decode = GST_DEBUG_FUNCPTR (gst_mobile_one_detect_decode);
  infer_class->attach = GST_DEBUG_FUNCPTR (gst_mobile_one_detect_attach);
}

static void
gst_mobile_one_detect_init (GstMobileOneDetect * self)
{
  self->threshold = DEFAULT_THRESHOLD;
  self->iou_threshold = DEFAULT_IOU_THRESHOLD;
  self->max_detections = DEFAULT_MAX_DETECTIONS;
  self->class_thresholds = g_strdup (DEFAULT_CLASS_THRESHOLDS);
}

static void
gst_mobile_one_detect_finalize (GObject * object)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (object);

  g_free (self->class_thresholds);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mobile_one_detect_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (object);

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
    case PROP_IOU_THRESHOLD:
      self->iou_threshold = g_value_get_double (value);
      break;
    case PROP_MAX_DETECTIONS:
      self->max_detections = g_value_get_uint (value);
      break;
    case PROP_CLASS_THRESHOLDS:
      g_free (self->class_thresholds);
      self->class_thresholds = g_value_dup_string (value);
      self->class_thresholds_changed = TRUE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_detect_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (object);

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
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->iou_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_uint (value, self->max_detections);
      break;
    case PROP_CLASS_THRESHOLDS:
      g_value_set_string (value, self->class_thresholds);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobile_one_detect_setup (GstMobileOneInfer * infer, GError ** error)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (infer);
  MoSession *session = gst_mobile_one_infer_get_session (infer);
  MoModel *model = mo_session_model (session);
  const MoSsdParams *params = mo_ssdlite_params (model);

  self->post = mo_ssdlite_post_new (session, 0, error);
  if (self->post == NULL)
    return FALSE;
  gst_mobile_one_infer_set_num_classes (infer,
      mo_ssdlite_num_classes (model));
  self->capacity = MAX (MAX_DETECTIONS, params->max_detections);
  self->raw = g_new (MoDetection, self->capacity);
  self->dets = g_new (Detection, self->capacity);
  self->n_dets = 0;
  self->thresholds = g_new0 (gdouble, mo_ssdlite_num_classes (model));
  GST_OBJECT_LOCK (self);
  self->class_thresholds_changed = TRUE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
gst_mobile_one_detect_teardown (GstMobileOneInfer * infer)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (infer);

  mo_ssdlite_post_free (self->post);
  self->post = NULL;
  g_clear_pointer (&self->raw, g_free);
  g_clear_pointer (&self->dets, g_free);
  g_clear_pointer (&self->thresholds, g_free);
  self->n_dets = 0;
}

/* self->thresholds from the model's head.class_thresholds and @text
 * ("label=value,..."); runs when the property changed, not per frame. */
static void
update_thresholds (GstMobileOneDetect * self, const gchar * text)
{
  GstMobileOneInfer *infer = GST_MOBILE_ONE_INFER (self);
  MoModel *model = mo_session_model (gst_mobile_one_infer_get_session (infer));
  const MoSsdParams *def = mo_ssdlite_params (model);
  guint k = (guint) mo_ssdlite_num_classes (model);
  gchar **labels = gst_mobile_one_infer_get_labels (infer);
  GString *bad = NULL;
  gchar **pairs;

  for (guint c = 0; c < k; c++)
    self->thresholds[c] = def->class_thresholds ? def->class_thresholds[c] :
        0.0;
  self->have_thresholds = def->class_thresholds != NULL;
  if (text == NULL)
    return;
  pairs = g_strsplit (text, ",", -1);
  for (guint i = 0; pairs[i] != NULL; i++) {
    gchar **kv = g_strsplit (pairs[i], "=", 2);
    gchar *end = NULL;
    gdouble t = 0.0;
    gint id = -1;

    g_strstrip (kv[0]);
    if (kv[0][0] == '\0' && kv[1] == NULL) {
      g_strfreev (kv);
      continue;
    }
    for (guint c = 1; c < k && id < 0; c++)
      if (g_ascii_strcasecmp (labels[c], kv[0]) == 0)
        id = (gint) c;
    if (kv[1] != NULL) {
      g_strstrip (kv[1]);
      t = g_ascii_strtod (kv[1], &end);
    }
    if (id < 0 || end == NULL || end == kv[1] || *end != '\0'
        || !(t > 0.0 && t < 1.0)) {
      if (bad == NULL)
        bad = g_string_new (NULL);
      g_string_append_printf (bad, "%s'%s'", bad->len ? ", " : "",
          g_strstrip (pairs[i]));
    } else {
      self->thresholds[id] = t;
      self->have_thresholds = TRUE;
    }
    g_strfreev (kv);
  }
  g_strfreev (pairs);
  if (bad) {
    GString *all = g_string_new (NULL);

    for (guint c = 1; c < k; c++)
      g_string_append_printf (all, "%s%s", c > 1 ? ", " : "", labels[c]);
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("class-thresholds: ignoring %s.", bad->str),
        ("each entry is label=value with a label of the model (ASCII case "
            "ignored) and a value in (0, 1); the labels are: %s", all->str));
    g_string_free (all, TRUE);
    g_string_free (bad, TRUE);
  }
}

/* The model's post-processing parameters with the properties applied, and
 * in *@max_out the most detections the frame keeps. The engine is asked
 * for all it finds (up to the capacity): object-class filters them first,
 * and only then are they cut to max-detections. */
static void
get_params (GstMobileOneDetect * self, MoSsdParams * params, guint * max_out)
{
  MoModel *model =
      mo_session_model (gst_mobile_one_infer_get_session (GST_MOBILE_ONE_INFER
          (self)));

  gchar *text = NULL;
  gboolean changed;

  *params = *mo_ssdlite_params (model);
  GST_OBJECT_LOCK (self);
  changed = self->class_thresholds_changed;
  if (changed) {
    text = g_strdup (self->class_thresholds);
    self->class_thresholds_changed = FALSE;
  }
  if (self->threshold >= 0)
    params->score_threshold = CLAMP (self->threshold, 1e-6, 1.0 - 1e-6);
  if (self->iou_threshold >= 0)
    params->nms_iou_threshold = MAX (self->iou_threshold, 1e-6);
  if (self->max_detections > 0)
    params->max_detections = (int) self->max_detections;
  GST_OBJECT_UNLOCK (self);
  *max_out = MIN ((guint) params->max_detections, self->capacity);
  params->max_detections = (int) self->capacity;
  if (changed) {
    update_thresholds (self, text);
    g_free (text);
  }
  params->class_thresholds = self->have_thresholds ? self->thresholds : NULL;
}

static gboolean
gst_mobile_one_detect_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (infer);
  MoSsdParams params;
  guint max_out;
  gint n;

  get_params (self, &params, &max_out);
  n = mo_ssdlite_post_run (self->post, &params, self->raw,
      (int) self->capacity);
  if (n < 0) {
    GST_WARNING_OBJECT (self, "invalid post-processing parameters");
    n = 0;
  }

  self->n_dets = 0;
  for (gint i = 0; i < n && self->n_dets < max_out; i++) {
    Detection *d = &self->dets[self->n_dets];

    if (!gst_mobile_one_infer_class_selected (infer, self->raw[i].label))
      continue;
    mo_ssdlite_detection_to_image (xf, &self->raw[i], d->box);
    d->box[0] = CLAMP (d->box[0], 0, GST_VIDEO_FRAME_WIDTH (frame));
    d->box[1] = CLAMP (d->box[1], 0, GST_VIDEO_FRAME_HEIGHT (frame));
    d->box[2] = CLAMP (d->box[2], d->box[0], GST_VIDEO_FRAME_WIDTH (frame));
    d->box[3] = CLAMP (d->box[3], d->box[1], GST_VIDEO_FRAME_HEIGHT (frame));
    d->label = self->raw[i].label;
    d->score = self->raw[i].score;
    self->n_dets++;
  }
  GST_LOG_OBJECT (self, "%u detections", self->n_dets);
  return TRUE;
}

static GstFlowReturn
gst_mobile_one_detect_attach (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean repeated, GstStructure * message)
{
  GstMobileOneDetect *self = GST_MOBILE_ONE_DETECT (infer);
  gchar **labels = gst_mobile_one_infer_get_labels (infer);
  gdouble fw = GST_VIDEO_FRAME_WIDTH (frame);
  gdouble fh = GST_VIDEO_FRAME_HEIGHT (frame);
  GValue array = G_VALUE_INIT;
  gint first_id = gst_mobile_one_roi_next_id (frame->buffer);

  if (message)
    g_value_init (&array, GST_TYPE_ARRAY);
  for (guint i = 0; i < self->n_dets; i++) {
    const Detection *d = &self->dets[i];
    GstVideoRegionOfInterestMeta *roi;
    GQuark label = gst_mobile_one_infer_get_label_quark (infer, d->label);
    GstStructure *s;
    guint x = (guint) lround (d->box[0]), y = (guint) lround (d->box[1]);
    guint x1 = (guint) lround (d->box[2]), y1 = (guint) lround (d->box[3]);

    /* One structure: the region's param and the message's entry. */
    s = gst_structure_new ("detection",
        "label_id", G_TYPE_INT, d->label,
        "label", G_TYPE_STRING, labels[d->label],
        "confidence", G_TYPE_DOUBLE, (gdouble) d->score,
        "x_min", G_TYPE_DOUBLE, d->box[0] / fw,
        "y_min", G_TYPE_DOUBLE, d->box[1] / fh,
        "x_max", G_TYPE_DOUBLE, d->box[2] / fw,
        "y_max", G_TYPE_DOUBLE, d->box[3] / fh,
        "x", G_TYPE_DOUBLE, d->box[0],
        "y", G_TYPE_DOUBLE, d->box[1],
        "width", G_TYPE_DOUBLE, d->box[2] - d->box[0],
        "height", G_TYPE_DOUBLE, d->box[3] - d->box[1],
        "repeated", G_TYPE_BOOLEAN, repeated, NULL);
    if (message) {
      GValue v = G_VALUE_INIT;

      g_value_init (&v, GST_TYPE_STRUCTURE);
      gst_value_set_structure (&v, s);
      gst_value_array_append_and_take_value (&array, &v);
    }
    roi = gst_buffer_add_video_region_of_interest_meta_id (frame->buffer,
        label, x, y, x1 - x, y1 - y);
    gst_mobile_one_analytics_add_detection (frame->buffer, label, (gint) x,
        (gint) y, (gint) (x1 - x), (gint) (y1 - y), d->score);
    roi->id = first_id + (gint) i;
    roi->parent_id = -1;
    gst_video_region_of_interest_meta_add_param (roi, s);
  }
  if (message)
    gst_structure_take_value (message, "detections", &array);
  return GST_FLOW_OK;
}
