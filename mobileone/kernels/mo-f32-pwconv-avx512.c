/* mobileone-gst engine: pointwise 1x1 convolution, AVX-512F.
 *
 * A register-blocked GEMM over the weights packed in 64-channel panels
 * (mo_pw_index): a tile of MR
 * pixels x NV 16-float vectors of output channels lives in zmm
 * accumulators (6x64 for wide layers, 8x48 for 48-channel ones: 24
 * accumulators, leaving room for the weights and a broadcast), starts from
 * the bias and takes one broadcast-FMA per input channel, in order; ReLU
 * is fused in the store. Row and column tails run the same tile with fewer
 * rows or vectors, so every output sees the same operation sequence
 * wherever it falls. A tile never spans two panels, so it reads its
 * weights as one sequential stream, and the panel stays in cache while
 * every pixel row streams past it. A single pixel (squeeze-excite, the
 * classifier) uses 1x64 tiles, one pass over each panel. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))
#define MAX_MR 16

MO_INLINE void
tile (const float *a, size_t as, float *o, size_t os, const float *w,
    size_t ldw, const float *b, int k, const int MR, const int NV,
    const int relu)
{
  __m512 acc[MAX_MR][8];
  const float *ar[MAX_MR];

#pragma GCC unroll 8
  for (int j = 0; j < NV; j++) {
    __m512 bj = _mm512_loadu_ps (b + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
      acc[i][j] = bj;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
    ar[i] = a + i * as;

  for (int kk = 0; kk < k; kk++) {
    __m512 wv[8];
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++)
      wv[j] = _mm512_loadu_ps (w + 16 * j);
    w += ldw;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512 x = _mm512_set1_ps (ar[i][kk]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++)
        acc[i][j] = _mm512_fmadd_ps (x, wv[j], acc[i][j]);
    }
  }

#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) {
      __m512 v = acc[i][j];
      if (relu)
        v = _mm512_max_ps (v, _mm512_setzero_ps ());
      _mm512_storeu_ps (o + i * os + 16 * j, v);
    }
}

/* Pixels [m0, m1) for the block of NV vectors starting at channel n. */
MO_INLINE void
rows (const MoPwConvParams *p, int n, const int MR, const int NV,
    const int relu)
{
  const size_t as = p->in_cs, os = p->out_cs;
  const size_t ldw = mo_pw_panel_width (p->ldw, n);
  const float *w = p->w + mo_pw_index (p->k, p->ldw, 0, n), *b = p->b + n;
  const int k = p->k, m1 = p->m1;
  int m = p->m0;

  for (; m + MR <= m1; m += MR)
    tile (p->in + m * as, as, p->out + m * os + n, os, w, ldw, b, k, MR, NV,
        relu);
  if (m == m1)
    return;
  const float *a = p->in + m * as;
  float *o = p->out + m * os + n;
  switch (m1 - m) {
#define TAIL(r) \
    case r: \
      if (r < MR) \
        tile (a, as, o, os, w, ldw, b, k, r, NV, relu); \
      break;
      TAIL (1) TAIL (2) TAIL (3) TAIL (4) TAIL (5) TAIL (6) TAIL (7)
      TAIL (8) TAIL (9) TAIL (10) TAIL (11) TAIL (12) TAIL (13) TAIL (14)
      TAIL (15)
#undef TAIL
    default:
      assert (0);
  }
}

MO_INLINE void
run (const MoPwConvParams *p, int n_end, const int relu)
{
  /* Blocks of up to 64 channels, never across a weight panel; a single
   * pixel (squeeze-excite, the classifier) takes the 1-row tail tile and
   * streams each panel once. */
  for (int n = p->n0, n1; n < n_end; n = n1) {
    n1 = n - n % MO_PW_PANEL + MO_PW_PANEL;
    n1 = n1 < n_end ? n1 : n_end;
    switch ((n1 - n) / 16) {
      case 1:
        rows (p, n, 16, 1, relu);
        break;
      case 2:
        rows (p, n, 12, 2, relu);
        break;
      case 3:
        rows (p, n, 8, 3, relu);
        break;
      default:
        rows (p, n, 6, 4, relu);
        break;
    }
  }
}

void
mo_f32_pwconv__avx512 (const MoPwConvParams *p)
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
  /* Sigmoid only gates squeeze-excite vectors (a few hundred values):
   * scalar expf after the GEMM keeps it exact and out of the hot loop. */
  if (p->act == MO_ACT_SIGMOID)
    for (int m = p->m0; m < p->m1; m++)
      for (int n = p->n0; n < n_end; n++) {
        float *o = p->out + (size_t) m * p->out_cs + n;
        *o = mo_act (*o, MO_ACT_SIGMOID);
      }
}
