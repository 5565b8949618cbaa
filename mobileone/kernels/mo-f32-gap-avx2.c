/* mobileone-gst engine: global average pool, AVX2 (mo-f32-gap-tmpl.h). */
#include "mo-vec-avx2.h"

#define MO_KERNEL mo_f32_gap__avx2
#include "mo-f32-gap-tmpl.h"
