/* mobileone-gst engine: pointwise 1x1 int8 convolution, NEON with the
 * dot-product extension (FEAT_DotProd; built with +dotprod, chosen at run
 * time from HWCAP_ASIMDDP): mo-q8-pwconv-tmpl.h with sdot on activations
 * shifted to signed plus a weight-sum correction (mo-q8-vec-neon.h).
 * Blocks of 16 channels: 5x16 tiles (20 accumulators, 4 weight vectors,
 * the broadcasts and the 0x80 constant; gcc 12 spills accumulators of
 * 6x16 in the inner loop, none of 5x16). */
#define MO_Q8_DOT 1
#include "mo-q8-vec-neon.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 5
#define MO_Q8_MAX_MR 5
#define MO_KERNEL mo_q8_pwconv__neondot
#include "mo-q8-pwconv-tmpl.h"
