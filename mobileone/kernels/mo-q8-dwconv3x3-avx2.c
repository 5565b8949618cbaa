/* mobileone-gst engine: depthwise 3x3 int8 convolution and the float <->
 * uint8 conversions, AVX2 + FMA (ymm: 8 channels per vector;
 * mo-q8-dwconv3x3-tmpl.h). */
#include "mo-q8-vec-avx2.h"

#define MO_Q8_DW_NP 4
#define MO_KERNEL mo_q8_dwconv3x3__avx2
#define MO_KERNEL_QUANTIZE mo_q8_quantize__avx2
#define MO_KERNEL_DEQUANTIZE mo_q8_dequantize__avx2
#define MO_KERNEL_GAP mo_q8_gap__avx2
#define MO_KERNEL_SCALE mo_q8_scale__avx2
#include "mo-q8-dwconv3x3-tmpl.h"
