/* mobileone-gst: mobileoneoverlay tests. */
#include "mobileone-check.h"
#include "gstmobileoneroi.h"
#include "mo-palette.h"

#define W 161
#define H 121

/* A frame of @format with a fixed pattern (every byte a function of its
 * place), so that drawn pixels show. */
static GstBuffer *
make_frame (GstHarness * h, const gchar * format, GstVideoInfo * info)
{
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1", format, W, H);
  GstCaps *c = gst_caps_from_string (caps);
  GstVideoFrame frame;
  GstBuffer *buf;

  gst_harness_set_src_caps_str (h, caps);
  gst_video_info_from_caps (info, c);
  gst_caps_unref (c);
  g_free (caps);
  buf = gst_harness_create_buffer (h, GST_VIDEO_INFO_SIZE (info));
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (info), W, H, GST_VIDEO_INFO_N_PLANES (info),
      info->offset, info->stride);
  fail_unless (gst_video_frame_map (&frame, info, buf, GST_MAP_WRITE));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (&frame, p);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
    gint rows = GST_VIDEO_FRAME_COMP_HEIGHT (&frame, p == 2 ? 2 : p);

    for (gint y = 0; y < rows; y++)
      for (gint x = 0; x < stride; x++)
        d[y * stride + x] = (guint8) (64 + ((x * 7 + y * 13 + p * 31) % 128));
  }
  gst_video_frame_unmap (&frame);
  return buf;
}

/* Whether pixel (@x, @y) differs between @a and @b: all components of a
 * packed pixel, the luma of YUV. */
static gboolean
pixel_changed (GstVideoFrame * a, GstVideoFrame * b, gint x, gint y)
{
  gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (a, 0);
  const guint8 *pa = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (a, 0) +
      y * GST_VIDEO_FRAME_PLANE_STRIDE (a, 0) + x * pstride;
  const guint8 *pb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (b, 0) +
      y * GST_VIDEO_FRAME_PLANE_STRIDE (b, 0) + x * pstride;

  return memcmp (pa, pb, pstride) != 0;
}

static GstVideoRegionOfInterestMeta *
add_labelled (GstBuffer * buf, gint class_id, const gchar * label, gint x0,
    gint y0, gint x1, gint y1)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, label, x0, y0,
      x1 - x0, y1 - y0);

  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "label_id", G_TYPE_INT, class_id,
          "label", G_TYPE_STRING, label, "confidence", G_TYPE_DOUBLE, 0.9,
          "x_min", G_TYPE_DOUBLE, (gdouble) x0 / W,
          "y_min", G_TYPE_DOUBLE, (gdouble) y0 / H,
          "x_max", G_TYPE_DOUBLE, (gdouble) x1 / W,
          "y_max", G_TYPE_DOUBLE, (gdouble) y1 / H, NULL));
  return roi;
}

static void
add_detection (GstBuffer * buf, gint x0, gint y0, gint x1, gint y1)
{
  add_labelled (buf, 1, "one", x0, y0, x1, y1);
}

/* Every format, odd size: the outline of the box and its label change
 * pixels, the inside of the box and everything away from it do not. */
GST_START_TEST (test_boxes)
{
  const gint x0 = 41, y0 = 51, x1 = 101, y1 = 91;

  for (guint i = 0; i < G_N_ELEMENTS (overlay_formats); i++) {
    GstHarness *h = gst_harness_new ("mobileoneoverlay");
    GstVideoInfo info;
    GstBuffer *in = make_frame (h, overlay_formats[i], &info);
    GstBuffer *ref = gst_buffer_copy_deep (in), *out;
    GstVideoFrame a, b;
    guint changed_outline = 0;

    add_detection (in, x0, y0, x1, y1);
    out = gst_harness_push_and_pull (h, in);
    fail_unless (gst_video_frame_map (&a, &info, ref, GST_MAP_READ));
    fail_unless (gst_video_frame_map (&b, &info, out, GST_MAP_READ));
    for (gint y = 0; y < H; y++) {
      for (gint x = 0; x < W; x++) {
        gboolean changed = pixel_changed (&a, &b, x, y);
        gboolean on_outline = x >= x0 && x < x1 && y >= y0 && y < y1 &&
            (x == x0 || x == x1 - 1 || y == y0 || y == y1 - 1);
        gboolean inside = x >= x0 + 3 && x < x1 - 3 && y >= y0 + 3
            && y < y1 - 3;
        /* Away: below or left of the box, or right of it below the
         * label line (the label sits above the box's left corner). */
        gboolean away = y >= y1 + 2 || x < x0 - 2 || y < y0 - 40
            || (x >= x1 + 2 && y >= y0);

        if (on_outline && changed)
          changed_outline++;
        fail_unless (!(inside && changed), "%s: (%d, %d) inside changed",
            overlay_formats[i], x, y);
        fail_unless (!(away && changed), "%s: (%d, %d) away changed",
            overlay_formats[i], x, y);
      }
    }
    /* The whole outline, less the part under the label. */
    fail_unless (changed_outline >= 2 * (y1 - y0) + (x1 - x0),
        "%s: %u outline pixels changed", overlay_formats[i], changed_outline);
    /* The label: just above the box's top left corner. */
    fail_unless (pixel_changed (&a, &b, x0 + 1, y0 - 2), "%s: no label",
        overlay_formats[i]);
    gst_video_frame_unmap (&a);
    gst_video_frame_unmap (&b);
    gst_buffer_unref (ref);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* With every part off, or without metas, the frame passes untouched. */
GST_START_TEST (test_untouched)
{
  for (guint i = 0; i < 2; i++) {
    GstHarness *h = gst_harness_new_parse (i == 0 ? "mobileoneoverlay "
        "draw-boxes=false draw-labels=false" : "mobileoneoverlay");
    GstVideoInfo info;
    GstBuffer *in = make_frame (h, "I420", &info);
    GstBuffer *ref = gst_buffer_copy_deep (in), *out;
    GstMapInfo ma, mb;

    if (i == 0)
      add_detection (in, 10, 10, 50, 50);
    out = gst_harness_push_and_pull (h, in);
    gst_buffer_map (ref, &ma, GST_MAP_READ);
    gst_buffer_map (out, &mb, GST_MAP_READ);
    fail_unless (ma.size == mb.size && memcmp (ma.data, mb.data,
            ma.size) == 0);
    gst_buffer_unmap (ref, &ma);
    gst_buffer_unmap (out, &mb);
    gst_buffer_unref (ref);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static gboolean
rects_intersect (const GstMobileOneRect * a, const GstMobileOneRect * b)
{
  return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h
      && b->y < a->y + a->h;
}

/* Issue 15, 10: the labels of boxes that share a corner (or overlap) never
 * cover each other while the frame has room, and stay inside it. */
GST_START_TEST (test_label_layout)
{
  const GstMobileOneRect boxes[] = {
    {40, 50, 60, 40}, {40, 50, 30, 20}, {40, 50, 90, 60}, {45, 52, 10, 10},
    {0, 0, 50, 50}, {0, 0, 161, 121}, {150, 115, 11, 6},
  };
  GstMobileOneRect taken[G_N_ELEMENTS (boxes)];
  const gint widths[] = { 30, 55, 12, 80, 40, 40, 70 };

  for (guint i = 0; i < G_N_ELEMENTS (boxes); i++) {
    taken[i] = gst_mobile_one_place_label (&boxes[i], widths[i], 14, W, H,
        taken, i);
    fail_unless (taken[i].x >= 0 && taken[i].y >= 0
        && taken[i].x + taken[i].w <= W && taken[i].y + taken[i].h <= H,
        "label %u outside the frame", i);
    for (guint j = 0; j < i; j++)
      fail_if (rects_intersect (&taken[i], &taken[j]),
          "label %u covers label %u", i, j);
  }
  /* The first label of a box with room above sits just above it. */
  fail_unless_equals_int (taken[0].y, 50 - 14);
  fail_unless_equals_int (taken[0].x, 40);
}

GST_END_TEST;

/* Two boxes with the same top left corner through the element: the first
 * label (short) is not hidden under the second (long); boxes off, so the
 * class colours only show in the label backgrounds. */
GST_START_TEST (test_shared_corner)
{
  GstHarness *h = gst_harness_new_parse ("mobileoneoverlay draw-boxes=false");
  GstVideoInfo info;
  GstBuffer *in = make_frame (h, "RGB", &info), *out;
  GstVideoFrame f;
  guint8 c1[3], c2[3];
  guint n1 = 0, n2 = 0;

  add_labelled (in, 1, "a", 41, 61, 101, 101);
  add_labelled (in, 2, "a much longer label", 41, 61, 121, 111);
  mo_palette_colour (1, c1);
  mo_palette_colour (2, c2);
  out = gst_harness_push_and_pull (h, in);
  gst_video_frame_map (&f, &info, out, GST_MAP_READ);
  for (gint y = 0; y < H; y++) {
    const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0);

    for (gint x = 0; x < W; x++) {
      n1 += memcmp (row + 3 * x, c1, 3) == 0;
      n2 += memcmp (row + 3 * x, c2, 3) == 0;
    }
  }
  gst_video_frame_unmap (&f);
  fail_unless (n2 > 0);
  fail_unless (n1 > 20, "the first label is hidden (%u pixels of its "
      "colour)", n1);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Issue 16: a region tracked by mobileonetrack is labelled with its track
 * id; the text is the shared reader's. */
GST_START_TEST (test_track_id)
{
  GstHarness *h = gst_harness_new ("mobileoneoverlay");
  GstVideoInfo info;
  GstBuffer *a = make_frame (h, "RGB", &info), *b, *out_a, *out_b;
  GstVideoRegionOfInterestMeta *meta;
  GstMobileOneRoi roi;
  gchar text[64];

  GstBuffer *c = gst_buffer_new ();

  b = gst_buffer_copy_deep (a);
  add_detection (a, 41, 51, 101, 91);
  meta = add_labelled (b, 1, "one", 41, 51, 101, 91);
  gst_video_region_of_interest_meta_add_param (meta,
      gst_structure_new ("tracking", "id", G_TYPE_INT, 12, NULL));
  gst_mobile_one_roi_read (meta, &roi);
  fail_unless_equals_int (roi.track_id, 12);
  fail_unless_equals_string (gst_mobile_one_roi_describe (&roi, text,
          sizeof (text)), "#12 one 0.90");

  meta = add_labelled (c, 1, "one", 41, 51, 101, 91);
  gst_video_region_of_interest_meta_add_param (meta,
      gst_structure_new ("tracking", "id", G_TYPE_INT, 3, NULL));
  gst_video_region_of_interest_meta_add_param (meta,
      gst_structure_new ("classification", "label", G_TYPE_STRING, "adult",
          "confidence", G_TYPE_DOUBLE, 0.66, NULL));
  gst_mobile_one_roi_read (meta, &roi);
  fail_unless_equals_string (gst_mobile_one_roi_describe (&roi, text,
          sizeof (text)), "#3 one 0.90, adult 0.66");
  gst_buffer_unref (c);

  /* Drawn: the tracked label is longer than the untracked one. */
  out_a = gst_harness_push_and_pull (h, a);
  out_b = gst_harness_push_and_pull (h, b);
  {
    GstVideoFrame fa, fb;
    gint changed = 0;

    gst_video_frame_map (&fa, &info, out_a, GST_MAP_READ);
    gst_video_frame_map (&fb, &info, out_b, GST_MAP_READ);
    /* The label line is above the box (y 51): the two frames differ
     * there. */
    for (gint y = 40; y < 51; y++)
      for (gint x = 41; x < W; x++)
        changed += pixel_changed (&fa, &fb, x, y);
    gst_video_frame_unmap (&fa);
    gst_video_frame_unmap (&fb);
    fail_unless (changed > 0, "the track id is not drawn");
  }
  gst_buffer_unref (out_a);
  gst_buffer_unref (out_b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A whole-frame classification is text in the top left corner, no box. */
GST_START_TEST (test_frame_label)
{
  GstHarness *h = gst_harness_new ("mobileoneoverlay");
  GstVideoInfo info;
  GstBuffer *in = make_frame (h, "RGB", &info);
  GstBuffer *ref = gst_buffer_copy_deep (in), *out;
  GstVideoRegionOfInterestMeta *roi;
  GstVideoFrame a, b;

  roi = gst_buffer_add_video_region_of_interest_meta (in, "cat", 0, 0, W, H);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("classification", "label_id", G_TYPE_INT, 3,
          "label", G_TYPE_STRING, "cat", "confidence", G_TYPE_DOUBLE, 0.5,
          NULL));
  out = gst_harness_push_and_pull (h, in);
  gst_video_frame_map (&a, &info, ref, GST_MAP_READ);
  gst_video_frame_map (&b, &info, out, GST_MAP_READ);
  fail_unless (pixel_changed (&a, &b, 1, 1));
  fail_unless (!pixel_changed (&a, &b, W - 1, H - 1));
  fail_unless (!pixel_changed (&a, &b, 0, H - 1));
  fail_unless (!pixel_changed (&a, &b, W - 1, H / 2));
  gst_video_frame_unmap (&a);
  gst_video_frame_unmap (&b);
  gst_buffer_unref (ref);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* mobileoneclassify's whole-frame result is frame-level metadata, not a
 * region: still text in the top left corner, no box. */
GST_START_TEST (test_frame_classification)
{
  GstHarness *h = gst_harness_new_parse ("mobileoneclassify n-threads=1 "
      "model=" CLASSIFY_MODEL " ! mobileoneoverlay");
  GstVideoInfo info;
  GstBuffer *in = make_frame (h, "RGB", &info);
  GstBuffer *ref = gst_buffer_copy_deep (in), *out;
  GstVideoFrame a, b;

  out = gst_harness_push_and_pull (h, in);
  fail_unless_equals_int (count_rois (out), 0);
  gst_video_frame_map (&a, &info, ref, GST_MAP_READ);
  gst_video_frame_map (&b, &info, out, GST_MAP_READ);
  fail_unless (pixel_changed (&a, &b, 1, 1));
  fail_unless (!pixel_changed (&a, &b, W - 1, H - 1));
  fail_unless (!pixel_changed (&a, &b, 0, H - 1));
  fail_unless (!pixel_changed (&a, &b, W - 1, H / 2));
  gst_video_frame_unmap (&a);
  gst_video_frame_unmap (&b);
  gst_buffer_unref (ref);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Masks: with full opacity exactly the pixels of non-background classes
 * change (packed RGB: always; YUV luma: unless the colour's luma happens to
 * equal the pixel's). */
GST_START_TEST (test_masks)
{
  const gchar *formats[] = { "RGB", "BGRx", "ABGR", "NV12", "I420" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = gst_harness_new_parse ("mobileonesegment n-threads=1 "
        "model=" SEGMENT_MODEL " ! mobileoneoverlay mask-opacity=1.0");
    GstVideoInfo info;
    GstBuffer *in = make_frame (h, formats[i], &info);
    GstBuffer *ref = gst_buffer_copy_deep (in), *out;
    GstMobileOneMaskMeta *meta;
    GstVideoFrame a, b;
    GstMapInfo map;
    guint fg = 0, fg_changed = 0;

    out = gst_harness_push_and_pull (h, in);
    meta = get_mask_meta (out);
    fail_unless (meta != NULL);
    fail_unless (gst_buffer_map (meta->mask, &map, GST_MAP_READ));
    gst_video_frame_map (&a, &info, ref, GST_MAP_READ);
    gst_video_frame_map (&b, &info, out, GST_MAP_READ);
    for (gint y = 0; y < H; y++) {
      for (gint x = 0; x < W; x++) {
        guint id = map.data[(y * meta->height / H) * meta->stride +
            x * meta->width / W];
        gboolean changed = pixel_changed (&a, &b, x, y);

        if (id == 0) {
          fail_unless (!changed, "%s: background (%d, %d) changed",
              formats[i], x, y);
        } else {
          fg++;
          fg_changed += changed;
        }
      }
    }
    fail_unless (fg > 0);
    if (format_is_yuv (formats[i]))
      fail_unless (fg_changed >= fg * 9 / 10, "%s: %u of %u", formats[i],
          fg_changed, fg);
    else
      fail_unless_equals_int (fg_changed, fg);
    gst_video_frame_unmap (&a);
    gst_video_frame_unmap (&b);
    gst_buffer_unmap (meta->mask, &map);
    gst_buffer_unref (ref);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Detections drawn on a real photograph (skipped when absent). */
GST_START_TEST (test_photo)
{
  const gchar *path = MOBILEONE_SHARED_DIR
      "/data/coco128-seg/images/train2017/000000000025.jpg";
  GstElement *pipeline;
  GstMessage *msg;
  gchar *launch;
  GstBus *bus;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  launch = g_strdup_printf ("filesrc location=%s ! jpegdec ! videoconvert ! "
      "video/x-raw,format=I420 ! mobileonesegment n-threads=1 model=%s ! "
      "mobileonedetect n-threads=1 model=%s ! mobileoneoverlay ! fakesink",
      path, SEGMENT_MODEL, DETECT_MODEL);
  pipeline = gst_parse_launch (launch, NULL);
  g_free (launch);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static Suite *
mobileoneoverlay_suite (void)
{
  Suite *s = suite_create ("mobileoneoverlay");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_boxes);
  tcase_add_test (tc, test_untouched);
  tcase_add_test (tc, test_frame_label);
  tcase_add_test (tc, test_label_layout);
  tcase_add_test (tc, test_shared_corner);
  tcase_add_test (tc, test_track_id);
  tcase_add_test (tc, test_frame_classification);
  tcase_add_test (tc, test_masks);
  tcase_add_test (tc, test_photo);
  return s;
}

GST_CHECK_MAIN (mobileoneoverlay);
