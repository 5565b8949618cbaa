/* mobileone-gst engine: per-channel gating (squeeze-excite), AArch64
 * Advanced SIMD (mo-f32-scale-tmpl.h). */
#include "mo-vec-neon.h"

#define MO_KERNEL mo_f32_scale__neon
#include "mo-f32-scale-tmpl.h"
