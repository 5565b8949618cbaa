/* mobileone-gst engine: dense KxK convolution, AVX-512F
 * (mo-f32-conv-tmpl.h on zmm vectors).
 *
 * Blocks of up to 64 output channels (4 zmm vectors): 6x64 tiles, 8-pixel
 * tiles for narrower blocks (at most 24 accumulators in 32 registers). */
#include "mo-q8-vec-avx512.h"

#define MO_CONV_BLOCK 64
#define MO_CONV_MR(nv) ((nv) < 4 ? 8 : 6)
#define MO_CONV_MAX_MR 8
#define MO_KERNEL mo_f32_conv__avx512
#include "mo-f32-conv-tmpl.h"
