/**
 * SECTION:element-mobileonesegment
 * @title: mobileonesegment
 *
 * Semantic segmentation of video frames with a MobileOne DeepLabv3 model.
 * The pixels pass through unchanged; each frame gets a
 * #GstMobileOneMaskMeta: a class id per pixel of a map at the model's input
 * resolution (the part of it the frame fills, with letterbox) covering the
 * whole frame, with the number of classes and the labels. Class 0 is the
 * background. On the frames between two inferences
 * (#GstMobileOneInfer:inference-interval) the meta holds the last map with
 * its repeated field set. mobileoneoverlay blends the mask onto the picture and
 * mobileonemask turns it into a video stream. Built against GStreamer >=
 * 1.26 the frame also gets a GstAnalytics SegmentationMtd (semantic, region
 * ids = class ids) holding the same map, which carries a GRAY8
 * #GstVideoMeta.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! mobileonesegment ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Blends the mask of the installed default model onto the picture.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonesegment ! mobileonemask ! videoconvert ! x264enc tune=zerolatency ! rtph264pay ! udpsink host=127.0.0.1 port=5000
 * ]| Streams the masks of a camera.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonesegment.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileonemeta.h"
#include "mo-deeplab.h"

#include <string.h>

struct _GstMobileOneSegment
{
  GstMobileOneInfer parent;

  /* from setup() */
  GstBufferPool *pool;          /* class maps, input size */
  guint8 *scratch;              /* the argmax of the whole input */
  guint8 lut[MO_DEEPLAB_MAX_CLASSES];   /* object-class: kept id or 0 */
  guint64 *counts;              /* pixels per class of the last map */
  gint in_width, in_height;

  /* the last result */
  GstBuffer *mask;
  guint mask_width, mask_height;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_segment_debug);
#define GST_CAT_DEFAULT gst_mobile_one_segment_debug

#define DEFAULT_MODEL "shapes-segment.yaml"

#define gst_mobile_one_segment_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneSegment, gst_mobile_one_segment,
    GST_TYPE_MOBILE_ONE_INFER);
GST_ELEMENT_REGISTER_DEFINE (mobileonesegment, "mobileonesegment",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_SEGMENT);

static gboolean gst_mobile_one_segment_setup (GstMobileOneInfer * infer,
    GError ** error);
static void gst_mobile_one_segment_teardown (GstMobileOneInfer * infer);
static gboolean gst_mobile_one_segment_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf);
static GstFlowReturn gst_mobile_one_segment_attach (GstMobileOneInfer *
    infer, GstVideoFrame * frame, gboolean repeated, GstStructure * message);

/* object-class (the one property installed here) is the base class's. */
static void
gst_mobile_one_segment_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  G_OBJECT_CLASS (gst_mobile_one_segment_parent_class)->set_property (object,
      prop_id, value, pspec);
}

static void
gst_mobile_one_segment_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  G_OBJECT_CLASS (gst_mobile_one_segment_parent_class)->get_property (object,
      prop_id, value, pspec);
}

static void
gst_mobile_one_segment_class_init (GstMobileOneSegmentClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstMobileOneInferClass *infer_class = GST_MOBILE_ONE_INFER_CLASS (klass);

  gobject_class->set_property = gst_mobile_one_segment_set_property;
  gobject_class->get_property = gst_mobile_one_segment_get_property;

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_segment_debug, "mobileonesegment",
      0, "MobileOne semantic segmentation");

  gst_element_class_set_static_metadata (element_class,
      "MobileOne semantic segmentation", "Filter/Analyzer/Video",
      "Segments video frames with a MobileOne DeepLabv3 network and "
      "attaches a class mask", MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileonesegment");

  gst_mobile_one_infer_class_install_object_class (infer_class,
      "Comma-separated labels of the model (ASCII case ignored): the mask "
      "keeps these classes, other pixels become background (0); empty = all; "
      "applies from the next frame");

  infer_class->head_type = "deeplabv3";
  infer_class->default_model = DEFAULT_MODEL;
  infer_class->setup = GST_DEBUG_FUNCPTR (gst_mobile_one_segment_setup);
  infer_class->teardown = GST_DEBUG_FUNCPTR (gst_mobile_one_segment_teardown);
  infer_class->default_fit = MO_FIT_STRETCH;
  infer_class->object_class_is_output = TRUE;
  infer_class->decode = GST_DEBUG_FUNCPTR (gst_mobile_one_segment_decode);
  infer_class->attach = GST_DEBUG_FUNCPTR (gst_mobile_one_segment_attach);
}

static void
gst_mobile_one_segment_init (GstMobileOneSegment * self)
{
}

static gboolean
gst_mobile_one_segment_setup (GstMobileOneInfer * infer, GError ** error)
{
  GstMobileOneSegment *self = GST_MOBILE_ONE_SEGMENT (infer);
  MoSession *session = gst_mobile_one_infer_get_session (infer);
  const MoOutput *logits = mo_session_output (session, "logits");
  GstStructure *config;
  guint size;

  if (logits == NULL || logits->c > MO_DEEPLAB_MAX_CLASSES) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: the model has no "
        "'logits' output of at most %d classes",
        gst_mobile_one_infer_get_desc (infer)->path, MO_DEEPLAB_MAX_CLASSES);
    return FALSE;
  }
  gst_mobile_one_infer_set_num_classes (infer, logits->c);
  for (gint c = 0; c < MO_DEEPLAB_MAX_CLASSES; c++)
    self->lut[c] = gst_mobile_one_infer_class_selected (infer, c) ? c : 0;

  self->in_width = logits->w;
  self->in_height = logits->h;
  size = (guint) (logits->w * logits->h);
  self->scratch = g_malloc (size);
  self->counts = g_new0 (guint64, logits->c);

  /* Maps stay referenced by the metas of frames downstream: a pool hands
   * back those that are done instead of allocating one per frame. */
  self->pool = gst_buffer_pool_new ();
  config = gst_buffer_pool_get_config (self->pool);
  gst_buffer_pool_config_set_params (config, NULL, size, 2, 0);
  if (!gst_buffer_pool_set_config (self->pool, config)
      || !gst_buffer_pool_set_active (self->pool, TRUE)) {
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "could not start the mask "
        "buffer pool");
    return FALSE;
  }
  return TRUE;
}

static void
gst_mobile_one_segment_teardown (GstMobileOneInfer * infer)
{
  GstMobileOneSegment *self = GST_MOBILE_ONE_SEGMENT (infer);

  gst_clear_buffer (&self->mask);
  if (self->pool) {
    gst_buffer_pool_set_active (self->pool, FALSE);
    gst_clear_object (&self->pool);
  }
  g_clear_pointer (&self->scratch, g_free);
  g_clear_pointer (&self->counts, g_free);
}

static gboolean
gst_mobile_one_segment_decode (GstMobileOneInfer * infer,
    GstVideoFrame * frame, guint index, const MoTransform * xf)
{
  GstMobileOneSegment *self = GST_MOBILE_ONE_SEGMENT (infer);
  guint nc = gst_mobile_one_infer_get_num_classes (infer);
  const MoOutput *logits;
  GstBuffer *mask = NULL;
  GstMapInfo map;
  gint bx, by, bw, bh;

  logits = mo_session_output (gst_mobile_one_infer_get_session (infer),
      "logits");
  mo_deeplab_argmax (logits, self->scratch, logits->w);

  /* With letterbox, only the part of the input the frame fills. */
  bx = (gint) xf->dst.x;
  by = (gint) xf->dst.y;
  bw = (gint) xf->dst.w;
  bh = (gint) xf->dst.h;

  if (gst_buffer_pool_acquire_buffer (self->pool, &mask, NULL) != GST_FLOW_OK)
    goto no_buffer;
  /* What the GstAnalytics SegmentationMtd needs to know its layout. */
  {
    gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
    gint stride[GST_VIDEO_MAX_PLANES] = { bw };

    gst_buffer_add_video_meta_full (mask, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_FORMAT_GRAY8, (guint) bw, (guint) bh, 1, offset, stride);
  }
  if (!gst_buffer_map (mask, &map, GST_MAP_WRITE)) {
    gst_buffer_unref (mask);
    goto no_buffer;
  }
  memset (self->counts, 0, nc * sizeof (guint64));
  for (gint y = 0; y < bh; y++) {
    const guint8 *src = self->scratch + (gsize) (by + y) * logits->w + bx;
    guint8 *dst = map.data + (gsize) y * bw;

    for (gint x = 0; x < bw; x++) {
      guint8 c = self->lut[src[x]];

      dst[x] = c;
      self->counts[c]++;
    }
  }
  gst_buffer_unmap (mask, &map);

  gst_clear_buffer (&self->mask);
  self->mask = mask;
  self->mask_width = bw;
  self->mask_height = bh;
  return TRUE;

  /* ERRORS */
no_buffer:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED, (NULL),
        ("could not get a buffer for the mask"));
    return FALSE;
  }
}

static GstFlowReturn
gst_mobile_one_segment_attach (GstMobileOneInfer * infer,
    GstVideoFrame * frame, gboolean repeated, GstStructure * message)
{
  GstMobileOneSegment *self = GST_MOBILE_ONE_SEGMENT (infer);
  gchar **labels = gst_mobile_one_infer_get_labels (infer);
  guint nc = gst_mobile_one_infer_get_num_classes (infer);
  GstMobileOneMaskMeta *meta;

  if (self->mask == NULL)
    return GST_FLOW_OK;
  meta = gst_buffer_add_mobile_one_mask_meta (frame->buffer, self->mask,
      self->mask_width, self->mask_height, self->mask_width, 0, 0,
      GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame), nc,
      labels);
  if (meta != NULL)
    meta->repeated = repeated;
  gst_mobile_one_analytics_add_segmentation (frame->buffer, self->mask, nc,
      0, 0, GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame));

  if (message) {
    gdouble total = (gdouble) self->mask_width * self->mask_height;
    GValue array = G_VALUE_INIT;

    g_value_init (&array, GST_TYPE_ARRAY);
    for (guint c = 0; c < nc && total > 0; c++) {
      GValue v = G_VALUE_INIT;

      if (self->counts[c] == 0)
        continue;
      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, gst_structure_new ("class",
              "label_id", G_TYPE_INT, (gint) c,
              "label", G_TYPE_STRING, labels[c],
              "fraction", G_TYPE_DOUBLE, self->counts[c] / total, NULL));
      gst_value_array_append_and_take_value (&array, &v);
    }
    gst_structure_set (message,
        "width", G_TYPE_INT, (gint) self->mask_width,
        "height", G_TYPE_INT, (gint) self->mask_height, NULL);
    gst_structure_take_value (message, "classes", &array);
  }
  return GST_FLOW_OK;
}
