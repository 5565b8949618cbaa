/* mobileone-gst: mobileoneclassify. */
#pragma once

#include "gstmobileoneinfer.h"

G_BEGIN_DECLS

/**
 * GstMobileOneInferenceRegion:
 * @GST_MOBILE_ONE_INFERENCE_REGION_AUTO: the upstream regions when
 *   object-class is set, else the whole frame
 * @GST_MOBILE_ONE_INFERENCE_REGION_FULL_FRAME: the whole frame
 * @GST_MOBILE_ONE_INFERENCE_REGION_ROI_LIST: the upstream regions (all, or
 *   those of the object-class labels)
 *
 * What mobileoneclassify classifies.
 */
typedef enum
{
  GST_MOBILE_ONE_INFERENCE_REGION_AUTO,
  GST_MOBILE_ONE_INFERENCE_REGION_FULL_FRAME,
  GST_MOBILE_ONE_INFERENCE_REGION_ROI_LIST,
} GstMobileOneInferenceRegion;

#define GST_TYPE_MOBILE_ONE_INFERENCE_REGION (gst_mobile_one_inference_region_get_type ())
/** gst_mobile_one_inference_region_get_type: the enum type of inference-region. */
GType gst_mobile_one_inference_region_get_type (void);

#define GST_TYPE_MOBILE_ONE_CLASSIFY (gst_mobile_one_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneClassify, gst_mobile_one_classify,
    GST, MOBILE_ONE_CLASSIFY, GstMobileOneInfer)

GST_ELEMENT_REGISTER_DECLARE (mobileoneclassify);

G_END_DECLS
