/* mobileone-gst engine: pointwise 1x1 int8 convolution, AVX2 without a
 * byte dot product (Haswell .. Ice Lake client, Zen 1-3): mo-q8-pwconv-
 * tmpl.h on ymm with vpmaddwd on bytes widened to 16 bits (exact; see
 * mo-q8-vec-avx2.h). Blocks of 16 channels: 2x16 tiles (8 accumulators,
 * 4 widened weight vectors and a broadcast in 16 registers; 3x16 needs
 * 17 and spills: 33-35 GMAC/s against 41-48 for 2x16 on S0's layers,
 * 4x16 30-35, test-kernels-q8 --bench on a Sapphire Rapids core). */
#include "mo-q8-vec-avx2.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 2
#define MO_Q8_MAX_MR 2
#define MO_KERNEL mo_q8_pwconv__avx2
#include "mo-q8-pwconv-tmpl.h"
