/* mobileone-gst engine: pointwise 1x1 int8 convolution, AVX-VNNI
 * (mo-q8-pwconv-tmpl.h on ymm: vpdpbusd, 8 channels x 4 inputs per
 * instruction). Blocks of 16 channels (2 ymm): 6x16 tiles (12
 * accumulators, 2 weight vectors and a broadcast in 16 registers). */
#define MO_Q8_VNNI 1
#include "mo-q8-vec-avx2.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 6
#define MO_Q8_MAX_MR 6
#define MO_KERNEL mo_q8_pwconv__avxvnni
#include "mo-q8-pwconv-tmpl.h"
