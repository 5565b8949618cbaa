/* mobileone-gst: mobileoneclassify tests. */
#include "mobileone-check.h"
#include "mo-classifier.h"

#define LAUNCH "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL

static const GstStructure *
classification (GstVideoRegionOfInterestMeta * roi)
{
  return gst_video_region_of_interest_meta_get_param (roi, "classification");
}

/* The whole frame's result called @name (NULL: the first), read as an
 * application would, without the plugin's functions. */
static const GstStructure *
frame_result (GstBuffer * buf, const gchar * name)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buf,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  const GstStructure *s;
  const GValue *v;

  if (meta == NULL)
    return NULL;
  s = gst_custom_meta_get_structure (meta);
  if (name == NULL) {
    if (gst_structure_n_fields (s) == 0)
      return NULL;
    name = gst_structure_nth_field_name (s, 0);
  }
  v = gst_structure_get_value (s, name);
  fail_unless (v == NULL || GST_VALUE_HOLDS_STRUCTURE (v));
  return v ? gst_value_get_structure (v) : NULL;
}

static guint
n_frame_results (GstBuffer * buf)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buf,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);

  return meta ? (guint) gst_structure_n_fields (gst_custom_meta_get_structure
      (meta)) : 0;
}

/* A buffer of @w x @h RGB (rows padded to 4 bytes) of pseudo-random
 * pixels from @seed, with caps set on @h's source. */
static GstBuffer *
random_rgb (GstHarness * h, gint w, gint ht, guint seed)
{
  gsize stride = GST_ROUND_UP_4 (w * 3);
  GstBuffer *in = gst_harness_create_buffer (h, stride * ht);
  GstMapInfo map;

  gst_buffer_map (in, &map, GST_MAP_WRITE);
  for (gsize j = 0; j < map.size; j++)
    map.data[j] = (guint8) (((j + seed * 1013) * 7919) >> 5);
  gst_buffer_unmap (in, &map);
  return in;
}

/* The engine's class for @crop of @buf. */
static MoClass
engine_class (MoSession * session, GstBuffer * buf, GstCaps * caps,
    const MoRect * crop)
{
  const MoOutput *logits;
  MoClass want;

  run_engine (session, buf, caps, crop, MO_FIT_CROP, NULL);
  logits = mo_session_output (session, "logits");
  mo_classifier_topk (logits->data, logits->c, 1, &want);
  return want;
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
    GstBuffer *buf;
    GstCaps *caps;
    MoClass got, want;
    const MoOutput *logits;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    /* Frame-level metadata, not a region that consumers take for an
     * object. */
    fail_unless_equals_int (count_rois (buf), 0);
    fail_unless_equals_int (n_frame_results (buf), 1);
    check_classification (frame_result (buf, "classification"), &got);
    fail_unless_equals_string (gst_structure_get_name (frame_result (buf,
                NULL)), "classification");
    fail_unless_equals_string (gst_structure_get_string (frame_result (buf,
                NULL), "model"), mo_model_desc (model)->name);

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

/* threshold: nothing is attached nor posted below it, on the frame or on
 * regions (issue 15, 4: the message used to keep them). */
GST_START_TEST (test_threshold)
{
  const gchar *launch[] = { LAUNCH " threshold=1.0 post-messages=true",
    LAUNCH " threshold=1.0 post-messages=true frame-roi=true",
    LAUNCH " threshold=1.0 post-messages=true inference-region=roi-list",
    LAUNCH " threshold=0.0 post-messages=true inference-region=roi-list",
  };

  for (guint i = 0; i < G_N_ELEMENTS (launch); i++) {
    GstHarness *h = gst_harness_new_parse (launch[i]);
    GstBus *bus = gst_bus_new ();
    GstStructure *last = NULL;
    GstBuffer *in, *buf;
    const GValue *list;

    gst_element_set_bus (h->element, bus);
    gst_harness_set_src_caps_str (h,
        "video/x-raw,format=RGB,width=65,height=49,framerate=30/1");
    in = random_rgb (h, 65, 49, 1);
    gst_buffer_add_video_region_of_interest_meta (in, "car", 5, 5, 30, 20);
    buf = gst_harness_push_and_pull (h, in);
    fail_unless_equals_int (n_frame_results (buf), 0);
    fail_unless ((classification (gst_buffer_get_video_region_of_interest_meta
                (buf)) != NULL) == (i == 3), "%s", launch[i]);
    fail_unless_equals_int (count_rois (buf), 1);
    fail_unless_equals_int (count_element_messages (bus, "mobileoneclassify",
            &last), 1);
    list = gst_structure_get_value (last, "classifications");
    fail_unless_equals_int (gst_value_array_get_size (list), i == 3 ? 1 : 0);
    gst_structure_free (last);
    gst_buffer_unref (buf);
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
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
    fail_unless_equals_int (count_rois (buf), 0);
    check_classification (frame_result (buf, NULL), &got);
    {
      gboolean flag;

      fail_unless (gst_structure_get_boolean (frame_result (buf, NULL),
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

/* frame-roi=true: the whole frame's result is also a region covering the
 * frame, labelled with the class, with an id no other region has. */
GST_START_TEST (test_frame_roi)
{
  GstHarness *h = gst_harness_new_parse (LAUNCH " frame-roi=true");
  GstVideoRegionOfInterestMeta *roi, *other;
  GstBuffer *in, *buf;
  gpointer state = NULL;
  MoClass got;

  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=65,height=49,framerate=30/1");
  in = random_rgb (h, 65, 49, 2);
  other = gst_buffer_add_video_region_of_interest_meta (in, "car", 1, 1, 9,
      9);
  other->id = 0;
  buf = gst_harness_push_and_pull (h, in);
  fail_unless_equals_int (count_rois (buf), 2);
  fail_unless (gst_buffer_iterate_meta_filtered (buf, &state,
          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) != NULL);
  roi = (GstVideoRegionOfInterestMeta *) gst_buffer_iterate_meta_filtered
      (buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
  fail_unless (roi != NULL);
  fail_unless_equals_int (roi->x, 0);
  fail_unless_equals_int (roi->w, 65);
  fail_unless_equals_int (roi->h, 49);
  fail_unless (roi->id != 0);
  check_classification (classification (roi), &got);
  fail_unless_equals_string (g_quark_to_string (roi->roi_type),
      gst_structure_get_string (classification (roi), "label"));
  fail_unless (gst_structure_is_equal (classification (roi),
          frame_result (buf, NULL)));
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Two classifiers on one region, or one frame (issue 15, 3): both results
 * stay reachable: the first as "classification", the second under its
 * element's name, or each under its result-name. */
GST_START_TEST (test_two_classifiers)
{
  const struct
  {
    const gchar *launch;
    const gchar *first, *second;
    gboolean regions;
  } cases[] = {
    {"mobileoneclassify name=a n-threads=1 model=" CLASSIFY_MODEL
          " object-class=car ! mobileoneclassify name=b n-threads=1 "
          "fit=stretch model=" CLASSIFY_MODEL " object-class=car",
        "classification", "b", TRUE},
    {"mobileoneclassify name=a n-threads=1 model=" CLASSIFY_MODEL
          " inference-region=roi-list result-name=colour ! "
          "mobileoneclassify name=b n-threads=1 fit=stretch model="
          CLASSIFY_MODEL " inference-region=roi-list result-name=type",
        "colour", "type", TRUE},
    {"mobileoneclassify name=a n-threads=1 model=" CLASSIFY_MODEL
          " ! mobileoneclassify name=b n-threads=1 fit=stretch model="
          CLASSIFY_MODEL, "classification", "b", FALSE},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstHarness *h = gst_harness_new_parse (cases[i].launch);
    const GstStructure *r1, *r2;
    GstBuffer *in, *buf;

    gst_harness_set_src_caps_str (h,
        "video/x-raw,format=RGB,width=65,height=49,framerate=30/1");
    in = random_rgb (h, 65, 49, 3);
    gst_buffer_add_video_region_of_interest_meta (in, "car", 4, 3, 50, 40);
    buf = gst_harness_push_and_pull (h, in);
    if (cases[i].regions) {
      GstVideoRegionOfInterestMeta *roi =
          gst_buffer_get_video_region_of_interest_meta (buf);

      r1 = gst_video_region_of_interest_meta_get_param (roi,
          cases[i].first);
      r2 = gst_video_region_of_interest_meta_get_param (roi,
          cases[i].second);
    } else {
      fail_unless_equals_int (n_frame_results (buf), 2);
      r1 = frame_result (buf, cases[i].first);
      r2 = frame_result (buf, cases[i].second);
    }
    fail_unless (r1 != NULL && r2 != NULL, "%s", cases[i].launch);
    fail_unless_equals_string (gst_structure_get_string (r1, "element"),
        "a");
    fail_unless_equals_string (gst_structure_get_string (r2, "element"),
        "b");
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Regions outside the frame (issue 15, 8): wholly outside or empty ones
 * get nothing; one partly outside is classified on its part inside the
 * frame, exactly as the engine classifies that part. */
GST_START_TEST (test_outside)
{
  MoModel *model;
  MoSession *session = engine_session (CLASSIFY_MODEL, &model);
  GstHarness *h = gst_harness_new_parse (LAUNCH " object-class=car "
      "post-messages=true");
  const struct
  {
    gint x, y;
    guint w, h;
    gboolean classified;
    MoRect inside;
  } cases[] = {
    {70, 10, 20, 20, FALSE, {0, 0, 0, 0}},    /* right of the frame */
    {-40, -30, 30, 20, FALSE, {0, 0, 0, 0}},  /* above and left */
    {10, 60, 20, 20, FALSE, {0, 0, 0, 0}},    /* below */
    {10, 10, 0, 20, FALSE, {0, 0, 0, 0}},     /* empty */
    {-10, -8, 40, 30, TRUE, {0, 0, 30, 22}},
    {50, 30, 40, 40, TRUE, {50, 30, 15, 19}},
    {5, 6, 30, 20, TRUE, {5, 6, 30, 20}},
  };
  GstBus *bus = gst_bus_new ();
  GstStructure *last = NULL;
  GstBuffer *in, *buf;
  GstCaps *caps;
  gpointer state = NULL;
  GstMeta *meta;
  guint i = 0;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=65,height=49,framerate=30/1");
  in = random_rgb (h, 65, 49, 4);
  for (guint j = 0; j < G_N_ELEMENTS (cases); j++)
    gst_buffer_add_video_region_of_interest_meta (in, "car", cases[j].x,
        cases[j].y, cases[j].w, cases[j].h);
  buf = gst_harness_push_and_pull (h, in);
  caps = gst_pad_get_current_caps (h->sinkpad);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    const GstStructure *s = classification (roi);

    fail_unless ((s != NULL) == cases[i].classified, "region %u", i);
    if (s != NULL) {
      MoClass got, want = engine_class (session, buf, caps, &cases[i].inside);

      check_classification (s, &got);
      fail_unless_equals_int (got.label, want.label);
      fail_unless (got.score == want.score, "region %u", i);
    }
    i++;
  }
  fail_unless_equals_int (i, G_N_ELEMENTS (cases));
  /* The message gives the part classified. */
  fail_unless_equals_int (count_element_messages (bus, "mobileoneclassify",
          &last), 1);
  {
    const GValue *list = gst_structure_get_value (last, "classifications");
    const GstStructure *first;
    gint x, y, w, ht;

    fail_unless_equals_int (gst_value_array_get_size (list), 3);
    first = gst_value_get_structure (gst_value_array_get_value (list, 0));
    fail_unless (gst_structure_get (first, "x", G_TYPE_INT, &x, "y",
            G_TYPE_INT, &y, "width", G_TYPE_INT, &w, "height", G_TYPE_INT,
            &ht, NULL));
    fail_unless (x == 0 && y == 0 && w == 30 && ht == 22);
  }
  gst_structure_free (last);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
  mo_session_free (session);
  mo_model_unref (model);
}

GST_END_TEST;

/* inference-region=roi-list without object-class: every region, whatever
 * its label; max-regions caps them, the first in the buffer's order. The
 * regions of a frame run as a batch over the element's threads (here 2
 * and 3) and each equals the engine's run of that region alone, bit for
 * bit. */
GST_START_TEST (test_all_regions)
{
  MoModel *model;
  MoSession *session = engine_session (CLASSIFY_MODEL, &model);
  const gchar *launch[] = {
    "mobileoneclassify n-threads=2 inference-region=roi-list model="
        CLASSIFY_MODEL,
    "mobileoneclassify n-threads=3 inference-region=roi-list model="
        CLASSIFY_MODEL,
    "mobileoneclassify n-threads=2 inference-region=roi-list max-regions=5 "
        "model=" CLASSIFY_MODEL,
  };

  for (guint l = 0; l < G_N_ELEMENTS (launch); l++) {
    GstHarness *h = gst_harness_new_parse (launch[l]);
    guint cap = l == 2 ? 5 : 23;
    GstBuffer *in, *buf;
    GstCaps *caps;
    gpointer state = NULL;
    GstMeta *meta;
    guint i = 0;

    gst_harness_set_src_caps_str (h,
        "video/x-raw,format=RGB,width=97,height=65,framerate=30/1");
    in = random_rgb (h, 97, 65, 5 + l);
    for (guint j = 0; j < 23; j++)
      gst_buffer_add_video_region_of_interest_meta (in,
          j % 3 == 0 ? "car" : j % 3 == 1 ? "person" : NULL, (j * 13) % 80,
          (j * 7) % 50, 9 + j, 8 + (j * 5) % 20);
    buf = gst_harness_push_and_pull (h, in);
    caps = gst_pad_get_current_caps (h->sinkpad);
    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi =
          (GstVideoRegionOfInterestMeta *) meta;
      const GstStructure *s = classification (roi);

      fail_unless ((s != NULL) == (i < cap), "%s: region %u", launch[l], i);
      if (s != NULL) {
        MoRect r = { roi->x, roi->y, MIN (roi->w, 97 - roi->x),
          MIN (roi->h, 65 - roi->y)
        };
        MoClass got, want = engine_class (session, buf, caps, &r);

        check_classification (s, &got);
        fail_unless_equals_int (got.label, want.label);
        fail_unless (got.score == want.score, "%s: region %u", launch[l], i);
      }
      i++;
    }
    fail_unless_equals_int (i, 23);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
  mo_session_free (session);
  mo_model_unref (model);
}

GST_END_TEST;

/* Adds a region of @label with a "tracking" param of @id, as mobileonetrack
 * does. */
static void
add_tracked (GstBuffer * buf, gint id, gint x, gint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, "car", x, y, w, h);

  roi->id = id;
  if (id >= 0)
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("tracking", "id", G_TYPE_INT, id, NULL));
}

/* reclassify-interval=3 (issue 16): a tracked object is classified on the
 * frame it appears and every third frame after; in between it carries its
 * track's last result, marked repeated, although the pixels change every
 * frame. An untracked region is classified every frame. A new stream
 * forgets the tracks (their ids start again). */
GST_START_TEST (test_reclassify)
{
  MoModel *model;
  MoSession *session = engine_session (CLASSIFY_MODEL, &model);
  GstHarness *h = gst_harness_new_parse (LAUNCH " inference-region=roi-list "
      "reclassify-interval=3 post-messages=true");
  GstBus *bus = gst_bus_new ();
  MoClass last_a = { -1, 0 }, last_b = { -1, 0 };

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=65,height=49,framerate=30/1");
  for (guint f = 0; f < 8; f++) {
    GstBuffer *in = random_rgb (h, 65, 49, 10 + f), *buf;
    GstCaps *caps;
    gpointer state = NULL;
    GstMeta *meta;
    guint i = 0;

    add_tracked (in, 7, 3 + f, 4, 30, 25);      /* from frame 0 */
    if (f >= 2)
      add_tracked (in, 9, 30, 20, 30, 25);      /* from frame 2 */
    add_tracked (in, -1, 10, 10, 40, 30);       /* never confirmed */
    buf = gst_harness_push_and_pull (h, in);
    caps = gst_pad_get_current_caps (h->sinkpad);
    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi =
          (GstVideoRegionOfInterestMeta *) meta;
      const GstStructure *s = classification (roi);
      MoRect r = { roi->x, roi->y, roi->w, roi->h };
      gboolean repeated, expect_repeated;
      MoClass got, *last = NULL;

      check_classification (s, &got);
      fail_unless (gst_structure_get_boolean (s, "repeated", &repeated));
      if (roi->id == 7) {
        expect_repeated = f % 3 != 0;
        last = &last_a;
      } else if (roi->id == 9) {
        expect_repeated = (f - 2) % 3 != 0;
        last = &last_b;
      } else {
        expect_repeated = FALSE;
      }
      fail_unless_equals_int (repeated, expect_repeated);
      if (expect_repeated) {
        fail_unless_equals_int (got.label, last->label);
        fail_unless (got.score == last->score);
      } else {
        MoClass want = engine_class (session, buf, caps, &r);

        fail_unless_equals_int (got.label, want.label);
        fail_unless (got.score == want.score, "frame %u region %u", f, i);
        if (last)
          *last = got;
      }
      i++;
    }
    fail_unless_equals_int (i, f >= 2 ? 3 : 2);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
  }
  {
    GstStructure *msg = NULL;
    const GValue *list;
    gint id;

    fail_unless_equals_int (count_element_messages (bus, "mobileoneclassify",
            &msg), 8);
    list = gst_structure_get_value (msg, "classifications");
    fail_unless_equals_int (gst_value_array_get_size (list), 3);
    fail_unless (gst_structure_get_int (gst_value_get_structure
            (gst_value_array_get_value (list, 0)), "id", &id));
    fail_unless_equals_int (id, 7);
    gst_structure_free (msg);
  }
  /* A new stream: track 7 is another object, classified at once. */
  gst_harness_push_event (h, gst_event_new_stream_start ("again"));
  {
    GstBuffer *in = random_rgb (h, 65, 49, 99), *buf;
    gboolean repeated;

    add_tracked (in, 7, 3, 4, 30, 25);
    buf = gst_harness_push_and_pull (h, in);
    fail_unless (gst_structure_get_boolean (classification
            (gst_buffer_get_video_region_of_interest_meta (buf)), "repeated",
            &repeated));
    fail_if (repeated);
    gst_buffer_unref (buf);
  }
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  mo_session_free (session);
  mo_model_unref (model);
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
  tcase_add_test (tc, test_frame_roi);
  tcase_add_test (tc, test_two_classifiers);
  tcase_add_test (tc, test_outside);
  tcase_add_test (tc, test_all_regions);
  tcase_add_test (tc, test_reclassify);
  return s;
}

GST_CHECK_MAIN (mobileoneclassify);
