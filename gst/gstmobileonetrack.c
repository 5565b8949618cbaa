/**
 * SECTION:element-mobileonetrack
 * @title: mobileonetrack
 *
 * Gives every detected object a stable id across frames, like DL
 * Streamer's gvatrack, DeepStream's nvtracker or GStreamer's ioutracker. It
 * reads the #GstVideoRegionOfInterestMeta that mobileonedetect attaches
 * (those with a "detection" param), follows them with a SORT-style tracker
 * (a constant-velocity Kalman filter per object, optimal assignment by
 * intersection over union, one class never continuing another's track) and
 * writes the track id into the region's id and a "tracking" param: id (int),
 * age (uint, frames since the track started), hits (uint, detections of it)
 * and frames_since_detection (uint). A region whose object is not confirmed
 * yet (fewer than min-hits detections) gets id -1 and no "tracking" param.
 * Other regions (without a "detection" param) keep their id, unless a track
 * has it: then they get one above every id of the buffer, so that ids stay
 * unique and gst_buffer_get_video_region_of_interest_meta_id() finds the
 * tracked object.
 *
 * Built against GStreamer >= 1.24 it also attaches a GstAnalytics
 * TrackingMtd per confirmed object (tracking id = the track id, last seen =
 * the buffer's time on frames it was detected in; first seen is not kept),
 * related both ways (RELATE_TO) to the region's ODMtd. A frame without
 * regions but with ODMtds (an upstream detector of GStreamer's own) is
 * tracked from those; on such frames nothing is repeated or moved.
 *
 * On the frames between two inferences of mobileonedetect
 * (inference-interval), whose "detection" params say repeated=TRUE, the
 * tracker only predicts: the repeated regions move to where their tracks
 * are predicted to be instead of staying where they were last detected.
 *
 * Any caps; the pixels pass through untouched. The tracks live in
 * coordinates normalised to the frame, so they survive a change of
 * resolution. A flush or a new stream (stream-start) forgets every track and
 * the ids start again at 1.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball num-buffers=300 ! video/x-raw,width=320,height=240 ! mobileonedetect inference-interval=3 ! mobileonetrack ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Detects every third frame; between inferences the boxes move with their objects.
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! mobileonedetect ! mobileonetrack post-messages=true ! fakesink
 * ]| Posts the tracked objects of every frame on the bus.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonetrack.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileoneroi.h"
#include "mo-tracker.h"

#include <gst/video/video.h>
#include <math.h>

/* The most regions tracked per frame; further ones are left alone (id -1). */
#define MAX_REGIONS 1024

struct _GstMobileOneTrack
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  guint min_hits;
  guint max_age;
  gdouble iou_threshold;
  gdouble max_distance;
  guint max_tracks;
  gboolean post_messages;

  /* streaming state, from start() to stop() */
  MoTracker *tracker;
  gint width, height;
  /* this frame's regions and their detections */
  GstVideoRegionOfInterestMeta **rois;   /* NULL for an ODMtd */
  guint *ods;                   /* the regions' ODMtd ids, or GST_MOBILE_ONE_NO_MTD */
  MoTrackDetection *dets;
  /* the detections of the last fresh frame, to find the regions that
   * mobileonedetect repeats on the frames between inferences */
  MoTrackDetection *last;
  guint n_last;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_track_debug);
#define GST_CAT_DEFAULT gst_mobile_one_track_debug

enum
{
  PROP_0,
  PROP_MIN_HITS,
  PROP_MAX_AGE,
  PROP_IOU_THRESHOLD,
  PROP_MAX_DISTANCE,
  PROP_MAX_TRACKS,
  PROP_POST_MESSAGES,
};

#define DEFAULT_MIN_HITS 3
#define DEFAULT_MAX_AGE 30
#define DEFAULT_IOU_THRESHOLD 0.3
#define DEFAULT_MAX_DISTANCE 1.0
#define DEFAULT_MAX_TRACKS 256
#define DEFAULT_POST_MESSAGES FALSE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw(ANY)"));

#define gst_mobile_one_track_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneTrack, gst_mobile_one_track,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (mobileonetrack, "mobileonetrack",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_TRACK);

static void gst_mobile_one_track_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_track_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static gboolean gst_mobile_one_track_start (GstBaseTransform * trans);
static gboolean gst_mobile_one_track_stop (GstBaseTransform * trans);
static gboolean gst_mobile_one_track_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_mobile_one_track_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static GstFlowReturn gst_mobile_one_track_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);

static void
gst_mobile_one_track_class_init (GstMobileOneTrackClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_track_debug, "mobileonetrack", 0,
      "MobileOne object tracking");

  gobject_class->set_property = gst_mobile_one_track_set_property;
  gobject_class->get_property = gst_mobile_one_track_get_property;

  /**
   * GstMobileOneTrack:min-hits:
   *
   * An object gets its id at its min-hits-th detection; before that its
   * region has id -1.
   */
  g_object_class_install_property (gobject_class, PROP_MIN_HITS,
      g_param_spec_uint ("min-hits", "Min hits",
          "Detections of an object before it gets an id (its regions have "
          "id -1 until then)", 1, 1000, DEFAULT_MIN_HITS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneTrack:max-age:
   *
   * A track is forgotten after this many consecutive frames with fresh
   * detections that do not contain it (frames between two inferences do not
   * count); an object found again before that keeps its id.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_AGE,
      g_param_spec_uint ("max-age", "Max age",
          "Frames with fresh detections an object may be missing from and "
          "keep its id (frames between inferences do not count)", 0, 100000,
          DEFAULT_MAX_AGE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneTrack:iou-threshold:
   *
   * A detection may continue a track only when its box overlaps the track's
   * predicted box at least this much (intersection over union).
   */
  g_object_class_install_property (gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double ("iou-threshold", "IoU threshold",
          "Least overlap (intersection over union) of a detection with a "
          "track's predicted box for it to continue the track", 0.0, 1.0,
          DEFAULT_IOU_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneTrack:max-distance:
   *
   * Second stage, for the tracks and detections that the overlap left
   * unmatched: a detection may continue a track of its class whose centre
   * is less than this many times the track's size (the mean of its width
   * and height) away. It keeps the id of an object that comes out from
   * behind another only partly visible, or that moved further than its size
   * between two inferences. 0 turns the second stage off.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_DISTANCE,
      g_param_spec_double ("max-distance", "Max distance",
          "Second stage for what the overlap left unmatched: the farthest a "
          "detection's centre may be from a track's predicted centre, in "
          "track sizes (0 = off)", 0.0, 10.0, DEFAULT_MAX_DISTANCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneTrack:max-tracks:
   *
   * The most tracks (tentative ones included) at once; detections that
   * would start more are not tracked (id -1). At most 1024 regions per frame
   * are tracked.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_TRACKS,
      g_param_spec_uint ("max-tracks", "Max tracks",
          "The most objects tracked at once (more get id -1)", 1, 4096,
          DEFAULT_MAX_TRACKS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneTrack:post-messages:
   *
   * Post an element message named mobileonetrack for every frame, with
   * timestamp, stream-time, running-time, duration and "objects", an array
   * of "object" structures: id, label, x, y, width, height, age, hits,
   * frames_since_detection.
   */
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message with the tracked objects of every frame",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileOne object tracker", "Filter/Analyzer/Video",
      "Gives the detected regions of interest ids that stay with the "
      "objects across frames", MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileonetrack");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobile_one_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobile_one_track_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_mobile_one_track_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_mobile_one_track_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mobile_one_track_transform_ip);
}

static void
gst_mobile_one_track_init (GstMobileOneTrack * self)
{
  self->min_hits = DEFAULT_MIN_HITS;
  self->max_age = DEFAULT_MAX_AGE;
  self->iou_threshold = DEFAULT_IOU_THRESHOLD;
  self->max_distance = DEFAULT_MAX_DISTANCE;
  self->max_tracks = DEFAULT_MAX_TRACKS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  /* Only metas change: a buffer that is not writable is copied without
   * its memory. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_mobile_one_track_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MIN_HITS:
      self->min_hits = g_value_get_uint (value);
      break;
    case PROP_MAX_AGE:
      self->max_age = g_value_get_uint (value);
      break;
    case PROP_IOU_THRESHOLD:
      self->iou_threshold = g_value_get_double (value);
      break;
    case PROP_MAX_DISTANCE:
      self->max_distance = g_value_get_double (value);
      break;
    case PROP_MAX_TRACKS:
      self->max_tracks = g_value_get_uint (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_track_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MIN_HITS:
      g_value_set_uint (value, self->min_hits);
      break;
    case PROP_MAX_AGE:
      g_value_set_uint (value, self->max_age);
      break;
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->iou_threshold);
      break;
    case PROP_MAX_DISTANCE:
      g_value_set_double (value, self->max_distance);
      break;
    case PROP_MAX_TRACKS:
      g_value_set_uint (value, self->max_tracks);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobile_one_track_start (GstBaseTransform * trans)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (trans);
  guint max_tracks;

  GST_OBJECT_LOCK (self);
  max_tracks = self->max_tracks;
  GST_OBJECT_UNLOCK (self);

  self->tracker = mo_tracker_new (max_tracks, MAX_REGIONS);
  self->rois = g_new (GstVideoRegionOfInterestMeta *, MAX_REGIONS);
  self->ods = g_new (guint, MAX_REGIONS);
  self->dets = g_new (MoTrackDetection, MAX_REGIONS);
  self->last = g_new (MoTrackDetection, MAX_REGIONS);
  self->n_last = 0;
  self->width = self->height = 0;
  GST_DEBUG_OBJECT (self, "tracking up to %u objects", max_tracks);
  return TRUE;
}

static gboolean
gst_mobile_one_track_stop (GstBaseTransform * trans)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (trans);

  g_clear_pointer (&self->tracker, mo_tracker_free);
  g_clear_pointer (&self->rois, g_free);
  g_clear_pointer (&self->ods, g_free);
  g_clear_pointer (&self->dets, g_free);
  g_clear_pointer (&self->last, g_free);
  self->n_last = 0;
  return TRUE;
}

static gboolean
gst_mobile_one_track_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);
  gint w = 0, h = 0;

  /* Only the size matters, for regions without normalised coordinates and
   * for moving regions; the tracks themselves are normalised and go on. */
  gst_structure_get_int (s, "width", &w);
  gst_structure_get_int (s, "height", &h);
  self->width = w;
  self->height = h;
  GST_DEBUG_OBJECT (self, "frames of %dx%d", w, h);
  return TRUE;
}

static void
reset (GstMobileOneTrack * self)
{
  if (self->tracker)
    mo_tracker_reset (self->tracker);
  self->n_last = 0;
}

static gboolean
gst_mobile_one_track_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      GST_DEBUG_OBJECT (self, "%s: forgetting every track",
          GST_EVENT_TYPE_NAME (event));
      reset (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* The region's box normalised to the frame: the "detection" param's when it
 * has one, else the region's pixels over the frame size. */
static void
region_box (GstMobileOneTrack * self, GstVideoRegionOfInterestMeta * roi,
    const GstStructure * det, double box[4])
{
  static const gchar *fields[4] = { "x_min", "y_min", "x_max", "y_max" };
  double sx = self->width > 0 ? 1.0 / self->width : 1.0;
  double sy = self->height > 0 ? 1.0 / self->height : 1.0;
  gboolean have = TRUE;

  for (int i = 0; i < 4 && have; i++)
    have = gst_structure_get_double (det, fields[i], &box[i]);
  if (!have) {
    box[0] = roi->x * sx;
    box[1] = roi->y * sy;
    box[2] = (roi->x + roi->w) * sx;
    box[3] = (roi->y + roi->h) * sy;
  }
  box[2] = MAX (box[2], box[0]);
  box[3] = MAX (box[3], box[1]);
}

/* The regions with a "detection" param into self->rois / self->dets;
 * *repeated is set when any of them says it repeats an older inference. */
static guint
collect (GstMobileOneTrack * self, GstBuffer * buf, gboolean * repeated)
{
  GstMobileOneRoi roi;
  gpointer state = NULL;
  guint n = 0, skipped = 0;

  *repeated = FALSE;
  while (gst_mobile_one_roi_next (buf, &state, &roi)) {
    if (roi.detection == NULL)
      continue;
    if (n == MAX_REGIONS) {
      roi.meta->id = -1;
      skipped++;
      continue;
    }
    if (roi.repeated)
      *repeated = TRUE;
    self->rois[n] = roi.meta;
    /* Before the region moves or takes the track id into roi->id. */
    self->ods[n] = gst_mobile_one_analytics_find_detection (buf,
        (guint) roi.meta->id, roi.meta->roi_type, (gint) roi.meta->x,
        (gint) roi.meta->y, (gint) roi.meta->w, (gint) roi.meta->h);
    region_box (self, roi.meta, roi.detection, self->dets[n].box);
    /* The label's quark: one class never continues another's track. */
    self->dets[n].label = (gint) roi.meta->roi_type;
    n++;
  }
  /* No regions of a detector: the GstAnalytics ODMtds, if any. */
  if (n == 0 && skipped == 0) {
    GstMobileOneRegion r;
    double sx = self->width > 0 ? 1.0 / self->width : 1.0;
    double sy = self->height > 0 ? 1.0 / self->height : 1.0;

    state = NULL;
    while (gst_mobile_one_analytics_next_region (buf, &state, &r)) {
      if (n == MAX_REGIONS) {
        skipped++;
        continue;
      }
      self->rois[n] = NULL;
      self->ods[n] = r.id;
      self->dets[n].box[0] = r.x * sx;
      self->dets[n].box[1] = r.y * sy;
      self->dets[n].box[2] = (r.x + r.w) * sx;
      self->dets[n].box[3] = (r.y + r.h) * sy;
      self->dets[n].label = (gint) r.label;
      n++;
    }
  }
  if (skipped)
    GST_WARNING_OBJECT (self, "%u regions beyond %d not tracked", skipped,
        MAX_REGIONS);
  return n;
}

/* With GstAnalytics, the TrackingMtd of region @i, related to its ODMtd. */
static void
add_tracking_mtd (GstMobileOneTrack * self, GstBuffer * buf, guint i,
    const MoTrack * tr)
{
  GstClockTime seen = tr->since_detection == 0 ? GST_BUFFER_PTS (buf) :
      GST_CLOCK_TIME_NONE;

  if (tr->id <= 0)
    return;
  gst_mobile_one_analytics_add_tracking (buf, self->ods[i], (guint64) tr->id,
      GST_CLOCK_TIME_NONE, seen, FALSE);
}

static gboolean
same_detection (const MoTrackDetection * a, const MoTrackDetection * b)
{
  return a->label == b->label && fabs (a->box[0] - b->box[0]) < 1e-9
      && fabs (a->box[1] - b->box[1]) < 1e-9
      && fabs (a->box[2] - b->box[2]) < 1e-9
      && fabs (a->box[3] - b->box[3]) < 1e-9;
}

/* The track of region @i of a repeated frame: that of the same detection
 * of the last fresh frame (same place in the list, or else anywhere). */
static const MoTrack *
repeated_track (GstMobileOneTrack * self, guint i)
{
  if (i < self->n_last && same_detection (&self->dets[i], &self->last[i]))
    return mo_tracker_detection_track (self->tracker, i);
  for (guint j = 0; j < self->n_last; j++) {
    if (same_detection (&self->dets[i], &self->last[j]))
      return mo_tracker_detection_track (self->tracker, j);
  }
  return NULL;
}

/* Moves region @roi and its "detection" box to the track's box. */
static void
move_region (GstMobileOneTrack * self, GstVideoRegionOfInterestMeta * roi,
    const MoTrack * tr)
{
  GstStructure *det = gst_video_region_of_interest_meta_get_param (roi,
      "detection");
  double b[4];

  for (int k = 0; k < 4; k++)
    b[k] = CLAMP (tr->box[k], 0.0, 1.0);
  if (self->width > 0 && self->height > 0) {
    guint x0 = (guint) lround (b[0] * self->width);
    guint y0 = (guint) lround (b[1] * self->height);
    guint x1 = (guint) lround (b[2] * self->width);
    guint y1 = (guint) lround (b[3] * self->height);

    roi->x = x0;
    roi->y = y0;
    roi->w = x1 - x0;
    roi->h = y1 - y0;
  }
  if (det && gst_structure_has_field (det, "x_min"))
    gst_structure_set (det, "x_min", G_TYPE_DOUBLE, b[0],
        "y_min", G_TYPE_DOUBLE, b[1], "x_max", G_TYPE_DOUBLE, b[2],
        "y_max", G_TYPE_DOUBLE, b[3], NULL);
}

static void
label_region (GstVideoRegionOfInterestMeta * roi, const MoTrack * tr)
{
  GstStructure *s;

  if (tr == NULL || tr->id <= 0) {
    roi->id = -1;
    return;
  }
  roi->id = tr->id;
  s = gst_video_region_of_interest_meta_get_param (roi, "tracking");
  if (s == NULL) {
    s = gst_structure_new_empty ("tracking");
    gst_video_region_of_interest_meta_add_param (roi, s);
  }
  gst_structure_set (s, "id", G_TYPE_INT, tr->id,
      "age", G_TYPE_UINT, tr->age, "hits", G_TYPE_UINT, tr->hits,
      "frames_since_detection", G_TYPE_UINT, tr->since_detection, NULL);
}

/* The track ids are stable per object, so a region of @buf that is not
 * tracked (no "detection" param: an upstream classifier's, say) and has the
 * id of one of the @n tracked regions moves to an id above all of them;
 * ids stay unique in the buffer. */
static void
keep_ids_unique (GstMobileOneTrack * self, GstBuffer * buf, guint n)
{
  GstMobileOneRoi roi;
  gpointer state = NULL;
  gint next = -1;

  while (gst_mobile_one_roi_next (buf, &state, &roi)) {
    if (roi.detection != NULL || roi.meta->id < 0)
      continue;
    for (guint i = 0; i < n; i++) {
      if (self->rois[i]->id != roi.meta->id)
        continue;
      if (next < 0)
        next = gst_mobile_one_roi_next_id (buf);
      GST_DEBUG_OBJECT (self, "region id %d is a track's: now %d",
          roi.meta->id, next);
      roi.meta->id = next++;
      break;
    }
  }
}

static void
post_objects (GstMobileOneTrack * self, GstBuffer * buf, guint n)
{
  GstSegment *segment = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime ts = GST_BUFFER_PTS (buf);
  GValue array = G_VALUE_INIT;
  GstStructure *s;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (guint i = 0; i < n; i++) {
    GstVideoRegionOfInterestMeta *roi = self->rois[i];
    GstStructure *t;
    GValue v = G_VALUE_INIT;
    guint age = 0, hits = 0, since = 0;

    /* An ODMtd's track is only in its TrackingMtd. */
    if (roi == NULL)
      continue;
    t = gst_video_region_of_interest_meta_get_param (roi, "tracking");
    if (roi->id < 0 || t == NULL)
      continue;
    gst_structure_get_uint (t, "age", &age);
    gst_structure_get_uint (t, "hits", &hits);
    gst_structure_get_uint (t, "frames_since_detection", &since);
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("object",
            "id", G_TYPE_INT, roi->id,
            "label", G_TYPE_STRING, g_quark_to_string (roi->roi_type),
            "x", G_TYPE_UINT, roi->x, "y", G_TYPE_UINT, roi->y,
            "width", G_TYPE_UINT, roi->w, "height", G_TYPE_UINT, roi->h,
            "age", G_TYPE_UINT, age, "hits", G_TYPE_UINT, hits,
            "frames_since_detection", G_TYPE_UINT, since, NULL));
    gst_value_array_append_and_take_value (&array, &v);
  }
  s = gst_structure_new ("mobileonetrack",
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (segment,
          GST_FORMAT_TIME, ts),
      "running-time", G_TYPE_UINT64, gst_segment_to_running_time (segment,
          GST_FORMAT_TIME, ts),
      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buf), NULL);
  gst_structure_take_value (s, "objects", &array);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static GstFlowReturn
gst_mobile_one_track_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobileOneTrack *self = GST_MOBILE_ONE_TRACK (trans);
  MoTrackerParams params;
  gboolean repeated, post;
  guint n;

  if (self->tracker == NULL)
    goto not_started;

  GST_OBJECT_LOCK (self);
  params.min_hits = self->min_hits;
  params.max_age = self->max_age;
  params.iou_threshold = self->iou_threshold;
  params.max_distance = self->max_distance;
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  n = collect (self, buf, &repeated);
  if (repeated) {
    mo_tracker_predict (self->tracker);
    for (guint i = 0; i < n; i++) {
      const MoTrack *tr = repeated_track (self, i);

      if (tr)
        move_region (self, self->rois[i], tr);
      label_region (self->rois[i], tr);
      if (tr)
        add_tracking_mtd (self, buf, i, tr);
    }
  } else {
    mo_tracker_update (self->tracker, &params, self->dets, n);
    for (guint i = 0; i < n; i++) {
      const MoTrack *tr = mo_tracker_detection_track (self->tracker, i);

      if (self->rois[i] != NULL)
        label_region (self->rois[i], tr);
      if (tr)
        add_tracking_mtd (self, buf, i, tr);
    }
    memcpy (self->last, self->dets, n * sizeof (MoTrackDetection));
    self->n_last = n;
  }
  keep_ids_unique (self, buf, n);
  GST_LOG_OBJECT (self, "%u regions, %s", n, repeated ? "predicted" :
      "detected");
  if (post)
    post_objects (self, buf, n);
  return GST_FLOW_OK;

  /* ERRORS */
not_started:
  {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before the element started"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
}
