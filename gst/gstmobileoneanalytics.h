/* mobileone-gst: GstAnalytics metadata (GStreamer >= 1.24) beside the
 * GStreamer 1.22 metas.
 *
 * The elements attach #GstVideoRegionOfInterestMeta and
 * #GstMobileOneMaskMeta on every GStreamer (DL Streamer reads them). Built
 * against GStreamer >= 1.24 they also attach GstAnalytics metadata to the
 * buffer's #GstAnalyticsRelationMeta, which upstream elements
 * (objectdetectionoverlay, tensor decoders, trackers) read: an ODMtd per
 * detection, a ClsMtd per classification, a TrackingMtd per track and, from
 * 1.26, a SegmentationMtd per mask. Built against 1.22 every function here
 * is a no-op that returns GST_MOBILE_ONE_NO_MTD or FALSE, so the elements
 * call them unconditionally.
 *
 * Reading: the elements read their own 1.22 metas when a buffer has them
 * (they carry the fields DL Streamer reads) and the GstAnalytics ones when
 * it has none, as from an upstream detector.
 */
#pragma once

#include <gst/gst.h>
#include "gstmobileonemeta.h"

G_BEGIN_DECLS

/** GST_MOBILE_ONE_NO_MTD: the id returned when nothing was attached. */
#define GST_MOBILE_ONE_NO_MTD G_MAXUINT

/**
 * GstMobileOneRegion:
 * @id: the ODMtd's id in the buffer's relation meta
 * @label: its object type (a label's quark; 0 when it has none)
 * @x: left edge, frame pixels
 * @y: top edge
 * @w: width
 * @h: height
 * @confidence: the detection's confidence
 * @class_label: the label of the first ClsMtd related to it, or 0
 * @class_confidence: that classification's confidence
 * @has_track: whether a TrackingMtd is related to it
 * @track_id: that track's id
 *
 * An ODMtd and what is related to it, as read by
 * gst_mobile_one_analytics_next_region().
 */
typedef struct
{
  guint id;
  GQuark label;
  gint x, y, w, h;
  gfloat confidence;
  GQuark class_label;
  gfloat class_confidence;
  gboolean has_track;
  guint64 track_id;
} GstMobileOneRegion;

/** gst_mobile_one_analytics_enabled: whether the plugin was built with GstAnalytics (GStreamer >= 1.24). */
gboolean gst_mobile_one_analytics_enabled (void);

/** gst_mobile_one_analytics_segmentation_enabled: whether it attaches SegmentationMtds (GStreamer >= 1.26). */
gboolean gst_mobile_one_analytics_segmentation_enabled (void);

/**
 * gst_mobile_one_analytics_add_detection: attaches an ODMtd for a box of
 * @label (a quark) at @x, @y, @w x @h frame pixels with @confidence.
 * Returns its id, or GST_MOBILE_ONE_NO_MTD. @buffer must be writable.
 */
guint gst_mobile_one_analytics_add_detection (GstBuffer * buffer,
    GQuark label, gint x, gint y, gint w, gint h, gfloat confidence);

/**
 * gst_mobile_one_analytics_find_detection: the id of the ODMtd of @buffer
 * with id @id_hint, or else the first one, whose type is @label and whose
 * box is @x, @y, @w x @h (the ODMtd of an ROI meta attached beside it), or
 * GST_MOBILE_ONE_NO_MTD.
 */
guint gst_mobile_one_analytics_find_detection (GstBuffer * buffer,
    guint id_hint, GQuark label, gint x, gint y, gint w, gint h);

/**
 * gst_mobile_one_analytics_add_classification: attaches a ClsMtd of one
 * class, @label with @confidence; when @od_id is an ODMtd's id, the ODMtd
 * RELATE_TO the ClsMtd and the ClsMtd IS_PART_OF it. Returns its id, or
 * GST_MOBILE_ONE_NO_MTD.
 */
guint gst_mobile_one_analytics_add_classification (GstBuffer * buffer,
    guint od_id, GQuark label, gfloat confidence);

/**
 * gst_mobile_one_analytics_add_tracking: attaches a TrackingMtd for track
 * @track_id first seen at @first_seen and last at @last_seen (marked lost
 * when @lost), related to the ODMtd @od_id like a classification. Returns
 * its id, or GST_MOBILE_ONE_NO_MTD.
 */
guint gst_mobile_one_analytics_add_tracking (GstBuffer * buffer, guint od_id,
    guint64 track_id, GstClockTime first_seen, GstClockTime last_seen,
    gboolean lost);

/**
 * gst_mobile_one_analytics_add_segmentation: attaches a semantic
 * SegmentationMtd holding @mask (a reference is taken; it needs a GRAY8
 * #GstVideoMeta) that covers @x, @y, @w x @h of the frame, whose region
 * ids are the class ids 0 .. @num_classes - 1 (at most 256). Returns its id, or
 * GST_MOBILE_ONE_NO_MTD (always before GStreamer 1.26).
 */
guint gst_mobile_one_analytics_add_segmentation (GstBuffer * buffer,
    GstBuffer * mask, guint num_classes, gint x, gint y, guint w, guint h);

/**
 * gst_mobile_one_analytics_next_region: the next ODMtd of @buffer (start
 * with *@state = NULL) with its related ClsMtd and TrackingMtd. FALSE when
 * there are no more.
 */
gboolean gst_mobile_one_analytics_next_region (GstBuffer * buffer,
    gpointer * state, GstMobileOneRegion * region);

/** gst_mobile_one_analytics_has_regions: whether @buffer has an ODMtd. */
gboolean gst_mobile_one_analytics_has_regions (GstBuffer * buffer);

/**
 * gst_mobile_one_analytics_get_mask: fills @mask (no #GstMeta of its own:
 * only its fields are set, @mask->mask borrowed from the buffer) from the
 * first GRAY8 SegmentationMtd of @buffer. FALSE when there is none.
 */
gboolean gst_mobile_one_analytics_get_mask (GstBuffer * buffer,
    GstMobileOneMaskMeta * mask);

G_END_DECLS
