/* mobileone-gst engine: depthwise 3x3 convolution, AVX-512F.
 *
 * Vectorised over channels: for each output row and 16-channel block the
 * nine taps and the bias stay in zmm registers while the row's interior
 * pixels stream through eight at a time (eight independent FMA chains
 * hide the FMA latency; with stride 1 neighbouring pixels share their
 * loads). The top and bottom rows use the same loop over their valid tap
 * rows; border columns skip the taps that fall outside the image, as the
 * reference does. Every output is the bias plus one FMA per valid tap in
 * (ky, kx) order, whichever path computes it. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

MO_INLINE void
store (float *o, __m512 v, const int relu)
{
  if (relu)
    v = _mm512_max_ps (v, _mm512_setzero_ps ());
  _mm512_storeu_ps (o, v);
}

/* Any pixel: the taps of rows [ky0, ky1) that fall inside the input,
 * weights from memory. */
MO_INLINE void
pixel (const MoDwConvParams *p, int cb, int oy, int ox, int ky0, int ky1,
    float *o, const int relu)
{
  const int s = p->stride, d = p->dilation;
  int ix0 = ox * s - p->pad, iy0 = oy * s - p->pad;
  __m512 acc = _mm512_loadu_ps (p->b + cb);

  for (int ky = ky0; ky < ky1; ky++) {
    const float *row = p->in + (size_t) (iy0 + ky * d) * p->in_w * p->in_cs
        + cb;
    for (int kx = 0; kx < 3; kx++) {
      int ix = ix0 + kx * d;
      if (ix < 0 || ix >= p->in_w)
        continue;
      acc = _mm512_fmadd_ps (_mm512_loadu_ps (row + (size_t) ix * p->in_cs),
          _mm512_loadu_ps (p->w + (ky * 3 + kx) * p->ldw + cb), acc);
    }
  }
  store (o, acc, relu);
}

/* NP adjacent interior pixels (all three columns of taps inside the
 * input) over the tap rows [KY0, KY1); @i points at the input pixel of
 * tap (KY0, 0) of the first one. */
MO_INLINE void
pixels (const float *i, float *o, const __m512 *w, __m512 b, size_t pstep,
    size_t drow, size_t dcs, size_t ocs, const int NP, const int KY0,
    const int KY1, const int relu)
{
  __m512 acc[8];

#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    acc[n] = b;
#pragma GCC unroll 3
  for (int ky = KY0; ky < KY1; ky++)
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 8
      for (int n = 0; n < NP; n++)
        acc[n] = _mm512_fmadd_ps (_mm512_loadu_ps (i + (ky - KY0) * drow
                + kx * dcs + n * pstep), w[ky * 3 + kx], acc[n]);
#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    store (o + n * ocs, acc[n], relu);
}

/* Interior pixels [x0, x1) of output row oy, tap rows [KY0, KY1). S and D
 * are the stride and dilation when known at compile time (0 when not), so
 * that the loads neighbouring pixels share fold together. Eight pixels at
 * a time: eight independent FMA chains keep both FMA pipes busy. */
MO_INLINE void
interior (const MoDwConvParams *p, int cb, int oy, int x0, int x1, float *o,
    const int S, const int D, const int KY0, const int KY1, const int relu)
{
  const int s = S ? S : p->stride, d = D ? D : p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t row = (size_t) p->in_w * cs, drow = d * row, dcs = d * cs;
  const size_t pstep = s * cs;
  const float *r = p->in + (size_t) (oy * s - p->pad + KY0 * d) * row + cb;
  __m512 w[9], b = _mm512_loadu_ps (p->b + cb);
  int ox = x0;

#pragma GCC unroll 9
  for (int t = 0; t < 9; t++)
    w[t] = _mm512_loadu_ps (p->w + t * p->ldw + cb);

  for (; ox + 8 <= x1; ox += 8)
    pixels (r + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs,
        o + (size_t) ox * ocs, w, b, pstep, drow, dcs, ocs, 8, KY0, KY1,
        relu);
  if (ox + 4 <= x1) {
    pixels (r + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs,
        o + (size_t) ox * ocs, w, b, pstep, drow, dcs, ocs, 4, KY0, KY1,
        relu);
    ox += 4;
  }
  for (; ox < x1; ox++)
    pixels (r + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs,
        o + (size_t) ox * ocs, w, b, pstep, drow, dcs, ocs, 1, KY0, KY1,
        relu);
}

/* One output row of one channel block; the tap rows [ky0, ky1) inside the
 * input pick a specialised interior loop. */
MO_INLINE void
row_block (const MoDwConvParams *p, int cb, int oy, int ky0, int ky1,
    int xl, int xr, float *o, const int S, const int D, const int relu)
{
  const size_t ocs = p->out_cs;

  if (ky0 == 0 && ky1 == 3)
    interior (p, cb, oy, xl, xr, o, S, D, 0, 3, relu);
  else if (ky0 == 1 && ky1 == 3)
    interior (p, cb, oy, xl, xr, o, S, D, 1, 3, relu);
  else if (ky0 == 0 && ky1 == 2)
    interior (p, cb, oy, xl, xr, o, S, D, 0, 2, relu);
  else
    for (int ox = xl; ox < xr; ox++)
      pixel (p, cb, oy, ox, ky0, ky1, o + ox * ocs, relu);
  for (int ox = 0; ox < xl; ox++)
    pixel (p, cb, oy, ox, ky0, ky1, o + ox * ocs, relu);
  for (int ox = xr; ox < p->out_w; ox++)
    pixel (p, cb, oy, ox, ky0, ky1, o + ox * ocs, relu);
}

MO_INLINE void
run (const MoDwConvParams *p, const int relu)
{
  const int s = p->stride, d = p->dilation, pad = p->pad;
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  /* Columns whose three taps all fall inside the input. */
  int xl = (pad + s - 1) / s;
  int xr = p->in_w - 1 - 2 * d + pad < 0 ? 0 :
      (p->in_w - 1 - 2 * d + pad) / s + 1;

  xl = xl < p->out_w ? xl : p->out_w;
  xr = xr < p->out_w ? xr : p->out_w;
  xr = xr > xl ? xr : xl;

  for (int oy = p->y0; oy < p->y1; oy++) {
    int iy0 = oy * s - pad, ky0 = 0, ky1 = 3;
    while (ky0 < 3 && iy0 + ky0 * d < 0)
      ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * d >= p->in_h)
      ky1--;
    float *o = p->out + (size_t) oy * p->out_w * p->out_cs;

    for (int cb = 0; cb < c_end; cb += 16) {
      if (s == 1 && d == 1)
        row_block (p, cb, oy, ky0, ky1, xl, xr, o + cb, 1, 1, relu);
      else if (s == 2 && d == 1)
        row_block (p, cb, oy, ky0, ky1, xl, xr, o + cb, 2, 1, relu);
      else
        row_block (p, cb, oy, ky0, ky1, xl, xr, o + cb, 0, 0, relu);
    }
  }
}

void
mo_f32_dwconv3x3__avx512 (const MoDwConvParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  assert (c_end <= p->ldw && c_end <= p->in_cs && c_end <= p->out_cs);
  assert (p->stride >= 1 && p->dilation >= 1 && p->pad >= 0);
  if (p->act == MO_ACT_RELU) {
    run (p, 1);
    return;
  }
  run (p, 0);
  if (p->act == MO_ACT_SIGMOID)
    for (int oy = p->y0; oy < p->y1; oy++)
      for (int ox = 0; ox < p->out_w; ox++) {
        float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
        for (int c = 0; c < c_end; c++)
          o[c] = mo_act (o[c], MO_ACT_SIGMOID);
      }
}
