/* mobileone-gst engine: preprocessing. */
#include "mo-preprocess.h"

#include <math.h>
#include <string.h>

typedef struct
{
  float r, g, b;
} Rgb;

/* The byte offsets of R, G, B and the bytes per pixel of packed formats. */
static void
packed_layout (MoPixelFormat f, int *bpp, int *r, int *g, int *b)
{
  static const int t[][4] = {
    [MO_PIXEL_RGB] = {3, 0, 1, 2},
    [MO_PIXEL_BGR] = {3, 2, 1, 0},
    [MO_PIXEL_RGBX] = {4, 0, 1, 2},
    [MO_PIXEL_BGRX] = {4, 2, 1, 0},
    [MO_PIXEL_XRGB] = {4, 1, 2, 3},
    [MO_PIXEL_XBGR] = {4, 3, 2, 1},
    [MO_PIXEL_GRAY8] = {1, 0, 0, 0},
  };
  *bpp = t[f][0];
  *r = t[f][1];
  *g = t[f][2];
  *b = t[f][3];
}

/* One bilinear tap set: 2 columns and 2 rows with weights. */
typedef struct
{
  int x0, x1, y0, y1;
  float fx, fy;
} Tap;

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

static inline Rgb
sample_packed (const MoImage *img, const Tap *t, int bpp, int ro, int go,
    int bo)
{
  const guint8 *r0 = img->planes[0] + (gsize) t->y0 * img->strides[0];
  const guint8 *r1 = img->planes[0] + (gsize) t->y1 * img->strides[0];
  int a = t->x0 * bpp, b = t->x1 * bpp;
  Rgb c = { lerp2 (r0 + ro, r1 + ro, a, b, t->fx, t->fy),
    lerp2 (r0 + go, r1 + go, a, b, t->fx, t->fy),
    lerp2 (r0 + bo, r1 + bo, a, b, t->fx, t->fy)
  };
  return c;
}

static inline Rgb
sample_yuv (const MoImage *img, double sx, double sy)
{
  Tap y, c;
  int cw = (img->width + 1) / 2, ch = (img->height + 1) / 2;
  float Y, U, V;

  tap_axis (sx, img->width, &y.x0, &y.x1, &y.fx);
  tap_axis (sy, img->height, &y.y0, &y.y1, &y.fy);
  Y = lerp2 (img->planes[0] + (gsize) y.y0 * img->strides[0],
      img->planes[0] + (gsize) y.y1 * img->strides[0], y.x0, y.x1, y.fx, y.fy);
  /* Chroma sample centres sit between two luma rows and columns. */
  tap_axis ((sx + 0.5) / 2 - 0.5, cw, &c.x0, &c.x1, &c.fx);
  tap_axis ((sy + 0.5) / 2 - 0.5, ch, &c.y0, &c.y1, &c.fy);
  if (img->format == MO_PIXEL_NV12) {
    const guint8 *p0 = img->planes[1] + (gsize) c.y0 * img->strides[1];
    const guint8 *p1 = img->planes[1] + (gsize) c.y1 * img->strides[1];
    U = lerp2 (p0, p1, 2 * c.x0, 2 * c.x1, c.fx, c.fy);
    V = lerp2 (p0 + 1, p1 + 1, 2 * c.x0, 2 * c.x1, c.fx, c.fy);
  } else {
    U = lerp2 (img->planes[1] + (gsize) c.y0 * img->strides[1],
        img->planes[1] + (gsize) c.y1 * img->strides[1], c.x0, c.x1, c.fx,
        c.fy);
    V = lerp2 (img->planes[2] + (gsize) c.y0 * img->strides[2],
        img->planes[2] + (gsize) c.y1 * img->strides[2], c.x0, c.x1, c.fx,
        c.fy);
  }
  /* Kr/Kb of BT.601 and BT.709, for limited or full range. */
  float kr = img->matrix == MO_YUV_BT709 ? 0.2126f : 0.299f;
  float kb = img->matrix == MO_YUV_BT709 ? 0.0722f : 0.114f;
  float kg = 1.0f - kr - kb;
  float ys = img->full_range ? 1.0f : 255.0f / 219.0f;
  float cs = img->full_range ? 1.0f : 255.0f / 224.0f;
  float yy = (Y - (img->full_range ? 0.0f : 16.0f)) * ys;
  float u = (U - 128.0f) * cs, v = (V - 128.0f) * cs;
  Rgb out = { yy + 2.0f * (1.0f - kr) * v,
    yy - 2.0f * (1.0f - kb) * kb / kg * u - 2.0f * (1.0f - kr) * kr / kg * v,
    yy + 2.0f * (1.0f - kb) * u
  };
  out.r = CLAMP (out.r, 0.0f, 255.0f);
  out.g = CLAMP (out.g, 0.0f, 255.0f);
  out.b = CLAMP (out.b, 0.0f, 255.0f);
  return out;
}

void
mo_preprocess (const MoImage *img, const MoRect *crop, gboolean letterbox,
    const double mean[3], const double std[3], float *dst, int dw, int dh,
    int dcs, MoTransform *xf)
{
  MoRect src = { 0, 0, img->width, img->height };
  MoRect box = { 0, 0, dw, dh };
  float scale[3], bias[3];

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
  if (letterbox) {
    double s = MIN (dw / src.w, dh / src.h);
    box.w = MAX (1, MIN (dw, round (src.w * s)));
    box.h = MAX (1, MIN (dh, round (src.h * s)));
    box.x = floor ((dw - box.w) / 2);
    box.y = floor ((dh - box.h) / 2);
  }
  for (int c = 0; c < 3; c++) {
    scale[c] = (float) (1.0 / (255.0 * std[c]));
    bias[c] = (float) (-mean[c] / std[c]);
  }

  int bpp = 0, ro = 0, go = 0, bo = 0;
  gboolean yuv = img->format == MO_PIXEL_NV12 || img->format == MO_PIXEL_I420;
  if (!yuv)
    packed_layout (img->format, &bpp, &ro, &go, &bo);

  double sxs = src.w / box.w, sys = src.h / box.h;
  int bx0 = (int) box.x, by0 = (int) box.y;
  int bx1 = bx0 + (int) box.w, by1 = by0 + (int) box.h;

  for (int v = 0; v < dh; v++) {
    float *row = dst + (gsize) v * dw * dcs;
    if (v < by0 || v >= by1) {
      for (int u = 0; u < dw; u++)
        memset (row + (gsize) u * dcs, 0, 3 * sizeof (float));
      continue;
    }
    double sy = src.y + (v - by0 + 0.5) * sys - 0.5;
    Tap t;
    tap_axis (sy, img->height, &t.y0, &t.y1, &t.fy);
    for (int u = 0; u < dw; u++) {
      float *o = row + (gsize) u * dcs;
      if (u < bx0 || u >= bx1) {
        o[0] = o[1] = o[2] = 0.0f;
        continue;
      }
      double sx = src.x + (u - bx0 + 0.5) * sxs - 0.5;
      Rgb c;
      if (yuv) {
        c = sample_yuv (img, sx, sy);
      } else {
        tap_axis (sx, img->width, &t.x0, &t.x1, &t.fx);
        c = sample_packed (img, &t, bpp, ro, go, bo);
      }
      o[0] = c.r * scale[0] + bias[0];
      o[1] = c.g * scale[1] + bias[1];
      o[2] = c.b * scale[2] + bias[2];
    }
  }
  if (xf != NULL) {
    xf->src = src;
    xf->dst = box;
    xf->input_width = dw;
    xf->input_height = dh;
  }
}

void
mo_transform_point (const MoTransform *xf, double u, double v, double *x,
    double *y)
{
  *x = xf->src.x + (u - xf->dst.x) * xf->src.w / xf->dst.w;
  *y = xf->src.y + (v - xf->dst.y) * xf->src.h / xf->dst.h;
}
