/* mobileone-gst engine: pointwise 1x1 int8 convolution, AVX2 without a
 * byte dot product (Haswell .. Ice Lake client, Zen 1-3): mo-q8-pwconv-
 * tmpl.h on ymm with vpmaddwd on bytes widened to 16 bits (exact; see
 * mo-q8-vec-avx2.h). Blocks of 16 channels: 3x16 tiles (12 accumulators,
 * 4 widened weight vectors, a broadcast: 17 of 16 registers, so the
 * compiler keeps one weight vector in memory; 2x16 measured slower). */
#include "mo-q8-vec-avx2.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 3
#define MO_Q8_MAX_MR 3
#define MO_KERNEL mo_q8_pwconv__avx2
#include "mo-q8-pwconv-tmpl.h"
