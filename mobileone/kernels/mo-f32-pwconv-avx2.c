/* mobileone-gst engine: pointwise 1x1 convolution, AVX2 + FMA
 * (mo-f32-pwconv-tmpl.h on ymm vectors).
 *
 * 6x16 tiles (6 pixels x 2 ymm vectors: 12 accumulators, 2 weight
 * vectors and a broadcast in 16 registers); a single pixel takes 1x64
 * tiles over whole panels, which keep eight FMA chains busy. */
#include "mo-vec-avx2.h"

#define MO_PW_BLOCK 16
#define MO_PW_MR(nv) 6
#define MO_PW_MAX_MR 6
#define MO_PW_GEMV 1
#define MO_KERNEL mo_f32_pwconv__avx2
#include "mo-f32-pwconv-tmpl.h"
