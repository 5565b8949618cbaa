/* mobileone-gst engine: depthwise 3x3 int8 convolution, and the float <->
 * uint8 conversions, one template for every ISA. An instantiation
 * (mo-q8-dwconv3x3-<isa>.c) includes its int8 vector header
 * (mo-q8-vec-<isa>.h), defines MO_KERNEL, MO_KERNEL_QUANTIZE and
 * MO_KERNEL_DEQUANTIZE, the names of the functions to define, then
 * includes this file.
 *
 * A depthwise tap has no 4-wide dot product to feed vpdpbusd (its sums run
 * over pixels, not over adjacent bytes), so the taps run on float FMAs:
 * bytes are widened to floats, which hold every product (|a w| <= 255 x
 * 128) and every partial sum of nine (< 2^24) exactly. The float sum is
 * then the exact integer sum in any order, and the requantisation is the
 * reference's fma. The layer stays memory-bound, on a quarter of the
 * bytes of the float one.
 *
 * Per output row and block of MO_VW channels, the nine taps (as floats),
 * the multipliers and the offsets stay in registers while the pixels of
 * the row stream past (the byte rows of a block are short: a pixel is cs
 * bytes, not 4 cs). */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_KERNEL_QUANTIZE) \
    || !defined(MO_KERNEL_DEQUANTIZE) || !defined(MO_KERNEL_GAP) \
    || !defined(MO_KERNEL_SCALE)
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

/* Interior pixel, all three tap columns inside, tap rows [KY0, KY1). */
MO_INLINE MoVec
q8dw_inner (const uint8_t *i, size_t drow, size_t dcs, const MoVec *w,
    const int KY0, const int KY1)
{
  MoVec acc = mo_vmul (mo_q8_load_u8 (i), w[KY0 * 3]);

#pragma GCC unroll 3
  for (int ky = KY0; ky < KY1; ky++)
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; kx++)
      if (ky != KY0 || kx != 0)
        acc = mo_vfma (mo_q8_load_u8 (i + (ky - KY0) * drow + kx * dcs),
            w[ky * 3 + kx], acc);
  return acc;
}

MO_INLINE void
q8dw_row (const MoDwConvQ8Params *p, int oy, int ky0, int ky1, int xl,
    int xr, int c_end, const int KY0, const int KY1)
{
  const int s = p->stride, d = p->dilation;
  const size_t cs = p->in_cs, ocs = p->out_cs;
  const size_t row = (size_t) p->in_w * cs, drow = d * row, dcs = d * cs;
  /* The input row of tap row ky0 (none when no tap row is inside). */
  const uint8_t *r = ky0 < ky1 ?
      p->in + (size_t) (oy * s - p->pad + ky0 * d) * row : p->in;
  uint8_t *o = p->out + (size_t) oy * p->out_w * ocs;

  static const float zero = 0.0f;

  for (int cb = 0; cb < c_end; cb += MO_VW) {
    MoVec w[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
      w[t] = mo_q8_load_s8 (p->w + t * p->ldw + cb);
    for (int ox = 0; ox < p->out_w; ox++) {
      int ix0 = ox * s - p->pad, kx0 = 0, kx1 = 3;
      MoVec acc;
      if (ox >= xl && ox < xr) {
        acc = q8dw_inner (r + (ptrdiff_t) ix0 * (ptrdiff_t) cs + cb, drow,
            dcs, w, KY0, KY1);
      } else {
        while (kx0 < 3 && ix0 + kx0 * d < 0)
          kx0++;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * d >= p->in_w)
          kx1--;
        /* A padding wider than the taps' reach leaves no tap: 0. */
        if (ky0 >= ky1 || kx0 >= kx1)
          acc = mo_vbroadcast (&zero);
        else
          acc = q8dw_pixel (r + (ptrdiff_t) (ix0 + kx0 * d) * (ptrdiff_t) cs
              + cb, drow, dcs, w, ky0, ky1, kx0, kx1);
      }
      mo_q8_requant_store (o + (size_t) ox * ocs + cb, acc, p->mul + cb,
          p->add + cb);
    }
  }
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
    if (ky0 == 0 && ky1 == 3)
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 0, 3);
    else if (ky0 == 1 && ky1 == 3)
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 1, 3);
    else if (ky0 == 0 && ky1 == 2)
      q8dw_row (p, oy, ky0, ky1, xl, xr, c_end, 0, 2);
    else                        /* no interior path: every pixel by its taps */
      q8dw_row (p, oy, ky0, ky1, 0, 0, c_end, 0, 3);
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
