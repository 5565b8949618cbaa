/**
 * SECTION:element-mobileonemask
 * @title: mobileonemask
 *
 * Turns the #GstMobileOneMaskMeta of each frame (mobileonesegment) into a
 * video frame of its own, for mask streaming or saving:
 *
 * * `GRAY8`: the class id of each pixel;
 * * `RGBA`: the class colours (those of mobileoneoverlay), the background
 *   (class 0) transparent;
 * * `RGB`: the class colours on black.
 *
 * The format is whatever downstream accepts, RGBA first. The frames have
 * the size of the incoming frames (#GstMobileOneMask:size "frame", each
 * pixel taking the class of the map cell it falls in) or of the map itself
 * ("mask", with a pixel aspect ratio that keeps the frame's shape). A frame
 * without a mask meta gives an all-background frame (zeros: class 0,
 * transparent or black), not an error. Timestamps are kept.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! mobileonesegment ! mobileonemask ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux ! filesink location=mask.mp4
 * ]| Encodes the masks as an H.264 video that players take. Keep the
 * `format=I420` caps filter: without it videoconvert hands x264enc the
 * closest format to RGBA, Y444, and x264enc writes High 4:4:4, which most
 * players and browsers refuse.
 * |[
 * gst-launch-1.0 filesrc location=in.jpg ! jpegdec ! videoconvert ! mobileonesegment ! mobileonemask size=mask ! video/x-raw,format=GRAY8 ! pngenc ! filesink location=classes.png
 * ]| Writes the class ids of a picture as an 8-bit PNG.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonemask.h"
#include "gstmobileonemeta.h"
#include "mo-palette.h"

#include <string.h>

struct _GstMobileOneMask
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  GstMobileOneMaskSize size;

  /* streaming */
  GstVideoInfo in_info;
  gboolean have_in_info;
  GstVideoInfo out_info;
  gboolean have_out_info;
  GstBufferPool *pool;
  guint8 palette[256][4];       /* RGBA per class, class 0 clear */
  gint *xmap;                   /* output column -> map column */
  gint xmap_len;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_mask_debug);
#define GST_CAT_DEFAULT gst_mobile_one_mask_debug

enum
{
  PROP_0,
  PROP_SIZE,
};

#define DEFAULT_SIZE GST_MOBILE_ONE_MASK_SIZE_FRAME

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_VIDEO_FORMATS_ALL)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE ("{ RGBA, RGB, GRAY8 }")));

#define gst_mobile_one_mask_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneMask, gst_mobile_one_mask, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (mobileonemask, "mobileonemask", GST_RANK_NONE,
    GST_TYPE_MOBILE_ONE_MASK);

GType
gst_mobile_one_mask_size_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILE_ONE_MASK_SIZE_FRAME, "The size of the incoming frames",
        "frame"},
    {GST_MOBILE_ONE_MASK_SIZE_MASK, "The size of the class map", "mask"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOneMaskSize", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_mobile_one_mask_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_mask_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_mask_finalize (GObject * object);
static GstStateChangeReturn gst_mobile_one_mask_change_state (GstElement *
    element, GstStateChange transition);
static GstFlowReturn gst_mobile_one_mask_chain (GstPad * pad,
    GstObject * parent, GstBuffer * buf);
static gboolean gst_mobile_one_mask_sink_event (GstPad * pad,
    GstObject * parent, GstEvent * event);
static gboolean gst_mobile_one_mask_sink_query (GstPad * pad,
    GstObject * parent, GstQuery * query);

static void
gst_mobile_one_mask_class_init (GstMobileOneMaskClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_mask_debug, "mobileonemask", 0,
      "MobileOne mask streaming");

  gobject_class->set_property = gst_mobile_one_mask_set_property;
  gobject_class->get_property = gst_mobile_one_mask_get_property;
  gobject_class->finalize = gst_mobile_one_mask_finalize;

  /**
   * GstMobileOneMask:size:
   *
   * The size of the output frames: that of the incoming frames, or that of
   * the class map (the model's resolution). Changes take effect at the
   * next frame, renegotiating.
   */
  g_object_class_install_property (gobject_class, PROP_SIZE,
      g_param_spec_enum ("size", "Size",
          "Output frame size: the incoming frame's or the class map's",
          GST_TYPE_MOBILE_ONE_MASK_SIZE, DEFAULT_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileOne mask to video", "Filter/Converter/Video",
      "Turns segmentation masks into video frames (class ids or colours)",
      "mobileone-gst developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_mobile_one_mask_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_MASK_SIZE, 0);
}

static void
gst_mobile_one_mask_init (GstMobileOneMask * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mobile_one_mask_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mobile_one_mask_sink_event));
  gst_pad_set_query_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mobile_one_mask_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->size = DEFAULT_SIZE;
  for (guint i = 1; i < 256; i++) {
    mo_palette_colour (i, self->palette[i]);
    self->palette[i][3] = 255;
  }
  memset (self->palette[0], 0, 4);
}

static void
gst_mobile_one_mask_finalize (GObject * object)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (object);

  g_free (self->xmap);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mobile_one_mask_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SIZE:
      self->size = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_mask_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SIZE:
      g_value_set_enum (value, self->size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
clear_pool (GstMobileOneMask * self)
{
  if (self->pool) {
    gst_buffer_pool_set_active (self->pool, FALSE);
    gst_clear_object (&self->pool);
  }
}

static GstStateChangeReturn
gst_mobile_one_mask_change_state (GstElement * element,
    GstStateChange transition)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (element);
  GstStateChangeReturn ret;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    clear_pool (self);
    self->have_in_info = FALSE;
    self->have_out_info = FALSE;
  }
  return ret;
}

/* Output caps of @width x @height that downstream takes, and a pool. */
static gboolean
negotiate (GstMobileOneMask * self, gint width, gint height)
{
  GstVideoInfo *in = &self->in_info;
  GstCaps *caps, *peer;
  GstStructure *config;
  gint par_n = GST_VIDEO_INFO_PAR_N (in), par_d = GST_VIDEO_INFO_PAR_D (in);

  /* This negotiation answers any pending reconfigure request. */
  gst_pad_check_reconfigure (self->srcpad);

  /* Keep the display aspect of the frame whatever the map's shape. */
  if (width != GST_VIDEO_INFO_WIDTH (in)
      || height != GST_VIDEO_INFO_HEIGHT (in)) {
    gst_util_fraction_multiply (par_n, par_d,
        GST_VIDEO_INFO_WIDTH (in) * height, GST_VIDEO_INFO_HEIGHT (in) * width,
        &par_n, &par_d);
  }

  caps = gst_caps_new_simple ("video/x-raw",
      "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
      "framerate", GST_TYPE_FRACTION, GST_VIDEO_INFO_FPS_N (in),
      GST_VIDEO_INFO_FPS_D (in),
      "pixel-aspect-ratio", GST_TYPE_FRACTION, par_n, par_d, NULL);
  {
    GValue list = G_VALUE_INIT, v = G_VALUE_INIT;
    const gchar *formats[] = { "RGBA", "RGB", "GRAY8" };

    g_value_init (&list, GST_TYPE_LIST);
    g_value_init (&v, G_TYPE_STRING);
    for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
      g_value_set_static_string (&v, formats[i]);
      gst_value_list_append_value (&list, &v);
    }
    gst_caps_set_value (caps, "format", &list);
    g_value_unset (&v);
    g_value_unset (&list);
  }

  peer = gst_pad_peer_query_caps (self->srcpad, caps);
  gst_caps_unref (caps);
  if (gst_caps_is_empty (peer))
    goto no_format;
  peer = gst_caps_fixate (peer);
  if (!gst_video_info_from_caps (&self->out_info, peer))
    goto no_format;
  GST_DEBUG_OBJECT (self, "output %" GST_PTR_FORMAT, peer);
  if (!gst_pad_set_caps (self->srcpad, peer))
    goto no_format;
  gst_caps_unref (peer);
  self->have_out_info = TRUE;

  clear_pool (self);
  self->pool = gst_buffer_pool_new ();
  config = gst_buffer_pool_get_config (self->pool);
  gst_buffer_pool_config_set_params (config, NULL,
      (guint) GST_VIDEO_INFO_SIZE (&self->out_info), 2, 0);
  if (!gst_buffer_pool_set_config (self->pool, config)
      || !gst_buffer_pool_set_active (self->pool, TRUE))
    return FALSE;

  g_free (self->xmap);
  self->xmap = g_new (gint, width);
  self->xmap_len = width;
  return TRUE;

  /* ERRORS */
no_format:
  {
    GST_DEBUG_OBJECT (self, "downstream takes none of RGBA, RGB, GRAY8 at "
        "%dx%d: %" GST_PTR_FORMAT, width, height, peer);
    gst_caps_unref (peer);
    self->have_out_info = FALSE;
    return FALSE;
  }
}

/* Fills @frame from @meta (NULL: background). */
static void
render (GstMobileOneMask * self, GstVideoFrame * frame,
    const GstMobileOneMaskMeta * meta, gboolean mask_size)
{
  gint w = GST_VIDEO_FRAME_WIDTH (frame), h = GST_VIDEO_FRAME_HEIGHT (frame);
  gint bpp = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  /* The map's rectangle in output pixels. */
  gint rx = 0, ry = 0, rw = w, rh = h;
  GstMapInfo map;

  if (meta == NULL || !gst_buffer_map (meta->mask, &map, GST_MAP_READ)) {
    for (gint y = 0; y < h; y++)
      memset (data + (gsize) y * stride, 0, stride);
    return;
  }
  if (!mask_size) {
    rx = meta->x;
    ry = meta->y;
    rw = (gint) meta->w;
    rh = (gint) meta->h;
  }
  for (gint x = 0; x < w; x++) {
    gint64 mx = x - rx;

    self->xmap[x] = mx < 0 || mx >= rw ? -1 : (gint) (mx * meta->width / rw);
  }

  for (gint y = 0; y < h; y++) {
    guint8 *d = data + (gsize) y * stride;
    gint64 my = y - ry;
    const guint8 *m;

    if (my < 0 || my >= rh || rw <= 0) {
      memset (d, 0, (gsize) w * bpp);
      continue;
    }
    m = map.data + (gsize) (my * meta->height / rh) * meta->stride;
    for (gint x = 0; x < w; x++, d += bpp) {
      guint id = self->xmap[x] < 0 ? 0 : m[self->xmap[x]];

      if (id >= meta->num_classes)
        id = 0;
      switch (bpp) {
        case 1:
          d[0] = (guint8) id;
          break;
        case 3:
          memcpy (d, self->palette[id], 3);
          break;
        default:
          memcpy (d, self->palette[id], 4);
          break;
      }
    }
  }
  gst_buffer_unmap (meta->mask, &map);
}

static GstFlowReturn
gst_mobile_one_mask_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (parent);
  GstMobileOneMaskMeta *meta = gst_buffer_get_mobile_one_mask_meta (buf);
  GstBuffer *out = NULL;
  GstVideoFrame frame;
  GstFlowReturn ret;
  gboolean mask_size;
  gint width, height;

  if (!self->have_in_info)
    goto not_negotiated;

  GST_OBJECT_LOCK (self);
  mask_size = self->size == GST_MOBILE_ONE_MASK_SIZE_MASK;
  GST_OBJECT_UNLOCK (self);

  width = GST_VIDEO_INFO_WIDTH (&self->in_info);
  height = GST_VIDEO_INFO_HEIGHT (&self->in_info);
  if (mask_size && meta != NULL) {
    width = (gint) meta->width;
    height = (gint) meta->height;
  } else if (mask_size && self->have_out_info) {
    /* No mask on this frame: keep the size of the last one. */
    width = GST_VIDEO_INFO_WIDTH (&self->out_info);
    height = GST_VIDEO_INFO_HEIGHT (&self->out_info);
  }

  if (!self->have_out_info || gst_pad_check_reconfigure (self->srcpad)
      || width != GST_VIDEO_INFO_WIDTH (&self->out_info)
      || height != GST_VIDEO_INFO_HEIGHT (&self->out_info)) {
    if (!negotiate (self, width, height))
      goto not_negotiated;
  }

  ret = gst_buffer_pool_acquire_buffer (self->pool, &out, NULL);
  if (ret != GST_FLOW_OK)
    goto no_buffer;
  if (!gst_video_frame_map (&frame, &self->out_info, out, GST_MAP_WRITE))
    goto map_failed;
  render (self, &frame, meta, mask_size);
  gst_video_frame_unmap (&frame);

  gst_buffer_copy_into (out, buf, GST_BUFFER_COPY_FLAGS |
      GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  gst_buffer_unref (buf);
  return gst_pad_push (self->srcpad, out);

  /* ERRORS */
not_negotiated:
  {
    gst_buffer_unref (buf);
    if (GST_PAD_IS_FLUSHING (self->srcpad))
      return GST_FLOW_FLUSHING;
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no input caps, or downstream takes none of RGBA, RGB, GRAY8"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
no_buffer:
  {
    gst_buffer_unref (buf);
    GST_DEBUG_OBJECT (self, "no output buffer: %s", gst_flow_get_name (ret));
    return ret;
  }
map_failed:
  {
    gst_buffer_unref (out);
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("could not map the output frame"));
    return GST_FLOW_ERROR;
  }
}

static gboolean
gst_mobile_one_mask_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstMobileOneMask *self = GST_MOBILE_ONE_MASK (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ret, mask_size;
      gint width, height;

      GST_OBJECT_LOCK (self);
      mask_size = self->size == GST_MOBILE_ONE_MASK_SIZE_MASK;
      GST_OBJECT_UNLOCK (self);

      gst_event_parse_caps (event, &caps);
      ret = gst_video_info_from_caps (&self->in_info, caps);
      self->have_in_info = ret;
      if (ret) {
        /* Output caps now, before the segment; with size=mask the first
         * frame's map may change the size again. */
        width = GST_VIDEO_INFO_WIDTH (&self->in_info);
        height = GST_VIDEO_INFO_HEIGHT (&self->in_info);
        if (self->have_out_info && mask_size) {
          width = GST_VIDEO_INFO_WIDTH (&self->out_info);
          height = GST_VIDEO_INFO_HEIGHT (&self->out_info);
        }
        ret = negotiate (self, width, height);
      }
      gst_event_unref (event);
      return ret;
    }
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

static gboolean
gst_mobile_one_mask_sink_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_ALLOCATION:
      /* The input pixels are never read: any layout will do, and the query
       * must not reach downstream, whose caps differ. */
      gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
      return TRUE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}
