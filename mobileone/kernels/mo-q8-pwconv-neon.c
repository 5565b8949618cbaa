/* mobileone-gst engine: pointwise 1x1 int8 convolution, Armv8.0 NEON
 * (mo-q8-pwconv-tmpl.h with smull / sadalp on activations shifted to
 * signed, mo-q8-vec-neon.h). Blocks of 16 channels: 2x16 tiles (16
 * accumulators, two per 4 channels, 4 weight vectors, broadcasts and
 * products: gcc 12 spills none; 3x16 spills). */
#include "mo-q8-vec-neon.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 2
#define MO_Q8_MAX_MR 2
#define MO_KERNEL mo_q8_pwconv__neon
#include "mo-q8-pwconv-tmpl.h"
