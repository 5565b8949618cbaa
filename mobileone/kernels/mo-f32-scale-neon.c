/* mobileone-gst engine: per-channel gating (squeeze-excite), AArch64
 * Advanced SIMD. */
#include "mo-kernels-simd.h"

#include <arm_neon.h>
#include <assert.h>

void
mo_f32_scale__neon (const MoScaleParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const float32x4_t zero = vdupq_n_f32 (0.0f);

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    for (int c = 0; c < c_end; c += 4) {
      float32x4_t v = vmulq_f32 (vld1q_f32 (i + c), vld1q_f32 (p->gate + c));
      if (p->act == MO_ACT_RELU)
        v = vmaxq_f32 (v, zero);
      vst1q_f32 (o + c, v);
    }
    if (p->act == MO_ACT_SIGMOID)
      for (int c = 0; c < c_end; c++)
        o[c] = mo_act (o[c], MO_ACT_SIGMOID);
  }
}
