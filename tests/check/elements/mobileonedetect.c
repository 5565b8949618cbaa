/* mobileone-gst: mobileonedetect tests. */
#include "mobileone-check.h"
#include "mo-ssdlite.h"
#include "gstmobileoneroi.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#define LAUNCH "mobileonedetect n-threads=1 model=" DETECT_MODEL

/* The regions of @buf whose type is @label. */
static guint
count_label (GstBuffer * buf, const gchar * label)
{
  GstMobileOneRoi roi;
  gpointer state = NULL;
  guint n = 0;

  while (gst_mobile_one_roi_next (buf, &state, &roi))
    n += roi.meta->roi_type == g_quark_from_string (label);
  return n;
}

/* The fields DL Streamer reads, consistent with the region itself. */
static void
check_detection (GstVideoRegionOfInterestMeta * roi, gint fw, gint fh,
    gint * label_id, gdouble * conf, gdouble box[4])
{
  const GstStructure *s =
      gst_video_region_of_interest_meta_get_param (roi, "detection");
  const gchar *label;

  fail_unless (s != NULL);
  fail_unless (gst_structure_get_int (s, "label_id", label_id));
  fail_unless (gst_structure_get_double (s, "confidence", conf));
  fail_unless (gst_structure_get_double (s, "x_min", &box[0]));
  fail_unless (gst_structure_get_double (s, "y_min", &box[1]));
  fail_unless (gst_structure_get_double (s, "x_max", &box[2]));
  fail_unless (gst_structure_get_double (s, "y_max", &box[3]));
  label = gst_structure_get_string (s, "label");
  fail_unless (label != NULL);
  fail_unless_equals_string (g_quark_to_string (roi->roi_type), label);
  /* 4 classes, background at 0 is never a detection. */
  fail_unless (*label_id >= 1 && *label_id <= 3, "label_id %d", *label_id);
  fail_unless (*conf > 0.0 && *conf <= 1.0);
  fail_unless (0 <= box[0] && box[0] <= box[2] && box[2] <= 1.0);
  fail_unless (0 <= box[1] && box[1] <= box[3] && box[3] <= 1.0);
  fail_unless (fabs (box[0] * fw - roi->x) <= 1.0);
  fail_unless (fabs (box[1] * fh - roi->y) <= 1.0);
  fail_unless (fabs (box[2] * fw - (roi->x + roi->w)) <= 1.0);
  fail_unless (fabs (box[3] * fh - (roi->y + roi->h)) <= 1.0);
  fail_unless (roi->x + roi->w <= (guint) fw && roi->y + roi->h <= (guint) fh);
}

/* Compares the regions of @buf with the engine's detections of the same
 * frame; returns how many there are. */
static guint
compare_with_engine (GstBuffer * buf, GstCaps * caps, MoFit fit,
    const MoSsdParams * params)
{
  MoModel *model;
  MoSession *session = engine_session (DETECT_MODEL, &model);
  MoSsdPost *post = mo_ssdlite_post_new (session, 0, NULL);
  MoDetection dets[300];
  GstVideoInfo info;
  MoTransform xf;
  gpointer state = NULL;
  GstMeta *meta;
  gint n, i = 0;

  gst_video_info_from_caps (&info, caps);
  run_engine (session, buf, caps, NULL, fit, &xf);
  n = mo_ssdlite_post_run (post, params, dets, 300);
  fail_unless (n >= 0);
  fail_unless_equals_int (count_rois (buf), n);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    gint fw = GST_VIDEO_INFO_WIDTH (&info), fh = GST_VIDEO_INFO_HEIGHT (&info);
    gdouble box[4], want[4], conf;
    gint label_id;

    check_detection (roi, fw, fh, &label_id, &conf, box);
    mo_ssdlite_detection_to_image (&xf, &dets[i], want);
    fail_unless_equals_int (label_id, dets[i].label);
    fail_unless (fabs (conf - dets[i].score) < 1e-6);
    fail_unless (fabs (box[0] * fw - CLAMP (want[0], 0, fw)) < 1e-3);
    fail_unless (fabs (box[1] * fh - CLAMP (want[1], 0, fh)) < 1e-3);
    fail_unless (fabs (box[2] * fw - CLAMP (want[2], 0, fw)) < 1e-3);
    fail_unless (fabs (box[3] * fh - CLAMP (want[3], 0, fh)) < 1e-3);
    i++;
  }
  mo_ssdlite_post_free (post);
  mo_session_free (session);
  mo_model_unref (model);
  return (guint) n;
}

/* Every format at an odd size: regions with the right fields, equal to the
 * engine's detections of the same frame. */
GST_START_TEST (test_formats)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = harness_with_src (LAUNCH, all_formats[i], 211, 97,
        "smpte");
    GstBuffer *buf;
    GstCaps *caps;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (compare_with_engine (buf, caps, MO_FIT_STRETCH, NULL) > 0,
        "%s: no detections", all_formats[i]);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* fit=letterbox and fit=crop (and the deprecated letterbox=true): boxes
 * map back through the padded or cropped input exactly. */
GST_START_TEST (test_letterbox)
{
  const struct
  {
    const gchar *prop;
    MoFit fit;
  } fits[] = {
    {"fit=letterbox", MO_FIT_LETTERBOX},
    {"letterbox=true", MO_FIT_LETTERBOX},
    {"fit=crop", MO_FIT_CROP},
    {"", MO_FIT_STRETCH},
  };

  for (guint i = 0; i < G_N_ELEMENTS (fits); i++) {
    gchar *launch = g_strdup_printf (LAUNCH " name=det %s", fits[i].prop);
    GstHarness *h = harness_with_src (launch, "I420", 157, 201, "smpte");
    GstBuffer *buf;
    GstCaps *caps;
    GstElement *det;
    gint fit;

    det = gst_bin_get_by_name (GST_BIN (h->element), "det");
    g_object_get (det, "fit", &fit, NULL);
    gst_object_unref (det);
    fail_unless_equals_int (fit, fits[i].fit);
    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (compare_with_engine (buf, caps, fits[i].fit, NULL) > 0,
        "%s", fits[i].prop);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
    g_free (launch);
  }
}

GST_END_TEST;

/* threshold, iou-threshold and max-detections reach the post-processing. */
GST_START_TEST (test_params)
{
  GstHarness *h = harness_with_src (LAUNCH " threshold=0.3 iou-threshold=0.6 "
      "max-detections=5", "RGB", 263, 97, "smpte");
  MoSsdParams params = { 0.3, 0.6, 100, 5, NULL };
  GstBuffer *buf;
  GstCaps *caps;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless_equals_int (compare_with_engine (buf, caps, MO_FIT_STRETCH, &params), 5);
  gst_caps_unref (caps);
  gst_buffer_unref (buf);

  g_object_set (gst_harness_find_element (h, "mobileonedetect"), "threshold",
      0.99999, NULL);
  gst_object_unref (gst_harness_find_element (h, "mobileonedetect"));
  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless_equals_int (count_rois (buf), 0);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* object-class keeps only the named labels. */
GST_START_TEST (test_object_class)
{
  GstHarness *h = harness_with_src (LAUNCH " object-class=2", "BGRA", 263,
      97, "smpte");
  GstBuffer *buf;
  gpointer state = NULL;
  GstMeta *meta;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (count_rois (buf) > 0);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    fail_unless_equals_string (g_quark_to_string (((GstVideoRegionOfInterestMeta
                    *) meta)->roi_type), "2");
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Issue 15, 1: object-class filters before max-detections cuts. The class
 * kept is one that is never the most confident detection, so cutting first
 * would leave nothing. */
GST_START_TEST (test_max_detections_after_object_class)
{
  GstHarness *h = harness_with_src (LAUNCH " threshold=0.2", "RGB", 263, 97,
      "smpte");
  GstVideoRegionOfInterestMeta *top = NULL;
  GQuark other = 0;
  GstMobileOneRoi roi;
  gpointer state = NULL;
  GstBuffer *buf;
  gchar *launch;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  /* The regions come most confident first. */
  while (gst_mobile_one_roi_next (buf, &state, &roi)) {
    if (top == NULL)
      top = roi.meta;
    else if (roi.meta->roi_type != top->roi_type)
      other = roi.meta->roi_type;
  }
  fail_unless (other != 0, "the frame needs detections of two classes");
  gst_buffer_unref (buf);
  gst_harness_teardown (h);

  launch = g_strdup_printf (LAUNCH " threshold=0.2 object-class=%s "
      "max-detections=1", g_quark_to_string (other));
  h = harness_with_src (launch, "RGB", 263, 97, "smpte");
  g_free (launch);
  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless_equals_int (count_rois (buf), 1);
  state = NULL;
  fail_unless (gst_mobile_one_roi_next (buf, &state, &roi));
  fail_unless_equals_int (roi.meta->roi_type, other);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Issue 15, 2: a detector after another (or after a classifier) numbers its
 * regions after the ones already there, so every id of the buffer is
 * unique and the id lookup finds the right region. */
GST_START_TEST (test_unique_ids)
{
  GstHarness *h = harness_with_src (LAUNCH " threshold=0.2 ! " LAUNCH
      " threshold=0.2 object-class=2", "RGB", 263, 97, "smpte");
  GHashTable *seen = g_hash_table_new (NULL, NULL);
  GstMobileOneRoi roi;
  gpointer state = NULL;
  GstBuffer *buf;
  guint n = 0;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  while (gst_mobile_one_roi_next (buf, &state, &roi)) {
    fail_unless (roi.meta->id >= 0);
    fail_if (g_hash_table_contains (seen, GINT_TO_POINTER (roi.meta->id)),
        "id %d twice", roi.meta->id);
    g_hash_table_add (seen, GINT_TO_POINTER (roi.meta->id));
    fail_unless (gst_buffer_get_video_region_of_interest_meta_id (buf,
            roi.meta->id) == roi.meta);
    n++;
  }
  /* Both detectors found something: the second's "2" regions repeat some
   * of the first's. */
  fail_unless (n > count_label (buf, "2"));
  fail_unless (count_label (buf, "2") >= 2);
  gst_buffer_unref (buf);
  g_hash_table_unref (seen);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A description of the test model's weights in a temporary folder, with
 * @labels (background first, NULL-terminated; NULL for none) and @head_extra
 * lines under head:. The element needs allow-external-paths=true for it:
 * the weights stay where they are. Free with g_free(). */
static gchar *
write_model (const gchar * name, const gchar * const *labels,
    const gchar * head_extra)
{
  gchar *dir = g_dir_make_tmp ("mobileonedetect-XXXXXX", NULL);
  gchar *yaml = g_build_filename (dir, name, NULL);
  GString *text = g_string_new (NULL);

  fail_unless (dir != NULL);
  g_string_append_printf (text, "name: ssd\n"
      "backbone:\n"
      "  width_multipliers: [0.125, 0.0625, 0.0625, 0.0625]\n"
      "  num_conv_branches: 1\n"
      "  fused: true\n"
      "  prefix: \"backbone.\"\n"
      "input: {width: 263, height: 97, mean: [0.485, 0.456, 0.406], "
      "std: [0.229, 0.224, 0.225]}\n"
      "head:\n"
      "  type: ssdlite\n"
      "  num_classes: 4\n"
      "  extra_channels: [24, 16, 16, 8]\n"
      "  score_threshold: 0.4\n"
      "  nms_iou_threshold: 0.45\n"
      "  topk_candidates: 100\n"
      "  max_detections: 50\n"
      "%s"
      "weights: %s\n", head_extra ? head_extra : "",
      DATA ("ssd/ssd-fused.safetensors"));
  if (labels) {
    gchar *lpath = g_build_filename (dir, "labels.txt", NULL);
    gchar *ltext = g_strjoinv ("\n", (gchar **) labels);

    fail_unless (g_file_set_contents (lpath, ltext, -1, NULL));
    g_string_append (text, "labels: labels.txt\n");
    g_free (ltext);
    g_free (lpath);
  }
  fail_unless (g_file_set_contents (yaml, text->str, -1, NULL));
  g_string_free (text, TRUE);
  g_free (dir);
  return yaml;
}

/* Removes what write_model() wrote. */
static void
remove_model (gchar * yaml)
{
  gchar *dir = g_path_get_dirname (yaml);
  gchar *labels = g_build_filename (dir, "labels.txt", NULL);

  g_remove (yaml);
  g_remove (labels);
  g_rmdir (dir);
  g_free (labels);
  g_free (dir);
  g_free (yaml);
}

static const gchar *const named_labels[] = { "background", "Star", "Ball",
  "Box", NULL
};

/* The first warning on @bus, or NULL. */
static GstMessage *
pop_warning (GstBus * bus)
{
  return gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
}

/* Issue 15, 6: object-class matches labels without regard to case; a name
 * that is no label of the model gives a warning listing the labels. */
GST_START_TEST (test_object_class_case)
{
  gchar *model = write_model ("named.yaml", named_labels, NULL);
  gchar *launch = g_strdup_printf ("mobileonedetect n-threads=1 "
      "allow-external-paths=true threshold=0.2 model=%s "
      "object-class=\"star, Nothing\"", model);
  GstHarness *h = harness_with_src (launch, "RGB", 263, 97, "smpte");
  GstBus *bus = gst_bus_new ();
  GstMobileOneRoi roi;
  gpointer state = NULL;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;
  GstBuffer *buf;

  /* The harness started the element before the bus was there: again. */
  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_harness_play (h);
  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (count_rois (buf) > 0);
  while (gst_mobile_one_roi_next (buf, &state, &roi))
    fail_unless_equals_string (roi.label, "Star");
  gst_buffer_unref (buf);

  msg = pop_warning (bus);
  fail_unless (msg != NULL, "no warning about 'Nothing'");
  gst_message_parse_warning (msg, &error, &debug);
  fail_unless (strstr (error->message, "'Nothing'") != NULL, "%s",
      error->message);
  fail_unless (strstr (error->message, "star") == NULL, "%s",
      error->message);
  fail_unless (strstr (debug, "background, Star, Ball, Box") != NULL, "%s",
      debug);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (launch);
  remove_model (model);
}

GST_END_TEST;

/* Pushes frames until one has a region labelled like @labels (or, with
 * @labels NULL, any region); fails after 10 s. Returns the frames pushed. */
static guint
push_until_labels (GstHarness * h, const gchar * const *labels)
{
  for (guint n = 1; n <= 500; n++) {
    GstBuffer *buf;
    GstMobileOneRoi roi;
    gpointer state = NULL;
    gboolean found = FALSE;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    while (gst_mobile_one_roi_next (buf, &state, &roi))
      found = found || g_strv_contains (labels, roi.label);
    gst_buffer_unref (buf);
    if (found)
      return n;
    g_usleep (20000);
  }
  fail ("the new model's labels never came");
  return 0;
}

/* Issue 15, 5: model set while playing: the stream goes on, the new
 * model's labels come after a few frames; a model that cannot load gives a
 * warning and the last good one goes on. object-class applies at the next
 * frame. */
GST_START_TEST (test_switch_while_playing)
{
  static const gchar *const numbers[] = { "1", "2", "3", NULL };
  gchar *model = write_model ("named.yaml", named_labels, NULL);
  GstHarness *h = harness_with_src (LAUNCH " threshold=0.2 "
      "allow-external-paths=true", "RGB", 263, 97, "smpte");
  GstElement *det = gst_harness_find_element (h, "mobileonedetect");
  GstBus *bus = gst_bus_new ();
  GstMobileOneRoi roi;
  gpointer state = NULL;
  GstMessage *msg;
  GstBuffer *buf;
  gchar *path;

  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (push_until_labels (h, numbers), 1);

  g_object_set (det, "model", model, NULL);
  push_until_labels (h, named_labels);
  /* From then on, only the new labels. */
  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (count_rois (buf) > 0);
  while (gst_mobile_one_roi_next (buf, &state, &roi))
    fail_unless (g_strv_contains (named_labels, roi.label), "%s", roi.label);
  gst_buffer_unref (buf);
  fail_unless (pop_warning (bus) == NULL);

  /* object-class: the very next frame. */
  g_object_set (det, "object-class", "ball", NULL);
  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (count_rois (buf) > 0);
  state = NULL;
  while (gst_mobile_one_roi_next (buf, &state, &roi))
    fail_unless_equals_string (roi.label, "Ball");
  gst_buffer_unref (buf);
  g_object_set (det, "object-class", NULL, NULL);

  /* A model that does not load: a warning, the old model goes on. */
  g_object_set (det, "model", DATA ("ssd/no-such-model.yaml"), NULL);
  msg = NULL;
  for (guint i = 0; i < 500 && msg == NULL; i++) {
    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    state = NULL;
    while (gst_mobile_one_roi_next (buf, &state, &roi))
      fail_unless (g_strv_contains (named_labels, roi.label), "%s",
          roi.label);
    gst_buffer_unref (buf);
    msg = pop_warning (bus);
    if (msg == NULL)
      g_usleep (20000);
  }
  fail_unless (msg != NULL, "no warning for a missing model");
  gst_message_unref (msg);
  g_object_get (det, "model", &path, NULL);
  fail_unless_equals_string (path, model);
  g_free (path);
  fail_unless (push_until_labels (h, named_labels) == 1);

  gst_object_unref (det);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  remove_model (model);
}

GST_END_TEST;

/* Per-class thresholds: the property's reach the engine (the same
 * detections as the engine's with those thresholds), the YAML's
 * head.class_thresholds apply, and the property wins over the YAML. */
GST_START_TEST (test_class_thresholds)
{
  gdouble thr[4] = { 0.0, 0.0, 0.45, 0.3 };
  MoSsdParams params = { 0.2, 0.45, 100, 50, thr };
  GstHarness *h = harness_with_src (LAUNCH " threshold=0.2 "
      "class-thresholds=\"2=0.45, 3=0.3\"", "RGB", 263, 97, "smpte");
  gchar *model = write_model ("thr.yaml", named_labels,
      "  class_thresholds: {ball: 0.45}\n");
  gchar *launch = g_strdup_printf ("mobileonedetect n-threads=1 "
      "allow-external-paths=true threshold=0.2 max-detections=1000 model=%s",
      model);
  GstMobileOneRoi roi;
  gpointer state = NULL;
  GstBuffer *buf;
  GstCaps *caps;
  guint low = 0;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (compare_with_engine (buf, caps, MO_FIT_STRETCH, &params) > 0);
  while (gst_mobile_one_roi_next (buf, &state, &roi))
    fail_unless (roi.class_id != 2 || roi.confidence > 0.45);
  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);

  /* The YAML's: no Ball at 0.45 or below; with the property at 0.2, some
   * (the frame has Ball detections between 0.2 and 0.45). */
  for (guint pass = 0; pass < 2; pass++) {
    gchar *l = g_strdup_printf ("%s%s", launch, pass ?
        " class-thresholds=BALL=0.2" : "");
    guint n_low = 0;

    h = harness_with_src (l, "RGB", 263, 97, "smpte");
    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    state = NULL;
    while (gst_mobile_one_roi_next (buf, &state, &roi))
      n_low += g_str_equal (roi.label, "Ball") && roi.confidence <= 0.45;
    if (pass == 0) {
      fail_unless_equals_int (n_low, 0);
    } else {
      low = n_low;
    }
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
    g_free (l);
  }
  fail_unless (low > 0);
  g_free (launch);
  remove_model (model);
}

GST_END_TEST;

/* The regions follow the frame through videoscale. */
GST_START_TEST (test_videoscale)
{
  GstHarness *h = harness_with_src (LAUNCH, "RGB", 263, 97, "smpte");
  GstHarness *hs = harness_with_src (LAUNCH " ! videoscale ! capsfilter "
      "caps=video/x-raw,width=526,height=291", "RGB", 263, 97, "smpte");
  GstBuffer *a, *b;
  gpointer sa = NULL, sb = NULL;
  GstMeta *ma, *mb;

  fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push_from_src (hs), GST_FLOW_OK);
  a = gst_harness_pull (h);
  b = gst_harness_pull (hs);
  fail_unless (count_rois (a) > 0);
  fail_unless_equals_int (count_rois (a), count_rois (b));
  while ((ma = gst_buffer_iterate_meta_filtered (a, &sa,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *ra = (GstVideoRegionOfInterestMeta *) ma;
    GstVideoRegionOfInterestMeta *rb;

    mb = gst_buffer_iterate_meta_filtered (b, &sb,
        GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
    rb = (GstVideoRegionOfInterestMeta *) mb;
    fail_unless_equals_int (ra->roi_type, rb->roi_type);
    fail_unless (abs ((gint) rb->x - 2 * (gint) ra->x) <= 1);
    fail_unless (abs ((gint) rb->w - 2 * (gint) ra->w) <= 2);
    fail_unless (abs ((gint) rb->y - 3 * (gint) ra->y) <= 2);
    fail_unless (abs ((gint) rb->h - 3 * (gint) ra->h) <= 3);
    /* The normalised coordinates do not change. GStreamer 1.22's scale
     * transform of the region meta drops its params (the copy keeps them);
     * when they are there, they must be the same. */
    if (rb->params != NULL)
      fail_unless (gst_structure_is_equal
          (gst_video_region_of_interest_meta_get_param (ra, "detection"),
              gst_video_region_of_interest_meta_get_param (rb, "detection")));
  }
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* inference-interval: the same regions between inferences, marked
 * repeated in the regions' params and in the message of every frame. */
GST_START_TEST (test_inference_interval)
{
  GstHarness *h = harness_with_src (LAUNCH " inference-interval=2 "
      "post-messages=true", "RGB", 263, 97, "ball");
  GstBus *bus = gst_bus_new ();
  GstStructure *last = NULL;
  guint prev = 0;

  gst_element_set_bus (h->element, bus);
  for (guint i = 0; i < 4; i++) {
    gboolean repeated = i % 2 == 1, flag;
    GstBuffer *buf;
    gpointer state = NULL;
    GstMeta *meta;

    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    if (repeated)
      fail_unless_equals_int (count_rois (buf), prev);
    prev = count_rois (buf);
    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      const GstStructure *d = gst_video_region_of_interest_meta_get_param (
          (GstVideoRegionOfInterestMeta *) meta, "detection");

      fail_unless (gst_structure_get_boolean (d, "repeated", &flag));
      fail_unless_equals_int (flag, repeated);
    }
    gst_buffer_unref (buf);
    fail_unless_equals_int (count_element_messages (bus, "mobileonedetect",
            &last), 1);
    fail_unless (gst_structure_get_boolean (last, "repeated", &flag));
    fail_unless_equals_int (flag, repeated);
  }
  fail_unless (prev > 0);
  {
    const GValue *dets = gst_structure_get_value (last, "detections");

    fail_unless (dets != NULL && GST_VALUE_HOLDS_ARRAY (dets));
    fail_unless_equals_int (gst_value_array_get_size (dets), prev);
    if (prev > 0) {
      const GstStructure *d =
          gst_value_get_structure (gst_value_array_get_value (dets, 0));

      fail_unless (gst_structure_has_name (d, "detection"));
      fail_unless (gst_structure_has_field (d, "label_id"));
      fail_unless (gst_structure_has_field (d, "x_max"));
    }
  }
  gst_structure_free (last);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A real photograph (skipped when ../shared/data is absent): runs through
 * decoding, detection and the overlay. */
GST_START_TEST (test_photo)
{
  const gchar *path = MOBILEONE_SHARED_DIR
      "/data/coco128-seg/images/train2017/000000000009.jpg";
  GstElement *pipeline;
  GstMessage *msg;
  gchar *launch;
  guint n;
  GstBus *bus;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    GST_INFO ("%s is absent: skipped", path);
    return;
  }
  launch = g_strdup_printf ("filesrc location=%s ! jpegdec ! videoconvert ! "
      "mobileonedetect n-threads=1 post-messages=true model=%s ! "
      "mobileoneoverlay ! fakesink", path, DETECT_MODEL);
  pipeline = gst_parse_launch (launch, NULL);
  g_free (launch);
  fail_unless (pipeline != NULL);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  n = 0;
  while ((msg = gst_bus_timed_pop (bus, 60 * GST_SECOND))) {
    GstMessageType type = GST_MESSAGE_TYPE (msg);

    if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name
        (gst_message_get_structure (msg), "mobileonedetect"))
      n++;
    gst_message_unref (msg);
    fail_unless (type != GST_MESSAGE_ERROR);
    if (type == GST_MESSAGE_EOS)
      break;
  }
  fail_unless_equals_int (n, 1);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static Suite *
mobileonedetect_suite (void)
{
  Suite *s = suite_create ("mobileonedetect");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_letterbox);
  tcase_add_test (tc, test_params);
  tcase_add_test (tc, test_object_class);
  tcase_add_test (tc, test_max_detections_after_object_class);
  tcase_add_test (tc, test_unique_ids);
  tcase_add_test (tc, test_object_class_case);
  tcase_add_test (tc, test_switch_while_playing);
  tcase_add_test (tc, test_class_thresholds);
  tcase_add_test (tc, test_videoscale);
  tcase_add_test (tc, test_inference_interval);
  tcase_add_test (tc, test_photo);
  return s;
}

GST_CHECK_MAIN (mobileonedetect);
