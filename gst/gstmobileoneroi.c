/* mobileone-gst: reading the regions of interest of a buffer
 * (gstmobileoneroi.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneroi.h"

void
gst_mobile_one_roi_read (GstVideoRegionOfInterestMeta * meta,
    GstMobileOneRoi * roi)
{
  GstStructure *classification = NULL;
  GstStructure *src;

  roi->meta = meta;
  roi->detection = NULL;
  roi->tracking = NULL;
  for (GList * l = meta->params; l != NULL; l = l->next) {
    GstStructure *s = l->data;

    if (roi->detection == NULL && gst_structure_has_name (s, "detection"))
      roi->detection = s;
    else if (roi->tracking == NULL && gst_structure_has_name (s, "tracking"))
      roi->tracking = s;
    else if (classification == NULL
        && gst_structure_has_name (s, "classification"))
      classification = s;
  }

  src = roi->detection ? roi->detection : classification;
  roi->label = src ? gst_structure_get_string (src, "label") : NULL;
  if (roi->label == NULL && meta->roi_type != 0)
    roi->label = g_quark_to_string (meta->roi_type);
  if (src == NULL || !gst_structure_get_double (src, "confidence",
          &roi->confidence))
    roi->confidence = -1.0;
  if (src == NULL || !gst_structure_get_int (src, "label_id", &roi->class_id))
    roi->class_id = -1;
  if (roi->tracking == NULL || !gst_structure_get_int (roi->tracking, "id",
          &roi->track_id))
    roi->track_id = -1;
  roi->repeated = FALSE;
  if (roi->detection)
    gst_structure_get_boolean (roi->detection, "repeated", &roi->repeated);
}

gboolean
gst_mobile_one_roi_next (GstBuffer * buf, gpointer * state,
    GstMobileOneRoi * roi)
{
  GstMeta *meta = gst_buffer_iterate_meta_filtered (buf, state,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);

  if (meta == NULL)
    return FALSE;
  gst_mobile_one_roi_read ((GstVideoRegionOfInterestMeta *) meta, roi);
  return TRUE;
}

gint
gst_mobile_one_roi_next_id (GstBuffer * buf)
{
  gpointer state = NULL;
  GstMeta *meta;
  gint next = 0;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    gint id = ((GstVideoRegionOfInterestMeta *) meta)->id;

    if (id >= next && id < G_MAXINT)
      next = id + 1;
  }
  return next;
}
