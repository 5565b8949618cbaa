/* mobileone-gst engine: depthwise 3x3 convolution, AArch64 Advanced
 * SIMD.
 *
 * Vectorised over channels: for each output row and 4-channel block (one
 * q vector; wider blocks would not leave registers for four pixels) the
 * nine taps and the bias stay in registers while the row's interior
 * pixels stream through four at a time (four independent FMA chains hide
 * the FMA latency; with stride 1 neighbouring pixels share their loads).
 * Border pixels and the top and bottom rows skip the taps that fall
 * outside the image, as the reference does; every output is the bias plus
 * one FMA per valid tap in (ky, kx) order, whichever path computes it. */
#include "mo-kernels-simd.h"

#include <arm_neon.h>
#include <assert.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

MO_INLINE void
store (float *o, float32x4_t v, const int relu)
{
  if (relu)
    v = vmaxq_f32 (v, vdupq_n_f32 (0.0f));
  vst1q_f32 (o, v);
}

/* a * b + c, fused. */
MO_INLINE float32x4_t
fma4 (float32x4_t a, float32x4_t b, float32x4_t c)
{
  return vfmaq_f32 (c, a, b);
}

/* Any pixel: the taps of rows [ky0, ky1) that fall inside the input,
 * weights from memory. */
MO_INLINE void
pixel (const MoDwConvParams *p, int cb, int oy, int ox, int ky0, int ky1,
    float *o, const int relu)
{
  const int s = p->stride, d = p->dilation;
  int ix0 = ox * s - p->pad, iy0 = oy * s - p->pad;
  float32x4_t acc = vld1q_f32 (p->b + cb);

  for (int ky = ky0; ky < ky1; ky++) {
    const float *row = p->in + (size_t) (iy0 + ky * d) * p->in_w * p->in_cs
        + cb;
    for (int kx = 0; kx < 3; kx++) {
      int ix = ix0 + kx * d;
      if (ix < 0 || ix >= p->in_w)
        continue;
      acc = fma4 (vld1q_f32 (row + (size_t) ix * p->in_cs),
          vld1q_f32 (p->w + (ky * 3 + kx) * p->ldw + cb), acc);
    }
  }
  store (o, acc, relu);
}

/* Interior pixels [x0, x1) of a row whose three input rows all exist. S
 * and D are the stride and dilation when known at compile time (0 when
 * not), so that the loads neighbouring pixels share fold together. */
MO_INLINE void
interior (const MoDwConvParams *p, int cb, int oy, int x0, int x1, float *o,
    const int S, const int D, const int relu)
{
  const int s = S ? S : p->stride, d = D ? D : p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t row = (size_t) p->in_w * cs, drow = d * row, dcs = d * cs;
  const float *r0 = p->in + (size_t) (oy * s - p->pad) * row + cb;
  float32x4_t w[9], b = vld1q_f32 (p->b + cb);
  int ox = x0;

#pragma GCC unroll 9
  for (int t = 0; t < 9; t++)
    w[t] = vld1q_f32 (p->w + t * p->ldw + cb);

  for (; ox + 4 <= x1; ox += 4) {
    const float *i = r0 + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs;
    float32x4_t a0 = b, a1 = b, a2 = b, a3 = b;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
      const float *ir = i + ky * drow;
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++) {
        float32x4_t wt = w[ky * 3 + kx];
        a0 = fma4 (vld1q_f32 (ir + kx * dcs), wt, a0);
        a1 = fma4 (vld1q_f32 (ir + s * cs + kx * dcs), wt,
            a1);
        a2 = fma4 (vld1q_f32 (ir + 2 * s * cs + kx * dcs),
            wt, a2);
        a3 = fma4 (vld1q_f32 (ir + 3 * s * cs + kx * dcs),
            wt, a3);
      }
    }
    float *op = o + (size_t) ox * ocs;
    store (op, a0, relu);
    store (op + ocs, a1, relu);
    store (op + 2 * ocs, a2, relu);
    store (op + 3 * ocs, a3, relu);
  }
  for (; ox < x1; ox++) {
    const float *i = r0 + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs;
    float32x4_t a0 = b;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++)
        a0 = fma4 (vld1q_f32 (i + ky * drow + kx * dcs),
            w[ky * 3 + kx], a0);
    store (o + (size_t) ox * ocs, a0, relu);
  }
}

MO_INLINE void
run (const MoDwConvParams *p, const int relu)
{
  const int s = p->stride, d = p->dilation, pad = p->pad;
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const size_t ocs = p->out_cs;
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
    float *orow = p->out + (size_t) oy * p->out_w * ocs;

    for (int cb = 0; cb < c_end; cb += 4) {
      if (ky0 > 0 || ky1 < 3) {
        for (int ox = 0; ox < p->out_w; ox++)
          pixel (p, cb, oy, ox, ky0, ky1, orow + ox * ocs + cb, relu);
        continue;
      }
      for (int ox = 0; ox < xl; ox++)
        pixel (p, cb, oy, ox, 0, 3, orow + ox * ocs + cb, relu);
      if (s == 1 && d == 1)
        interior (p, cb, oy, xl, xr, orow + cb, 1, 1, relu);
      else if (s == 2 && d == 1)
        interior (p, cb, oy, xl, xr, orow + cb, 2, 1, relu);
      else
        interior (p, cb, oy, xl, xr, orow + cb, 0, 0, relu);
      for (int ox = xr; ox < p->out_w; ox++)
        pixel (p, cb, oy, ox, 0, 3, orow + ox * ocs + cb, relu);
    }
  }
}

void
mo_f32_dwconv3x3__neon (const MoDwConvParams *p)
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
