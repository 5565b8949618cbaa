/* mobileone-gst engine: depthwise 3x3 convolution, AVX-512F.
 *
 * Vectorised over channels: for each output row and 16-channel block the
 * nine taps and the bias stay in zmm registers while the row's interior
 * pixels stream through four at a time (four independent FMA chains hide
 * the FMA latency; with stride 1 neighbouring pixels share their loads).
 * Border pixels and the top and bottom rows skip the taps that fall
 * outside the image, as the reference does; every output is the bias plus
 * one FMA per valid tap in (ky, kx) order. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

MO_INLINE void
store_act (float *o, __m512 v, MoAct act)
{
  if (act == MO_ACT_RELU)
    v = _mm512_max_ps (v, _mm512_setzero_ps ());
  _mm512_storeu_ps (o, v);
  if (act == MO_ACT_SIGMOID)
    for (int i = 0; i < 16; i++)
      o[i] = mo_act (o[i], act);
}

/* Any pixel: taps [ky0, ky1) x [kx0, kx1), weights from memory. */
MO_INLINE void
pixel (const MoDwConvParams *p, int cb, int oy, int ox, int ky0, int ky1,
    float *o)
{
  const int s = p->stride, d = p->dilation;
  int ix0 = ox * s - p->pad, iy0 = oy * s - p->pad;
  __m512 acc = _mm512_loadu_ps (p->b + cb);

  for (int ky = ky0; ky < ky1; ky++) {
    const float *row = p->in + (size_t) (iy0 + ky * d) * p->in_w * p->in_cs;
    for (int kx = 0; kx < 3; kx++) {
      int ix = ix0 + kx * d;
      if (ix < 0 || ix >= p->in_w)
        continue;
      acc = _mm512_fmadd_ps (_mm512_loadu_ps (row + (size_t) ix * p->in_cs
              + cb), _mm512_loadu_ps (p->w + (ky * 3 + kx) * p->ldw + cb),
          acc);
    }
  }
  store_act (o, acc, p->act);
}

/* Interior pixels [x0, x1) of a row whose three input rows all exist: S
 * and D are the stride and dilation when known at compile time (0:
 * runtime), so the loads pixels share fold together. */
MO_INLINE void
interior (const MoDwConvParams *p, int cb, int oy, int x0, int x1, float *o,
    const int S, const int D)
{
  const int s = S ? S : p->stride, d = D ? D : p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t row = (size_t) p->in_w * cs;
  const float *r0 = p->in + (size_t) (oy * s - p->pad) * row + cb;
  __m512 w[9], b = _mm512_loadu_ps (p->b + cb);
  int ox = x0;

#pragma GCC unroll 9
  for (int t = 0; t < 9; t++)
    w[t] = _mm512_loadu_ps (p->w + t * p->ldw + cb);

  for (; ox + 4 <= x1; ox += 4) {
    const float *i = r0 + (size_t) (ox * s - p->pad) * cs;
    __m512 a0 = b, a1 = b, a2 = b, a3 = b;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
      const float *ir = i + (size_t) ky * d * row;
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++) {
        __m512 wt = w[ky * 3 + kx];
        a0 = _mm512_fmadd_ps (_mm512_loadu_ps (ir + (0 * s + kx * d) * cs),
            wt, a0);
        a1 = _mm512_fmadd_ps (_mm512_loadu_ps (ir + (1 * s + kx * d) * cs),
            wt, a1);
        a2 = _mm512_fmadd_ps (_mm512_loadu_ps (ir + (2 * s + kx * d) * cs),
            wt, a2);
        a3 = _mm512_fmadd_ps (_mm512_loadu_ps (ir + (3 * s + kx * d) * cs),
            wt, a3);
      }
    }
    float *op = o + (size_t) ox * ocs;
    store_act (op, a0, p->act);
    store_act (op + ocs, a1, p->act);
    store_act (op + 2 * ocs, a2, p->act);
    store_act (op + 3 * ocs, a3, p->act);
  }
  for (; ox < x1; ox++) {
    const float *i = r0 + (size_t) (ox * s - p->pad) * cs;
    __m512 a0 = b;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++)
        a0 = _mm512_fmadd_ps (_mm512_loadu_ps (i + (size_t) ky * d * row
                + (size_t) kx * d * cs), w[ky * 3 + kx], a0);
    store_act (o + (size_t) ox * ocs, a0, p->act);
  }
}

void
mo_f32_dwconv3x3__avx512 (const MoDwConvParams *p)
{
  const int s = p->stride, d = p->dilation, pad = p->pad;
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  /* Columns whose three taps are all inside the input. */
  int xl = (pad + s - 1) / s;
  int xr = p->in_w - 1 - 2 * d + pad < 0 ? 0 :
      (p->in_w - 1 - 2 * d + pad) / s + 1;

  assert (c_end <= p->ldw && c_end <= p->in_cs && c_end <= p->out_cs);
  assert (s >= 1 && d >= 1 && pad >= 0);
  if (xl > p->out_w)
    xl = p->out_w;
  if (xr > p->out_w)
    xr = p->out_w;
  if (xr < xl)
    xr = xl;

  for (int oy = p->y0; oy < p->y1; oy++) {
    int iy0 = oy * s - pad, ky0 = 0, ky1 = 3;
    while (ky0 < 3 && iy0 + ky0 * d < 0)
      ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * d >= p->in_h)
      ky1--;
    float *orow = p->out + (size_t) oy * p->out_w * p->out_cs;

    for (int cb = 0; cb < c_end; cb += 16) {
      if (ky0 == 0 && ky1 == 3) {
        for (int ox = 0; ox < xl; ox++)
          pixel (p, cb, oy, ox, 0, 3, orow + (size_t) ox * p->out_cs + cb);
        if (s == 1 && d == 1)
          interior (p, cb, oy, xl, xr, orow + cb, 1, 1);
        else if (s == 2 && d == 1)
          interior (p, cb, oy, xl, xr, orow + cb, 2, 1);
        else
          interior (p, cb, oy, xl, xr, orow + cb, 0, 0);
        for (int ox = xr; ox < p->out_w; ox++)
          pixel (p, cb, oy, ox, 0, 3, orow + (size_t) ox * p->out_cs + cb);
      } else {
        for (int ox = 0; ox < p->out_w; ox++)
          pixel (p, cb, oy, ox, ky0, ky1, orow + (size_t) ox * p->out_cs
              + cb);
      }
    }
  }
}
