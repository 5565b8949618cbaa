/* mobileone-gst: mobileonesegment. */
#pragma once

#include "gstmobileoneinfer.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_SEGMENT (gst_mobile_one_segment_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneSegment, gst_mobile_one_segment,
    GST, MOBILE_ONE_SEGMENT, GstMobileOneInfer)

GST_ELEMENT_REGISTER_DECLARE (mobileonesegment);

G_END_DECLS
