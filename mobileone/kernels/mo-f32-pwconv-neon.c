/* mobileone-gst engine: pointwise 1x1 convolution, AArch64 Advanced SIMD
 * (mo-f32-pwconv-tmpl.h on q vectors).
 *
 * 5x16 tiles (5 pixels x 4 q vectors: 20 accumulators, 4 weight vectors
 * and the 5 broadcast inputs, which the compiler loads ahead, in 32
 * registers; a sixth row would spill). */
#include "mo-vec-neon.h"

#define MO_PW_BLOCK 16
#define MO_PW_MR(nv) 5
#define MO_PW_MAX_MR 5
#define MO_PW_GEMV 0
#define MO_KERNEL mo_f32_pwconv__neon
#include "mo-f32-pwconv-tmpl.h"
