/* mobileone-gst engine: depthwise 3x3 convolution, AVX-512F
 * (mo-f32-dwconv3x3-tmpl.h on zmm vectors).
 *
 * Groups of 8 pixels: the nine taps, the bias and eight accumulators fit in the
 * 32 zmm registers. */
#include "mo-vec-avx512.h"

#define MO_DW_NP 8
#define MO_KERNEL mo_f32_dwconv3x3__avx512
#include "mo-f32-dwconv3x3-tmpl.h"
