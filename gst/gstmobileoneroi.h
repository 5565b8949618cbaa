/* mobileone-gst: reading the regions of interest of a buffer.
 *
 * The elements that consume regions (mobileonetrack, mobileoneoverlay,
 * mobileonepublish) and the ones that add them (mobileonedetect) read the
 * same params: "detection" (label, label_id, confidence, repeated),
 * "classification" (label, confidence) and "tracking" (id). This is the one
 * place that knows those names. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstMobileOneRoi:
 * @meta: the region
 * @detection: its "detection" param, or NULL
 * @tracking: its "tracking" param (mobileonetrack), or NULL
 * @label: the detection's label, else the first classification's, else the
 *   region's type; NULL when none is known
 * @confidence: the confidence of @label's param, or -1
 * @class_id: the detection's (else the classification's) label_id, or -1
 * @track_id: the tracking param's id, or -1 (not tracked or not confirmed)
 * @repeated: the detection says it repeats an older inference
 *
 * What one region says, read with gst_mobile_one_roi_read(). The pointers
 * belong to @meta.
 */
typedef struct
{
  GstVideoRegionOfInterestMeta *meta;
  GstStructure *detection;
  GstStructure *tracking;
  const gchar *label;
  gdouble confidence;
  gint class_id;
  gint track_id;
  gboolean repeated;
} GstMobileOneRoi;

/** gst_mobile_one_roi_read: fills @roi from the params of @meta. */
void gst_mobile_one_roi_read (GstVideoRegionOfInterestMeta * meta,
    GstMobileOneRoi * roi);

/**
 * gst_mobile_one_roi_next: the next region of @buf (start with *@state =
 * NULL) read into @roi; FALSE after the last one.
 */
gboolean gst_mobile_one_roi_next (GstBuffer * buf, gpointer * state,
    GstMobileOneRoi * roi);

/**
 * gst_mobile_one_roi_next_id: an id that no region of @buf has yet: one
 * above the largest (0 when there is none), so that regions added to a
 * buffer that already has some (an upstream detector or classifier) never
 * share an id and gst_buffer_get_video_region_of_interest_meta_id() finds
 * the right one.
 */
gint gst_mobile_one_roi_next_id (GstBuffer * buf);

/**
 * gst_mobile_one_roi_describe: the text mobileoneoverlay writes by a
 * region: "#ID " when it is tracked, then the label and confidence of its
 * detection and of each classification ("#12 person 0.87, adult 0.66"), or
 * its type alone. Writes at most @size bytes to @text; returns @text.
 */
gchar *gst_mobile_one_roi_describe (const GstMobileOneRoi * roi,
    gchar * text, gsize size);

/** GstMobileOneRect: a rectangle [x, x + w) x [y, y + h) in frame pixels. */
typedef struct
{
  gint x, y, w, h;
} GstMobileOneRect;

/**
 * gst_mobile_one_place_label: where a @w x @h label of the box @box goes in
 * a @fw x @fh frame without covering any of the @n_taken labels already
 * placed: just above the box when there is room, else inside its top, else
 * the first free line further down (then further up); when every line is
 * taken, the first of those places. The result is inside the frame.
 */
GstMobileOneRect gst_mobile_one_place_label (const GstMobileOneRect * box,
    gint w, gint h, gint fw, gint fh, const GstMobileOneRect * taken,
    guint n_taken);

G_END_DECLS
