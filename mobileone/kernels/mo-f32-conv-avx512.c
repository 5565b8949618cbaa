/* mobileone-gst engine: dense KxK convolution (the stem, the heads' 3x3
 * convs), AVX-512F.
 *
 * Per output row, a tile of MR pixels x NV 16-float vectors of output
 * channels is held in zmm accumulators; for every tap and input channel
 * the NV weight vectors are loaded once and reused by the MR pixels'
 * broadcast inputs (the stem's 3 input channels become 27 broadcasts per
 * pixel). Tiles cover the columns whose taps all fall inside the input;
 * border pixels run one at a time over their valid taps only. Every
 * output is the bias plus one FMA per valid (ky, kx, c) in the reference's
 * order, whichever path computes it. Each tile prefetches the input rows
 * the next output row will add: the stem's input is large, cold and read
 * at stride 2. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))
#define MAX_MR 8

/* MR pixels from column ox, taps [ky0, ky1) x [kx0, kx1), NV vectors from
 * output channel n. */
MO_INLINE void
tile (const MoConvParams *p, int oy, int ox, int n, int ky0, int ky1,
    int kx0, int kx1, const int MR, const int NV, const int relu)
{
  const int s = p->stride, d = p->dilation, in_c = p->in_c;
  const size_t ldw = p->ldw, ics = p->in_cs;
  const size_t pstep = (size_t) s * ics;        /* between tile pixels */
  __m512 acc[MAX_MR][4];

#pragma GCC unroll 4
  for (int j = 0; j < NV; j++) {
    __m512 bj = _mm512_loadu_ps (p->b + n + 16 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
      acc[i][j] = bj;
  }

  for (int ky = ky0; ky < ky1; ky++) {
    int iy = oy * s - p->pad + ky * d;
    for (int kx = kx0; kx < kx1; kx++) {
      int ix = ox * s - p->pad + kx * d;
      const float *a = p->in + ((size_t) iy * p->in_w + ix) * ics;
      const float *w = p->w + (size_t) (ky * p->kw + kx) * in_c * ldw + n;
      for (int c = 0; c < in_c; c++) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++)
          wv[j] = _mm512_loadu_ps (w + 16 * j);
        w += ldw;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
          __m512 x = _mm512_set1_ps (a[i * pstep + c]);
#pragma GCC unroll 4
          for (int j = 0; j < NV; j++)
            acc[i][j] = _mm512_fmadd_ps (x, wv[j], acc[i][j]);
        }
      }
    }
  }

  float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs + n;
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      __m512 v = acc[i][j];
      if (relu)
        v = _mm512_max_ps (v, _mm512_setzero_ps ());
      _mm512_storeu_ps (o + i * p->out_cs + 16 * j, v);
    }
}

/* Asks for the input rows that output row oy + 1 needs and row oy does not,
 * under the columns of the tile at ox, and for that row's output lines:
 * the stem reads a large, cold input at stride 2, which the hardware
 * prefetchers follow too late. */
MO_INLINE void
prefetch_next (const MoConvParams *p, int oy, int ox, int npx)
{
  const int s = p->stride, d = p->dilation;
  const int last = oy * s - p->pad + (p->kh - 1) * d;
  const size_t ics = p->in_cs;
  int ix0 = ox * s - p->pad, ix1 = (ox + npx) * s - p->pad;

  ix0 = ix0 < 0 ? 0 : ix0;
  ix1 = ix1 > p->in_w ? p->in_w : ix1;
  for (int ky = 0; ky < p->kh; ky++) {
    int iy = (oy + 1) * s - p->pad + ky * d;
    if (iy <= last || iy < 0 || iy >= p->in_h)
      continue;
    const char *r = (const char *) (p->in + (size_t) iy * p->in_w * ics);
    for (size_t b = ix0 * ics * 4; b < ix1 * ics * 4; b += 64)
      _mm_prefetch (r + b, _MM_HINT_T0);
  }
  if (oy + 1 < p->out_h) {
    const char *o = (const char *) (p->out + ((size_t) (oy + 1) * p->out_w
            + ox) * p->out_cs);
    for (size_t b = 0; b < (size_t) npx * p->out_cs * 4; b += 64)
      _mm_prefetch (o + b, _MM_HINT_T0);
  }
}

/* One output row for the NV vectors from channel n. */
MO_INLINE void
row (const MoConvParams *p, int oy, int n, int ky0, int ky1, int xl, int xr,
    const int MR, const int NV, const int relu)
{
  const int s = p->stride, d = p->dilation;
  int ox = 0;

  for (; ox < xl; ox++) {
    int kx0 = 0, kx1 = p->kw, ix0 = ox * s - p->pad;
    while (kx0 < p->kw && ix0 + kx0 * d < 0)
      kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * d >= p->in_w)
      kx1--;
    tile (p, oy, ox, n, ky0, ky1, kx0, kx1, 1, NV, relu);
  }
  for (; ox + MR <= xr; ox += MR) {
    if (n == 0)
      prefetch_next (p, oy, ox, MR);
    tile (p, oy, ox, n, ky0, ky1, 0, p->kw, MR, NV, relu);
  }
  switch (xr - ox) {
#define TAIL(r) \
    case r: \
      if (r < MR) \
        tile (p, oy, ox, n, ky0, ky1, 0, p->kw, r, NV, relu); \
      break;
      TAIL (1) TAIL (2) TAIL (3) TAIL (4) TAIL (5) TAIL (6) TAIL (7)
#undef TAIL
    default:
      break;
  }
  for (ox = xr > xl ? xr : xl; ox < p->out_w; ox++) {
    int kx0 = 0, kx1 = p->kw, ix0 = ox * s - p->pad;
    while (kx0 < p->kw && ix0 + kx0 * d < 0)
      kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * d >= p->in_w)
      kx1--;
    tile (p, oy, ox, n, ky0, ky1, kx0, kx1, 1, NV, relu);
  }
}

MO_INLINE void
run (const MoConvParams *p, int n_end, const int relu)
{
  const int s = p->stride, d = p->dilation, pad = p->pad;
  const int span = (p->kw - 1) * d;
  /* Columns whose taps all fall inside the input. */
  int xl = (pad + s - 1) / s;
  int xr = p->in_w - 1 - span + pad < 0 ? 0 :
      (p->in_w - 1 - span + pad) / s + 1;

  xl = xl < p->out_w ? xl : p->out_w;
  xr = xr < p->out_w ? xr : p->out_w;
  xr = xr > xl ? xr : xl;

  for (int oy = p->y0; oy < p->y1; oy++) {
    int iy0 = oy * s - pad, ky0 = 0, ky1 = p->kh;
    while (ky0 < p->kh && iy0 + ky0 * d < 0)
      ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * d >= p->in_h)
      ky1--;
    for (int n = 0; n < n_end; n += 64) {
      switch ((n_end - n) / 16) {
        case 1:
          row (p, oy, n, ky0, ky1, xl, xr, 8, 1, relu);
          break;
        case 2:
          row (p, oy, n, ky0, ky1, xl, xr, 8, 2, relu);
          break;
        case 3:
          row (p, oy, n, ky0, ky1, xl, xr, 8, 3, relu);
          break;
        default:
          row (p, oy, n, ky0, ky1, xl, xr, 6, 4, relu);
          break;
      }
    }
  }
}

void
mo_f32_conv__avx512 (const MoConvParams *p)
{
  const int n_end = MO_ROUND_UP (p->n, MO_CALIGN);

  assert (n_end <= p->ldw && n_end <= p->out_cs && p->in_c <= p->in_cs);
  assert (p->stride >= 1 && p->dilation >= 1 && p->pad >= 0);
  if (p->act == MO_ACT_RELU) {
    run (p, n_end, 1);
    return;
  }
  run (p, n_end, 0);
  if (p->act == MO_ACT_SIGMOID)
    for (int oy = p->y0; oy < p->y1; oy++)
      for (int ox = 0; ox < p->out_w; ox++) {
        float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
        for (int c = 0; c < n_end; c++)
          o[c] = mo_act (o[c], MO_ACT_SIGMOID);
      }
}
