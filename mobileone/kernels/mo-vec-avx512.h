/* mobileone-gst engine: the vector operations the kernel templates
 * (mo-f32-*-tmpl.h) use, on AVX-512F: 16 floats per zmm register, 32
 * registers. Each operation is the one intrinsic the AVX-512 variants
 * always used, so an instantiation compiles to the same instructions. */
#pragma once

#include "mo-kernels-simd.h"

#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

/* Floats per vector. */
#define MO_VW 16
typedef __m512 MoVec;

MO_INLINE MoVec
mo_vload (const float *p)
{
  return _mm512_loadu_ps (p);
}

MO_INLINE void
mo_vstore (float *p, MoVec v)
{
  _mm512_storeu_ps (p, v);
}

/* *p in every lane. */
MO_INLINE MoVec
mo_vbroadcast (const float *p)
{
  return _mm512_set1_ps (*p);
}

/* a * b + c, rounded once. */
MO_INLINE MoVec
mo_vfma (MoVec a, MoVec b, MoVec c)
{
  return _mm512_fmadd_ps (a, b, c);
}

MO_INLINE MoVec
mo_vadd (MoVec a, MoVec b)
{
  return _mm512_add_ps (a, b);
}

MO_INLINE MoVec
mo_vsub (MoVec a, MoVec b)
{
  return _mm512_sub_ps (a, b);
}

MO_INLINE MoVec
mo_vmul (MoVec a, MoVec b)
{
  return _mm512_mul_ps (a, b);
}

MO_INLINE MoVec
mo_vrelu (MoVec v)
{
  return _mm512_max_ps (v, _mm512_setzero_ps ());
}

MO_INLINE void
mo_prefetch (const void *p)
{
  _mm_prefetch (p, _MM_HINT_T0);
}

/* Doubles, for the global average pool's exact sums: MoVecD holds
 * MO_VW / 2 of them, the lower or upper half of a MoVec widened. */
typedef __m512d MoVecD;

MO_INLINE MoVecD
mo_vd_zero (void)
{
  return _mm512_setzero_pd ();
}

MO_INLINE void
mo_vd_add_widened (MoVecD * lo, MoVecD * hi, const float *p)
{
  __m512 v = _mm512_loadu_ps (p);

  *lo = _mm512_add_pd (*lo, _mm512_cvtps_pd (_mm512_castps512_ps256 (v)));
  *hi = _mm512_add_pd (*hi,
      _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd
              (_mm512_castps_pd (v), 1))));
}

/* lo / n and hi / n narrowed back to MO_VW floats at @p. */
MO_INLINE void
mo_vd_div_store (float *p, MoVecD lo, MoVecD hi, double n)
{
  const MoVecD nv = _mm512_set1_pd (n);

  _mm256_storeu_ps (p, _mm512_cvtpd_ps (_mm512_div_pd (lo, nv)));
  _mm256_storeu_ps (p + 8, _mm512_cvtpd_ps (_mm512_div_pd (hi, nv)));
}
