/* mobileone-gst engine: global average pool, AArch64 Advanced SIMD.
 *
 * Like the reference, each channel is summed in double precision in pixel
 * order (so the result matches it bit for bit); 16 channels (eight
 * float64x2 accumulators) at a time. */
#include "mo-kernels-simd.h"

#include <arm_neon.h>
#include <assert.h>

void
mo_f32_gap__neon (const MoGapParams *p)
{
  const int c_end = MO_ROUND_UP (p->c1, MO_CALIGN);
  const float64x2_t n = vdupq_n_f64 ((double) p->hw);

  assert (p->c0 % MO_CALIGN == 0 && c_end <= p->cs && p->hw >= 1);
  for (int c = p->c0; c < c_end; c += 16) {
    float64x2_t acc[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++)
      acc[q] = vdupq_n_f64 (0.0);
    for (int m = 0; m < p->hw; m++) {
      const float *i = p->in + (size_t) m * p->cs + c;
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        float32x4_t v = vld1q_f32 (i + 4 * q);
        acc[2 * q] = vaddq_f64 (acc[2 * q], vcvt_f64_f32 (vget_low_f32 (v)));
        acc[2 * q + 1] = vaddq_f64 (acc[2 * q + 1], vcvt_high_f64_f32 (v));
      }
    }
    /* Divide as the reference does: a multiply by 1 / hw could differ in
     * the last bit. */
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      vst1q_f32 (p->out + c + 4 * q,
          vcvt_high_f32_f64 (vcvt_f32_f64 (vdivq_f64 (acc[2 * q], n)),
              vdivq_f64 (acc[2 * q + 1], n)));
  }
}
