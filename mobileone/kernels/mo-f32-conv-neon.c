/* mobileone-gst engine: dense KxK convolution, AArch64 Advanced SIMD
 * (mo-f32-conv-tmpl.h on q vectors).
 *
 * 5 pixels x 16 output channels (4 q vectors): 20 accumulators, the
 * weights and the broadcasts in 32 registers. */
#include "mo-q8-vec-neon.h"

#define MO_CONV_BLOCK 16
#define MO_CONV_MR(nv) 5
#define MO_CONV_MAX_MR 5
#define MO_KERNEL mo_f32_conv__neon
#include "mo-f32-conv-tmpl.h"
