/* mobileone-gst engine: preprocessing.
 *
 * A pre-processing stage is planned once per picture (geometry, colour
 * matrix, the row function of the pixel format) and then runs row by row:
 * every thread takes a band of output rows, works out the horizontal taps
 * of its columns once on the stack (in blocks of TAP_BLOCK columns) and
 * calls the format's row function for each of its rows. A session runs it
 * as the first stage of mo_session_run(), on the threads the layers use,
 * so it costs no extra wake-up of the pool. Nothing is allocated. */
#include "mo-preprocess-private.h"

#include <math.h>
#include <string.h>

/* Columns whose taps a thread keeps on its stack at a time. */
#define TAP_BLOCK 256

/* Pixel layouts: bytes per pixel and the bytes of R, G, B (packed), or
 * the step between luma samples, between chroma samples and the bytes of
 * Y, U, V (YUV). */
static const struct
{
  gboolean yuv;
  int bpp, r, g, b;             /* packed; for YUV bpp is the luma step */
  int cstep, u, v;              /* YUV chroma; u, v in plane 1 / 2 or 0 */
  gboolean half_height, chroma_in_plane0, v_in_plane1;
} layouts[MO_PIXEL_N_FORMATS] = {
  [MO_PIXEL_RGB] = {FALSE, 3, 0, 1, 2},
  [MO_PIXEL_BGR] = {FALSE, 3, 2, 1, 0},
  [MO_PIXEL_RGBX] = {FALSE, 4, 0, 1, 2},
  [MO_PIXEL_BGRX] = {FALSE, 4, 2, 1, 0},
  [MO_PIXEL_XRGB] = {FALSE, 4, 1, 2, 3},
  [MO_PIXEL_XBGR] = {FALSE, 4, 3, 2, 1},
  [MO_PIXEL_GRAY8] = {FALSE, 1, 0, 0, 0},
  /* YUV: bpp = luma step, r = Y byte */
  [MO_PIXEL_NV12] = {TRUE, 1, 0, 0, 0, 2, 0, 1, TRUE, FALSE, TRUE},
  [MO_PIXEL_I420] = {TRUE, 1, 0, 0, 0, 1, 0, 0, TRUE, FALSE, FALSE},
  [MO_PIXEL_YUY2] = {TRUE, 2, 0, 0, 0, 4, 1, 3, FALSE, TRUE, FALSE},
  [MO_PIXEL_UYVY] = {TRUE, 2, 1, 0, 0, 4, 0, 2, FALSE, TRUE, FALSE},
};

const char *
mo_fit_to_string (MoFit fit)
{
  switch (fit) {
    case MO_FIT_STRETCH:
      return "stretch";
    case MO_FIT_LETTERBOX:
      return "letterbox";
    case MO_FIT_CROP:
      return "crop";
  }
  return "?";
}

gboolean
mo_fit_from_string (const char *name, MoFit *fit)
{
  for (int f = MO_FIT_STRETCH; f <= MO_FIT_CROP; f++)
    if (name != NULL && strcmp (name, mo_fit_to_string ((MoFit) f)) == 0) {
      *fit = (MoFit) f;
      return TRUE;
    }
  return FALSE;
}

static inline void
tap_axis (double s, int n, int *i0, int *i1, float *f)
{
  /* Clamp like PyTorch: positions before the first centre use pixel 0. */
  if (s < 0)
    s = 0;
  int i = (int) s;
  if (i > n - 1)
    i = n - 1;
  *i0 = i;
  *i1 = i < n - 1 ? i + 1 : i;
  *f = (float) (s - i);
  if (*i1 == *i0)
    *f = 0.0f;
}

static inline float
lerp2 (const guint8 *p0, const guint8 *p1, int o0, int o1, float fx, float fy)
{
  float top = p0[o0] + (p0[o1] - p0[o0]) * fx;
  float bot = p1[o0] + (p1[o1] - p1[o0]) * fx;
  return top + (bot - top) * fy;
}

/* One row function per packed layout: the byte offsets are constants, so
 * the compiler sees no switch and no table in the pixel loop. */
#define PACKED_ROW(name, R, G, B) \
static void \
row_##name (const MoPreprocessPlan * p, const RowTap * rt, const ColTap * ct, int n, \
    float *out) \
{ \
  const guint8 *r0 = rt->r0, *r1 = rt->r1; \
  const float fy = rt->fy; \
  const int dcs = p->dcs; \
  for (int i = 0; i < n; i++, out += dcs) { \
    const int a = ct[i].a0, b = ct[i].a1; \
    const float fx = ct[i].fa; \
    out[0] = lerp2 (r0 + R, r1 + R, a, b, fx, fy) * p->scale[0] + p->bias[0]; \
    out[1] = lerp2 (r0 + G, r1 + G, a, b, fx, fy) * p->scale[1] + p->bias[1]; \
    out[2] = lerp2 (r0 + B, r1 + B, a, b, fx, fy) * p->scale[2] + p->bias[2]; \
  } \
}

PACKED_ROW (rgb, 0, 1, 2)
PACKED_ROW (bgr, 2, 1, 0)
PACKED_ROW (xrgb, 1, 2, 3)
PACKED_ROW (xbgr, 3, 2, 1)

static void
row_gray8 (const MoPreprocessPlan *p, const RowTap *rt, const ColTap *ct, int n,
    float *out)
{
  const int dcs = p->dcs;

  for (int i = 0; i < n; i++, out += dcs) {
    float g = lerp2 (rt->r0, rt->r1, ct[i].a0, ct[i].a1, ct[i].fa, rt->fy);

    out[0] = g * p->scale[0] + p->bias[0];
    out[1] = g * p->scale[1] + p->bias[1];
    out[2] = g * p->scale[2] + p->bias[2];
  }
}

/* Every YUV layout: the layout is all in the taps and row pointers. */
static void
row_yuv (const MoPreprocessPlan *p, const RowTap *rt, const ColTap *ct, int n,
    float *out)
{
  const int dcs = p->dcs;
  const float yoff = p->yoff, ys = p->ys, rv = p->rv, gu = p->gu,
      gv = p->gv, bu = p->bu;

  for (int i = 0; i < n; i++, out += dcs) {
    const ColTap *t = &ct[i];
    float y = (lerp2 (rt->r0, rt->r1, t->a0, t->a1, t->fa, rt->fy) - yoff)
        * ys;
    float u = lerp2 (rt->u0, rt->u1, t->c0, t->c1, t->fc, rt->fc) - 128.0f;
    float v = lerp2 (rt->v0, rt->v1, t->c0, t->c1, t->fc, rt->fc) - 128.0f;
    float r = y + rv * v, g = y + gu * u + gv * v, b = y + bu * u;

    out[0] = CLAMP (r, 0.0f, 255.0f) * p->scale[0] + p->bias[0];
    out[1] = CLAMP (g, 0.0f, 255.0f) * p->scale[1] + p->bias[1];
    out[2] = CLAMP (b, 0.0f, 255.0f) * p->scale[2] + p->bias[2];
  }
}

static const RowFunc row_funcs[MO_PIXEL_N_FORMATS] = {
  [MO_PIXEL_RGB] = row_rgb,
  [MO_PIXEL_BGR] = row_bgr,
  [MO_PIXEL_RGBX] = row_rgb,    /* the 4th byte is never read */
  [MO_PIXEL_BGRX] = row_bgr,
  [MO_PIXEL_XRGB] = row_xrgb,
  [MO_PIXEL_XBGR] = row_xbgr,
  [MO_PIXEL_GRAY8] = row_gray8,
  [MO_PIXEL_NV12] = row_yuv,
  [MO_PIXEL_I420] = row_yuv,
  [MO_PIXEL_YUY2] = row_yuv,
  [MO_PIXEL_UYVY] = row_yuv,
};

/* The part of the image used and where it lands in the model input. */
static void
fit_geometry (const MoImage *img, const MoRect *crop, MoFit fit, int dw,
    int dh, MoRect *src_out, MoRect *box_out)
{
  MoRect src = { 0, 0, img->width, img->height };
  MoRect box = { 0, 0, dw, dh };

  if (crop != NULL) {
    /* Clip the crop to the image; an empty crop degrades to one pixel. */
    double x0 = CLAMP (crop->x, 0, img->width - 1);
    double y0 = CLAMP (crop->y, 0, img->height - 1);
    double x1 = CLAMP (crop->x + crop->w, x0 + 1, img->width);
    double y1 = CLAMP (crop->y + crop->h, y0 + 1, img->height);
    src.x = x0;
    src.y = y0;
    src.w = x1 - x0;
    src.h = y1 - y0;
  }
  if (fit == MO_FIT_LETTERBOX) {
    double s = MIN (dw / src.w, dh / src.h);
    box.w = MAX (1, MIN (dw, round (src.w * s)));
    box.h = MAX (1, MIN (dh, round (src.h * s)));
    box.x = floor ((dw - box.w) / 2);
    box.y = floor ((dh - box.h) / 2);
  } else if (fit == MO_FIT_CROP) {
    /* torchvision's Resize (short side to S) then CenterCrop, expressed as
     * one crop of the source; output pixel u then samples resized pixel
     * ox + u exactly as the two steps would. */
    double S = round (MIN (dw, dh) * 256.0 / 224.0);
    double rw = src.w <= src.h ? S : floor (S * src.w / src.h);
    double rh = src.h <= src.w ? S : floor (S * src.h / src.w);
    double sx = rw / src.w, sy = rh / src.h;
    /* CenterCrop's int (round (d / 2.0)) rounds halves to even. */
    src.x += nearbyint ((rw - dw) / 2.0) / sx;
    src.y += nearbyint ((rh - dh) / 2.0) / sy;
    src.w = dw / sx;
    src.h = dh / sy;
  }
  *src_out = src;
  *box_out = box;
}

void
mo_preprocess_plan_init (MoPreprocessPlan *p, const MoImage *img,
    const MoRect *crop, MoFit fit, const double mean[3], const double std[3],
    float *dst, int dw, int dh, int dcs, MoTransform *xf)
{
  memset (p, 0, sizeof (*p));
  p->img = *img;
  p->row = row_funcs[img->format];
  p->dst = dst;
  p->dw = dw;
  p->dh = dh;
  p->dcs = dcs;
  for (int c = 0; c < 3; c++) {
    p->scale[c] = (float) (1.0 / (255.0 * std[c]));
    p->bias[c] = (float) (-mean[c] / std[c]);
  }

  p->yuv = layouts[img->format].yuv;
  p->bpp = layouts[img->format].bpp;
  if (p->yuv) {
    /* Kr/Kb of BT.601 or BT.709, limited or full range, once per call. */
    float kr = img->matrix == MO_YUV_BT709 ? 0.2126f : 0.299f;
    float kb = img->matrix == MO_YUV_BT709 ? 0.0722f : 0.114f;
    float kg = 1.0f - kr - kb;
    float cs = img->full_range ? 1.0f : 255.0f / 224.0f;

    p->ys = img->full_range ? 1.0f : 255.0f / 219.0f;
    p->yoff = img->full_range ? 0.0f : 16.0f;
    p->rv = 2.0f * (1.0f - kr) * cs;
    p->gu = -2.0f * (1.0f - kb) * kb / kg * cs;
    p->gv = -2.0f * (1.0f - kr) * kr / kg * cs;
    p->bu = 2.0f * (1.0f - kb) * cs;

    p->yo = layouts[img->format].r;
    p->cstep = layouts[img->format].cstep;
    p->uo = layouts[img->format].u;
    p->vo = layouts[img->format].v;
    p->chroma_half_height = layouts[img->format].half_height;
    p->cw = (img->width + 1) / 2;
    p->ch = p->chroma_half_height ? (img->height + 1) / 2 : img->height;
    if (layouts[img->format].chroma_in_plane0) {
      p->uplane = p->vplane = img->planes[0];
      p->cstride = img->strides[0];
    } else {
      p->uplane = img->planes[1];
      p->vplane = layouts[img->format].v_in_plane1 ? img->planes[1] :
          img->planes[2];
      p->cstride = img->strides[1];
    }
  } else {
    p->yo = 0;
  }

  fit_geometry (img, crop, fit, dw, dh, &p->src, &p->box);
  p->sxs = p->src.w / p->box.w;
  p->sys = p->src.h / p->box.h;
  p->bx0 = (int) p->box.x;
  p->by0 = (int) p->box.y;
  p->bx1 = p->bx0 + (int) p->box.w;
  p->by1 = p->by0 + (int) p->box.h;
  if (xf != NULL) {
    xf->src = p->src;
    xf->dst = p->box;
    xf->input_width = dw;
    xf->input_height = dh;
  }
}

static void
col_taps (const MoPreprocessPlan *p, int u0, int n, ColTap *ct)
{
  const MoImage *img = &p->img;

  for (int i = 0; i < n; i++) {
    ColTap *t = &ct[i];
    double sx = p->src.x + (u0 + i - p->bx0 + 0.5) * p->sxs - 0.5;
    int x0, x1;

    tap_axis (sx, img->width, &x0, &x1, &t->fa);
    t->a0 = x0 * p->bpp + p->yo;
    t->a1 = x1 * p->bpp + p->yo;
    if (p->yuv) {
      /* Chroma sample centres sit between two luma columns. */
      tap_axis ((sx + 0.5) / 2 - 0.5, p->cw, &x0, &x1, &t->fc);
      t->c0 = x0 * p->cstep;
      t->c1 = x1 * p->cstep;
    }
  }
}

static void
row_taps (const MoPreprocessPlan *p, int v, RowTap *rt)
{
  const MoImage *img = &p->img;
  double sy = p->src.y + (v - p->by0 + 0.5) * p->sys - 0.5;
  int y0, y1;

  tap_axis (sy, img->height, &y0, &y1, &rt->fy);
  rt->r0 = img->planes[0] + (gsize) y0 * img->strides[0];
  rt->r1 = img->planes[0] + (gsize) y1 * img->strides[0];
  if (p->yuv) {
    if (p->chroma_half_height)
      tap_axis ((sy + 0.5) / 2 - 0.5, p->ch, &y0, &y1, &rt->fc);
    else
      rt->fc = rt->fy;
    rt->u0 = p->uplane + (gsize) y0 * p->cstride + p->uo;
    rt->u1 = p->uplane + (gsize) y1 * p->cstride + p->uo;
    rt->v0 = p->vplane + (gsize) y0 * p->cstride + p->vo;
    rt->v1 = p->vplane + (gsize) y1 * p->cstride + p->vo;
  }
}

/* Rows [v0, v1) of the output. */
static void
plan_rows (const MoPreprocessPlan *p, int v0, int v1)
{
  ColTap ct[TAP_BLOCK];
  const int dcs = p->dcs;

  for (int v = v0; v < v1; v++) {
    float *row = p->dst + (gsize) v * p->dw * dcs;

    if (v < p->by0 || v >= p->by1) {
      for (int u = 0; u < p->dw; u++)
        memset (row + (gsize) u * dcs, 0, 3 * sizeof (float));
      continue;
    }
    for (int u = 0; u < p->bx0; u++)
      memset (row + (gsize) u * dcs, 0, 3 * sizeof (float));
    for (int u = p->bx1; u < p->dw; u++)
      memset (row + (gsize) u * dcs, 0, 3 * sizeof (float));
  }
  for (int u0 = p->bx0; u0 < p->bx1; u0 += TAP_BLOCK) {
    int n = MIN (TAP_BLOCK, p->bx1 - u0);

    col_taps (p, u0, n, ct);
    for (int v = MAX (v0, p->by0); v < MIN (v1, p->by1); v++) {
      RowTap rt;

      row_taps (p, v, &rt);
      p->row (p, &rt, ct, n, p->dst + ((gsize) v * p->dw + u0) * dcs);
    }
  }
}

void
mo_preprocess_plan_run (const MoPreprocessPlan *p, int ith, int nth)
{
  plan_rows (p, p->dh * ith / nth, p->dh * (ith + 1) / nth);
}

void
mo_preprocess_fit (const MoImage *img, const MoRect *crop, MoFit fit,
    const double mean[3], const double std[3], float *dst, int dw, int dh,
    int dcs, MoTransform *xf)
{
  MoPreprocessPlan p;

  g_return_if_fail (img != NULL && dst != NULL);
  g_return_if_fail ((unsigned) img->format < MO_PIXEL_N_FORMATS);
  g_return_if_fail (img->width > 0 && img->height > 0 && dw > 0 && dh > 0);

  mo_preprocess_plan_init (&p, img, crop, fit, mean, std, dst, dw, dh, dcs,
      xf);
  plan_rows (&p, 0, dh);
}

void
mo_preprocess (const MoImage *img, const MoRect *crop, gboolean letterbox,
    const double mean[3], const double std[3], float *dst, int dw, int dh,
    int dcs, MoTransform *xf)
{
  mo_preprocess_fit (img, crop, letterbox ? MO_FIT_LETTERBOX :
      MO_FIT_STRETCH, mean, std, dst, dw, dh, dcs, xf);
}

void
mo_transform_point (const MoTransform *xf, double u, double v, double *x,
    double *y)
{
  *x = xf->src.x + (u - xf->dst.x) * xf->src.w / xf->dst.w;
  *y = xf->src.y + (v - xf->dst.y) * xf->src.h / xf->dst.h;
}
