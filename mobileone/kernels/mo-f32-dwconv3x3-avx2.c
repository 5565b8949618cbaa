/* mobileone-gst engine: depthwise 3x3 convolution, AVX2 + FMA
 * (mo-f32-dwconv3x3-tmpl.h on ymm vectors).
 *
 * Groups of 4 pixels: the nine taps, the bias and four accumulators
 * fill 14 of the 16 ymm registers. */
#include "mo-vec-avx2.h"

#define MO_DW_NP 4
#define MO_KERNEL mo_f32_dwconv3x3__avx2
#include "mo-f32-dwconv3x3-tmpl.h"
