/* mobileone-gst engine: depthwise 3x3 int8 convolution and the float <->
 * uint8 conversions, AVX-512F (zmm: 16 channels per vector;
 * mo-q8-dwconv3x3-tmpl.h). */
#include "mo-q8-vec-avx512.h"

#define MO_Q8_DW_NP 8
#define MO_KERNEL mo_q8_dwconv3x3__avx512
#define MO_KERNEL_QUANTIZE mo_q8_quantize__avx512
#define MO_KERNEL_DEQUANTIZE mo_q8_dequantize__avx512
#define MO_KERNEL_GAP mo_q8_gap__avx512
#define MO_KERNEL_SCALE mo_q8_scale__avx512
#include "mo-q8-dwconv3x3-tmpl.h"
