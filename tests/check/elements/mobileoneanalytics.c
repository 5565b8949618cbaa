/* mobileone-gst: the GstAnalytics metadata (GStreamer >= 1.24), read back
 * through the public GstAnalytics API, and upstream's objectdetectionoverlay
 * drawing our detections. Skipped (exit 77) when built against 1.22. */
#include "mobileone-check.h"

#ifdef HAVE_GST_ANALYTICS
#include <gst/analytics/analytics.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include <math.h>
#include <string.h>

#define DETECT "mobileonedetect n-threads=1 threshold=0.05 model=" DETECT_MODEL
#define CLASSIFY "mobileoneclassify n-threads=1 model=" CLASSIFY_MODEL
#define SEGMENT "mobileonesegment n-threads=1 model=" SEGMENT_MODEL

static GstAnalyticsRelationMeta *
relation_meta (GstBuffer * buf)
{
  GstAnalyticsRelationMeta *meta = gst_buffer_get_analytics_relation_meta
      (buf);

  fail_unless (meta != NULL, "no GstAnalyticsRelationMeta");
  return meta;
}

static guint
count_mtds (GstBuffer * buf, GstAnalyticsMtdType type)
{
  GstAnalyticsRelationMeta *meta = gst_buffer_get_analytics_relation_meta
      (buf);
  GstAnalyticsMtd mtd;
  gpointer state = NULL;
  guint n = 0;

  while (meta != NULL && gst_analytics_relation_meta_iterate (meta, &state,
          type, &mtd))
    n++;
  return n;
}

/* The ClsMtd related to @od_id, or FALSE. */
static gboolean
related_cls (GstAnalyticsRelationMeta * meta, guint od_id,
    GstAnalyticsClsMtd * cls)
{
  gpointer state = NULL;

  return gst_analytics_relation_meta_get_direct_related (meta, od_id,
      GST_ANALYTICS_REL_TYPE_RELATE_TO, gst_analytics_cls_mtd_get_mtd_type (),
      &state, cls);
}

/* Every ROI of mobileonedetect has an ODMtd with the same label, box and
 * confidence, and there are no others. */
GST_START_TEST (test_detect)
{
  GstHarness *h = harness_with_src (DETECT, "RGB", 211, 97, "ball");
  guint total = 0;

  for (gint f = 0; f < 3; f++) {
    GstBuffer *out;
    GstAnalyticsRelationMeta *meta;
    gpointer state = NULL;
    GstMeta *m;

    gst_harness_push_from_src (h);
    out = gst_harness_pull (h);
    if (count_rois (out) == 0) {
      fail_unless_equals_int (count_mtds (out,
              gst_analytics_od_mtd_get_mtd_type ()), 0);
      gst_buffer_unref (out);
      continue;
    }
    meta = relation_meta (out);
    fail_unless_equals_int (count_mtds (out,
            gst_analytics_od_mtd_get_mtd_type ()), count_rois (out));
    while ((m = gst_buffer_iterate_meta_filtered (out, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
      const GstStructure *s =
          gst_video_region_of_interest_meta_get_param (roi, "detection");
      GstAnalyticsODMtd od;
      gpointer ostate = NULL;
      gboolean found = FALSE;
      gdouble conf;

      fail_unless (gst_structure_get_double (s, "confidence", &conf));
      while (gst_analytics_relation_meta_iterate (meta, &ostate,
              gst_analytics_od_mtd_get_mtd_type (), &od)) {
        gint x, y, w, hh;
        gfloat c;

        fail_unless (gst_analytics_od_mtd_get_location (&od, &x, &y, &w, &hh,
                &c));
        if (x == (gint) roi->x && y == (gint) roi->y && w == (gint) roi->w
            && hh == (gint) roi->h && c == (gfloat) conf) {
          fail_unless_equals_string (g_quark_to_string
              (gst_analytics_od_mtd_get_obj_type (&od)),
              gst_structure_get_string (s, "label"));
          found = TRUE;
        }
      }
      fail_unless (found, "no ODMtd for the ROI at %u,%u %ux%u", roi->x,
          roi->y, roi->w, roi->h);
      total++;
    }
    gst_buffer_unref (out);
  }
  fail_unless (total > 0, "the detector found nothing to compare");
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A whole-frame classification is a ClsMtd of its own; a region's is
 * related to the region's ODMtd, made for an ROI that came alone. */
GST_START_TEST (test_classify)
{
  GstHarness *h = gst_harness_new_parse (CLASSIFY);
  GstHarness *hr = gst_harness_new_parse (CLASSIFY " object-class=car");
  const gchar *caps =
      "video/x-raw,format=BGRx,width=64,height=48,framerate=30/1";
  GstAnalyticsRelationMeta *meta;
  GstAnalyticsClsMtd cls;
  GstAnalyticsODMtd od;
  GstVideoRegionOfInterestMeta *roi;
  const GstStructure *s;
  GstBuffer *in, *out;
  gpointer state = NULL;
  gdouble conf;
  gint x, y, w, hh;
  gfloat c;
  guint od_id;

  gst_harness_set_src_caps_str (h, caps);
  gst_harness_set_src_caps_str (hr, caps);

  in = gst_harness_create_buffer (h, 64 * 48 * 4);
  gst_buffer_memset (in, 0, 0x5a, 64 * 48 * 4);
  out = gst_harness_push_and_pull (h, in);
  /* The frame's result: frame-level metadata, no region. */
  fail_unless (gst_buffer_get_video_region_of_interest_meta (out) == NULL);
  {
    GstCustomMeta *cm = gst_buffer_get_custom_meta (out,
        "GstMobileOneClassificationMeta");
    const GValue *v;

    fail_unless (cm != NULL);
    v = gst_structure_get_value (gst_custom_meta_get_structure (cm),
        "classification");
    fail_unless (v != NULL && GST_VALUE_HOLDS_STRUCTURE (v));
    s = gst_value_get_structure (v);
  }
  fail_unless (gst_structure_get_double (s, "confidence", &conf));
  meta = relation_meta (out);
  fail_unless_equals_int (count_mtds (out,
          gst_analytics_cls_mtd_get_mtd_type ()), 1);
  fail_unless_equals_int (count_mtds (out,
          gst_analytics_od_mtd_get_mtd_type ()), 0);
  fail_unless (gst_analytics_relation_meta_iterate (meta, &state,
          gst_analytics_cls_mtd_get_mtd_type (), &cls));
  fail_unless_equals_int (gst_analytics_cls_mtd_get_length (&cls), 1);
  fail_unless_equals_string (g_quark_to_string (gst_analytics_cls_mtd_get_quark
          (&cls, 0)), gst_structure_get_string (s, "label"));
  fail_unless (gst_analytics_cls_mtd_get_level (&cls, 0) == (gfloat) conf);
  gst_buffer_unref (out);

  /* One ROI with its ODMtd (as mobileonedetect attaches them), one alone. */
  in = gst_harness_create_buffer (hr, 64 * 48 * 4);
  gst_buffer_memset (in, 0, 0x5a, 64 * 48 * 4);
  gst_buffer_add_video_region_of_interest_meta (in, "car", 8, 8, 40, 30);
  meta = gst_buffer_add_analytics_relation_meta (in);
  fail_unless (gst_analytics_relation_meta_add_od_mtd (meta,
          g_quark_from_string ("car"), 8, 8, 40, 30, 0.75f, &od));
  od_id = od.id;
  gst_buffer_add_video_region_of_interest_meta (in, "car", 30, 20, 20, 16);
  out = gst_harness_push_and_pull (hr, in);
  meta = relation_meta (out);
  fail_unless_equals_int (count_mtds (out,
          gst_analytics_cls_mtd_get_mtd_type ()), 2);
  fail_unless_equals_int (count_mtds (out,
          gst_analytics_od_mtd_get_mtd_type ()), 2);
  fail_unless (related_cls (meta, od_id, &cls));
  state = NULL;
  while (gst_analytics_relation_meta_iterate (meta, &state,
          gst_analytics_od_mtd_get_mtd_type (), &od)) {
    fail_unless (gst_analytics_od_mtd_get_location (&od, &x, &y, &w, &hh, &c));
    fail_unless (related_cls (meta, od.id, &cls), "ODMtd %u has no ClsMtd",
        od.id);
    if (od.id != od_id) {
      fail_unless (x == 30 && y == 20 && w == 20 && hh == 16);
      fail_unless_equals_string (g_quark_to_string
          (gst_analytics_od_mtd_get_obj_type (&od)), "car");
    }
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_harness_teardown (hr);
}

GST_END_TEST;

/* A frame with @labels[i] boxes at @boxes[i], as ROI metas (with a
 * "detection" param, no label_id) or as ODMtds, drawn by @launch. */
static GstBuffer *
draw (const gchar * launch, gboolean as_mtds)
{
  static const gint boxes[][4] = { {4, 20, 30, 20}, {40, 10, 20, 30} };
  static const gchar *labels[] = { "car", "bus" };
  GstHarness *h = gst_harness_new_parse (launch);
  GstBuffer *in, *out;

  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGBA,width=80,height=60,framerate=30/1");
  in = gst_harness_create_buffer (h, 80 * 60 * 4);
  gst_buffer_memset (in, 0, 0x20, 80 * 60 * 4);
  for (guint i = 0; i < G_N_ELEMENTS (boxes); i++) {
    if (as_mtds) {
      GstAnalyticsRelationMeta *meta =
          gst_buffer_get_analytics_relation_meta (in);
      GstAnalyticsODMtd od;

      if (meta == NULL)
        meta = gst_buffer_add_analytics_relation_meta (in);
      fail_unless (gst_analytics_relation_meta_add_od_mtd (meta,
              g_quark_from_string (labels[i]), boxes[i][0], boxes[i][1],
              boxes[i][2], boxes[i][3], 0.5f, &od));
    } else {
      GstVideoRegionOfInterestMeta *roi =
          gst_buffer_add_video_region_of_interest_meta (in, labels[i],
          boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]);

      gst_video_region_of_interest_meta_add_param (roi,
          gst_structure_new ("detection", "label", G_TYPE_STRING, labels[i],
              "confidence", G_TYPE_DOUBLE, 0.5, NULL));
    }
  }
  out = gst_harness_push_and_pull (h, in);
  gst_harness_teardown (h);
  return out;
}

static gboolean
buffers_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;
  gboolean eq;

  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  eq = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return eq;
}

static gboolean
buffer_is (GstBuffer * a, guint8 value)
{
  GstMapInfo m;
  gboolean all = TRUE;

  fail_unless (gst_buffer_map (a, &m, GST_MAP_READ));
  for (gsize i = 0; i < m.size && all; i++)
    all = m.data[i] == value;
  gst_buffer_unmap (a, &m);
  return all;
}

/* mobileoneoverlay draws ODMtds as it draws the same ROI metas. */
GST_START_TEST (test_overlay_reads_mtds)
{
  GstBuffer *rois = draw ("mobileoneoverlay", FALSE);
  GstBuffer *mtds = draw ("mobileoneoverlay", TRUE);

  fail_if (buffer_is (rois, 0x20), "nothing drawn");
  fail_unless (buffers_equal (rois, mtds));
  gst_buffer_unref (rois);
  gst_buffer_unref (mtds);
}

GST_END_TEST;

/* The one document mobileonepublish writes for @in (file method,
 * json-lines; @props are more of its properties). */
static JsonNode *
publish (GstBuffer * in, const gchar * caps, const gchar * props)
{
  gchar *path = g_build_filename (g_get_tmp_dir (),
      "mobileoneanalytics-publish-XXXXXX", NULL);
  gint fd = g_mkstemp (path);
  gchar *launch, *text = NULL;
  GstHarness *h;
  GError *error = NULL;
  JsonParser *parser = json_parser_new ();
  JsonNode *root;

  fail_unless (fd >= 0);
  close (fd);
  launch = g_strdup_printf ("mobileonepublish %s file-path=%s", props, path);
  h = gst_harness_new_parse (launch);
  gst_harness_set_src_caps_str (h, caps);
  gst_buffer_unref (gst_harness_push_and_pull (h, in));
  gst_harness_teardown (h);
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  fail_unless (strchr (text, '\n') == text + strlen (text) - 1,
      "not one document: %s", text);
  fail_unless (json_parser_load_from_data (parser, text, -1, &error),
      "%s: %s", text, error ? error->message : "");
  root = json_node_copy (json_parser_get_root (parser));
  g_object_unref (parser);
  g_unlink (path);
  g_free (text);
  g_free (launch);
  g_free (path);
  return root;
}

/* mobileonepublish writes an object per ODMtd, with its related ClsMtd and
 * TrackingMtd, when the frame has no region metas; with region metas it
 * writes those alone (no object twice). */
GST_START_TEST (test_publish_reads_mtds)
{
  static const gchar caps[] =
      "video/x-raw,format=RGB,width=200,height=100,framerate=30/1";
  GstBuffer *in = gst_buffer_new_allocate (NULL, 200 * 100 * 3, NULL);
  GstAnalyticsRelationMeta *meta = gst_buffer_add_analytics_relation_meta (in);
  GstAnalyticsODMtd car, bus;
  GstAnalyticsClsMtd cls;
  GstAnalyticsTrackingMtd trk;
  JsonNode *root;
  JsonArray *objects;
  JsonObject *o, *det, *box, *c;

  GST_BUFFER_PTS (in) = 40 * GST_MSECOND;
  fail_unless (gst_analytics_relation_meta_add_od_mtd (meta,
          g_quark_from_string ("car"), 20, 10, 50, 40, 0.875f, &car));
  fail_unless (gst_analytics_relation_meta_add_od_mtd (meta,
          g_quark_from_string ("bus"), 100, 30, 80, 60, 0.5f, &bus));
  fail_unless (gst_analytics_relation_meta_add_one_cls_mtd (meta, 0.75f,
          g_quark_from_string ("red"), &cls));
  fail_unless (gst_analytics_relation_meta_set_relation (meta,
          GST_ANALYTICS_REL_TYPE_RELATE_TO, car.id, cls.id));
  fail_unless (gst_analytics_relation_meta_add_tracking_mtd (meta, 7,
          GST_BUFFER_PTS (in), &trk));
  fail_unless (gst_analytics_relation_meta_set_relation (meta,
          GST_ANALYTICS_REL_TYPE_RELATE_TO, bus.id, trk.id));

  root = publish (gst_buffer_ref (in), caps, "");
  fail_unless_equals_int (json_object_get_int_member (json_node_get_object
          (root), "timestamp"), 40 * GST_MSECOND);
  objects = json_object_get_array_member (json_node_get_object (root),
      "objects");
  fail_unless_equals_int (json_array_get_length (objects), 2);

  o = json_array_get_object_element (objects, 0);
  fail_unless_equals_int (json_object_get_int_member (o, "x"), 20);
  fail_unless_equals_int (json_object_get_int_member (o, "y"), 10);
  fail_unless_equals_int (json_object_get_int_member (o, "w"), 50);
  fail_unless_equals_int (json_object_get_int_member (o, "h"), 40);
  fail_if (json_object_has_member (o, "id"), "an untracked object has an id");
  fail_unless_equals_string (json_object_get_string_member (o, "roi_type"),
      "car");
  det = json_object_get_object_member (o, "detection");
  fail_unless_equals_float (json_object_get_double_member (det,
          "confidence"), 0.875);
  fail_unless_equals_string (json_object_get_string_member (det, "label"),
      "car");
  box = json_object_get_object_member (det, "bounding_box");
  fail_unless_equals_float (json_object_get_double_member (box, "x_min"),
      0.1);
  fail_unless_equals_float (json_object_get_double_member (box, "y_min"),
      0.1);
  fail_unless_equals_float (json_object_get_double_member (box, "x_max"),
      0.35);
  fail_unless_equals_float (json_object_get_double_member (box, "y_max"),
      0.5);
  c = json_object_get_object_member (o, "classification");
  fail_unless (c != NULL, "no classification from the ClsMtd");
  fail_unless_equals_string (json_object_get_string_member (c, "label"),
      "red");
  fail_unless_equals_float (json_object_get_double_member (c, "confidence"),
      0.75);

  o = json_array_get_object_element (objects, 1);
  fail_unless_equals_int (json_object_get_int_member (o, "x"), 100);
  fail_unless_equals_int (json_object_get_int_member (o, "id"), 7);
  fail_unless_equals_string (json_object_get_string_member (o, "roi_type"),
      "bus");
  fail_if (json_object_has_member (o, "classification"));
  json_node_unref (root);

  /* Region metas beside: those are the objects, the Mtds are not added. */
  in = gst_buffer_make_writable (in);
  gst_buffer_add_video_region_of_interest_meta (in, "truck", 1, 2, 3, 4);
  root = publish (in, caps, "");
  objects = json_object_get_array_member (json_node_get_object (root),
      "objects");
  fail_unless_equals_int (json_array_get_length (objects), 1);
  o = json_array_get_object_element (objects, 0);
  fail_unless_equals_string (json_object_get_string_member (o, "roi_type"),
      "truck");
  json_node_unref (root);
}

GST_END_TEST;

/* Upstream's objectdetectionoverlay (gst-plugins-bad >= 1.24) draws our
 * detections. */
GST_START_TEST (test_objectdetectionoverlay)
{
  GstElementFactory *f = gst_element_factory_find ("objectdetectionoverlay");
  GstHarness *h;
  GstBuffer *in, *out;
  guint drawn = 0;

  if (f == NULL) {
    g_print ("SKIP: no objectdetectionoverlay (gstreamer1.0-plugins-bad)\n");
    return;
  }
  gst_object_unref (f);

  /* The same frame twice: detected and drawn, detected only. */
  h = harness_with_src (DETECT " ! objectdetectionoverlay", "RGBA", 211, 97,
      "ball");
  {
    GstHarness *plain = harness_with_src (DETECT, "RGBA", 211, 97, "ball");

    for (gint f = 0; f < 3; f++) {
      gst_harness_push_from_src (h);
      gst_harness_push_from_src (plain);
      out = gst_harness_pull (h);
      in = gst_harness_pull (plain);
      fail_unless_equals_int (count_rois (in), count_rois (out));
      if (count_rois (in) > 0) {
        fail_if (buffers_equal (in, out), "objectdetectionoverlay drew "
            "nothing over %u detections", count_rois (in));
        drawn++;
      } else {
        fail_unless (buffers_equal (in, out));
      }
      gst_buffer_unref (in);
      gst_buffer_unref (out);
    }
    gst_harness_teardown (plain);
  }
  fail_unless (drawn > 0, "the detector found nothing to draw");
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The TrackingMtd of ODMtd @od_id: its tracking id, or 0 when none. */
static guint64
related_track (GstAnalyticsRelationMeta * meta, guint od_id)
{
  GstAnalyticsTrackingMtd trk;
  gpointer state = NULL;
  guint64 id = 0;
  GstClockTime first, last;
  gboolean lost;

  if (!gst_analytics_relation_meta_get_direct_related (meta, od_id,
          GST_ANALYTICS_REL_TYPE_RELATE_TO,
          gst_analytics_tracking_mtd_get_mtd_type (), &state, &trk))
    return 0;
  fail_unless (gst_analytics_tracking_mtd_get_info (&trk, &id, &first, &last,
          &lost));
  fail_if (lost);
  return id;
}

/* mobileonetrack: a TrackingMtd per confirmed region, related to the
 * region's ODMtd, with the region's track id; and ODMtds alone (an upstream
 * detector) are tracked too, keeping their id. */
GST_START_TEST (test_track)
{
  GstHarness *h = harness_with_src (DETECT " ! mobileonetrack min-hits=1",
      "RGB", 211, 97, "ball");
  GstHarness *ht = gst_harness_new_parse ("mobileonetrack min-hits=1");
  guint checked = 0;
  guint64 first_id = 0;

  for (gint f = 0; f < 3; f++) {
    GstBuffer *out;
    gpointer state = NULL;
    GstMeta *m;

    gst_harness_push_from_src (h);
    out = gst_harness_pull (h);
    while ((m = gst_buffer_iterate_meta_filtered (out, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
      GstAnalyticsRelationMeta *meta = relation_meta (out);
      GstAnalyticsODMtd od;
      gpointer ostate = NULL;
      guint matches = 0;

      if (roi->id <= 0)
        continue;
      while (gst_analytics_relation_meta_iterate (meta, &ostate,
              gst_analytics_od_mtd_get_mtd_type (), &od)) {
        if (related_track (meta, od.id) == (guint64) roi->id)
          matches++;
      }
      fail_unless_equals_int (matches, 1);
      checked++;
    }
    gst_buffer_unref (out);
  }
  fail_unless (checked > 0, "nothing was tracked");

  gst_harness_set_src_caps_str (ht,
      "video/x-raw,format=RGB,width=100,height=80,framerate=30/1");
  for (gint f = 0; f < 4; f++) {
    GstBuffer *in = gst_harness_create_buffer (ht, 100 * 80 * 3);
    GstAnalyticsRelationMeta *meta = gst_buffer_add_analytics_relation_meta
        (in);
    GstAnalyticsODMtd od;
    GstBuffer *out;
    guint64 id;

    GST_BUFFER_PTS (in) = f * GST_SECOND / 30;
    fail_unless (gst_analytics_relation_meta_add_od_mtd (meta,
            g_quark_from_string ("car"), 10 + 2 * f, 20, 30, 20, 0.9f, &od));
    out = gst_harness_push_and_pull (ht, in);
    id = related_track (relation_meta (out), od.id);
    fail_unless (id > 0, "frame %d: no TrackingMtd", f);
    if (f == 0)
      first_id = id;
    fail_unless_equals_uint64 (id, first_id);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (ht);
  gst_harness_teardown (h);
}

GST_END_TEST;

#if GST_CHECK_VERSION (1, 26, 0)
/* mobileonesegment's SegmentationMtd holds the map of its mask meta, and
 * mobileonemask renders either the same. */
GST_START_TEST (test_segment)
{
  GstHarness *h = harness_with_src (SEGMENT, "RGB", 123, 71, "smpte");
  GstHarness *m1 = gst_harness_new_parse ("mobileonemask");
  GstHarness *m2 = gst_harness_new_parse ("mobileonemask");
  GstAnalyticsRelationMeta *meta;
  GstAnalyticsSegmentationMtd seg;
  GstMobileOneMaskMeta *mask;
  GstBuffer *out, *a, *b, *mb, *ra, *rb;
  GstVideoMeta *vmeta;
  gpointer state = NULL;
  gint x, y;
  guint w, hh;

  gst_harness_push_from_src (h);
  out = gst_harness_pull (h);
  mask = get_mask_meta (out);
  fail_unless (mask != NULL);
  meta = relation_meta (out);
  fail_unless (gst_analytics_relation_meta_iterate (meta, &state,
          gst_analytics_segmentation_mtd_get_mtd_type (), &seg));
  fail_unless_equals_int (gst_analytics_segmentation_mtd_get_region_count
      (&seg), mask->num_classes);
  for (guint i = 0; i < mask->num_classes; i++)
    fail_unless_equals_int (gst_analytics_segmentation_mtd_get_region_id
        (&seg, i), i);
  mb = gst_analytics_segmentation_mtd_get_mask (&seg, &x, &y, &w, &hh);
  fail_unless (mb == mask->mask);
  fail_unless (x == mask->x && y == mask->y && w == mask->w && hh == mask->h);
  vmeta = gst_buffer_get_video_meta (mb);
  fail_unless (vmeta != NULL && vmeta->format == GST_VIDEO_FORMAT_GRAY8);
  fail_unless (vmeta->width == mask->width && vmeta->height == mask->height
      && (guint) vmeta->stride[0] == mask->stride);
  gst_buffer_unref (mb);

  /* One copy with the mask meta only, one with the SegmentationMtd only. */
  a = gst_buffer_copy (out);
  b = gst_buffer_copy (out);
  gst_buffer_remove_meta (a,
      (GstMeta *) gst_buffer_get_analytics_relation_meta (a));
  gst_buffer_remove_meta (b, (GstMeta *) get_mask_meta (b));
  fail_unless (get_mask_meta (b) == NULL);
  gst_harness_set_src_caps_str (m1, "video/x-raw,format=RGB,width=123,"
      "height=71,framerate=30/1");
  gst_harness_set_src_caps_str (m2, "video/x-raw,format=RGB,width=123,"
      "height=71,framerate=30/1");
  gst_harness_set_sink_caps_str (m1, "video/x-raw,format=GRAY8");
  gst_harness_set_sink_caps_str (m2, "video/x-raw,format=GRAY8");
  ra = gst_harness_push_and_pull (m1, a);
  rb = gst_harness_push_and_pull (m2, b);
  fail_unless (buffers_equal (ra, rb));
  gst_buffer_unref (ra);
  gst_buffer_unref (rb);

  /* mobileonepublish writes the same segmentation from either, but for
   * the labels (the SegmentationMtd has class ids only). */
  {
    static const gchar caps[] =
        "video/x-raw,format=RGB,width=123,height=71,framerate=30/1";
    JsonNode *da, *db;
    JsonObject *sa, *sb;
    JsonArray *classes;

    a = gst_buffer_copy (out);
    b = gst_buffer_copy (out);
    gst_buffer_remove_meta (a,
        (GstMeta *) gst_buffer_get_analytics_relation_meta (a));
    gst_buffer_remove_meta (b, (GstMeta *) get_mask_meta (b));
    da = publish (a, caps, "add-mask=true");
    db = publish (b, caps, "add-mask=true");
    sa = json_object_get_object_member (json_node_get_object (da),
        "segmentation");
    sb = json_object_get_object_member (json_node_get_object (db),
        "segmentation");
    fail_unless (sa != NULL && sb != NULL, "no segmentation");
    classes = json_object_get_array_member (sa, "classes");
    fail_unless (json_array_get_length (classes) > 0);
    for (guint i = 0; i < json_array_get_length (classes); i++) {
      JsonObject *ca = json_array_get_object_element (classes, i);

      fail_unless (json_object_has_member (ca, "label"));
      json_object_remove_member (ca, "label");
    }
    fail_unless (json_node_equal (json_object_get_member (json_node_get_object
                (da), "segmentation"), json_object_get_member
            (json_node_get_object (db), "segmentation")),
        "the SegmentationMtd's document differs from the mask meta's");
    json_node_unref (da);
    json_node_unref (db);
  }

  /* mobileoneoverlay blends it the same too. */
  a = gst_buffer_copy (out);
  b = gst_buffer_copy (out);
  gst_buffer_remove_meta (a,
      (GstMeta *) gst_buffer_get_analytics_relation_meta (a));
  gst_buffer_remove_meta (b, (GstMeta *) get_mask_meta (b));
  gst_harness_teardown (m1);
  gst_harness_teardown (m2);
  m1 = gst_harness_new_parse ("mobileoneoverlay");
  m2 = gst_harness_new_parse ("mobileoneoverlay");
  gst_harness_set_src_caps_str (m1, "video/x-raw,format=RGB,width=123,"
      "height=71,framerate=30/1");
  gst_harness_set_src_caps_str (m2, "video/x-raw,format=RGB,width=123,"
      "height=71,framerate=30/1");
  ra = gst_harness_push_and_pull (m1, a);
  rb = gst_harness_push_and_pull (m2, b);
  fail_unless (buffers_equal (ra, rb));
  gst_buffer_unref (ra);
  gst_buffer_unref (rb);

  gst_buffer_unref (out);
  gst_harness_teardown (m1);
  gst_harness_teardown (m2);
  gst_harness_teardown (h);
}

GST_END_TEST;
#endif

static Suite *
mobileoneanalytics_suite (void)
{
  Suite *s = suite_create ("mobileoneanalytics");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_detect);
  tcase_add_test (tc, test_classify);
  tcase_add_test (tc, test_overlay_reads_mtds);
  tcase_add_test (tc, test_publish_reads_mtds);
  tcase_add_test (tc, test_objectdetectionoverlay);
  tcase_add_test (tc, test_track);
#if GST_CHECK_VERSION (1, 26, 0)
  tcase_add_test (tc, test_segment);
#endif
  return s;
}

GST_CHECK_MAIN (mobileoneanalytics);

#else /* !HAVE_GST_ANALYTICS */

int
main (void)
{
  g_print ("SKIP: built without GstAnalytics (GStreamer < 1.24)\n");
  return 77;
}
#endif
