/* mobileone-gst: mobileonesegment tests. */
#include "mobileone-check.h"
#include "mo-deeplab.h"

#define LAUNCH "mobileonesegment n-threads=1 model=" SEGMENT_MODEL

/* The dense fixture: 3 classes, a 61x47 input, no labels file. */
#define NC 3
#define IN_W 61
#define IN_H 47

/* The meta's map equals the engine's argmax of the same frame (the part of
 * it inside @box, the letterbox rectangle). */
static void
check_mask (GstBuffer * buf, GstCaps * caps, MoFit fit)
{
  GstMobileOneMaskMeta *meta = get_mask_meta (buf);
  MoModel *model;
  MoSession *session = engine_session (SEGMENT_MODEL, &model);
  guint8 want[IN_W * IN_H];
  GstVideoInfo info;
  MoTransform xf;
  GstMapInfo map;
  gint bx, by;

  fail_unless (meta != NULL);
  gst_video_info_from_caps (&info, caps);
  fail_unless_equals_int (meta->x, 0);
  fail_unless_equals_int (meta->y, 0);
  fail_unless_equals_int (meta->w, GST_VIDEO_INFO_WIDTH (&info));
  fail_unless_equals_int (meta->h, GST_VIDEO_INFO_HEIGHT (&info));
  fail_unless_equals_int (meta->num_classes, NC);
  fail_unless (meta->labels != NULL);
  fail_unless_equals_string (meta->labels[0], "0");
  fail_unless_equals_string (meta->labels[2], "2");
  fail_unless (meta->labels[NC] == NULL);
  fail_unless (meta->stride >= meta->width);

  run_engine (session, buf, caps, NULL, fit, &xf);
  mo_deeplab_argmax (mo_session_output (session, "logits"), want, IN_W);
  fail_unless_equals_int (meta->width, (gint) xf.dst.w);
  fail_unless_equals_int (meta->height, (gint) xf.dst.h);
  fail_unless (!meta->repeated);
  if (fit != MO_FIT_LETTERBOX) {
    fail_unless_equals_int (meta->width, IN_W);
    fail_unless_equals_int (meta->height, IN_H);
  }
  bx = (gint) xf.dst.x;
  by = (gint) xf.dst.y;

  fail_unless (gst_buffer_map (meta->mask, &map, GST_MAP_READ));
  for (guint y = 0; y < meta->height; y++)
    fail_unless (memcmp (map.data + y * meta->stride,
            want + (by + y) * IN_W + bx, meta->width) == 0, "row %u", y);
  gst_buffer_unmap (meta->mask, &map);
  mo_session_free (session);
  mo_model_unref (model);
}

/* Every format at an odd size: the mask meta and its contents. */
GST_START_TEST (test_formats)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = harness_with_src (LAUNCH, all_formats[i], 123, 71,
        "smpte");
    GstBuffer *buf;
    GstCaps *caps;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    caps = gst_pad_get_current_caps (h->sinkpad);
    check_mask (buf, caps, MO_FIT_STRETCH);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* letterbox: the map is the part of the input the frame fills, and still
 * covers the whole frame. */
GST_START_TEST (test_letterbox)
{
  const gint sizes[][2] = { {157, 201}, {301, 37} };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GstHarness *h = harness_with_src (LAUNCH " fit=letterbox", "NV12",
        sizes[i][0], sizes[i][1], "smpte");
    GstBuffer *buf;
    GstCaps *caps;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    caps = gst_pad_get_current_caps (h->sinkpad);
    check_mask (buf, caps, MO_FIT_LETTERBOX);
    fail_unless (get_mask_meta (buf)->width < IN_W
        || get_mask_meta (buf)->height < IN_H);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* The meta survives videoscale (its rectangle scaled), copies and tee
 * branches (the map shared, not copied). */
GST_START_TEST (test_transforms)
{
  GstHarness *h = harness_with_src (LAUNCH " ! tee ! videoscale ! capsfilter "
      "caps=video/x-raw,width=246,height=213", "RGB", 123, 71, "smpte");
  GstMobileOneMaskMeta *meta, *cmeta;
  GstBuffer *buf, *copy;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  meta = get_mask_meta (buf);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->x, 0);
  fail_unless_equals_int (meta->y, 0);
  fail_unless_equals_int (meta->w, 246);
  fail_unless_equals_int (meta->h, 213);
  fail_unless_equals_int (meta->width, IN_W);
  fail_unless_equals_int (meta->num_classes, NC);

  copy = gst_buffer_copy (buf);
  cmeta = get_mask_meta (copy);
  fail_unless (cmeta != NULL && cmeta != meta);
  fail_unless (cmeta->mask == meta->mask);
  fail_unless (cmeta->labels == meta->labels);
  fail_unless_equals_int (cmeta->w, 246);
  gst_buffer_unref (copy);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* inference-interval: the frames in between share the last map, marked
 * repeated in the meta and in their message (one per frame, with the class
 * fractions). */
GST_START_TEST (test_inference_interval)
{
  GstHarness *h = harness_with_src (LAUNCH " inference-interval=2 "
      "post-messages=true", "RGB", 123, 71, "ball");
  GstBus *bus = gst_bus_new ();
  GstStructure *last = NULL;
  GstBuffer *prev = NULL;

  gst_element_set_bus (h->element, bus);
  for (guint i = 0; i < 4; i++) {
    GstBuffer *buf;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    fail_unless (get_mask_meta (buf) != NULL);
    fail_unless_equals_int (get_mask_meta (buf)->repeated, i % 2 == 1);
    {
      gboolean flag;

      fail_unless_equals_int (count_element_messages (bus,
              "mobileonesegment", &last), 1);
      fail_unless (gst_structure_get_boolean (last, "repeated", &flag));
      fail_unless_equals_int (flag, i % 2 == 1);
    }
    if (i % 2 == 1)
      fail_unless (get_mask_meta (buf)->mask == get_mask_meta (prev)->mask);
    if (prev)
      gst_buffer_unref (prev);
    prev = buf;
  }
  gst_buffer_unref (prev);
  {
    const GValue *classes = gst_structure_get_value (last, "classes");
    gdouble total = 0;
    gint w;

    fail_unless (gst_structure_get_int (last, "width", &w));
    fail_unless_equals_int (w, IN_W);
    fail_unless (classes != NULL && GST_VALUE_HOLDS_ARRAY (classes));
    for (guint i = 0; i < gst_value_array_get_size (classes); i++) {
      const GstStructure *c =
          gst_value_get_structure (gst_value_array_get_value (classes, i));
      gdouble f;

      fail_unless (gst_structure_get_double (c, "fraction", &f));
      total += f;
    }
    fail_unless (fabs (total - 1.0) < 1e-9);
  }
  gst_structure_free (last);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* object-class: the other classes become background. */
GST_START_TEST (test_object_class)
{
  GstHarness *h = harness_with_src (LAUNCH " object-class=1", "RGB", 123, 71,
      "smpte");
  GstMobileOneMaskMeta *meta;
  GstBuffer *buf;
  GstMapInfo map;
  guint ones = 0;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  meta = get_mask_meta (buf);
  fail_unless (gst_buffer_map (meta->mask, &map, GST_MAP_READ));
  for (guint y = 0; y < meta->height; y++)
    for (guint x = 0; x < meta->width; x++) {
      guint8 c = map.data[y * meta->stride + x];

      fail_unless (c == 0 || c == 1);
      ones += c;
    }
  fail_unless (ones > 0);
  gst_buffer_unmap (meta->mask, &map);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
mobileonesegment_suite (void)
{
  Suite *s = suite_create ("mobileonesegment");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_letterbox);
  tcase_add_test (tc, test_transforms);
  tcase_add_test (tc, test_inference_interval);
  tcase_add_test (tc, test_object_class);
  return s;
}

GST_CHECK_MAIN (mobileonesegment);
