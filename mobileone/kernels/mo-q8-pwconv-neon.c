/* mobileone-gst engine: pointwise 1x1 int8 convolution, Armv8.0 NEON
 * (mo-q8-pwconv-tmpl.h with smull / sadalp on activations shifted to
 * signed, mo-q8-vec-neon.h). Blocks of 16 channels: 3x16 tiles (24
 * accumulators, 4 weight vectors, a broadcast and 2 products in 32
 * registers). */
#include "mo-q8-vec-neon.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 3
#define MO_Q8_MAX_MR 3
#define MO_KERNEL mo_q8_pwconv__neon
#include "mo-q8-pwconv-tmpl.h"
