/* mobileone-gst engine: pointwise 1x1 int8 convolution, AVX-512 VNNI
 * (mo-q8-pwconv-tmpl.h on zmm: vpdpbusd, 16 channels x 4 inputs per
 * instruction). Blocks of up to 64 channels: 6x64 tiles (24
 * accumulators, 4 weight vectors and a broadcast in 32 registers), 8x48,
 * 12x32, 16x16 for narrower blocks. */
#define MO_Q8_VNNI 1
#include "mo-q8-vec-avx512.h"

#define MO_Q8_BLOCK 64
#define MO_Q8_MR(nv) ((nv) == 1 ? 16 : (nv) == 2 ? 12 : (nv) == 3 ? 8 : 6)
#define MO_Q8_MAX_MR 16
#define MO_KERNEL mo_q8_pwconv__avx512vnni
#include "mo-q8-pwconv-tmpl.h"
