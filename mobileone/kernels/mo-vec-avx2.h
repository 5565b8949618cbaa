/* mobileone-gst engine: the vector operations the kernel templates
 * (mo-f32-*-tmpl.h) use, on AVX2 + FMA: 8 floats per ymm register, 16
 * registers. Each operation is the one intrinsic the AVX2 variants always
 * used, so an instantiation compiles to the same instructions. */
#pragma once

#include "mo-kernels-simd.h"

#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

/* Floats per vector. */
#define MO_VW 8
typedef __m256 MoVec;

MO_INLINE MoVec
mo_vload (const float *p)
{
  return _mm256_loadu_ps (p);
}

MO_INLINE void
mo_vstore (float *p, MoVec v)
{
  _mm256_storeu_ps (p, v);
}

/* *p in every lane. */
MO_INLINE MoVec
mo_vbroadcast (const float *p)
{
  return _mm256_broadcast_ss (p);
}

/* a * b + c, rounded once. */
MO_INLINE MoVec
mo_vfma (MoVec a, MoVec b, MoVec c)
{
  return _mm256_fmadd_ps (a, b, c);
}

MO_INLINE MoVec
mo_vadd (MoVec a, MoVec b)
{
  return _mm256_add_ps (a, b);
}

MO_INLINE MoVec
mo_vsub (MoVec a, MoVec b)
{
  return _mm256_sub_ps (a, b);
}

MO_INLINE MoVec
mo_vmul (MoVec a, MoVec b)
{
  return _mm256_mul_ps (a, b);
}

MO_INLINE MoVec
mo_vrelu (MoVec v)
{
  return _mm256_max_ps (v, _mm256_setzero_ps ());
}

MO_INLINE void
mo_prefetch (const void *p)
{
  _mm_prefetch (p, _MM_HINT_T0);
}

/* Doubles, for the global average pool's exact sums: MoVecD holds
 * MO_VW / 2 of them, the lower or upper half of a MoVec widened. The
 * halves are loaded straight from memory (vcvtps2pd ymm, m128), as the
 * AVX2 pool always did. */
typedef __m256d MoVecD;

MO_INLINE MoVecD
mo_vd_zero (void)
{
  return _mm256_setzero_pd ();
}

MO_INLINE void
mo_vd_add_widened (MoVecD * lo, MoVecD * hi, const float *p)
{
  *lo = _mm256_add_pd (*lo, _mm256_cvtps_pd (_mm_loadu_ps (p)));
  *hi = _mm256_add_pd (*hi, _mm256_cvtps_pd (_mm_loadu_ps (p + 4)));
}

/* lo / n and hi / n narrowed back to MO_VW floats at @p. */
MO_INLINE void
mo_vd_div_store (float *p, MoVecD lo, MoVecD hi, double n)
{
  const MoVecD nv = _mm256_set1_pd (n);

  _mm_storeu_ps (p, _mm256_cvtpd_ps (_mm256_div_pd (lo, nv)));
  _mm_storeu_ps (p + 4, _mm256_cvtpd_ps (_mm256_div_pd (hi, nv)));
}
