/* mobileone-gst engine: depthwise 3x3 convolution, AArch64 Advanced SIMD
 * (mo-f32-dwconv3x3-tmpl.h on q vectors).
 *
 * Groups of 8 pixels: the nine taps, the bias and eight accumulators fit in the
 * 32 q registers. */
#include "mo-vec-neon.h"

#define MO_DW_NP 8
#define MO_KERNEL mo_f32_dwconv3x3__neon
#include "mo-f32-dwconv3x3-tmpl.h"
