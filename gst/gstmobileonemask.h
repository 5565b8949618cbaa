/* mobileone-gst: mobileonemask. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_MASK (gst_mobile_one_mask_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOneMask, gst_mobile_one_mask,
    GST, MOBILE_ONE_MASK, GstElement)

GST_ELEMENT_REGISTER_DECLARE (mobileonemask);

/**
 * GstMobileOneMaskSize:
 * @GST_MOBILE_ONE_MASK_SIZE_FRAME: the size of the incoming frames
 * @GST_MOBILE_ONE_MASK_SIZE_MASK: the size of the class map itself
 *
 * The size of the frames mobileonemask produces.
 */
typedef enum
{
  GST_MOBILE_ONE_MASK_SIZE_FRAME,
  GST_MOBILE_ONE_MASK_SIZE_MASK,
} GstMobileOneMaskSize;

#define GST_TYPE_MOBILE_ONE_MASK_SIZE (gst_mobile_one_mask_size_get_type ())
GType gst_mobile_one_mask_size_get_type (void);

G_END_DECLS
