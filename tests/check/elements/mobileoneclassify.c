/* mobileone-gst: mobileoneclassify tests. */
#include "mobileone-check.h"
#include "mo-classifier.h"

#define LAUNCH "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL

static const GstStructure *
classification (GstVideoRegionOfInterestMeta * roi)
{
  return gst_video_region_of_interest_meta_get_param (roi, "classification");
}

static void
check_classification (const GstStructure * s, MoClass * out)
{
  gint label_id;
  gdouble conf;
  const gchar *label;

  fail_unless (s != NULL);
  fail_unless (gst_structure_get_int (s, "label_id", &label_id));
  fail_unless (gst_structure_get_double (s, "confidence", &conf));
  label = gst_structure_get_string (s, "label");
  fail_unless (label != NULL);
  fail_unless (label_id >= 0 && label_id < 10);
  fail_unless (conf > 0.0 && conf <= 1.0);
  /* k1 has no labels file: the label is the class number. */
  {
    gchar *expect = g_strdup_printf ("%d", label_id);

    fail_unless_equals_string (label, expect);
    g_free (expect);
  }
  out->label = label_id;
  out->score = (float) conf;
}

/* fit defaults to crop, like mobileone-cli image for a classifier, so the
 * same picture gets the same class from both. */
GST_START_TEST (test_default_fit)
{
  GstElement *e = gst_element_factory_make ("mobileoneclassify", NULL);
  gint fit;

  fail_unless (e != NULL);
  g_object_get (e, "fit", &fit, NULL);
  fail_unless_equals_int (fit, MO_FIT_CROP);
  g_object_set (e, "letterbox", TRUE, NULL);
  g_object_get (e, "fit", &fit, NULL);
  fail_unless_equals_int (fit, MO_FIT_LETTERBOX);
  g_object_set (e, "letterbox", FALSE, NULL);
  g_object_get (e, "fit", &fit, NULL);
  fail_unless_equals_int (fit, MO_FIT_CROP);
  gst_object_unref (e);
}

GST_END_TEST;

/* Every format, at an odd size: one region covering the frame, its
 * roi_type the label, the class and confidence the engine gives for the
 * same frame; the packed RGB formats all carry the same pixels and must all
 * agree exactly. */
GST_START_TEST (test_formats)
{
  MoModel *model;
  MoSession *session = engine_session (CLASSIFY_MODEL, &model);
  MoClass rgb = { -1, 0 };

  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = harness_with_src (LAUNCH, all_formats[i], 123, 71,
        "smpte");
    GstVideoRegionOfInterestMeta *roi;
    GstBuffer *buf;
    GstCaps *caps;
    MoClass got, want;
    const MoOutput *logits;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    fail_unless_equals_int (count_rois (buf), 1);
    roi = gst_buffer_get_video_region_of_interest_meta (buf);
    fail_unless_equals_int (roi->x, 0);
    fail_unless_equals_int (roi->y, 0);
    fail_unless_equals_int (roi->w, 123);
    fail_unless_equals_int (roi->h, 71);
    check_classification (classification (roi), &got);
    fail_unless_equals_string (g_quark_to_string (roi->roi_type),
        gst_structure_get_string (classification (roi), "label"));

    caps = gst_pad_get_current_caps (h->sinkpad);
    run_engine (session, buf, caps, NULL, MO_FIT_CROP, NULL);
    logits = mo_session_output (session, "logits");
    mo_classifier_topk (logits->data, logits->c, 1, &want);
    fail_unless_equals_int (got.label, want.label);
    fail_unless (fabs (got.score - want.score) < 1e-6, "%s: %f vs %f",
        all_formats[i], got.score, want.score);
    if (format_is_rgb (all_formats[i])) {
      if (rgb.label < 0)
        rgb = got;
      fail_unless_equals_int (got.label, rgb.label);
      fail_unless (got.score == rgb.score, "%s", all_formats[i]);
    }

    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
  mo_session_free (session);
  mo_model_unref (model);
}

GST_END_TEST;

/* With object-class, only the upstream regions of those labels are
 * classified, each from its own crop. */
GST_START_TEST (test_regions)
{
  MoModel *model;
  MoSession *session = engine_session (CLASSIFY_MODEL, &model);
  GstHarness *h = harness_with_src (LAUNCH " object-class=car,bus", "RGB",
      161, 97, "smpte");
  const MoRect rects[] = { {10, 5, 40, 30}, {70, 20, 80, 70}, {0, 0, 161, 97},
  {150, 90, 11, 7}
  };
  const gchar *types[] = { "car", "person", "bus", "car" };
  GstBuffer *in, *buf;
  GstCaps *caps;
  gpointer state = NULL;
  GstMeta *meta;
  guint i = 0;

  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=161,height=97,framerate=30/1");
  in = gst_harness_create_buffer (h, 161 * 97 * 3 + 97 * 3);
  {
    /* Rows are padded to 4 bytes: 161 * 3 = 483 -> 484. */
    GstMapInfo map;

    gst_buffer_map (in, &map, GST_MAP_WRITE);
    for (gsize j = 0; j < map.size; j++)
      map.data[j] = (guint8) ((j * 7919) >> 5);
    gst_buffer_unmap (in, &map);
  }
  gst_buffer_set_size (in, 484 * 97);
  for (guint j = 0; j < G_N_ELEMENTS (rects); j++)
    gst_buffer_add_video_region_of_interest_meta (in, types[j], rects[j].x,
        rects[j].y, rects[j].w, rects[j].h);

  buf = gst_harness_push_and_pull (h, in);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless_equals_int (count_rois (buf), 4);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    const GstStructure *s = classification (roi);

    if (g_str_equal (types[i], "person")) {
      fail_unless (s == NULL);
    } else {
      MoClass got, want;
      const MoOutput *logits;

      check_classification (s, &got);
      run_engine (session, buf, caps, &rects[i], MO_FIT_CROP, NULL);
      logits = mo_session_output (session, "logits");
      mo_classifier_topk (logits->data, logits->c, 1, &want);
      fail_unless_equals_int (got.label, want.label);
      fail_unless (fabs (got.score - want.score) < 1e-6);
    }
    i++;
  }
  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
  mo_session_free (session);
  mo_model_unref (model);
}

GST_END_TEST;

/* Between inferences, a region takes the result of the last classified
 * region of its label that it overlaps enough; others get nothing. */
GST_START_TEST (test_regions_interval)
{
  GstHarness *h = gst_harness_new_parse (LAUNCH " object-class=car "
      "inference-interval=2");
  GstBuffer *in, *out;
  GstVideoRegionOfInterestMeta *roi;
  MoClass ref, again;

  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=BGRx,width=64,height=48,framerate=30/1");
  in = gst_harness_create_buffer (h, 64 * 48 * 4);
  gst_buffer_memset (in, 0, 0x5a, 64 * 48 * 4);
  gst_buffer_add_video_region_of_interest_meta (in, "car", 8, 8, 40, 30);
  out = gst_harness_push_and_pull (h, in);
  check_classification (classification
      (gst_buffer_get_video_region_of_interest_meta (out)), &ref);
  gst_buffer_unref (out);

  /* Moved a little: the same car. Far away: another one, not classified
   * until the next inference. */
  in = gst_harness_create_buffer (h, 64 * 48 * 4);
  gst_buffer_add_video_region_of_interest_meta (in, "car", 10, 9, 40, 30);
  gst_buffer_add_video_region_of_interest_meta (in, "car", 50, 40, 10, 8);
  out = gst_harness_push_and_pull (h, in);
  {
    gpointer state = NULL;
    GstMeta *meta;
    guint i = 0;

    while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      roi = (GstVideoRegionOfInterestMeta *) meta;
      if (i++ == 0) {
        check_classification (classification (roi), &again);
        fail_unless_equals_int (again.label, ref.label);
        fail_unless (again.score == ref.score);
      } else {
        fail_unless (classification (roi) == NULL);
      }
    }
    fail_unless_equals_int (i, 2);
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* threshold: nothing is attached below it. */
GST_START_TEST (test_threshold)
{
  GstHarness *h = harness_with_src (LAUNCH " threshold=1.0", "BGRx", 65, 49,
      "ball");
  GstBuffer *buf;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless_equals_int (count_rois (buf), 0);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* inference-interval=3: the model runs on frames 0, 3, 6 and the frames in
 * between get the last result again, marked repeated in the param and in
 * their message (one per frame). */
GST_START_TEST (test_inference_interval)
{
  GstHarness *h = harness_with_src (LAUNCH " inference-interval=3 "
      "post-messages=true", "RGB", 97, 65, "snow");
  GstBus *bus = gst_bus_new ();
  GstStructure *last = NULL;
  MoClass prev = { -1, 0 };

  gst_element_set_bus (h->element, bus);
  for (guint i = 0; i < 7; i++) {
    GstBuffer *buf;
    MoClass got;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    fail_unless_equals_int (count_rois (buf), 1);
    check_classification (classification
        (gst_buffer_get_video_region_of_interest_meta (buf)), &got);
    {
      gboolean flag;

      fail_unless (gst_structure_get_boolean (classification
              (gst_buffer_get_video_region_of_interest_meta (buf)),
              "repeated", &flag));
      fail_unless_equals_int (flag, i % 3 != 0);
    }
    if (i % 3 != 0) {
      fail_unless_equals_int (got.label, prev.label);
      fail_unless (got.score == prev.score);
    }
    prev = got;
    gst_buffer_unref (buf);
  }
  fail_unless_equals_int (count_element_messages (bus, "mobileoneclassify",
          &last), 7);
  {
    const GValue *list = gst_structure_get_value (last, "classifications");
    GstClockTime ts;

    fail_unless (list != NULL && GST_VALUE_HOLDS_ARRAY (list));
    fail_unless_equals_int (gst_value_array_get_size (list), 1);
    fail_unless (gst_structure_get_uint64 (last, "timestamp", &ts));
    fail_unless_equals_uint64 (ts, 6 * GST_SECOND / 30);
    fail_unless (gst_structure_has_field (last, "running-time"));
  }
  gst_structure_free (last);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
mobileoneclassify_suite (void)
{
  Suite *s = suite_create ("mobileoneclassify");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_default_fit);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_regions);
  tcase_add_test (tc, test_regions_interval);
  tcase_add_test (tc, test_threshold);
  tcase_add_test (tc, test_inference_interval);
  return s;
}

GST_CHECK_MAIN (mobileoneclassify);
