/* mobileone-gst engine: portable C reference of the int8 kernels
 * (mo-kernels.h, "int8"). Integer sums are exact, so any order gives the
 * same result; the requantisation is the one scalar mo_requant(). */
#include "mo-kernels.h"

void
mo_q8_pwconv__ref (const MoPwConvQ8Params *p)
{
  int n_end = MO_ROUND_UP (p->n1, MO_CALIGN);

  for (int m = p->m0; m < p->m1; m++) {
    const uint8_t *a = p->in + (size_t) m * p->in_cs;
    uint8_t *o = p->out + (size_t) m * p->out_cs;
    for (int n = p->n0; n < n_end; n++) {
      int32_t acc = 0;
      for (int kk = 0; kk < p->k; kk++)
        acc += (int32_t) a[kk] * p->w[mo_pw8_index (p->k, p->ldw, kk, n)];
      o[n] = mo_requant (acc, p->mul[n], p->add[n]);
    }
  }
}

void
mo_q8_dwconv3x3__ref (const MoDwConvQ8Params *p)
{
  int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  for (int oy = p->y0; oy < p->y1; oy++)
    for (int ox = 0; ox < p->out_w; ox++) {
      uint8_t *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
      for (int c = 0; c < c_end; c++) {
        int32_t acc = 0;
        for (int ky = 0; ky < 3; ky++) {
          int iy = oy * p->stride - p->pad + ky * p->dilation;
          if (iy < 0 || iy >= p->in_h)
            continue;
          for (int kx = 0; kx < 3; kx++) {
            int ix = ox * p->stride - p->pad + kx * p->dilation;
            if (ix < 0 || ix >= p->in_w)
              continue;
            acc += (int32_t) p->in[((size_t) iy * p->in_w + ix) * p->in_cs +
                c] * p->w[(ky * 3 + kx) * p->ldw + c];
          }
        }
        o[c] = mo_requant (acc, p->mul[c], p->add[c]);
      }
    }
}

void
mo_q8_quantize__ref (const MoQuantizeParams *p)
{
  int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  for (int m = p->m0; m < p->m1; m++)
    for (int c = 0; c < c_end; c++)
      p->out[(size_t) m * p->out_cs + c] =
          mo_quantize_value (p->in[(size_t) m * p->in_cs + c], p->inv_scale);
}

void
mo_q8_dequantize__ref (const MoDequantizeParams *p)
{
  int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  for (int m = p->m0; m < p->m1; m++)
    for (int c = 0; c < c_end; c++)
      p->out[(size_t) m * p->out_cs + c] =
          ((float) p->in[(size_t) m * p->in_cs + c] - (float) p->zero_point)
          * p->scale;
}

void
mo_q8_gap__ref (const MoGapQ8Params *p)
{
  for (int c = p->c0; c < p->c1; c++) {
    int64_t sum = 0;
    for (int m = 0; m < p->hw; m++)
      sum += p->in[(size_t) m * p->cs + c];
    p->out[c] = mo_q8_mean ((double) sum, p->hw, p->scale, p->zero_point);
  }
}

void
mo_q8_scale__ref (const MoScaleQ8Params *p)
{
  int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  for (int m = p->m0; m < p->m1; m++)
    for (int c = 0; c < c_end; c++) {
      float x = ((float) p->in[(size_t) m * p->in_cs + c] -
          (float) p->in_zero_point) * p->in_scale;
      p->out[(size_t) m * p->out_cs + c] =
          mo_quantize_value (x * p->gate[c], p->out_inv_scale);
    }
}
