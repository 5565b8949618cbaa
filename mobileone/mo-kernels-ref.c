/* mobileone-gst engine: portable C reference kernels (the ground truth every
 * SIMD variant is tested against). Accumulation order is fixed per output so
 * results do not depend on how a caller splits the work. */
#include "mo-kernels.h"

/* Output channel @n of pixel (@oy, @ox): the bias plus the products in
 * (ky, kx, c) order, then the activation. */
static float
conv_ref_value (const MoConvParams *p, int oy, int ox, int n)
{
  float o = p->b[n];

  for (int ky = 0; ky < p->kh; ky++) {
    int iy = oy * p->stride - p->pad + ky * p->dilation;
    if (iy < 0 || iy >= p->in_h)
      continue;
    for (int kx = 0; kx < p->kw; kx++) {
      int ix = ox * p->stride - p->pad + kx * p->dilation;
      if (ix < 0 || ix >= p->in_w)
        continue;
      const float *i = p->in + ((size_t) iy * p->in_w + ix) * p->in_cs;
      const float *w = p->w + (size_t) (ky * p->kw + kx) * p->in_c * p->ldw
          + n;
      for (int c = 0; c < p->in_c; c++)
        o += i[c] * w[(size_t) c * p->ldw];
    }
  }
  return mo_act (o, p->act);
}

void
mo_f32_conv__ref (const MoConvParams *p)
{
  for (int oy = p->y0; oy < p->y1; oy++)
    for (int ox = 0; ox < p->out_w; ox++) {
      size_t at = ((size_t) oy * p->out_w + ox) * p->out_cs;
      for (int n = 0; n < p->n; n++) {
        float v = conv_ref_value (p, oy, ox, n);
        if (p->out_u8 != NULL)
          p->out_u8[at + n] = mo_quantize_value (v, p->inv_scale);
        else
          p->out[at + n] = v;
      }
    }
}

void
mo_f32_dwconv3x3__ref (const MoDwConvParams *p)
{
  for (int oy = p->y0; oy < p->y1; oy++) {
    for (int ox = 0; ox < p->out_w; ox++) {
      float *o = p->out + ((size_t) oy * p->out_w + ox) * p->out_cs;
      for (int c = 0; c < p->c; c++)
        o[c] = p->b[c];
      for (int ky = 0; ky < 3; ky++) {
        int iy = oy * p->stride - p->pad + ky * p->dilation;
        if (iy < 0 || iy >= p->in_h)
          continue;
        for (int kx = 0; kx < 3; kx++) {
          int ix = ox * p->stride - p->pad + kx * p->dilation;
          if (ix < 0 || ix >= p->in_w)
            continue;
          const float *i = p->in + ((size_t) iy * p->in_w + ix) * p->in_cs;
          const float *w = p->w + (size_t) (ky * 3 + kx) * p->ldw;
          for (int c = 0; c < p->c; c++)
            o[c] += i[c] * w[c];
        }
      }
      for (int c = 0; c < p->c; c++)
        o[c] = mo_act (o[c], p->act);
    }
  }
}

void
mo_f32_pwconv__ref (const MoPwConvParams *p)
{
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    for (int n = p->n0; n < p->n1; n++)
      o[n] = p->b[n];
    /* Panel by panel (mo_pw_index): each output still sums in k order. */
    for (int n0 = p->n0; n0 < p->n1;) {
      int wp = mo_pw_panel_width (p->ldw, n0);
      int p0 = n0 - n0 % MO_PW_PANEL;
      int n1 = p->n1 < p0 + wp ? p->n1 : p0 + wp;
      const float *w = p->w + mo_pw_index (p->k, p->ldw, 0, p0);
      for (int k = 0; k < p->k; k++) {
        float v = i[k];
        for (int n = n0; n < n1; n++)
          o[n] += v * w[(size_t) k * wp + (n - p0)];
      }
      n0 = n1;
    }
    for (int n = p->n0; n < p->n1; n++)
      o[n] = mo_act (o[n], p->act);
  }
}

void
mo_f32_gap__ref (const MoGapParams *p)
{
  for (int c = p->c0; c < p->c1; c++) {
    /* Double accumulation: large maps would otherwise lose low bits. */
    double s = 0.0;
    for (int m = 0; m < p->hw; m++)
      s += p->in[(size_t) m * p->cs + c];
    p->out[c] = (float) (s / p->hw);
  }
}

void
mo_f32_scale__ref (const MoScaleParams *p)
{
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    for (int c = 0; c < p->c; c++)
      o[c] = mo_act (i[c] * p->gate[c], p->act);
  }
}

void
mo_f32_resize_bilinear__ref (const MoResizeParams *p)
{
  float sy = (float) p->in_h / (float) p->out_h;
  float sx = (float) p->in_w / (float) p->out_w;

  for (int oy = p->y0; oy < p->y1; oy++) {
    int y0, y1;
    float ly0, ly1;
    mo_resize_source (sy, oy, p->in_h, &y0, &y1, &ly0, &ly1);
    const float *r0 = p->in + (size_t) y0 * p->in_w * p->in_cs;
    const float *r1 = p->in + (size_t) y1 * p->in_w * p->in_cs;
    float *o = p->out + (size_t) oy * p->out_w * p->out_cs;
    for (int ox = 0; ox < p->out_w; ox++, o += p->out_cs) {
      int x0, x1;
      float lx0, lx1;
      mo_resize_source (sx, ox, p->in_w, &x0, &x1, &lx0, &lx1);
      const float *restrict a = r0 + (size_t) x0 * p->in_cs;
      const float *restrict b = r0 + (size_t) x1 * p->in_cs;
      const float *restrict c = r1 + (size_t) x0 * p->in_cs;
      const float *restrict d = r1 + (size_t) x1 * p->in_cs;
      float *restrict oo = o;
      /* PyTorch's order: rows of the lerp in x, then the lerp in y. */
      for (int ch = 0; ch < p->c; ch++)
        oo[ch] = ly0 * (lx0 * a[ch] + lx1 * b[ch])
            + ly1 * (lx0 * c[ch] + lx1 * d[ch]);
    }
  }
}
