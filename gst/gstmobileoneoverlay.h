/* mobileone-gst: mobileoneoverlay. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_OVERLAY (gst_mobile_one_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneOverlay, gst_mobile_one_overlay,
    GST, MOBILE_ONE_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (mobileoneoverlay);

G_END_DECLS
