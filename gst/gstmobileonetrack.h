/* mobileone-gst: mobileonetrack, object identity across frames. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_TRACK (gst_mobile_one_track_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneTrack, gst_mobile_one_track,
    GST, MOBILE_ONE_TRACK, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (mobileonetrack);

G_END_DECLS
