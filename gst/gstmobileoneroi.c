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

gchar *
gst_mobile_one_roi_describe (const GstMobileOneRoi * roi, gchar * text,
    gsize size)
{
  gsize len = 0;

  g_return_val_if_fail (size > 0, text);
  text[0] = '\0';
  if (roi->track_id >= 0)
    len = g_snprintf (text, size, "#%d ", roi->track_id);
  for (GList * l = roi->meta->params; l != NULL && len < size; l = l->next) {
    GstStructure *s = l->data;
    const gchar *label = gst_structure_get_string (s, "label");
    gboolean first = len == 0 || text[len - 1] == ' ';
    gdouble conf;

    if (!gst_structure_has_name (s, "detection")
        && !gst_structure_has_name (s, "classification"))
      continue;
    if (label == NULL && roi->meta->roi_type != 0)
      label = g_quark_to_string (roi->meta->roi_type);
    if (gst_structure_get_double (s, "confidence", &conf))
      len += g_snprintf (text + len, size - len, "%s%s %.2f",
          first ? "" : ", ", label ? label : "", conf);
    else
      len += g_snprintf (text + len, size - len, "%s%s", first ? "" : ", ",
          label ? label : "");
  }
  if ((len == 0 || text[len - 1] == ' ') && len < size
      && roi->meta->roi_type != 0)
    g_strlcpy (text + len, g_quark_to_string (roi->meta->roi_type),
        size - len);
  return text;
}

static gboolean
intersects (const GstMobileOneRect * a, const GstMobileOneRect * b)
{
  return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h
      && b->y < a->y + a->h;
}

/* The first label of @taken that @r covers, or NULL. */
static const GstMobileOneRect *
first_hit (const GstMobileOneRect * r, const GstMobileOneRect * taken,
    guint n_taken)
{
  for (guint i = 0; i < n_taken; i++)
    if (intersects (r, &taken[i]))
      return &taken[i];
  return NULL;
}

GstMobileOneRect
gst_mobile_one_place_label (const GstMobileOneRect * box, gint w, gint h,
    gint fw, gint fh, const GstMobileOneRect * taken, guint n_taken)
{
  const GstMobileOneRect *hit;
  GstMobileOneRect r, first;
  gint bottom = MAX (0, fh - h);

  r.w = w;
  r.h = h;
  r.x = CLAMP (box->x, 0, MAX (0, fw - w));
  /* Above the box when it fits, else inside its top. */
  r.y = CLAMP (box->y - h >= 0 ? box->y - h : box->y, 0, bottom);
  first = r;
  if (w <= 0 || h <= 0)
    return r;
  /* Down, each time just below the label in the way (y only grows, so it
   * ends), then likewise up. */
  while ((hit = first_hit (&r, taken, n_taken)) != NULL) {
    r.y = hit->y + hit->h;
    if (r.y > bottom)
      break;
  }
  if (hit == NULL)
    return r;
  r.y = first.y;
  while ((hit = first_hit (&r, taken, n_taken)) != NULL) {
    r.y = hit->y - h;
    if (r.y < 0)
      return first;
  }
  return r;
}
