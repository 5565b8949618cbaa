/* mobileone-gst engine: the int8 operations of the int8 kernel templates
 * (mo-q8-*-tmpl.h) on AVX2, over the float vectors of mo-vec-avx2.h. The
 * GEMM's multiply is AVX-VNNI's vpdpbusd where MO_Q8_VNNI is defined,
 * vpmaddwd on widened bytes otherwise. */
#pragma once

#include "mo-vec-avx2.h"

#include <string.h>

/* MO_VW bytes, zero-extended to floats. */
MO_INLINE MoVec
mo_q8_load_u8 (const uint8_t *p)
{
  return _mm256_cvtepi32_ps (_mm256_cvtepu8_epi32 (_mm_loadl_epi64
          ((const __m128i *) p)));
}

/* MO_VW signed bytes, sign-extended to floats. */
MO_INLINE MoVec
mo_q8_load_s8 (const int8_t *p)
{
  return _mm256_cvtepi32_ps (_mm256_cvtepi8_epi32 (_mm_loadl_epi64
          ((const __m128i *) p)));
}

/* MO_VW values clamped to [0, 255], rounded, stored as bytes. */
MO_INLINE void
mo_q8_store_clamped (uint8_t *o, MoVec v)
{
  v = _mm256_min_ps (_mm256_max_ps (v, _mm256_setzero_ps ()),
      _mm256_set1_ps (255.0f));
  __m256i i = _mm256_cvtps_epi32 (v);
  __m128i w = _mm_packus_epi32 (_mm256_castsi256_si128 (i),
      _mm256_extracti128_si256 (i, 1));
  _mm_storel_epi64 ((__m128i *) o, _mm_packus_epi16 (w, w));
}

/* mo_requant of MO_VW float sums @acc (exact integers). */
MO_INLINE void
mo_q8_requant_store (uint8_t *o, MoVec acc, const float *mul,
    const float *add)
{
  mo_q8_store_clamped (o, _mm256_fmadd_ps (acc, _mm256_loadu_ps (mul),
          _mm256_loadu_ps (add)));
}

/* ---- the GEMM's operands (mo-q8-pwconv-tmpl.h) ---- */
#define MO_Q8_GEMM 1

#ifdef MO_Q8_VNNI
/* AVX-VNNI: vpdpbusd adds the 4 products u8 (a) x s8 (w) of each 32-bit
 * lane to it, exactly. */
typedef __m256i MoQ8Acc;
typedef __m256i MoQ8W;
typedef __m256i MoQ8A;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  return _mm256_setzero_si256 ();
}

/* 8 channels x 4 inputs. */
MO_INLINE MoQ8W
mo_q8_loadw (const int8_t *p)
{
  return _mm256_loadu_si256 ((const __m256i *) p);
}

/* 4 bytes at @p in every 32-bit lane. */
MO_INLINE MoQ8A
mo_q8_bcast4 (const uint8_t *p)
{
  int32_t v;
  memcpy (&v, p, 4);
  return _mm256_set1_epi32 (v);
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
#if defined(__GNUC__) && !defined(__clang__)
  /* As mo-q8-vec-avx512.h: the accumulator tied in place keeps gcc 12
   * from copying it out and storing it to the stack per multiply. */
  __asm__ ("%{vex%} vpdpbusd %2, %1, %0" : "+x" (acc) : "x" (a), "x" (w));
  return acc;
#else
  return _mm256_dpbusd_avx_epi32 (acc, a, w);
#endif
}

/* mo_requant of 8 int32 sums. */
MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  mo_q8_requant_store (o, _mm256_cvtepi32_ps (acc), mul, add);
}

#else
/* Plain AVX2 (no dot product of bytes): vpmaddubsw would add two
 * u8 x s8 products in 16 bits, saturating (255 x 127 x 2 > 32767), so
 * the bytes are widened to 16 bits and vpmaddwd adds pairs of products
 * into 32 bits exactly. The weights of 8 channels x 4 inputs become two
 * vectors of 16 words (channels 0-3 and 4-7), a pixel's 4 bytes the words
 * a0 a1 a2 a3 repeated; each channel then has two partial sums (inputs
 * 0+1 and 2+3) in adjacent lanes of lo or hi, added in the store. Per 32
 * products: 2 vpmaddwd and 2 vpaddd where AVX-VNNI needs one vpdpbusd. */
typedef struct
{
  __m256i lo, hi;
} MoQ8Acc;
typedef struct
{
  __m256i lo, hi;
} MoQ8W;
typedef __m256i MoQ8A;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  MoQ8Acc r = { _mm256_setzero_si256 (), _mm256_setzero_si256 () };
  return r;
}

MO_INLINE MoQ8W
mo_q8_loadw (const int8_t *p)
{
  MoQ8W r = {
    _mm256_cvtepi8_epi16 (_mm_loadu_si128 ((const __m128i *) p)),
    _mm256_cvtepi8_epi16 (_mm_loadu_si128 ((const __m128i *) (p + 16)))
  };
  return r;
}

/* The 4 bytes at @p zero-extended to words, repeated over the vector. */
MO_INLINE MoQ8A
mo_q8_bcast4 (const uint8_t *p)
{
  int32_t v;
  memcpy (&v, p, 4);
  return _mm256_shuffle_epi8 (_mm256_set1_epi32 (v),
      _mm256_setr_epi8 (0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3,
          -1, 0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1));
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
  acc.lo = _mm256_add_epi32 (acc.lo, _mm256_madd_epi16 (w.lo, a));
  acc.hi = _mm256_add_epi32 (acc.hi, _mm256_madd_epi16 (w.hi, a));
  return acc;
}

/* Adds each channel's two partial sums and requantises the 8 channels:
 * vphaddd gives, per 128-bit half, channels (0 1 4 5) and (2 3 6 7);
 * vpermq puts the 64-bit pairs back in order. */
MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  __m256i s = _mm256_permute4x64_epi64 (_mm256_hadd_epi32 (acc.lo, acc.hi),
      _MM_SHUFFLE (3, 1, 2, 0));
  mo_q8_requant_store (o, _mm256_cvtepi32_ps (s), mul, add);
}
#endif
