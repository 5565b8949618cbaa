/* mobileone-gst engine: pointwise 1x1 int8 convolution, NEON with the
 * int8 matrix multiply extension (FEAT_I8MM; built with +i8mm, chosen at
 * run time from HWCAP2_I8MM): mo-q8-pwconv-tmpl.h with usdot, u8 x s8
 * like vpdpbusd (mo-q8-vec-neon.h). Blocks of 16 channels: 5x16 tiles
 * (20 accumulators, 4 weight vectors, the broadcasts; gcc 12 spills
 * accumulators of 6x16 in the inner loop, none of 5x16). */
#define MO_Q8_I8MM 1
#include "mo-q8-vec-neon.h"

#define MO_Q8_BLOCK 16
#define MO_Q8_MR(nv) 5
#define MO_Q8_MAX_MR 5
#define MO_KERNEL mo_q8_pwconv__neoni8mm
#include "mo-q8-pwconv-tmpl.h"
