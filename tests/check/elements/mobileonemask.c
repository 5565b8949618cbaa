/* mobileone-gst: mobileonemask tests. */
#include "mobileone-check.h"

#define FW 123
#define FH 71

/* A frame with a mask meta, made by mobileonesegment; @caps receives its
 * caps. */
static GstBuffer *
segmented_frame (GstCaps ** caps)
{
  GstHarness *h = harness_with_src ("mobileonesegment n-threads=1 model="
      SEGMENT_MODEL, "RGB", FW, FH, "smpte");
  GstBuffer *buf;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  *caps = gst_pad_get_current_caps (h->sinkpad);
  gst_harness_teardown (h);
  fail_unless (get_mask_meta (buf) != NULL);
  return buf;
}

/* The class at output pixel (@x, @y) of a @w x @h frame made from @meta. */
static guint
class_at (GstMobileOneMaskMeta * meta, const guint8 * map, gint x, gint y,
    gint w, gint h)
{
  return map[(y * meta->height / h) * meta->stride + x * meta->width / w];
}

/* GRAY8, RGBA and RGB, at the frame's size and at the map's: the caps, and
 * every pixel against the map. */
GST_START_TEST (test_formats)
{
  const gchar *formats[] = { "GRAY8", "RGBA", "RGB" };
  GstCaps *in_caps;
  GstBuffer *in = segmented_frame (&in_caps);
  GstMobileOneMaskMeta *meta = get_mask_meta (in);
  GstMapInfo map;

  fail_unless (gst_buffer_map (meta->mask, &map, GST_MAP_READ));
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint s = 0; s < 2; s++) {
      gchar *launch = g_strdup_printf ("mobileonemask size=%s ! capsfilter "
          "caps=video/x-raw,format=%s", s ? "mask" : "frame", formats[f]);
      GstHarness *h = gst_harness_new_parse (launch);
      gint w = s ? (gint) meta->width : FW, h_ = s ? (gint) meta->height : FH;
      guint8 colours[256][4];
      gboolean seen[256] = { FALSE };
      GstVideoInfo info;
      GstVideoFrame frame;
      GstCaps *caps;
      GstBuffer *out;

      g_free (launch);
      gst_harness_set_src_caps (h, gst_caps_ref (in_caps));
      out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
      fail_unless (out != NULL);
      caps = gst_pad_get_current_caps (h->sinkpad);
      fail_unless (gst_video_info_from_caps (&info, caps));
      fail_unless_equals_string (gst_video_format_to_string
          (GST_VIDEO_INFO_FORMAT (&info)), formats[f]);
      fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), w);
      fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), h_);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (in));
      fail_unless_equals_uint64 (GST_BUFFER_DURATION (out),
          GST_BUFFER_DURATION (in));
      if (s) {
        /* The frame's display shape is kept. */
        gdouble dar_in = (gdouble) FW / FH;
        gdouble dar = (gdouble) w * GST_VIDEO_INFO_PAR_N (&info) /
            (h_ * GST_VIDEO_INFO_PAR_D (&info));

        fail_unless (fabs (dar - dar_in) < 1e-6);
      }

      fail_unless (gst_video_frame_map (&frame, &info, out, GST_MAP_READ));
      for (gint y = 0; y < h_; y++) {
        const guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
            0) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

        for (gint x = 0; x < w; x++) {
          guint id = class_at (meta, map.data, x, y, w, h_);

          if (f == 0) {
            fail_unless_equals_int (row[x], id);
          } else {
            const guint8 *p = row + x * (f == 1 ? 4 : 3);

            if (id == 0) {
              fail_unless (p[0] == 0 && p[1] == 0 && p[2] == 0);
              if (f == 1)
                fail_unless_equals_int (p[3], 0);
            } else {
              if (f == 1)
                fail_unless_equals_int (p[3], 255);
              /* One colour per class, bright. */
              if (!seen[id])
                memcpy (colours[id], p, 3);
              seen[id] = TRUE;
              fail_unless (memcmp (colours[id], p, 3) == 0);
              fail_unless (p[0] + p[1] + p[2] > 200);
            }
          }
        }
      }
      if (f > 0 && seen[1] && seen[2])
        fail_unless (memcmp (colours[1], colours[2], 3) != 0);
      gst_video_frame_unmap (&frame);
      gst_caps_unref (caps);
      gst_buffer_unref (out);
      gst_harness_teardown (h);
    }
  }
  gst_buffer_unmap (meta->mask, &map);
  gst_caps_unref (in_caps);
  gst_buffer_unref (in);
}

GST_END_TEST;

/* A frame without a mask: all background, not an error. */
GST_START_TEST (test_no_meta)
{
  const gchar *formats[] = { "GRAY8", "RGBA", "RGB" };

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *launch = g_strdup_printf ("mobileonemask ! capsfilter "
        "caps=video/x-raw,format=%s", formats[f]);
    GstHarness *h = gst_harness_new_parse (launch);
    GstVideoInfo info;
    GstVideoFrame frame;
    GstBuffer *out;
    GstCaps *caps;

    g_free (launch);
    gst_harness_set_src_caps_str (h, "video/x-raw,format=NV12,width=33,"
        "height=17,framerate=25/1");
    out = gst_harness_push_and_pull (h, gst_harness_create_buffer (h,
            33 * 17 * 2));
    fail_unless (out != NULL);
    caps = gst_pad_get_current_caps (h->sinkpad);
    gst_video_info_from_caps (&info, caps);
    gst_caps_unref (caps);
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 33);
    fail_unless (gst_video_frame_map (&frame, &info, out, GST_MAP_READ));
    for (gint y = 0; y < 17; y++)
      for (gint x = 0; x < 33 * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0); x++)
        fail_unless_equals_int (((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
                    0))[y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) + x], 0);
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* The whole chain: segment, mask, colour conversion. */
GST_START_TEST (test_pipeline)
{
  GstHarness *h = harness_with_src ("mobileonesegment n-threads=1 model="
      SEGMENT_MODEL " ! mobileonemask ! videoconvert ! capsfilter "
      "caps=video/x-raw,format=I420", "NV12", 97, 65, "ball");

  for (guint i = 0; i < 3; i++) {
    GstBuffer *out;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless (out != NULL);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Downstream that takes none of the formats: negotiation fails. */
GST_START_TEST (test_not_negotiated)
{
  GstHarness *h = gst_harness_new ("mobileonemask");

  gst_harness_set_sink_caps_str (h, "video/x-raw,format=I420");
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=33,"
      "height=17,framerate=25/1");
  fail_unless_equals_int (gst_harness_push (h, gst_harness_create_buffer (h,
              36 * 17)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
mobileonemask_suite (void)
{
  Suite *s = suite_create ("mobileonemask");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_no_meta);
  tcase_add_test (tc, test_pipeline);
  tcase_add_test (tc, test_not_negotiated);
  return s;
}

GST_CHECK_MAIN (mobileonemask);
