/* mobileone-gst engine: per-channel gating (squeeze-excite), AVX2
 * (mo-f32-scale-tmpl.h). */
#include "mo-vec-avx2.h"

#define MO_KERNEL mo_f32_scale__avx2
#include "mo-f32-scale-tmpl.h"
