/* mobileone-gst engine: per-channel gating (squeeze-excite), AVX-512F
 * (mo-f32-scale-tmpl.h). */
#include "mo-vec-avx512.h"

#define MO_KERNEL mo_f32_scale__avx512
#include "mo-f32-scale-tmpl.h"
