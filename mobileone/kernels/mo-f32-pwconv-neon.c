/* mobileone-gst engine: pointwise 1x1 convolution, AArch64 Advanced SIMD.
 *
 * The register-blocked GEMM of mo-f32-pwconv-avx512.c on 32 q registers:
 * a 5x16 tile (5 pixels x 4 q vectors of output channels: 20
 * accumulators, 4 weight vectors and the 5 broadcast inputs, which the
 * compiler loads ahead; a sixth row would spill), bias-initialised, one
 * FMA per input channel in order, ReLU fused in the store. Row tails run
 * the same tile with fewer rows, so results do not depend on how a caller
 * splits the pixels. */
#include "mo-kernels-simd.h"

#include <arm_neon.h>
#include <assert.h>

#define MO_INLINE static inline __attribute__ ((always_inline))
#define MR 5

MO_INLINE void
tile (const float *a, size_t as, float *o, size_t os, const float *w,
    size_t ldw, const float *b, int k, const int R, const int relu)
{
  float32x4_t acc[MR][4];
  const float *ar[MR];

#pragma GCC unroll 5
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
      acc[i][j] = vld1q_f32 (b + 4 * j);
    ar[i] = a + i * as;
  }
  for (int kk = 0; kk < k; kk++) {
    float32x4_t wv[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
      wv[j] = vld1q_f32 (w + 4 * j);
    w += ldw;
#pragma GCC unroll 5
    for (int i = 0; i < R; i++) {
      float32x4_t x = vld1q_dup_f32 (ar[i] + kk);
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++)
        acc[i][j] = vfmaq_f32 (acc[i][j], x, wv[j]);
    }
  }
#pragma GCC unroll 5
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      float32x4_t v = acc[i][j];
      if (relu)
        v = vmaxq_f32 (v, vdupq_n_f32 (0.0f));
      vst1q_f32 (o + i * os + 4 * j, v);
    }
}

MO_INLINE void
run (const MoPwConvParams *p, int n_end, const int relu)
{
  const size_t as = p->in_cs, os = p->out_cs;
  const int k = p->k, m1 = p->m1;

  for (int n = p->n0; n < n_end; n += 16) {
    const float *w = p->w + mo_pw_index (k, p->ldw, 0, n), *b = p->b + n;
    const size_t ldw = mo_pw_panel_width (p->ldw, n);
    int m = p->m0;
    for (; m + MR <= m1; m += MR)
      tile (p->in + m * as, as, p->out + m * os + n, os, w, ldw, b, k, MR,
          relu);
    const float *a = p->in + m * as;
    float *o = p->out + m * os + n;
    switch (m1 - m) {
#define TAIL(r) \
      case r: \
        tile (a, as, o, os, w, ldw, b, k, r, relu); \
        break;
        TAIL (1) TAIL (2) TAIL (3) TAIL (4)
#undef TAIL
      default:
        break;
    }
  }
}

void
mo_f32_pwconv__neon (const MoPwConvParams *p)
{
  const int n_end = MO_ROUND_UP (p->n1, MO_CALIGN);

  assert (p->n0 % MO_CALIGN == 0 && p->ldw % MO_CALIGN == 0);
  assert (n_end <= p->ldw && n_end <= p->out_cs && p->k <= p->in_cs);
  assert (p->m0 <= p->m1 && p->n0 <= p->n1 && p->k >= 1);
  if (p->act == MO_ACT_RELU) {
    run (p, n_end, 1);
    return;
  }
  run (p, n_end, 0);
  /* Sigmoid only gates squeeze-excite vectors: scalar expf afterwards. */
  if (p->act == MO_ACT_SIGMOID)
    for (int m = p->m0; m < p->m1; m++)
      for (int n = p->n0; n < n_end; n++) {
        float *o = p->out + (size_t) m * p->out_cs + n;
        *o = mo_act (*o, MO_ACT_SIGMOID);
      }
}
