/* mobileone-gst engine: depthwise 3x3 int8 convolution and the float <->
 * uint8 conversions, AArch64 NEON (q registers: 4 channels per vector;
 * mo-q8-dwconv3x3-tmpl.h). */
#include "mo-q8-vec-neon.h"

#define MO_Q8_DW_NP 8
#define MO_KERNEL mo_q8_dwconv3x3__neon
#define MO_KERNEL_QUANTIZE mo_q8_quantize__neon
#define MO_KERNEL_DEQUANTIZE mo_q8_dequantize__neon
#define MO_KERNEL_GAP mo_q8_gap__neon
#define MO_KERNEL_SCALE mo_q8_scale__neon
#include "mo-q8-dwconv3x3-tmpl.h"
