/* mobileone-gst: what every inference element shares: the model cache,
 * errors, caps, state changes. */
#include "mobileone-check.h"

#include <string.h>

#include <errno.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <unistd.h>

static gint loads;

static void
count_loads (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  if (g_str_equal (gst_debug_category_get_name (category),
          "mobileonemodelcache")
      && g_str_has_prefix (gst_debug_message_get (message), "loading model"))
    g_atomic_int_inc (&loads);
}

static void
start_counting_loads (void)
{
  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_for_name ("mobileonemodelcache", GST_LEVEL_INFO);
  gst_debug_add_log_function (count_loads, NULL, NULL);
  g_atomic_int_set (&loads, 0);
}

static void
stop_counting_loads (void)
{
  gst_debug_remove_log_function (count_loads);
}

/* Two elements naming one file (by two different paths) load it once; the
 * weights go with the last element and the next start loads again. */
GST_START_TEST (test_shared_model)
{
  GstElement *pipeline;

  start_counting_loads ();
  pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
      "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL " ! "
      "mobileoneclassify n-threads=1 model=" MOBILEONE_TEST_DATA
      "/./ssd/../k1-fused.yaml ! fakesink", NULL);
  fail_unless (pipeline != NULL);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED),
      GST_STATE_CHANGE_ASYNC);
  fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
          GST_CLOCK_TIME_NONE), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (g_atomic_int_get (&loads), 1);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (g_atomic_int_get (&loads), 2);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  stop_counting_loads ();
}

GST_END_TEST;

/* Two pipelines with one model, running at the same time in their own
 * threads, give the same results as each alone. */
GST_START_TEST (test_concurrent)
{
  GstElement *p[2];
  GstBus *bus[2];
  GPtrArray *results[2];

  start_counting_loads ();
  for (guint i = 0; i < 2; i++) {
    p[i] = gst_parse_launch ("videotestsrc num-buffers=8 pattern=ball ! "
        "video/x-raw,width=131,height=77 ! mobileonedetect n-threads=1 "
        "post-messages=true model=" DETECT_MODEL " ! fakesink", NULL);
    bus[i] = gst_element_get_bus (p[i]);
    results[i] = g_ptr_array_new_with_free_func (g_free);
  }
  for (guint i = 0; i < 2; i++)
    gst_element_set_state (p[i], GST_STATE_PLAYING);
  for (guint i = 0; i < 2; i++) {
    GstMessage *msg;

    while ((msg = gst_bus_timed_pop (bus[i], 60 * GST_SECOND))) {
      GstMessageType type = GST_MESSAGE_TYPE (msg);

      if (type == GST_MESSAGE_ELEMENT)
        g_ptr_array_add (results[i],
            gst_structure_to_string (gst_message_get_structure (msg)));
      gst_message_unref (msg);
      fail_unless (type != GST_MESSAGE_ERROR);
      if (type == GST_MESSAGE_EOS)
        break;
    }
  }
  fail_unless_equals_int (g_atomic_int_get (&loads), 1);
  fail_unless_equals_int (results[0]->len, 8);
  fail_unless_equals_int (results[1]->len, 8);
  for (guint j = 0; j < 8; j++)
    fail_unless_equals_string (g_ptr_array_index (results[0], j),
        g_ptr_array_index (results[1], j));
  for (guint i = 0; i < 2; i++) {
    gst_element_set_state (p[i], GST_STATE_NULL);
    gst_object_unref (bus[i]);
    gst_object_unref (p[i]);
    g_ptr_array_unref (results[i]);
  }
  stop_counting_loads ();
}

GST_END_TEST;

/* The ERROR message a pipeline posts when it starts; checks that its text
 * or details name @needle. */
static void
expect_start_error (const gchar * element_launch, const gchar * needle)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 ! %s ! "
      "fakesink", element_launch);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no error", launch);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (strstr (error->message, needle) || strstr (debug, needle),
      "'%s' / '%s' does not name '%s'", error->message, debug, needle);
  GST_INFO ("%s: %s (%s)", launch, error->message, debug);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (launch);
}

/* Missing, broken and wrong models: an ERROR naming the file and the
 * cause when the element starts, never a crash. */
GST_START_TEST (test_bad_models)
{
  gchar *dir = g_dir_make_tmp ("mobileone-XXXXXX", NULL);
  gchar *broken = g_build_filename (dir, "broken.yaml", NULL);
  gchar *noweights = g_build_filename (dir, "noweights.yaml", NULL);
  gchar *launch;

  fail_unless (g_file_set_contents (broken, "backbone: [\n", -1, NULL));
  fail_unless (g_file_set_contents (noweights, "backbone: {variant: s0, "
          "fused: true}\ninput: {width: 64, height: 64}\nhead: {type: "
          "classifier, num_classes: 10}\nweights: missing.safetensors\n", -1,
          NULL));

  expect_start_error ("mobileonedetect model=/nonexistent/model.yaml",
      "/nonexistent/model.yaml");
  /* The default models are looked up in $MOBILEONE_MODEL_DIR: an empty
   * folder gives an ERROR naming the file the element looked for. */
  g_setenv ("MOBILEONE_MODEL_DIR", dir, TRUE);
  launch = g_build_filename (dir, "shapes-detect.yaml", NULL);
  expect_start_error ("mobileonedetect", launch);
  g_free (launch);
  launch = g_build_filename (dir, "shapes-segment.yaml", NULL);
  expect_start_error ("mobileonesegment", launch);
  g_free (launch);
  g_unsetenv ("MOBILEONE_MODEL_DIR");

  launch = g_strdup_printf ("mobileoneclassify model=%s", broken);
  expect_start_error (launch, broken);
  g_free (launch);
  launch = g_strdup_printf ("mobileonesegment model=%s", noweights);
  expect_start_error (launch, "missing.safetensors");
  g_free (launch);
  /* A detector model in the classifier. */
  expect_start_error ("mobileoneclassify model=" DETECT_MODEL, "ssdlite");

  g_unlink (broken);
  g_unlink (noweights);
  g_rmdir (dir);
  g_free (broken);
  g_free (noweights);
  g_free (dir);
}

GST_END_TEST;

/* Hostile descriptions (issue 14, docs/security.md): a FIFO (which used to
 * block the start forever), a loop of links (which used to say "does not
 * exist"), a labels file outside the description's folder, and weights by
 * absolute path, allowed only with allow-external-paths. */
GST_START_TEST (test_hostile_models)
{
  gchar *dir = g_dir_make_tmp ("mobileone-XXXXXX", NULL);
  gchar *fifo = g_build_filename (dir, "fifo.yaml", NULL);
  gchar *loop = g_build_filename (dir, "loop.yaml", NULL);
  gchar *outside = g_build_filename (dir, "outside.yaml", NULL);
  gchar *abs = g_build_filename (dir, "abs.yaml", NULL);
  gchar *text = NULL, *launch;
  GString *s;

  fail_unless_equals_int (mkfifo (fifo, 0600), 0);
  fail_unless_equals_int (symlink (loop, loop), 0);
  fail_unless (g_file_get_contents (CLASSIFY_MODEL, &text, NULL, NULL));
  s = g_string_new (text);
  g_string_replace (s, "weights: k1-fused.safetensors",
      "weights: " DATA ("k1-fused.safetensors"), 1);
  fail_unless (g_file_set_contents (abs, s->str, -1, NULL));
  g_string_append (s, "labels: /etc/shells\n");
  fail_unless (g_file_set_contents (outside, s->str, -1, NULL));

  launch = g_strdup_printf ("mobileoneclassify model=%s", fifo);
  expect_start_error (launch, "FIFO");
  g_free (launch);
  launch = g_strdup_printf ("mobileoneclassify model=%s", loop);
  expect_start_error (launch, g_strerror (ELOOP));
  g_free (launch);
  launch = g_strdup_printf ("mobileoneclassify model=%s", outside);
  expect_start_error (launch, "allow-external-paths");
  g_free (launch);
  launch = g_strdup_printf ("mobileoneclassify model=%s", abs);
  expect_start_error (launch, "absolute path");
  g_free (launch);

  /* Allowed, the same description loads and runs. */
  launch = g_strdup_printf ("videotestsrc num-buffers=1 ! mobileoneclassify "
      "n-threads=1 allow-external-paths=true model=%s ! fakesink", abs);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  fail_unless (pipeline != NULL);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
          GST_CLOCK_TIME_NONE), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (launch);

  g_unlink (fifo);
  g_unlink (loop);
  g_unlink (outside);
  g_unlink (abs);
  g_rmdir (dir);
  g_string_free (s, TRUE);
  g_free (text);
  g_free (fifo);
  g_free (loop);
  g_free (outside);
  g_free (abs);
  g_free (dir);
}

GST_END_TEST;

/* The project's own default models (models/ of the source tree, through
 * $MOBILEONE_MODEL_DIR): the elements load them without a model property,
 * report their path and process a frame. */
GST_START_TEST (test_default_models)
{
  const gchar *names[] = { "mobileonedetect", "mobileonesegment" };
  const gchar *files[] = { "shapes-detect.yaml", "shapes-segment.yaml" };

  g_setenv ("MOBILEONE_MODEL_DIR", MOBILEONE_SOURCE_MODELS, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *expected = g_build_filename (MOBILEONE_SOURCE_MODELS, files[i], NULL);
    gchar *launch = g_strdup_printf ("%s n-threads=1", names[i]);
    GstHarness *h;
    GstElement *element;
    gchar *model = NULL;
    GstBuffer *out;

    if (!g_file_test (expected, G_FILE_TEST_EXISTS)) {
      g_print ("%s: absent, default of %s not tested\n", expected, names[i]);
      g_free (expected);
      g_free (launch);
      continue;
    }
    h = gst_harness_new_parse (launch);
    element = gst_harness_find_element (h, names[i]);
    g_object_get (element, "model", &model, NULL);
    fail_unless_equals_string (model, expected);
    gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=160,"
        "height=120,framerate=30/1");
    out = gst_harness_push_and_pull (h, gst_harness_create_buffer (h,
            160 * 120 * 3));
    fail_unless (out != NULL);
    gst_buffer_unref (out);
    gst_object_unref (element);
    gst_harness_teardown (h);
    g_free (model);
    g_free (expected);
    g_free (launch);
  }
  g_unsetenv ("MOBILEONE_MODEL_DIR");
}

GST_END_TEST;

/* Formats the elements do not take fail negotiation. */
GST_START_TEST (test_unsupported_caps)
{
  const gchar *launches[] = {
    "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL,
    "mobileonedetect n-threads=1 model=" DETECT_MODEL,
    "mobileonesegment n-threads=1 model=" SEGMENT_MODEL,
    "mobileoneoverlay",
  };

  for (guint i = 0; i < G_N_ELEMENTS (launches); i++) {
    GstHarness *h = gst_harness_new_parse (launches[i]);

    gst_harness_set_src_caps_str (h, "video/x-raw,format=GRAY16_LE,width=32,"
        "height=32,framerate=30/1");
    fail_unless_equals_int (gst_harness_push (h, gst_harness_create_buffer (h,
                32 * 32 * 2)), GST_FLOW_NOT_NEGOTIATED);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static gsize
rss_kb (void)
{
  gchar *text = NULL;
  gsize pages = 0, resident = 0;

  if (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    sscanf (text, "%zu %zu", &pages, &resident);
  g_free (text);
  return resident * (gsize) sysconf (_SC_PAGESIZE) / 1024;
}

static void
cycle (GstElement * pipeline)
{
  GstMessage *msg;
  GstBus *bus = gst_element_get_bus (pipeline);

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
          30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  /* Let some frames through the elements before stopping. */
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
}

/* 200 times NULL -> PLAYING -> NULL through every element: no growth in
 * memory (the models, sessions, pools and text surfaces are made and freed
 * each time). */
GST_START_TEST (test_state_changes)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
      "video/x-raw,format=NV12,width=97,height=65 ! "
      "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL " ! "
      "mobileonedetect n-threads=1 model=" DETECT_MODEL " ! "
      "mobileonesegment n-threads=1 model=" SEGMENT_MODEL " ! tee name=t ! "
      "queue ! mobileoneoverlay ! fakesink t. ! queue ! mobileonemask ! "
      "fakesink", NULL);
  const gchar *env = g_getenv ("MOBILEONE_TEST_CYCLES");
  guint cycles = env ? (guint) atoi (env) : 200;
  gsize before, after;

  fail_unless (pipeline != NULL);
  for (guint i = 0; i < 20; i++)
    cycle (pipeline);
  before = rss_kb ();
  for (guint i = 0; i < cycles; i++)
    cycle (pipeline);
  after = rss_kb ();
  gst_object_unref (pipeline);
  GST_INFO ("RSS %zu kB -> %zu kB after %u cycles", before, after, cycles);
#if defined(__SANITIZE_ADDRESS__)
  /* ASan's quarantine keeps freed memory: its leak check does the job. */
#else
  /* Allocator noise stays well below this; a leaked session or model per
   * cycle would be tens of megabytes. (Under valgrind, whose free queue
   * holds 20 MB, set MOBILEONE_TEST_CYCLES=20 and read its leak report.) */
  fail_unless (after < before + 4096, "RSS grew from %zu kB to %zu kB",
      before, after);
#endif
}

GST_END_TEST;

/* gst-inspect-1.0 says where the plugin comes from, whom to write to and
 * where each element is documented. */
GST_START_TEST (test_metadata)
{
  static const gchar *const names[] = { "mobileonedetect",
    "mobileonesegment", "mobileoneclassify", "mobileoneoverlay", "mobileonemask",
    "mobileonetrack", "mobileonepublish",
  };
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (),
      "mobileone");

  fail_unless (plugin != NULL);
  fail_unless (g_str_has_prefix (gst_plugin_get_origin (plugin), "https://"),
      "origin '%s'", gst_plugin_get_origin (plugin));
  gst_object_unref (plugin);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElementFactory *f = gst_element_factory_find (names[i]);
    const gchar *author, *doc;

    fail_unless (f != NULL, "%s", names[i]);
    author = gst_element_factory_get_metadata (f,
        GST_ELEMENT_METADATA_AUTHOR);
    doc = gst_element_factory_get_metadata (f, GST_ELEMENT_METADATA_DOC_URI);
    fail_unless (author != NULL && strstr (author, "<https://") != NULL,
        "%s: author '%s' has no contact", names[i], author);
    fail_unless (doc != NULL && g_str_has_prefix (doc, "https://")
        && g_str_has_suffix (doc, names[i]), "%s: doc-uri '%s'", names[i],
        doc);
    gst_object_unref (f);
  }
}

GST_END_TEST;

/* object-class means something else in each inference element: each says
 * what in gst-inspect-1.0, and the property works on each. */
GST_START_TEST (test_object_class_blurbs)
{
  static const gchar *const names[] = { "mobileonedetect",
    "mobileonesegment", "mobileoneclassify",
  };
  static const gchar *const words[] = { "detections", "mask", "regions" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *e = gst_element_factory_make (names[i], NULL);
    GParamSpec *p;
    gchar *v = NULL;

    fail_unless (e != NULL, "%s", names[i]);
    p = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "object-class");
    fail_unless (p != NULL, "%s has no object-class", names[i]);
    fail_unless (strstr (g_param_spec_get_blurb (p), words[i]) != NULL,
        "%s: object-class blurb '%s' does not say '%s'", names[i],
        g_param_spec_get_blurb (p), words[i]);
    for (guint j = 0; j < i; j++) {
      GstElement *o = gst_element_factory_make (names[j], NULL);
      GParamSpec *q = g_object_class_find_property (G_OBJECT_GET_CLASS (o),
          "object-class");

      fail_if (g_strcmp0 (g_param_spec_get_blurb (p),
              g_param_spec_get_blurb (q)) == 0, "%s and %s: the same blurb",
          names[i], names[j]);
      gst_object_unref (o);
    }
    g_object_set (e, "object-class", "Star, ball", NULL);
    g_object_get (e, "object-class", &v, NULL);
    fail_unless_equals_string (v, "Star, ball");
    g_free (v);
    gst_object_unref (e);
  }
}

GST_END_TEST;

static Suite *
mobileoneplugin_suite (void)
{
  Suite *s = suite_create ("mobileoneplugin");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_shared_model);
  tcase_add_test (tc, test_concurrent);
  tcase_add_test (tc, test_bad_models);
  tcase_add_test (tc, test_hostile_models);
  tcase_add_test (tc, test_default_models);
  tcase_add_test (tc, test_unsupported_caps);
  tcase_add_test (tc, test_state_changes);
  tcase_add_test (tc, test_metadata);
  tcase_add_test (tc, test_object_class_blurbs);
  return s;
}

GST_CHECK_MAIN (mobileoneplugin);
