/* mobileone-gst engine: global average pool, AArch64
 * Advanced SIMD (mo-f32-gap-tmpl.h). */
#include "mo-vec-neon.h"

#define MO_KERNEL mo_f32_gap__neon
#include "mo-f32-gap-tmpl.h"
