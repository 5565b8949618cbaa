/* mobileone-gst engine: the int8 operations of the int8 kernel templates
 * (mo-q8-*-tmpl.h) on AVX-512 (F + BW; VNNI only where MO_Q8_VNNI is
 * defined), over the float vectors of mo-vec-avx512.h. */
#pragma once

#include "mo-vec-avx512.h"

#include <string.h>

typedef __m512i MoVecI;

/* MO_VW bytes, zero-extended to floats. */
MO_INLINE MoVec
mo_q8_load_u8 (const uint8_t *p)
{
  return _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_loadu_si128
          ((const __m128i *) p)));
}

/* MO_VW signed bytes, sign-extended to floats. */
MO_INLINE MoVec
mo_q8_load_s8 (const int8_t *p)
{
  return _mm512_cvtepi32_ps (_mm512_cvtepi8_epi32 (_mm_loadu_si128
          ((const __m128i *) p)));
}

/* MO_VW values already clamped to [0, 255], rounded, stored as bytes. */
MO_INLINE void
mo_q8_store_clamped (uint8_t *o, MoVec v)
{
  v = _mm512_min_ps (_mm512_max_ps (v, _mm512_setzero_ps ()),
      _mm512_set1_ps (255.0f));
  _mm_storeu_si128 ((__m128i *) o,
      _mm512_cvtepi32_epi8 (_mm512_cvtps_epi32 (v)));
}

/* mo_requant of MO_VW float sums @acc (exact integers). */
MO_INLINE void
mo_q8_requant_store (uint8_t *o, MoVec acc, const float *mul,
    const float *add)
{
  mo_q8_store_clamped (o, _mm512_fmadd_ps (acc, _mm512_loadu_ps (mul),
          _mm512_loadu_ps (add)));
}

MO_INLINE MoVecI
mo_q8_zero (void)
{
  return _mm512_setzero_si512 ();
}

/* 4 bytes at @p in every 32-bit lane. */
MO_INLINE MoVecI
mo_q8_bcast4 (const uint8_t *p)
{
  int32_t v;
  memcpy (&v, p, 4);
  return _mm512_set1_epi32 (v);
}

MO_INLINE MoVecI
mo_q8_loadi (const int8_t *p)
{
  return _mm512_loadu_si512 ((const void *) p);
}

#ifdef MO_Q8_VNNI
/* acc + the sums of 4 products u8 (a) x s8 (w) per 32-bit lane. */
MO_INLINE MoVecI
mo_q8_dot (MoVecI acc, MoVecI a, MoVecI w)
{
  return _mm512_dpbusd_epi32 (acc, a, w);
}
#endif

/* mo_requant of MO_VW int32 sums. */
MO_INLINE void
mo_q8_requant_store_i (uint8_t *o, MoVecI acc, const float *mul,
    const float *add)
{
  mo_q8_requant_store (o, _mm512_cvtepi32_ps (acc), mul, add);
}
