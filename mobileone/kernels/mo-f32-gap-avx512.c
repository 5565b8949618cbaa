/* mobileone-gst engine: global average pool, AVX-512F (mo-f32-gap-tmpl.h). */
#include "mo-vec-avx512.h"

#define MO_KERNEL mo_f32_gap__avx512
#include "mo-f32-gap-tmpl.h"
