/* mobileone-gst: mobileonedetect. */
#pragma once

#include "gstmobileoneinfer.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_DETECT (gst_mobile_one_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneDetect, gst_mobile_one_detect,
    GST, MOBILE_ONE_DETECT, GstMobileOneInfer)

GST_ELEMENT_REGISTER_DECLARE (mobileonedetect);

G_END_DECLS
