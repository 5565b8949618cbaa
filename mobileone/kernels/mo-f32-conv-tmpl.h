/* mobileone-gst engine: dense KxK convolution (the stem, the heads' 3x3
 * convs), one template for every ISA. An instantiation
 * (mo-f32-conv-<isa>.c) includes its int8 vector header (mo-q8-vec-<isa>.h,
 * for the uint8 outputs of MoConvParams.out_u8; it includes mo-vec-<isa>.h),
 * defines the tile shapes below and MO_KERNEL, the name of the function
 * to define, then includes this file.
 *
 * Per output row, a tile of MR pixels x NV vectors of output channels is
 * held in accumulators; for every tap and input channel the NV weight
 * vectors are loaded once and reused by the MR pixels' broadcast inputs
 * (the stem's 3 input channels become 27 broadcasts per pixel). Tiles
 * cover the columns whose taps all fall inside the input; border pixels
 * run one at a time over their valid taps only. Every output is the bias
 * plus one FMA per valid (ky, kx, c) in the reference's order, whichever
 * path computes it. Each tile prefetches the input rows the next output
 * row will add: the stem's input is large, cold and read at stride 2.
 *
 * Tile shapes (the register file is what differs between ISAs):
 *   MO_CONV_BLOCK     channels per column block: 64 (cut to what is left
 *                     of the output channels) or MO_CALIGN
 *   MO_CONV_MR(nv)    pixels per tile for a block of nv vectors
 *   MO_CONV_MAX_MR    the largest MO_CONV_MR (at most 8) */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_CONV_BLOCK) \
    || !defined(MO_CONV_MR) || !defined(MO_CONV_MAX_MR)
#error "instantiate through mo-f32-conv-<isa>.c"
#endif

#include <assert.h>

/* Vectors in MO_CALIGN channels, in a block. */
#define CONV_V16 (MO_CALIGN / MO_VW)
#define CONV_MAX_NV (MO_CONV_BLOCK / MO_VW)

/* MR pixels from column ox, taps [ky0, ky1) x [kx0, kx1), NV vectors from
 * output channel n. */
MO_INLINE void
conv_tile (const MoConvParams *p, int oy, int ox, int n, int ky0, int ky1,
    int kx0, int kx1, const int MR, const int NV, const int relu)
{
  const int s = p->stride, d = p->dilation, in_c = p->in_c;
  const size_t ldw = p->ldw, ics = p->in_cs;
  const size_t pstep = (size_t) s * ics;        /* between tile pixels */
  MoVec acc[MO_CONV_MAX_MR][CONV_MAX_NV];

#pragma GCC unroll 4
  for (int j = 0; j < NV; j++) {
    MoVec bj = mo_vload (p->b + n + MO_VW * j);
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
        MoVec wv[CONV_MAX_NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++)
          wv[j] = mo_vload (w + MO_VW * j);
        w += ldw;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
          MoVec x = mo_vbroadcast (a + i * pstep + c);
#pragma GCC unroll 4
          for (int j = 0; j < NV; j++)
            acc[i][j] = mo_vfma (x, wv[j], acc[i][j]);
        }
      }
    }
  }

  size_t at = ((size_t) oy * p->out_w + ox) * p->out_cs + n;
  /* out_u8: mo_quantize_value of the float output, as the quantize
   * kernels compute it. */
  const MoVec inv = mo_vbroadcast (&p->inv_scale);
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      MoVec v = acc[i][j];
      size_t oi = at + i * p->out_cs + MO_VW * j;
      if (relu)
        v = mo_vrelu (v);
      if (p->out_u8 != NULL)
        mo_q8_store_clamped (p->out_u8 + oi, mo_vmul (v, inv));
      else
        mo_vstore (p->out + oi, v);
    }
}

/* Asks for the input rows that output row oy + 1 needs and row oy does not,
 * under the columns of the tile at ox, and for that row's output lines:
 * the stem reads a large, cold input at stride 2, which the hardware
 * prefetchers follow too late. */
MO_INLINE void
conv_prefetch_next (const MoConvParams *p, int oy, int ox, int npx)
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
      mo_prefetch (r + b);
  }
  if (oy + 1 < p->out_h) {
    size_t at = ((size_t) (oy + 1) * p->out_w + ox) * p->out_cs;
    size_t esize = p->out_u8 != NULL ? 1 : 4;
    const char *o = p->out_u8 != NULL ? (const char *) (p->out_u8 + at)
        : (const char *) (p->out + at);
    for (size_t b = 0; b < (size_t) npx * p->out_cs * esize; b += 64)
      mo_prefetch (o + b);
  }
}

/* One output row for the NV vectors from channel n. */
MO_INLINE void
conv_row (const MoConvParams *p, int oy, int n, int ky0, int ky1, int xl,
    int xr, const int MR, const int NV, const int relu)
{
  const int s = p->stride, d = p->dilation;
  int ox = 0;

  for (; ox < xl; ox++) {
    int kx0 = 0, kx1 = p->kw, ix0 = ox * s - p->pad;
    while (kx0 < p->kw && ix0 + kx0 * d < 0)
      kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * d >= p->in_w)
      kx1--;
    conv_tile (p, oy, ox, n, ky0, ky1, kx0, kx1, 1, NV, relu);
  }
  for (; ox + MR <= xr; ox += MR) {
    if (n == 0)
      conv_prefetch_next (p, oy, ox, MR);
    conv_tile (p, oy, ox, n, ky0, ky1, 0, p->kw, MR, NV, relu);
  }
  switch (xr - ox) {
#define TAIL(r) \
    case r: \
      if (r < MO_CONV_MAX_MR && r < MR) \
        conv_tile (p, oy, ox, n, ky0, ky1, 0, p->kw, r, NV, relu); \
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
    conv_tile (p, oy, ox, n, ky0, ky1, kx0, kx1, 1, NV, relu);
  }
}

MO_INLINE void
conv_run (const MoConvParams *p, int n_end, const int relu)
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
    if (MO_CONV_BLOCK == MO_CALIGN) {
      for (int n = 0; n < n_end; n += MO_CALIGN)
        conv_row (p, oy, n, ky0, ky1, xl, xr, MO_CONV_MR (CONV_V16),
            CONV_V16, relu);
      continue;
    }
    for (int n = 0; n < n_end; n += MO_CONV_BLOCK) {
      switch ((n_end - n) / MO_CALIGN) {
        case 1:
          conv_row (p, oy, n, ky0, ky1, xl, xr, MO_CONV_MR (CONV_V16),
              CONV_V16, relu);
          break;
        case 2:
          conv_row (p, oy, n, ky0, ky1, xl, xr, MO_CONV_MR (2 * CONV_V16),
              2 * CONV_V16, relu);
          break;
        case 3:
          conv_row (p, oy, n, ky0, ky1, xl, xr, MO_CONV_MR (3 * CONV_V16),
              3 * CONV_V16, relu);
          break;
        default:
          conv_row (p, oy, n, ky0, ky1, xl, xr, MO_CONV_MR (4 * CONV_V16),
              4 * CONV_V16, relu);
          break;
      }
    }
  }
}

void
MO_KERNEL (const MoConvParams *p)
{
  const int n_end = MO_ROUND_UP (p->n, MO_CALIGN);

  assert (n_end <= p->ldw && n_end <= p->out_cs && p->in_c <= p->in_cs);
  assert (p->stride >= 1 && p->dilation >= 1 && p->pad >= 0);
  assert (p->out_u8 == NULL || p->act != MO_ACT_SIGMOID);
  if (p->act == MO_ACT_RELU) {
    conv_run (p, n_end, 1);
    return;
  }
  conv_run (p, n_end, 0);
  if (p->act == MO_ACT_SIGMOID)
    for (int oy = p->y0; oy < p->y1; oy++)
      for (int ox = 0; ox < p->out_w; ox++) {
        float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
        for (int c = 0; c < n_end; c++)
          o[c] = mo_act (o[c], MO_ACT_SIGMOID);
      }
}

#undef CONV_V16
#undef CONV_MAX_NV
