/* mobileone-gst element tests: what the test files share. Header-only. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "mo-heads.h"
#include "mo-preprocess.h"
#include "gstmobileonemeta.h"

#define DATA(name) MOBILEONE_TEST_DATA "/" name
#define CLASSIFY_MODEL DATA ("k1-fused.yaml")
#define DETECT_MODEL DATA ("ssd/ssd-fused.yaml")
#define SEGMENT_MODEL DATA ("deeplab/dense-fused.yaml")

/* Every format the inference elements accept. */
static const gchar *const all_formats[] = {
  "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA", "ARGB",
  "ABGR", "NV12", "I420", "YUY2", "UYVY", "GRAY8",
};

/* Every format the overlay draws on. */
static const gchar *const overlay_formats[] = {
  "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA", "ARGB",
  "ABGR", "NV12", "I420",
};

static inline gboolean
format_is_yuv (const gchar * format)
{
  return g_str_equal (format, "NV12") || g_str_equal (format, "I420")
      || g_str_equal (format, "YUY2") || g_str_equal (format, "UYVY");
}

/* The packed RGB formats: the same pixels in another byte order. */
static inline gboolean
format_is_rgb (const gchar * format)
{
  return !format_is_yuv (format) && !g_str_equal (format, "GRAY8");
}

/* The mask meta lives in the plugin: find its API by name. */
static inline GstMobileOneMaskMeta *
get_mask_meta (GstBuffer * buf)
{
  GType api = g_type_from_name (GST_MOBILE_ONE_MASK_META_API_NAME);

  fail_unless (api != 0, "GstMobileOneMaskMetaAPI is not registered");
  return (GstMobileOneMaskMeta *) gst_buffer_get_meta (buf, api);
}

static inline guint
count_rois (GstBuffer * buf)
{
  return gst_buffer_get_n_meta (buf,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
}

/* A harness around @launch fed by videotestsrc @pattern frames of @format,
 * @width x @height. */
static inline GstHarness *
harness_with_src (const gchar * launch, const gchar * format, gint width,
    gint height, const gchar * pattern)
{
  GstHarness *h = gst_harness_new_parse (launch);
  gchar *src = g_strdup_printf ("videotestsrc pattern=%s ! "
      "capsfilter caps=\"video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1\"", pattern, format, width, height);

  gst_harness_add_src_parse (h, src, FALSE);
  g_free (src);
  return h;
}

/* An MoImage over a mapped frame: the test's own table of what each
 * GStreamer format is in the engine's terms. */
static inline void
image_from_frame (const GstVideoFrame * frame, MoImage * img)
{
  const GstVideoColorimetry *cm = &GST_VIDEO_INFO_COLORIMETRY (&frame->info);

  switch (GST_VIDEO_FRAME_FORMAT (frame)) {
    case GST_VIDEO_FORMAT_RGB:
      img->format = MO_PIXEL_RGB;
      break;
    case GST_VIDEO_FORMAT_BGR:
      img->format = MO_PIXEL_BGR;
      break;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA:
      img->format = MO_PIXEL_RGBX;
      break;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA:
      img->format = MO_PIXEL_BGRX;
      break;
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_ARGB:
      img->format = MO_PIXEL_XRGB;
      break;
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_ABGR:
      img->format = MO_PIXEL_XBGR;
      break;
    case GST_VIDEO_FORMAT_NV12:
      img->format = MO_PIXEL_NV12;
      break;
    case GST_VIDEO_FORMAT_I420:
      img->format = MO_PIXEL_I420;
      break;
    case GST_VIDEO_FORMAT_YUY2:
      img->format = MO_PIXEL_YUY2;
      break;
    case GST_VIDEO_FORMAT_UYVY:
      img->format = MO_PIXEL_UYVY;
      break;
    case GST_VIDEO_FORMAT_GRAY8:
      img->format = MO_PIXEL_GRAY8;
      break;
    default:
      fail ("unexpected format");
  }
  img->width = GST_VIDEO_FRAME_WIDTH (frame);
  img->height = GST_VIDEO_FRAME_HEIGHT (frame);
  for (guint i = 0; i < 3; i++) {
    gboolean has = i < GST_VIDEO_FRAME_N_PLANES (frame);

    img->planes[i] = has ? GST_VIDEO_FRAME_PLANE_DATA (frame, i) : NULL;
    img->strides[i] = has ? GST_VIDEO_FRAME_PLANE_STRIDE (frame, i) : 0;
  }
  img->matrix = cm->matrix == GST_VIDEO_COLOR_MATRIX_BT709 ?
      MO_YUV_BT709 : MO_YUV_BT601;
  img->full_range = cm->range == GST_VIDEO_COLOR_RANGE_0_255;
}

/* Runs @session on @crop of @buf (caps @caps) fitted by @fit, through the
 * engine's API. */
static inline void
run_engine (MoSession * session, GstBuffer * buf, GstCaps * caps,
    const MoRect * crop, MoFit fit, MoTransform * xf)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  MoImage img;

  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
  image_from_frame (&frame, &img);
  mo_session_set_input_image (session, &img, crop, fit, xf);
  mo_session_run (session);
  gst_video_frame_unmap (&frame);
}

static inline MoSession *
engine_session (const gchar * path, MoModel ** model)
{
  GError *error = NULL;
  MoSession *s;

  *model = mo_model_load (path, &error);
  fail_unless (*model != NULL, "%s", error ? error->message : "");
  s = mo_session_new (*model, mo_model_desc (*model)->input_width,
      mo_model_desc (*model)->input_height, 1, &error);
  fail_unless (s != NULL, "%s", error ? error->message : "");
  return s;
}

/* Element messages of @type_name waiting on @bus. */
static inline guint
count_element_messages (GstBus * bus, const gchar * type_name,
    GstStructure ** last)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (s && gst_structure_has_name (s, type_name)) {
      n++;
      if (last) {
        if (*last)
          gst_structure_free (*last);
        *last = gst_structure_copy (s);
      }
    }
    gst_message_unref (msg);
  }
  return n;
}
