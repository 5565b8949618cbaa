/* mobileone-gst engine: depthwise 3x3 int8 convolution, and the float <->
 * uint8 conversions, one template for every ISA. An instantiation
 * (mo-q8-dwconv3x3-<isa>.c) includes its int8 vector header
 * (mo-q8-vec-<isa>.h), defines MO_KERNEL, MO_KERNEL_QUANTIZE and
 * MO_KERNEL_DEQUANTIZE, the names of the functions to define, and
 * MO_Q8_DW_NP (below), then includes this file.
 *
 * A depthwise tap has no 4-wide dot product to feed vpdpbusd (its sums run
 * over pixels, not over adjacent bytes), so the taps run on float FMAs:
 * bytes are widened to floats, which hold every product (|a w| <= 255 x
 * 128) and every partial sum of nine (< 2^24) exactly. The float sum is
 * then the exact integer sum in any order, and the requantisation is the
 * reference's fma.
 *
 * The interior of an output row runs in groups of MO_Q8_DW_NP pixels (8,
 * or 4 where 16 registers hold the nine taps and the sums; then four,
 * then one), as the float kernel does: per group and block of MO_VW
 * channels, the nine taps are widened into registers once and each input
 * column of a tap row is widened once for every pixel of the group that
 * uses it. Widening a byte (a shuffle and a conversion) costs more than
 * the FMA that uses it: widening each tap's input separately, nine times
 * per input byte, made this kernel slower than the float one (S2's
 * layers: 22 against 34 GMAC/s, test-kernels-q8 --bench). */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_KERNEL_QUANTIZE) \
    || !defined(MO_KERNEL_DEQUANTIZE) || !defined(MO_Q8_DW_NP) \
    || !defined(MO_KERNEL_GAP) || !defined(MO_KERNEL_SCALE)
#error "instantiate through mo-q8-dwconv3x3-<isa>.c"
#endif

#include <assert.h>

/* One output pixel of one channel block: tap rows [ky0, ky1), columns
 * [kx0, kx1); @i is the input of tap (ky0, kx0). */
MO_INLINE MoVec
q8dw_pixel (const uint8_t *i, size_t drow, size_t dcs, const MoVec *w,
    int ky0, int ky1, int kx0, int kx1)
{
  MoVec acc = mo_vmul (mo_q8_load_u8 (i), w[ky0 * 3 + kx0]);

  for (int ky = ky0; ky < ky1; ky++)
    for (int kx = kx0; kx < kx1; kx++)
      if (ky != ky0 || kx != kx0)
        acc = mo_vfma (mo_q8_load_u8 (i + (ky - ky0) * drow + (kx - kx0) *
                dcs), w[ky * 3 + kx], acc);
  return acc;
}

/* The nine taps of channel block @cb, as floats. */
MO_INLINE void
q8dw_load_taps (const MoDwConvQ8Params *p, int cb, MoVec *w, const int KY0,
    const int KY1)
{
#pragma GCC unroll 9
  for (int t = 3 * KY0; t < 3 * KY1; t++)
    w[t] = mo_q8_load_s8 (p->w + t * p->ldw + cb);
}

/* A border pixel (ox outside the interior columns), every channel block:
 * the taps that fall inside the input, as the reference. */
MO_INLINE void
q8dw_border (const MoDwConvQ8Params *p, const uint8_t *r, uint8_t *o,
    int ox, int ky0, int ky1, int c_end)
{
  const int s = p->stride, d = p->dilation;
  const size_t cs = p->in_cs, drow = (size_t) d * p->in_w * cs, dcs = d * cs;
  int ix0 = ox * s - p->pad, kx0 = 0, kx1 = 3;
  static const float zero = 0.0f;

  while (kx0 < 3 && ix0 + kx0 * d < 0)
    kx0++;
  while (kx1 > kx0 && ix0 + (kx1 - 1) * d >= p->in_w)
    kx1--;
  for (int cb = 0; cb < c_end; cb += MO_VW) {
    MoVec w[9], acc;
    q8dw_load_taps (p, cb, w, 0, 3);
    /* A padding wider than the taps' reach leaves no tap: 0. */
    if (ky0 >= ky1 || kx0 >= kx1)
      acc = mo_vbroadcast (&zero);
    else
      acc = q8dw_pixel (r + (ptrdiff_t) (ix0 + kx0 * d) * (ptrdiff_t) cs + cb,
          drow, dcs, w, ky0, ky1, kx0, kx1);
    mo_q8_requant_store (o + cb, acc, p->mul + cb, p->add + cb);
  }
}

/* NP interior pixels of one channel block, tap rows [KY0, KY1); @i is the
 * input of tap (KY0, 0) of the first one. A byte widened to float costs
 * more than the FMA that uses it: with the stride S and dilation D known
 * at compile time, each input column of a tap row is widened once and
 * fed to every pixel of the group that uses it (8 pixels: 10 columns
 * instead of 24 taps). Otherwise (S = 0) every tap widens its own input.
 * The sums are exact integers in float (mo-kernels-q8-ref.c), so any
 * order gives the reference's bytes. */
MO_INLINE void
q8dw_pixels (const uint8_t *i, uint8_t *o, const MoVec *w, const float *mul,
    const float *add, size_t cs, size_t pstep, size_t drow, size_t dcs,
    size_t ocs, const int NP, const int S, const int D, const int KY0,
    const int KY1)
{
  MoVec acc[MO_Q8_DW_NP];
  static const float zero = 0.0f;

#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    acc[n] = mo_vbroadcast (&zero);
#pragma GCC unroll 3
  for (int ky = KY0; ky < KY1; ky++) {
    const uint8_t *r = i + (ky - KY0) * drow;
    if (S) {
#pragma GCC unroll 24
      for (int j = 0; j <= (NP - 1) * S + 2 * D; j++) {
        MoVec x = mo_q8_load_u8 (r);
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
        const uint8_t *q = r + kx * dcs;
#pragma GCC unroll 8
        for (int n = 0; n < NP; n++) {
          acc[n] = mo_vfma (mo_q8_load_u8 (q), w[ky * 3 + kx], acc[n]);
          q += pstep;
          __asm__ ("" : "+r" (q));
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int n = 0; n < NP; n++)
    mo_q8_requant_store (o + n * ocs, acc[n], mul, add);
}

/* Interior pixels [x0, x1) of output row oy (all three columns of taps
 * inside the input), tap rows [KY0, KY1), MO_Q8_DW_NP pixels at a time.
 * The pixel loop is outside the channel loop, as in the float kernel:
 * a channel block's walk along a row would stride by the channel count
 * and, with power-of-two counts, thrash a few L1 sets. */
MO_INLINE void
q8dw_interior (const MoDwConvQ8Params *p, const uint8_t *r, uint8_t *o,
    int x0, int x1, int c_end, const int S, const int D, const int KY0,
    const int KY1)
{
  const int s = S ? S : p->stride, d = D ? D : p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t drow = (size_t) d * p->in_w * cs, dcs = d * cs;
  const size_t pstep = s * cs;
  int ox = x0;

#define GROUP(np) \
  for (int cb = 0; cb < c_end; cb += MO_VW) { \
    MoVec w[9]; \
    q8dw_load_taps (p, cb, w, KY0, KY1); \
    q8dw_pixels (r + (ptrdiff_t) (ox * s - p->pad) * (ptrdiff_t) cs + cb, \
        o + (size_t) ox * ocs + cb, w, p->mul + cb, p->add + cb, cs, pstep, \
        drow, dcs, ocs, np, S, D, KY0, KY1); \
  }
  for (; ox + MO_Q8_DW_NP <= x1; ox += MO_Q8_DW_NP)
    GROUP (MO_Q8_DW_NP);
  if (MO_Q8_DW_NP > 4 && ox + 4 <= x1) {
    GROUP (4);
    ox += 4;
  }
  for (; ox < x1; ox++)
    GROUP (1);
#undef GROUP
}

/* One output row, tap rows [ky0, ky1) inside the input. */
MO_INLINE void
q8dw_row (const MoDwConvQ8Params *p, int oy, int ky0, int ky1, int xl,
    int xr, int c_end, const int S, const int D)
{
  const size_t row = (size_t) p->in_w * p->in_cs, ocs = p->out_cs;
  /* The input row of tap row ky0 (none when no tap row is inside). */
  const uint8_t *r = ky0 < ky1 ? p->in + (size_t) (oy * p->stride - p->pad
      + ky0 * p->dilation) * row : p->in;
  uint8_t *o = p->out + (size_t) oy * p->out_w * ocs;

  if (ky0 == 0 && ky1 == 3)
    q8dw_interior (p, r, o, xl, xr, c_end, S, D, 0, 3);
  else if (ky0 == 1 && ky1 == 3)
    q8dw_interior (p, r, o, xl, xr, c_end, S, D, 1, 3);
  else if (ky0 == 0 && ky1 == 2)
    q8dw_interior (p, r, o, xl, xr, c_end, S, D, 0, 2);
  else                          /* no interior path: every pixel by its taps */
    for (int ox = xl; ox < xr; ox++)
      q8dw_border (p, r, o + (size_t) ox * ocs, ox, ky0, ky1, c_end);
  for (int ox = 0; ox < xl; ox++)
    q8dw_border (p, r, o + (size_t) ox * ocs, ox, ky0, ky1, c_end);
  for (int ox = xr; ox < p->out_w; ox++)
    q8dw_border (p, r, o + (size_t) ox * ocs, ox, ky0, ky1, c_end);
}

void
MO_KERNEL (const MoDwConvQ8Params *p)
{
  const int s = p->stride, d = p->dilation, pad = p->pad;
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  /* Columns whose three taps all fall inside the input. */
  int xl = (pad + s - 1) / s;
  int xr = p->in_w - 1 - 2 * d + pad < 0 ? 0 :
      (p->in_w - 1 - 2 * d + pad) / s + 1;

  assert (c_end <= p->ldw && c_end <= p->in_cs && c_end <= p->out_cs);
  assert (p->stride >= 1 && p->dilation >= 1 && p->pad >= 0);
  xl = xl < p->out_w ? xl : p->out_w;
  xr = xr < p->out_w ? xr : p->out_w;
  xr = xr > xl ? xr : xl;

  for (int oy = p->y0; oy < p->y1; oy++) {
    int iy0 = oy * s - pad, ky0 = 0, ky1 = 3;
    while (ky0 < 3 && iy0 + ky0 * d < 0)
      ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * d >= p->in_h)
      ky1--;
    if (s == 1 && d == 1)
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 1, 1);
    else if (s == 2 && d == 1)
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 2, 1);
    else
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 0, 0);
  }
}

void
MO_KERNEL_QUANTIZE (const MoQuantizeParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const MoVec inv = mo_vbroadcast (&p->inv_scale);

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    uint8_t *o = p->out + (size_t) m * p->out_cs;
    for (int c = 0; c < c_end; c += MO_VW)
      mo_q8_store_clamped (o + c, mo_vmul (mo_vload (i + c), inv));
  }
}

void
MO_KERNEL_DEQUANTIZE (const MoDequantizeParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const float zpf = (float) p->zero_point;
  const MoVec sc = mo_vbroadcast (&p->scale), zp = mo_vbroadcast (&zpf);

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const uint8_t *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    /* (in - zp) is exact: the same product as the reference's. */
    for (int c = 0; c < c_end; c += MO_VW)
      mo_vstore (o + c, mo_vmul (mo_vsub (mo_q8_load_u8 (i + c), zp), sc));
  }
}

/* Pixels summed per float accumulator: 65536 x 255 < 2^24, so the float
 * sums of bytes are exact integers, added into double per chunk. */
#define Q8_GAP_CHUNK 65536

void
MO_KERNEL_GAP (const MoGapQ8Params *p)
{
  static const float zero = 0.0f;

  assert (MO_ROUND_UP (p->c1, MO_VW) <= p->cs);
  for (int c = p->c0; c < p->c1; c += MO_VW) {
    double sum[MO_VW] = { 0 };
    float part[MO_VW];
    for (int m0 = 0; m0 < p->hw; m0 += Q8_GAP_CHUNK) {
      int m1 = p->hw - m0 < Q8_GAP_CHUNK ? p->hw : m0 + Q8_GAP_CHUNK;
      MoVec acc = mo_vbroadcast (&zero);
      for (int m = m0; m < m1; m++)
        acc = mo_vadd (acc, mo_q8_load_u8 (p->in + (size_t) m * p->cs + c));
      mo_vstore (part, acc);
      for (int j = 0; j < MO_VW; j++)
        sum[j] += part[j];
    }
    /* Loads reach round_up (c1, MO_VW) <= cs; stores stop at c1. */
    for (int j = 0; j < MO_VW && c + j < p->c1; j++)
      p->out[c + j] = mo_q8_mean (sum[j], p->hw, p->scale, p->zero_point);
  }
}

void
MO_KERNEL_SCALE (const MoScaleQ8Params *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const float zpf = (float) p->in_zero_point;
  const MoVec zp = mo_vbroadcast (&zpf), s = mo_vbroadcast (&p->in_scale);
  const MoVec inv = mo_vbroadcast (&p->out_inv_scale);

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const uint8_t *i = p->in + (size_t) m * p->in_cs;
    uint8_t *o = p->out + (size_t) m * p->out_cs;
    /* The reference's three roundings, in its order. */
    for (int c = 0; c < c_end; c += MO_VW) {
      MoVec x = mo_vmul (mo_vsub (mo_q8_load_u8 (i + c), zp), s);
      mo_q8_store_clamped (o + c, mo_vmul (mo_vmul (x, mo_vload (p->gate +
                      c)), inv));
    }
  }
}
