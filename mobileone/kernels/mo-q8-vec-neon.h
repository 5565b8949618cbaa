/* mobileone-gst engine: the int8 operations of the int8 kernel templates
 * (mo-q8-*-tmpl.h) on AArch64 Advanced SIMD, over the float vectors of
 * mo-vec-neon.h (4 channels per vector). The GEMM's multiply, picked by
 * the instantiation:
 *
 *   MO_Q8_I8MM  usdot (FEAT_I8MM, Armv8.6; optional from 8.2): the 4
 *               products u8 (a) x s8 (w) of each 32-bit lane, like
 *               vpdpbusd.
 *   MO_Q8_DOT   sdot (FEAT_DotProd, Armv8.2; optional from 8.2, the
 *               Cortex-A55/A75 and later): s8 x s8 only, so the
 *               activations are shifted to signed, a - 128 (their top bit
 *               flipped), and the tiles add 128 x the sum of each
 *               channel's weights back (MO_Q8_WSUM). Exact.
 *   (neither)   baseline Armv8.0 NEON (Cortex-A53/A72): the same shifted
 *               activations times the weights with smull (8 exact 16-bit
 *               products: |(a - 128) w| <= 128 x 128), and sadalp adds
 *               their pairs into 32-bit lanes: two partial sums per
 *               channel, added in the store. */
#pragma once

#include "mo-vec-neon.h"

#include <string.h>

/* MO_VW bytes, zero-extended to floats. */
MO_INLINE MoVec
mo_q8_load_u8 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return vcvtq_f32_u32 (vmovl_u16 (vget_low_u16 (vmovl_u8 (vreinterpret_u8_u32
                  (vdup_n_u32 (v))))));
}

/* MO_VW signed bytes, sign-extended to floats. */
MO_INLINE MoVec
mo_q8_load_s8 (const int8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return vcvtq_f32_s32 (vmovl_s16 (vget_low_s16 (vmovl_s8 (vreinterpret_s8_u32
                  (vdup_n_u32 (v))))));
}

/* MO_VW values clamped to [0, 255], rounded to nearest even (fcvtns,
 * like rintf in the default rounding mode), stored as bytes. */
MO_INLINE void
mo_q8_store_clamped (uint8_t *o, MoVec v)
{
  v = vminq_f32 (vmaxq_f32 (v, vdupq_n_f32 (0.0f)), vdupq_n_f32 (255.0f));
  uint16x4_t h = vmovn_u32 (vreinterpretq_u32_s32 (vcvtnq_s32_f32 (v)));
  uint32_t b = vget_lane_u32 (vreinterpret_u32_u8 (vmovn_u16 (vcombine_u16
              (h, h))), 0);
  memcpy (o, &b, 4);            /* o need not be 4-byte aligned */
}

/* mo_requant of MO_VW float sums @acc (exact integers). */
MO_INLINE void
mo_q8_requant_store (uint8_t *o, MoVec acc, const float *mul,
    const float *add)
{
  mo_q8_store_clamped (o, vfmaq_f32 (vld1q_f32 (add), acc, vld1q_f32 (mul)));
}

/* ---- the GEMM's operands (mo-q8-pwconv-tmpl.h) ---- */
#define MO_Q8_GEMM 1

/* 4 channels x 4 inputs. */
typedef int8x16_t MoQ8W;

MO_INLINE MoQ8W
mo_q8_loadw (const int8_t *p)
{
  return vld1q_s8 (p);
}

#ifdef MO_Q8_I8MM
typedef int32x4_t MoQ8Acc;
typedef uint8x16_t MoQ8A;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  return vdupq_n_s32 (0);
}

/* 4 bytes at @p (4-byte aligned: a pixel starts on a multiple of
 * MO_CALIGN bytes) in every 32-bit lane (ld1r). */
MO_INLINE MoQ8A
mo_q8_bcast4 (const uint8_t *p)
{
  return vreinterpretq_u8_u32 (vld1q_dup_u32 ((const uint32_t *) (const void *)
          p));
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
  return vusdotq_s32 (acc, a, w);
}

MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  mo_q8_requant_store (o, vcvtq_f32_s32 (acc), mul, add);
}

#else
/* The activations shifted to signed: a - 128 for the 4 bytes at @p, in
 * every 32-bit lane. */
typedef int8x16_t MoQ8A;

MO_INLINE MoQ8A
mo_q8_bcast4 (const uint8_t *p)
{
  return veorq_s8 (vreinterpretq_s8_u32 (vld1q_dup_u32 ((const uint32_t *)
              (const void *) p)), vdupq_n_s8 (-128));
}

/* Each channel's weight sum (MoPwConvQ8Params.wsum). */
#define MO_Q8_WSUM 1
typedef int32x4_t MoQ8Sum;

MO_INLINE MoQ8Sum
mo_q8_sum_load (const int32_t *s)
{
  return vld1q_s32 (s);
}

#ifdef MO_Q8_DOT
typedef int32x4_t MoQ8Acc;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  return vdupq_n_s32 (0);
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
  return vdotq_s32 (acc, a, w);
}

/* sum (a - 128) w + 128 sum w = sum a w. */
MO_INLINE MoQ8Acc
mo_q8_acc_fix (MoQ8Acc acc, MoQ8Sum s)
{
  return vaddq_s32 (acc, vshlq_n_s32 (s, 7));
}

MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  mo_q8_requant_store (o, vcvtq_f32_s32 (acc), mul, add);
}

#else
/* lo: channels 0 and 1, hi: 2 and 3, each as partial sums of inputs 0+1
 * and 2+3 in adjacent lanes. */
typedef struct
{
  int32x4_t lo, hi;
} MoQ8Acc;

MO_INLINE MoQ8Acc
mo_q8_acc_zero (void)
{
  MoQ8Acc r = { vdupq_n_s32 (0), vdupq_n_s32 (0) };
  return r;
}

MO_INLINE MoQ8Acc
mo_q8_dot (MoQ8Acc acc, MoQ8A a, MoQ8W w)
{
  acc.lo = vpadalq_s16 (acc.lo, vmull_s8 (vget_low_s8 (w), vget_low_s8 (a)));
  acc.hi = vpadalq_s16 (acc.hi, vmull_high_s8 (w, a));
  return acc;
}

/* Adds the partial sums (addp: channels 0 1 2 3) and 128 x the weight
 * sums; the result in lo. */
MO_INLINE MoQ8Acc
mo_q8_acc_fix (MoQ8Acc acc, MoQ8Sum s)
{
  acc.lo = vaddq_s32 (vpaddq_s32 (acc.lo, acc.hi), vshlq_n_s32 (s, 7));
  return acc;
}

MO_INLINE void
mo_q8_acc_store (uint8_t *o, MoQ8Acc acc, const float *mul, const float *add)
{
  mo_q8_requant_store (o, vcvtq_f32_s32 (acc.lo), mul, add);
}
#endif
#endif
