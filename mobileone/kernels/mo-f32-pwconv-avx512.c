/* mobileone-gst engine: pointwise 1x1 convolution, AVX-512F
 * (mo-f32-pwconv-tmpl.h on zmm vectors).
 *
 * Blocks of up to 64 channels (4 zmm vectors): 6x64 tiles for wide
 * layers, 8x48, 12x32 and 16x16 for narrower blocks (24 accumulators
 * at most, leaving room for the weights and a broadcast in 32
 * registers). A single pixel takes the 1-row tail of a 64-channel
 * block. */
#include "mo-vec-avx512.h"

#define MO_PW_BLOCK 64
#define MO_PW_MR(nv) ((nv) == 1 ? 16 : (nv) == 2 ? 12 : (nv) == 3 ? 8 : 6)
#define MO_PW_MAX_MR 16
#define MO_PW_GEMV 0
#define MO_KERNEL mo_f32_pwconv__avx512
#include "mo-f32-pwconv-tmpl.h"
