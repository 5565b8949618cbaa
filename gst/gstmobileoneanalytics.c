/* mobileone-gst: GstAnalytics metadata beside the GStreamer 1.22 metas
 * (gstmobileoneanalytics.h). One code path: without GstAnalytics (GStreamer
 * 1.22) the functions attach and find nothing. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneanalytics.h"

#include <gst/video/video.h>

#ifdef HAVE_GST_ANALYTICS
#include <gst/analytics/analytics.h>
#if GST_CHECK_VERSION (1, 26, 0)
#define HAVE_SEGMENTATION_MTD 1
#endif
#endif

gboolean
gst_mobile_one_analytics_enabled (void)
{
#ifdef HAVE_GST_ANALYTICS
  return TRUE;
#else
  return FALSE;
#endif
}

gboolean
gst_mobile_one_analytics_segmentation_enabled (void)
{
#ifdef HAVE_SEGMENTATION_MTD
  return TRUE;
#else
  return FALSE;
#endif
}

#ifdef HAVE_GST_ANALYTICS
static GstAnalyticsRelationMeta *
relation_meta (GstBuffer * buffer)
{
  GstAnalyticsRelationMeta *meta =
      gst_buffer_get_analytics_relation_meta (buffer);

  if (meta == NULL)
    meta = gst_buffer_add_analytics_relation_meta (buffer);
  return meta;
}

/* A result and the detection it belongs to, both ways, so that readers find
 * one from the other whichever they start from. */
static void
relate (GstAnalyticsRelationMeta * meta, guint od_id, guint id)
{
  GstAnalyticsODMtd od;

  if (od_id == GST_MOBILE_ONE_NO_MTD
      || !gst_analytics_relation_meta_get_od_mtd (meta, od_id, &od))
    return;
  gst_analytics_relation_meta_set_relation (meta,
      GST_ANALYTICS_REL_TYPE_RELATE_TO, od_id, id);
  gst_analytics_relation_meta_set_relation (meta,
      GST_ANALYTICS_REL_TYPE_RELATE_TO, id, od_id);
}
#endif

guint
gst_mobile_one_analytics_add_detection (GstBuffer * buffer, GQuark label,
    gint x, gint y, gint w, gint h, gfloat confidence)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta = relation_meta (buffer);
  GstAnalyticsODMtd od;

  if (meta != NULL && gst_analytics_relation_meta_add_od_mtd (meta, label,
          x, y, w, h, confidence, &od))
    return od.id;
#endif
  return GST_MOBILE_ONE_NO_MTD;
}

guint
gst_mobile_one_analytics_find_detection (GstBuffer * buffer, guint id_hint,
    GQuark label, gint x, gint y, gint w, gint h)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta =
      gst_buffer_get_analytics_relation_meta (buffer);
  GstAnalyticsODMtd od;
  gpointer state = NULL;

  if (meta == NULL)
    return GST_MOBILE_ONE_NO_MTD;
  if (id_hint != GST_MOBILE_ONE_NO_MTD
      && gst_analytics_relation_meta_get_od_mtd (meta, id_hint, &od)) {
    gint ox, oy, ow, oh;
    gfloat conf;

    if (gst_analytics_od_mtd_get_obj_type (&od) == label
        && gst_analytics_od_mtd_get_location (&od, &ox, &oy, &ow, &oh, &conf)
        && ox == x && oy == y && ow == w && oh == h)
      return od.id;
  }
  while (gst_analytics_relation_meta_iterate (meta, &state,
          gst_analytics_od_mtd_get_mtd_type (), &od)) {
    gint ox, oy, ow, oh;
    gfloat conf;

    if (gst_analytics_od_mtd_get_obj_type (&od) == label
        && gst_analytics_od_mtd_get_location (&od, &ox, &oy, &ow, &oh, &conf)
        && ox == x && oy == y && ow == w && oh == h)
      return od.id;
  }
#endif
  return GST_MOBILE_ONE_NO_MTD;
}

guint
gst_mobile_one_analytics_add_classification (GstBuffer * buffer, guint od_id,
    GQuark label, gfloat confidence)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta = relation_meta (buffer);
  GstAnalyticsClsMtd cls;

  if (meta != NULL && gst_analytics_relation_meta_add_one_cls_mtd (meta,
          confidence, label, &cls)) {
    relate (meta, od_id, cls.id);
    return cls.id;
  }
#endif
  return GST_MOBILE_ONE_NO_MTD;
}

guint
gst_mobile_one_analytics_add_tracking (GstBuffer * buffer, guint od_id,
    guint64 track_id, GstClockTime first_seen, GstClockTime last_seen,
    gboolean lost)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta = relation_meta (buffer);
  GstAnalyticsTrackingMtd trk;

  if (meta != NULL && gst_analytics_relation_meta_add_tracking_mtd (meta,
          track_id, first_seen, &trk)) {
    if (GST_CLOCK_TIME_IS_VALID (last_seen))
      gst_analytics_tracking_mtd_update_last_seen (&trk, last_seen);
    if (lost)
      gst_analytics_tracking_mtd_set_lost (&trk);
    relate (meta, od_id, trk.id);
    return trk.id;
  }
#endif
  return GST_MOBILE_ONE_NO_MTD;
}

guint
gst_mobile_one_analytics_add_segmentation (GstBuffer * buffer,
    GstBuffer * mask, guint num_classes, gint x, gint y, guint w, guint h)
{
#ifdef HAVE_SEGMENTATION_MTD
  GstAnalyticsRelationMeta *meta;
  GstAnalyticsSegmentationMtd seg;
  guint ids[256];

  g_return_val_if_fail (num_classes <= G_N_ELEMENTS (ids),
      GST_MOBILE_ONE_NO_MTD);
  g_return_val_if_fail (gst_buffer_get_video_meta (mask) != NULL,
      GST_MOBILE_ONE_NO_MTD);
  meta = relation_meta (buffer);
  if (meta == NULL)
    return GST_MOBILE_ONE_NO_MTD;
  for (guint i = 0; i < num_classes; i++)
    ids[i] = i;
  /* The Mtd takes the reference. */
  if (gst_analytics_relation_meta_add_segmentation_mtd (meta,
          gst_buffer_ref (mask), GST_SEGMENTATION_TYPE_SEMANTIC, num_classes,
          ids, x, y, w, h, &seg))
    return seg.id;
  gst_buffer_unref (mask);
#endif
  return GST_MOBILE_ONE_NO_MTD;
}

gboolean
gst_mobile_one_analytics_has_regions (GstBuffer * buffer)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta =
      gst_buffer_get_analytics_relation_meta (buffer);
  GstAnalyticsODMtd od;
  gpointer state = NULL;

  return meta != NULL && gst_analytics_relation_meta_iterate (meta, &state,
      gst_analytics_od_mtd_get_mtd_type (), &od);
#else
  return FALSE;
#endif
}

gboolean
gst_mobile_one_analytics_next_region (GstBuffer * buffer, gpointer * state,
    GstMobileOneRegion * region)
{
#ifdef HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *meta =
      gst_buffer_get_analytics_relation_meta (buffer);
  GstAnalyticsODMtd od;
  GstAnalyticsClsMtd cls;
  GstAnalyticsTrackingMtd trk;
  gpointer rstate = NULL;

  if (meta == NULL || !gst_analytics_relation_meta_iterate (meta, state,
          gst_analytics_od_mtd_get_mtd_type (), &od))
    return FALSE;
  memset (region, 0, sizeof (*region));
  region->id = od.id;
  region->label = gst_analytics_od_mtd_get_obj_type (&od);
  gst_analytics_od_mtd_get_location (&od, &region->x, &region->y,
      &region->w, &region->h, &region->confidence);
  if (gst_analytics_relation_meta_get_direct_related (meta, od.id,
          GST_ANALYTICS_REL_TYPE_ANY, gst_analytics_cls_mtd_get_mtd_type (),
          &rstate, &cls) && gst_analytics_cls_mtd_get_length (&cls) > 0) {
    region->class_label = gst_analytics_cls_mtd_get_quark (&cls, 0);
    region->class_confidence = gst_analytics_cls_mtd_get_level (&cls, 0);
  }
  rstate = NULL;
  if (gst_analytics_relation_meta_get_direct_related (meta, od.id,
          GST_ANALYTICS_REL_TYPE_ANY,
          gst_analytics_tracking_mtd_get_mtd_type (), &rstate, &trk)) {
    GstClockTime first, last;
    gboolean lost;

    region->has_track = gst_analytics_tracking_mtd_get_info (&trk,
        &region->track_id, &first, &last, &lost);
  }
  return TRUE;
#else
  return FALSE;
#endif
}

gboolean
gst_mobile_one_analytics_get_mask (GstBuffer * buffer,
    GstMobileOneMaskMeta * mask)
{
#ifdef HAVE_SEGMENTATION_MTD
  GstAnalyticsRelationMeta *meta =
      gst_buffer_get_analytics_relation_meta (buffer);
  GstAnalyticsSegmentationMtd seg;
  gpointer state = NULL;

  if (meta == NULL)
    return FALSE;
  while (gst_analytics_relation_meta_iterate (meta, &state,
          gst_analytics_segmentation_mtd_get_mtd_type (), &seg)) {
    gint x, y;
    guint w, h;
    GstBuffer *buf = gst_analytics_segmentation_mtd_get_mask (&seg, &x, &y,
        &w, &h);
    GstVideoMeta *vmeta;

    if (buf == NULL)
      continue;
    vmeta = gst_buffer_get_video_meta (buf);
    /* The Mtd keeps its own reference for as long as @buffer lives. */
    gst_buffer_unref (buf);
    /* The readers walk the rows from the start of the buffer. */
    if (vmeta == NULL || vmeta->format != GST_VIDEO_FORMAT_GRAY8
        || vmeta->width == 0 || vmeta->height == 0 || w == 0 || h == 0
        || vmeta->offset[0] != 0 || vmeta->stride[0] < (gint) vmeta->width
        || gst_buffer_get_size (buf) < (gsize) vmeta->stride[0] *
        (vmeta->height - 1) + vmeta->width)
      continue;
    memset (mask, 0, sizeof (*mask));
    mask->mask = buf;
    mask->width = vmeta->width;
    mask->height = vmeta->height;
    mask->stride = (guint) vmeta->stride[0];
    mask->x = x;
    mask->y = y;
    mask->w = w;
    mask->h = h;
    mask->num_classes = (guint) gst_analytics_segmentation_mtd_get_region_count
        (&seg);
    return TRUE;
  }
#endif
  return FALSE;
}
