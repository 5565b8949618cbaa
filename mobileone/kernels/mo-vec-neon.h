/* mobileone-gst engine: the vector operations the kernel templates
 * (mo-f32-*-tmpl.h) use, on AArch64 Advanced SIMD: 4 floats per q
 * register, 32 registers. Each operation is the one intrinsic the NEON
 * variants always used, so an instantiation compiles to the same
 * instructions. */
#pragma once

#include "mo-kernels-simd.h"

#include <arm_neon.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

/* Floats per vector. */
#define MO_VW 4
typedef float32x4_t MoVec;

MO_INLINE MoVec
mo_vload (const float *p)
{
  return vld1q_f32 (p);
}

MO_INLINE void
mo_vstore (float *p, MoVec v)
{
  vst1q_f32 (p, v);
}

/* *p in every lane. */
MO_INLINE MoVec
mo_vbroadcast (const float *p)
{
  return vld1q_dup_f32 (p);
}

/* a * b + c, rounded once. */
MO_INLINE MoVec
mo_vfma (MoVec a, MoVec b, MoVec c)
{
  return vfmaq_f32 (c, a, b);
}

MO_INLINE MoVec
mo_vadd (MoVec a, MoVec b)
{
  return vaddq_f32 (a, b);
}

MO_INLINE MoVec
mo_vsub (MoVec a, MoVec b)
{
  return vsubq_f32 (a, b);
}

MO_INLINE MoVec
mo_vmul (MoVec a, MoVec b)
{
  return vmulq_f32 (a, b);
}

MO_INLINE MoVec
mo_vrelu (MoVec v)
{
  return vmaxq_f32 (v, vdupq_n_f32 (0.0f));
}

MO_INLINE void
mo_prefetch (const void *p)
{
  __builtin_prefetch (p);
}

/* Doubles, for the global average pool's exact sums: MoVecD holds
 * MO_VW / 2 of them, the lower or upper half of a MoVec widened. */
typedef float64x2_t MoVecD;

MO_INLINE MoVecD
mo_vd_zero (void)
{
  return vdupq_n_f64 (0.0);
}

MO_INLINE void
mo_vd_add_widened (MoVecD * lo, MoVecD * hi, const float *p)
{
  float32x4_t v = vld1q_f32 (p);

  *lo = vaddq_f64 (*lo, vcvt_f64_f32 (vget_low_f32 (v)));
  *hi = vaddq_f64 (*hi, vcvt_high_f64_f32 (v));
}

/* lo / n and hi / n narrowed back to MO_VW floats at @p. */
MO_INLINE void
mo_vd_div_store (float *p, MoVecD lo, MoVecD hi, double n)
{
  const MoVecD nv = vdupq_n_f64 (n);

  vst1q_f32 (p, vcvt_high_f32_f64 (vcvt_f32_f64 (vdivq_f64 (lo, nv)),
          vdivq_f64 (hi, nv)));
}
