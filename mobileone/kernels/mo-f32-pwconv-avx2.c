/* mobileone-gst engine: pointwise 1x1 convolution, AVX2 + FMA.
 *
 * The register-blocked GEMM of mo-f32-pwconv-avx512.c on 16 ymm
 * registers: a 6x16 tile (6 pixels x 2 ymm vectors of output channels, 12
 * accumulators, 2 weight vectors and a broadcast), bias-initialised, one
 * broadcast-FMA per input channel in order, ReLU fused in the store. Row
 * tails run the same tile with fewer rows, so results do not depend on
 * how a caller splits the pixels. A single pixel uses 1x64 tiles. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))
#define MR 6

/* R pixels x NV ymm vectors (16 channels per pair). */
MO_INLINE void
tile (const float *a, size_t as, float *o, size_t os, const float *w,
    size_t ldw, const float *b, int k, const int R, const int NV,
    const int relu)
{
  __m256 acc[MR][8];
  const float *ar[MR];

#pragma GCC unroll 8
  for (int j = 0; j < NV; j++) {
    __m256 bj = _mm256_loadu_ps (b + 8 * j);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
      acc[i][j] = bj;
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
    ar[i] = a + i * as;
  for (int kk = 0; kk < k; kk++) {
    __m256 wv[8];
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++)
      wv[j] = _mm256_loadu_ps (w + 8 * j);
    w += ldw;
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      __m256 x = _mm256_broadcast_ss (ar[i] + kk);
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++)
        acc[i][j] = _mm256_fmadd_ps (x, wv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) {
      __m256 v = acc[i][j];
      if (relu)
        v = _mm256_max_ps (v, _mm256_setzero_ps ());
      _mm256_storeu_ps (o + i * os + 8 * j, v);
    }
}

MO_INLINE void
run (const MoPwConvParams *p, int n_end, const int relu)
{
  const size_t as = p->in_cs, os = p->out_cs;
  const int k = p->k, m1 = p->m1;
  int n = p->n0;

  /* A single pixel (squeeze-excite, the classifier) is a matrix-vector
   * product: 1x64 tiles over whole weight panels keep eight FMA chains
   * busy. */
  if (m1 - p->m0 == 1)
    for (; n % MO_PW_PANEL == 0 && n + MO_PW_PANEL <= n_end; n += MO_PW_PANEL)
      tile (p->in + p->m0 * as, 0, p->out + p->m0 * os + n, 0,
          p->w + mo_pw_index (k, p->ldw, 0, n), MO_PW_PANEL, p->b + n, k, 1,
          8, relu);
  for (; n < n_end; n += 16) {
    const float *w = p->w + mo_pw_index (k, p->ldw, 0, n), *b = p->b + n;
    const size_t ldw = mo_pw_panel_width (p->ldw, n);
    int m = p->m0;
    for (; m + MR <= m1; m += MR)
      tile (p->in + m * as, as, p->out + m * os + n, os, w, ldw, b, k, MR, 2,
          relu);
    const float *a = p->in + m * as;
    float *o = p->out + m * os + n;
    switch (m1 - m) {
#define TAIL(r) \
      case r: \
        tile (a, as, o, os, w, ldw, b, k, r, 2, relu); \
        break;
        TAIL (1) TAIL (2) TAIL (3) TAIL (4) TAIL (5)
#undef TAIL
      default:
        break;
    }
  }
}

void
mo_f32_pwconv__avx2 (const MoPwConvParams *p)
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
