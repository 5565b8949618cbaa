/* mobileone-gst engine: depthwise 3x3 convolution, one template for every
 * ISA. An instantiation (mo-f32-dwconv3x3-<isa>.c) includes its vector
 * header (mo-vec-<isa>.h), defines MO_DW_NP and MO_KERNEL, the name of
 * the function to define, then includes this file.
 *
 * Vectorised over channels. An output row is cut into groups of MO_DW_NP
 * interior pixels (8 or 4; then four, then one); for each vector of
 * channels the group loads the nine taps and the bias into registers and
 * runs its pixels as independent FMA chains, which hide the FMA latency.
 * With stride and dilation known at compile time, each input vector of a
 * tap row is loaded once for all the pixels that use it. Walking pixels
 * outside channels keeps the accesses along whole pixels (a channel
 * block's walk along a row would stride by the channel count and thrash a
 * few L1 sets). The top and bottom rows use the same loop over their
 * valid tap rows; border columns skip the taps that fall outside the
 * image, as the reference does. Every output is the bias plus one FMA per
 * valid tap in (ky, kx) order, whichever path computes it.
 *
 * MO_DW_NP (8 or 4), the pixels per group, is what the register file
 * sets: the nine taps, the bias and MO_DW_NP accumulators must stay in
 * registers. */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_DW_NP)
#error "instantiate through mo-f32-dwconv3x3-<isa>.c"
#endif

#include <assert.h>

MO_INLINE void
dw_store (float *o, MoVec v, const int relu)
{
  if (relu)
    v = mo_vrelu (v);
  mo_vstore (o, v);
}

/* Any pixel, every channel block: the taps of rows [ky0, ky1) and of the
 * columns that fall inside the input, weights from memory. Four vectors
 * of channels at a time give four independent FMA chains (a border pixel of a
 * 7x7 or 14x14 map is a large share of the work; one chain per block left
 * it bound by the FMA latency). */
MO_INLINE void
dw_pixel (const MoDwConvParams *p, int oy, int ox, int ky0, int ky1, float *o,
    int c_end, const int relu)
{
  const MoDwTaps t = mo_dw_taps (p, oy, ox, ky0);
  const float *in = t.in;
  const size_t drow = t.drow, dcs = t.dcs, ldw = p->ldw;
  const int kx0 = t.kx0, kx1 = t.kx1;
  int cb = 0;

  for (; cb + 4 * MO_VW <= c_end; cb += 4 * MO_VW) {
    MoVec a0 = mo_vload (p->b + cb);
    MoVec a1 = mo_vload (p->b + cb + MO_VW);
    MoVec a2 = mo_vload (p->b + cb + 2 * MO_VW);
    MoVec a3 = mo_vload (p->b + cb + 3 * MO_VW);
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++) {
        const float *x = in + (ky - ky0) * drow + (kx - kx0) * dcs + cb;
        const float *w = p->w + (ky * 3 + kx) * ldw + cb;
        a0 = mo_vfma (mo_vload (x), mo_vload (w), a0);
        a1 = mo_vfma (mo_vload (x + MO_VW),
            mo_vload (w + MO_VW), a1);
        a2 = mo_vfma (mo_vload (x + 2 * MO_VW),
            mo_vload (w + 2 * MO_VW), a2);
        a3 = mo_vfma (mo_vload (x + 3 * MO_VW),
            mo_vload (w + 3 * MO_VW), a3);
      }
    dw_store (o + cb, a0, relu);
    dw_store (o + cb + MO_VW, a1, relu);
    dw_store (o + cb + 2 * MO_VW, a2, relu);
    dw_store (o + cb + 3 * MO_VW, a3, relu);
  }
  for (; cb < c_end; cb += MO_VW) {
    MoVec a = mo_vload (p->b + cb);
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a = mo_vfma (mo_vload (in + (ky - ky0) * drow
                + (kx - kx0) * dcs + cb),
            mo_vload (p->w + (ky * 3 + kx) * ldw + cb), a);
    dw_store (o + cb, a, relu);
  }
}

/* NP adjacent interior pixels (all three columns of taps inside the
 * input) over the tap rows [KY0, KY1); @i points at the input pixel of
 * tap (KY0, 0) of the first one. With the stride S and dilation D known
 * at compile time, each input vector of a tap row is loaded once and fed
 * to every pixel that uses it (still in (ky, kx) order per pixel), through
 * a pointer that steps one pixel at a time: no table of offsets to keep in
 * registers. Otherwise (S = 0) every tap loads its own input. */
MO_INLINE void
dw_pixels (const float *i, float *o, const MoVec *w, MoVec b, size_t cs,
    size_t pstep, size_t drow, size_t dcs, size_t ocs, const int NP,
    const int S, const int D, const int KY0, const int KY1, const int relu)
{
  MoVec acc[MO_DW_NP];

#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    acc[n] = b;
#pragma GCC unroll 3
  for (int ky = KY0; ky < KY1; ky++) {
    const float *r = i + (ky - KY0) * drow;
    if (S) {
#pragma GCC unroll 24
      for (int j = 0; j <= (NP - 1) * S + 2 * D; j++) {
        MoVec x = mo_vload (r);
        r += cs;
        /* Opaque step: otherwise the compiler keeps one pointer per load
         * and spills them. */
        __asm__ ("" : "+r" (r));
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
          int n = (j - kx * D) / S;
          if (j >= kx * D && (j - kx * D) % S == 0 && n < NP)
            acc[n] = mo_vfma (x, w[ky * 3 + kx], acc[n]);
        }
      }
    } else {
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++) {
        const float *q = r + kx * dcs;
#pragma GCC unroll 8
        for (int n = 0; n < NP; n++) {
          acc[n] = mo_vfma (mo_vload (q), w[ky * 3 + kx],
              acc[n]);
          q += pstep;
          __asm__ ("" : "+r" (q));
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    dw_store (o + n * ocs, acc[n], relu);
}

/* NP pixels starting at output column ox, every channel block: the pixel
 * loop is outside the channel loop so that the accesses run along whole
 * pixels; a channel block's loop over a row of pixels would stride by the
 * channel count and, with power-of-two channel counts, thrash a few L1
 * sets. The taps are reloaded per block and reused by the NP pixels. */
MO_INLINE void
dw_group (const MoDwConvParams *p, const float *r, float *o, int c_end,
    size_t cs, size_t pstep, size_t drow, size_t dcs, size_t ocs,
    const int NP, const int S, const int D, const int KY0, const int KY1,
    const int relu)
{
  for (int cb = 0; cb < c_end; cb += MO_VW) {
    MoVec w[9], b = mo_vload (p->b + cb);
#pragma GCC unroll 9
    for (int t = 3 * KY0; t < 3 * KY1; t++)
      w[t] = mo_vload (p->w + t * p->ldw + cb);
    dw_pixels (r + cb, o + cb, w, b, cs, pstep, drow, dcs, ocs, NP, S, D, KY0,
        KY1, relu);
  }
}

/* Interior pixels [x0, x1) of output row oy (all three columns of taps
 * inside the input), tap rows [KY0, KY1). S and D are the stride and
 * dilation when known at compile time (0 when not). MO_DW_NP pixels
 * at a time: independent FMA chains keep both FMA pipes busy. */
MO_INLINE void
dw_interior (const MoDwConvParams *p, int oy, int x0, int x1, float *o,
    int c_end, const int S, const int D, const int KY0, const int KY1,
    const int relu)
{
  const int s = S ? S : p->stride, d = D ? D : p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t row = (size_t) p->in_w * cs, drow = d * row, dcs = d * cs;
  const size_t pstep = s * cs;
  const float *r = p->in + (size_t) (oy * s - p->pad + KY0 * d) * row;
  int ox = x0;

#define GROUP(np) \
  dw_group (p, r + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs, \
      o + (size_t) ox * ocs, c_end, cs, pstep, drow, dcs, ocs, np, S, D, \
      KY0, KY1, relu)
  for (; ox + MO_DW_NP <= x1; ox += MO_DW_NP)
    GROUP (MO_DW_NP);
  if (MO_DW_NP > 4 && ox + 4 <= x1) {
    GROUP (4);
    ox += 4;
  }
  for (; ox < x1; ox++)
    GROUP (1);
#undef GROUP
}

/* One output row; the tap rows [ky0, ky1) inside the input pick a
 * specialised interior loop. */
MO_INLINE void
dw_row (const MoDwConvParams *p, int oy, int ky0, int ky1, int xl, int xr,
    float *o, int c_end, const int S, const int D, const int relu)
{
  const size_t ocs = p->out_cs;

  if (ky0 == 0 && ky1 == 3)
    dw_interior (p, oy, xl, xr, o, c_end, S, D, 0, 3, relu);
  else if (ky0 == 1 && ky1 == 3)
    dw_interior (p, oy, xl, xr, o, c_end, S, D, 1, 3, relu);
  else if (ky0 == 0 && ky1 == 2)
    dw_interior (p, oy, xl, xr, o, c_end, S, D, 0, 2, relu);
  else
    for (int ox = xl; ox < xr; ox++)
      dw_pixel (p, oy, ox, ky0, ky1, o + ox * ocs, c_end, relu);
  for (int ox = 0; ox < xl; ox++)
    dw_pixel (p, oy, ox, ky0, ky1, o + ox * ocs, c_end, relu);
  for (int ox = xr; ox < p->out_w; ox++)
    dw_pixel (p, oy, ox, ky0, ky1, o + ox * ocs, c_end, relu);
}

MO_INLINE void
dw_run (const MoDwConvParams *p, const int relu)
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

    if (s == 1 && d == 1)
      dw_row (p, oy, ky0, ky1, xl, xr, o, c_end, 1, 1, relu);
    else if (s == 2 && d == 1)
      dw_row (p, oy, ky0, ky1, xl, xr, o, c_end, 2, 1, relu);
    else
      dw_row (p, oy, ky0, ky1, xl, xr, o, c_end, 0, 0, relu);
  }
}

void
MO_KERNEL (const MoDwConvParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  assert (c_end <= p->ldw && c_end <= p->in_cs && c_end <= p->out_cs);
  assert (p->stride >= 1 && p->dilation >= 1 && p->pad >= 0);
  if (p->act == MO_ACT_RELU) {
    dw_run (p, 1);
    return;
  }
  dw_run (p, 0);
  if (p->act == MO_ACT_SIGMOID)
    for (int oy = p->y0; oy < p->y1; oy++)
      for (int ox = 0; ox < p->out_w; ox++) {
        float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
        for (int c = 0; c < c_end; c++)
          o[c] = mo_act (o[c], MO_ACT_SIGMOID);
      }
}
