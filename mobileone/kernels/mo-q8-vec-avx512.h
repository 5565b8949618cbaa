/* mobileone-gst engine: the int8 operations of the int8 kernel templates
 * (mo-q8-*-tmpl.h) on AVX-512 (F + BW; VNNI only where MO_Q8_VNNI is
 * defined), over the float vectors of mo-vec-avx512.h. */
#pragma once

#include "mo-vec-avx512.h"

#include <string.h>

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

#ifdef MO_Q8_VNNI
/* ---- the GEMM's operands (mo-q8-pwconv-tmpl.h): AVX512-VNNI's vpdpbusd
 * adds the 4 products u8 (a) x s8 (w) of each 32-bit lane to it,
 * exactly. ---- */
#define MO_Q8_GEMM 1

typedef __m512i MoQ8Acc;
typedef __m512i MoQ8W;
typedef __m512i MoQ8A;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  return _mm512_setzero_si512 ();
}

/* 16 channels x 4 inputs. */
MO_INLINE MoQ8W
mo_q8_loadw (const int8_t *p)
{
  return _mm512_loadu_si512 ((const void *) p);
}

/* 4 bytes at @p in every 32-bit lane. */
MO_INLINE MoQ8A
mo_q8_bcast4 (const uint8_t *p)
{
  int32_t v;
  memcpy (&v, p, 4);
  return _mm512_set1_epi32 (v);
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
#if defined(__GNUC__) && !defined(__clang__)
  /* gcc 12 gives _mm512_dpbusd_epi32's accumulator a register of its own:
   * a copy in, a copy out and a 64-byte stack store per multiply in the
   * GEMM's inner loop. The same instruction with the accumulator tied
   * in place ("+v") keeps it in its register (the bytes are the same). */
  __asm__ ("vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (a), "v" (w));
  return acc;
#else
  return _mm512_dpbusd_epi32 (acc, a, w);
#endif
}

/* mo_requant of 16 int32 sums. */
MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  mo_q8_requant_store (o, _mm512_cvtepi32_ps (acc), mul, add);
}
#endif
