/* mobileone-gst: mobileonepublish tests (method=file and the bad inputs;
 * MQTT with a real broker is tests/test_publish_mqtt.py). */
#include "mobileone-check.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define CAPS "video/x-raw,format=RGB,width=64,height=48,framerate=30/1"

static gchar *
temp_path (const gchar * name)
{
  gchar *dir = g_dir_make_tmp ("mobileonepublish-XXXXXX", NULL);
  gchar *path;

  fail_unless (dir != NULL);
  path = g_build_filename (dir, name, NULL);
  g_free (dir);
  return path;
}

static void
remove_temp (gchar * path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static GstBuffer *
frame (guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 64 * 48 * 3, NULL);

  gst_buffer_memset (buf, 0, 0, 64 * 48 * 3);
  GST_BUFFER_PTS (buf) = i * GST_SECOND / 30 + 17;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

/* A region as mobileonedetect makes it (+ a classification, + a tracking
 * param when @track_id >= 0). */
static void
add_region (GstBuffer * buf, const gchar * label, guint x, guint y, guint w,
    guint h, gint label_id, gdouble confidence, gint track_id)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, label, x, y, w, h);

  roi->id = 3;
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "label_id", G_TYPE_INT, label_id,
          "label", G_TYPE_STRING, label, "confidence", G_TYPE_DOUBLE,
          confidence, "x_min", G_TYPE_DOUBLE, x / 64.0, "y_min",
          G_TYPE_DOUBLE, y / 48.0, "x_max", G_TYPE_DOUBLE, (x + w) / 64.0,
          "y_max", G_TYPE_DOUBLE, (y + h) / 48.0, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("classification", "label_id", G_TYPE_INT, 2,
          "label", G_TYPE_STRING, "red", "confidence", G_TYPE_DOUBLE, 0.75,
          NULL));
  if (track_id >= 0)
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("tracking", "id", G_TYPE_INT, track_id, NULL));
}

static JsonNode *
parse (const gchar * text)
{
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonNode *root;

  fail_unless (json_parser_load_from_data (parser, text, -1, &error),
      "invalid JSON: %s\n%s", error ? error->message : "", text);
  root = json_node_copy (json_parser_get_root (parser));
  g_object_unref (parser);
  return root;
}

static gchar **
read_lines (const gchar * path)
{
  gchar *text = NULL;
  gchar **lines;

  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  fail_unless (text[0] == '\0' || g_str_has_suffix (text, "\n"));
  g_strchomp (text);
  lines = text[0] ? g_strsplit (text, "\n", -1) : g_new0 (gchar *, 1);
  g_free (text);
  return lines;
}

static JsonNode *
read_array (const gchar * path)
{
  gchar *text = NULL;
  JsonNode *root;

  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  root = parse (text);
  g_free (text);
  fail_unless (JSON_NODE_HOLDS_ARRAY (root), "not an array");
  return root;
}

/* The document of frame @i with one region (add_region) checked member by
 * member against what was attached. */
static void
check_region_document (JsonObject * doc, guint i, gint track_id)
{
  JsonObject *res, *obj, *det, *box, *cls;
  JsonArray *objects;

  fail_unless_equals_int64 (json_object_get_int_member (doc, "timestamp"),
      i * GST_SECOND / 30 + 17);
  res = json_object_get_object_member (doc, "resolution");
  fail_unless_equals_int (json_object_get_int_member (res, "width"), 64);
  fail_unless_equals_int (json_object_get_int_member (res, "height"), 48);
  objects = json_object_get_array_member (doc, "objects");
  fail_unless_equals_int (json_array_get_length (objects), 1);
  obj = json_array_get_object_element (objects, 0);
  fail_unless_equals_int (json_object_get_int_member (obj, "x"), 8);
  fail_unless_equals_int (json_object_get_int_member (obj, "y"), 4);
  fail_unless_equals_int (json_object_get_int_member (obj, "w"), 16);
  fail_unless_equals_int (json_object_get_int_member (obj, "h"), 12);
  fail_unless_equals_string (json_object_get_string_member (obj, "roi_type"),
      "circle");
  if (track_id >= 0) {
    fail_unless_equals_int (json_object_get_int_member (obj, "id"),
        track_id);
  } else {
    fail_if (json_object_has_member (obj, "id"),
        "a detector's index is no track id");
  }
  det = json_object_get_object_member (obj, "detection");
  fail_unless_equals_string (json_object_get_string_member (det, "label"),
      "circle");
  fail_unless_equals_int (json_object_get_int_member (det, "label_id"), 1);
  fail_unless_equals_float (json_object_get_double_member (det,
          "confidence"), 0.5 + i / 100.0);
  box = json_object_get_object_member (det, "bounding_box");
  fail_unless_equals_float (json_object_get_double_member (box, "x_min"),
      8 / 64.0);
  fail_unless_equals_float (json_object_get_double_member (box, "y_min"),
      4 / 48.0);
  fail_unless_equals_float (json_object_get_double_member (box, "x_max"),
      24 / 64.0);
  fail_unless_equals_float (json_object_get_double_member (box, "y_max"),
      16 / 48.0);
  cls = json_object_get_object_member (obj, "classification");
  fail_unless (cls != NULL);
  fail_unless_equals_string (json_object_get_string_member (cls, "label"),
      "red");
  fail_unless_equals_int (json_object_get_int_member (cls, "label_id"), 2);
  fail_unless_equals_float (json_object_get_double_member (cls,
          "confidence"), 0.75);
}

/* Pushes frames 0..5 (regions on 1 and 4, tracked on 4) through @launch. */
static void
push_frames (const gchar * launch)
{
  GstHarness *h = gst_harness_new_parse (launch);

  gst_harness_set_src_caps_str (h, CAPS);
  for (guint i = 0; i < 6; i++) {
    GstBuffer *buf = frame (i), *out;

    if (i == 1 || i == 4)
      add_region (buf, "circle", 8, 4, 16, 12, 1, 0.5 + i / 100.0,
          i == 4 ? 42 : -1);
    out = gst_harness_push_and_pull (h, buf);
    fail_unless (out != NULL, "frame %u did not pass through", i);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), i * GST_SECOND / 30 + 17);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
}

/* A whole-frame classification (frame-level metadata, not a region) is
 * the document's "classifications", under its name; "objects" stays
 * empty. */
GST_START_TEST (test_frame_classification)
{
  gchar *path = temp_path ("frame.jsonl");
  gchar *launch = g_strdup_printf ("mobileoneclassify n-threads=1 model="
      CLASSIFY_MODEL " ! mobileonepublish file-path=%s", path);
  GstHarness *h = gst_harness_new_parse (launch);
  JsonObject *doc, *cls;
  JsonNode *root;
  gchar **lines;

  gst_harness_set_src_caps_str (h, CAPS);
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (0)));
  gst_harness_teardown (h);
  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 1);
  root = parse (lines[0]);
  doc = json_node_get_object (root);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (doc, "objects")), 0);
  cls = json_object_get_object_member (json_object_get_object_member (doc,
          "classifications"), "classification");
  fail_unless (cls != NULL);
  fail_unless (json_object_has_member (cls, "label"));
  fail_unless (json_object_get_double_member (cls, "confidence") > 0);
  json_node_unref (root);
  g_strfreev (lines);
  g_free (launch);
  remove_temp (path);
}

GST_END_TEST;

GST_START_TEST (test_json_lines)
{
  gchar *path = temp_path ("out.jsonl");
  gchar *launch;
  gchar **lines;

  /* Frames without results are left out by default. */
  launch = g_strdup_printf ("mobileonepublish file-path=%s", path);
  push_frames (launch);
  g_free (launch);
  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 2);
  for (guint k = 0; k < 2; k++) {
    JsonNode *root = parse (lines[k]);

    check_region_document (json_node_get_object (root), k ? 4 : 1,
        k ? 42 : -1);
    json_node_unref (root);
  }
  g_strfreev (lines);

  /* add-empty-results: every frame, the empty ones with "objects": []. */
  launch = g_strdup_printf ("mobileonepublish add-empty-results=true "
      "source=cam0 file-path=%s", path);
  push_frames (launch);
  g_free (launch);
  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 6);
  for (guint i = 0; i < 6; i++) {
    JsonNode *root = parse (lines[i]);
    JsonObject *doc = json_node_get_object (root);

    fail_unless_equals_string (json_object_get_string_member (doc, "source"),
        "cam0");
    if (i == 1 || i == 4) {
      check_region_document (doc, i, i == 4 ? 42 : -1);
    } else {
      fail_unless_equals_int64 (json_object_get_int_member (doc,
              "timestamp"), i * GST_SECOND / 30 + 17);
      fail_unless_equals_int (json_array_get_length
          (json_object_get_array_member (doc, "objects")), 0);
    }
    json_node_unref (root);
  }
  g_strfreev (lines);
  remove_temp (path);
}

GST_END_TEST;

/* add-tensor-data lists every param of the region. */
GST_START_TEST (test_tensor_data)
{
  gchar *path = temp_path ("out.jsonl");
  gchar *launch = g_strdup_printf ("mobileonepublish add-tensor-data=true "
      "file-path=%s", path);
  gchar **lines;
  JsonNode *root;
  JsonArray *tensors;

  push_frames (launch);
  g_free (launch);
  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 2);
  root = parse (lines[1]);
  tensors = json_object_get_array_member (json_array_get_object_element
      (json_object_get_array_member (json_node_get_object (root), "objects"),
          0), "tensors");
  fail_unless_equals_int (json_array_get_length (tensors), 3);
  fail_unless_equals_string (json_object_get_string_member
      (json_array_get_object_element (tensors, 0), "name"), "detection");
  fail_unless_equals_float (json_object_get_double_member
      (json_array_get_object_element (tensors, 0), "x_max"), 24 / 64.0);
  fail_unless_equals_string (json_object_get_string_member
      (json_array_get_object_element (tensors, 1), "name"), "classification");
  fail_unless_equals_int (json_object_get_int_member
      (json_array_get_object_element (tensors, 2), "id"), 42);
  json_node_unref (root);
  g_strfreev (lines);
  remove_temp (path);
}

GST_END_TEST;

/* file-format=json: the file is one valid array after every frame (what an
 * error or a crash leaves behind) and after the end. */
GST_START_TEST (test_json_array)
{
  gchar *path = temp_path ("out.json");
  gchar *launch = g_strdup_printf ("mobileonepublish file-format=json "
      "add-empty-results=true file-path=%s", path);
  GstHarness *h = gst_harness_new_parse (launch);
  JsonNode *root;

  g_free (launch);
  gst_harness_set_src_caps_str (h, CAPS);
  for (guint i = 0; i < 5; i++) {
    GstBuffer *buf = frame (i);

    if (i == 1 || i == 4)
      add_region (buf, "circle", 8, 4, 16, 12, 1, 0.5 + i / 100.0, -1);
    gst_buffer_unref (gst_harness_push_and_pull (h, buf));

    root = read_array (path);
    fail_unless_equals_int (json_array_get_length (json_node_get_array
            (root)), i + 1);
    if (i >= 1)
      check_region_document (json_array_get_object_element
          (json_node_get_array (root), 1), 1, -1);
    json_node_unref (root);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  root = read_array (path);
  fail_unless_equals_int (json_array_get_length (json_node_get_array (root)),
      5);
  json_node_unref (root);
  gst_harness_teardown (h);
  root = read_array (path);
  fail_unless_equals_int (json_array_get_length (json_node_get_array (root)),
      5);
  check_region_document (json_array_get_object_element (json_node_get_array
          (root), 4), 4, -1);
  json_node_unref (root);

  /* Nothing at all: an empty array. */
  launch = g_strdup_printf ("mobileonepublish file-format=json file-path=%s",
      path);
  h = gst_harness_new_parse (launch);
  g_free (launch);
  gst_harness_set_src_caps_str (h, CAPS);
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (0)));
  gst_harness_teardown (h);
  root = read_array (path);
  fail_unless_equals_int (json_array_get_length (json_node_get_array (root)),
      0);
  json_node_unref (root);
  remove_temp (path);
}

GST_END_TEST;

/* The segmentation of mobileonesegment: class shares counted here from the
 * meta's map, and the run-length mask decoded back to that map. */
GST_START_TEST (test_segmentation)
{
  gchar *path = temp_path ("out.jsonl");
  gchar *launch = g_strdup_printf ("mobileonesegment n-threads=1 model="
      SEGMENT_MODEL " ! mobileonepublish add-mask=true file-path=%s", path);
  GstHarness *h = harness_with_src (launch, "RGB", 97, 61, "smpte");
  GstBuffer *bufs[2];
  gchar **lines;

  g_free (launch);
  for (guint i = 0; i < 2; i++) {
    fail_unless_equals_int (gst_harness_push_from_src (h), GST_FLOW_OK);
    bufs[i] = gst_harness_pull (h);
  }
  gst_harness_teardown (h);

  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 2);
  for (guint i = 0; i < 2; i++) {
    GstMobileOneMaskMeta *meta = get_mask_meta (bufs[i]);
    JsonNode *root = parse (lines[i]);
    JsonObject *seg = json_object_get_object_member (json_node_get_object
        (root), "segmentation");
    JsonObject *mask;
    JsonArray *runs, *classes;
    guint64 counts[256] = { 0 };
    guint cell = 0, present = 0;
    GstMapInfo map;

    fail_unless (meta != NULL);
    fail_unless (seg != NULL);
    fail_unless (gst_buffer_map (meta->mask, &map, GST_MAP_READ));
    fail_unless_equals_int (json_object_get_int_member (seg, "w"), meta->w);
    fail_unless_equals_int (json_object_get_int_member (seg, "h"), meta->h);
    mask = json_object_get_object_member (seg, "mask");
    fail_unless_equals_int (json_object_get_int_member (mask, "width"),
        meta->width);
    fail_unless_equals_int (json_object_get_int_member (mask, "height"),
        meta->height);
    runs = json_object_get_array_member (mask, "runs");
    fail_unless (json_array_get_length (runs) % 2 == 0);
    for (guint r = 0; r < json_array_get_length (runs); r += 2) {
      gint64 c = json_array_get_int_element (runs, r);
      gint64 n = json_array_get_int_element (runs, r + 1);

      fail_unless (n > 0);
      for (gint64 k = 0; k < n; k++, cell++) {
        guint x = cell % meta->width, y = cell / meta->width;

        fail_unless (y < meta->height, "runs longer than the map");
        fail_unless_equals_int (map.data[y * meta->stride + x], c);
      }
    }
    fail_unless_equals_int (cell, meta->width * meta->height);

    for (guint y = 0; y < meta->height; y++)
      for (guint x = 0; x < meta->width; x++)
        counts[map.data[y * meta->stride + x]]++;
    classes = json_object_get_array_member (seg, "classes");
    for (guint c = 0; c < 256; c++)
      present += counts[c] > 0;
    fail_unless (present >= 1);
    fail_unless_equals_int (json_array_get_length (classes), present);
    for (guint k = 0; k < present; k++) {
      JsonObject *o = json_array_get_object_element (classes, k);
      gint64 c = json_object_get_int_member (o, "class_id");

      fail_unless (c >= 0 && c < 256 && counts[c] > 0);
      fail_unless (fabs (json_object_get_double_member (o, "fraction") -
              (gdouble) counts[c] / (meta->width * meta->height)) < 1e-12);
      /* The plugin's functions are not exported: read the labels. */
      if (meta->labels && (guint) c < meta->num_classes) {
        fail_unless_equals_string (json_object_get_string_member (o,
                "label"), meta->labels[c]);
      }
    }
    gst_buffer_unmap (meta->mask, &map);
    json_node_unref (root);
    gst_buffer_unref (bufs[i]);
  }
  g_strfreev (lines);
  remove_temp (path);
}

GST_END_TEST;

static GstMessage *
wait_message (GstBus * bus, GstMessageType type)
{
  return gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, type);
}

/* A file that cannot be opened: an error naming it, no crash. */
GST_START_TEST (test_unwritable_path)
{
  GstElement *e = gst_element_factory_make ("mobileonepublish", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *debug = NULL;

  g_object_set (e, "file-path", "/nonexistent-dir/results.json", NULL);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  msg = wait_message (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, &debug);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_WRITE));
  fail_unless (strstr (err->message, "/nonexistent-dir/results.json"));
  g_clear_error (&err);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
}

GST_END_TEST;

/* A harness around a mobileonepublish made with @props, its messages on
 * @bus. */
static GstHarness *
harness_with_bus (GstBus * bus, const gchar * method,
    const gchar * first_prop, ...)
{
  GstElement *e = gst_element_factory_make ("mobileonepublish", NULL);
  GstHarness *h;
  va_list args;

  gst_util_set_object_arg (G_OBJECT (e), "method", method);
  va_start (args, first_prop);
  g_object_set_valist (G_OBJECT (e), first_prop, args);
  va_end (args);
  gst_element_set_bus (e, bus);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, CAPS);
  return h;
}

/* A full disk: the write fails with an error, the flow stops, no crash. */
GST_START_TEST (test_write_error)
{
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  GstBuffer *buf = frame (0);
  GstMessage *msg;
  GError *err = NULL;

  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS)) {
    gst_object_unref (bus);
    return;
  }
  h = harness_with_bus (bus, "file", "file-path", "/dev/full", NULL);
  add_region (buf, "circle", 8, 4, 16, 12, 1, 0.5, -1);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_ERROR);
  msg = wait_message (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_WRITE));
  g_clear_error (&err);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

GST_END_TEST;

/* A document over max-document-size: dropped, counted, warned about; the
 * buffer still passes and the next document is written. */
GST_START_TEST (test_oversized)
{
  gchar *path = temp_path ("out.jsonl");
  GstBus *bus = gst_bus_new ();
  GstHarness *h = harness_with_bus (bus, "file", "file-path", path,
      "max-document-size", 400, NULL);
  GstBuffer *big = frame (0), *small = frame (1), *out;
  GstMessage *msg;
  guint64 dropped, published;
  gchar **lines;

  for (guint k = 0; k < 4; k++)
    add_region (big, "circle", 8, 4, 16, 12, 1, 0.5, -1);
  add_region (small, "circle", 8, 4, 16, 12, 1, 0.51, -1);
  out = gst_harness_push_and_pull (h, big);
  fail_unless (out != NULL);
  gst_buffer_unref (out);
  msg = wait_message (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  out = gst_harness_push_and_pull (h, small);
  fail_unless (out != NULL);
  gst_buffer_unref (out);
  g_object_get (h->element, "dropped", &dropped, "published", &published,
      NULL);
  fail_unless_equals_uint64 (dropped, 1);
  fail_unless_equals_uint64 (published, 1);
  gst_harness_teardown (h);
  lines = read_lines (path);
  fail_unless_equals_int (g_strv_length (lines), 1);
  {
    JsonNode *root = parse (lines[0]);

    check_region_document (json_node_get_object (root), 1, -1);
    json_node_unref (root);
  }
  g_strfreev (lines);
  remove_temp (path);
  gst_object_unref (bus);
}

GST_END_TEST;

/* A malformed broker address: a clear error at start. */
GST_START_TEST (test_bad_address)
{
  const gchar *bad[] = { "127.0.0.1:notaport", "127.0.0.1:70000", ":1883",
    "[::1", ""
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GstElement *e = gst_element_factory_make ("mobileonepublish", NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *msg;
    GError *err = NULL;

    gst_util_set_object_arg (G_OBJECT (e), "method", "mqtt");
    g_object_set (e, "address", bad[i], NULL);
    gst_element_set_bus (e, bus);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PLAYING),
        GST_STATE_CHANGE_FAILURE);
    msg = wait_message (bus, GST_MESSAGE_ERROR);
    fail_unless (msg != NULL);
    gst_message_parse_error (msg, &err, NULL);
    fail_unless (err->domain == GST_RESOURCE_ERROR
        || err->domain == GST_LIBRARY_ERROR);
    g_clear_error (&err);
    gst_message_unref (msg);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_object_unref (e);
    gst_object_unref (bus);
  }
}

GST_END_TEST;

#ifdef HAVE_MOSQUITTO
/* No broker on the port: every frame passes at once, the queue keeps the
 * newest max-queue documents and counts the rest as dropped, and stopping
 * does not wait for the network. */
GST_START_TEST (test_unreachable_broker)
{
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  guint64 dropped;
  guint queued;
  GSocket *sock;
  GInetSocketAddress *any, *bound;
  gchar *address;
  gint64 start;

  /* A port nothing listens on: bound here, never listened on. */
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  any = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string
      ("127.0.0.1", 0));
  fail_unless (g_socket_bind (sock, G_SOCKET_ADDRESS (any), FALSE, NULL));
  bound = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (sock, NULL));
  address = g_strdup_printf ("127.0.0.1:%u",
      g_inet_socket_address_get_port (bound));

  h = harness_with_bus (bus, "mqtt", "max-queue", 3, "add-empty-results",
      TRUE, "address", address, NULL);
  for (guint i = 0; i < 10; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, frame (i));

    fail_unless (out != NULL);
    gst_buffer_unref (out);
  }
  g_object_get (h->element, "dropped", &dropped, "queued", &queued, NULL);
  fail_unless_equals_uint64 (dropped, 7);
  fail_unless_equals_int (queued, 3);
  start = g_get_monotonic_time ();
  gst_harness_teardown (h);
  /* The queue is not flushed to a broker that is not there. */
  GST_INFO ("teardown took %" G_GINT64_FORMAT " us",
      g_get_monotonic_time () - start);
  g_free (address);
  g_object_unref (bound);
  g_object_unref (any);
  g_object_unref (sock);
  gst_object_unref (bus);
}

GST_END_TEST;
#endif

static Suite *
mobileonepublish_suite (void)
{
  Suite *s = suite_create ("mobileonepublish");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_json_lines);
  tcase_add_test (tc, test_frame_classification);
  tcase_add_test (tc, test_tensor_data);
  tcase_add_test (tc, test_json_array);
  tcase_add_test (tc, test_segmentation);
  tcase_add_test (tc, test_unwritable_path);
  tcase_add_test (tc, test_write_error);
  tcase_add_test (tc, test_oversized);
  tcase_add_test (tc, test_bad_address);
#ifdef HAVE_MOSQUITTO
  tcase_add_test (tc, test_unreachable_broker);
#endif
  return s;
}

GST_CHECK_MAIN (mobileonepublish);
