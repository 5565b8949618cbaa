/* mobileone-gst: mobileoneclassify. */
#pragma once

#include "gstmobileoneinfer.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_CLASSIFY (gst_mobile_one_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneClassify, gst_mobile_one_classify,
    GST, MOBILE_ONE_CLASSIFY, GstMobileOneInfer)

GST_ELEMENT_REGISTER_DECLARE (mobileoneclassify);

G_END_DECLS
