/* mobileone-gst engine: dense KxK convolution, AVX2 + FMA
 * (mo-f32-conv-tmpl.h on ymm vectors).
 *
 * 6 pixels x 16 output channels (2 ymm vectors): 12 accumulators, the
 * weights and a broadcast in 16 registers. */
#include "mo-q8-vec-avx2.h"

#define MO_CONV_BLOCK 16
#define MO_CONV_MR(nv) 6
#define MO_CONV_MAX_MR 6
#define MO_KERNEL mo_f32_conv__avx2
#include "mo-f32-conv-tmpl.h"
