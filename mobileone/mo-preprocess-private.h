/* mobileone-gst engine: the pre-processing stage as the session runs it.
 * Not installed. */
#pragma once

#include "mo-preprocess.h"

G_BEGIN_DECLS

/* The horizontal taps of one output column: byte offsets in the row of the
 * two luma (or packed pixel) samples and of the two chroma samples, and
 * their weights. */
typedef struct
{
  int a0, a1;
  float fa;
  int c0, c1;
  float fc;
} ColTap;

/* The vertical taps of one output row: the two source rows of each plane
 * and their weights. For packed formats only r0/r1 are used. */
typedef struct
{
  const guint8 *r0, *r1;        /* luma or packed pixels */
  float fy;
  const guint8 *u0, *u1, *v0, *v1;      /* chroma, already at the U / V byte */
  float fc;
} RowTap;

typedef struct _MoPreprocessPlan MoPreprocessPlan;

/* Fills @n output pixels (channel stride @dcs) of one row. */
typedef void (*RowFunc) (const MoPreprocessPlan * p, const RowTap * rt, const ColTap * ct,
    int n, float *out);

struct _MoPreprocessPlan
{
  MoImage img;                  /* a copy: the planes are the caller's */
  RowFunc row;
  float scale[3], bias[3];      /* normalisation */
  /* YUV: R = ys (Y - yoff) + rv V', G = ys (Y - yoff) + gu U' + gv V',
   * B = ys (Y - yoff) + bu U', with U' = U - 128, V' = V - 128. */
  float yoff, ys, rv, gu, gv, bu;
  /* packed: bytes per pixel; YUV: bytes from one luma / chroma sample to
   * the next and the byte of Y, U and V in a (macro)pixel */
  int bpp, cstep, yo, uo, vo;
  gboolean yuv, chroma_half_height;
  const guint8 *uplane, *vplane;
  int cstride, cw, ch;
  /* geometry */
  MoRect src, box;
  double sxs, sys;
  int bx0, bx1, by0, by1;
  float *dst;
  int dw, dh, dcs;
};

/**
 * mo_preprocess_plan_init: plans mo_preprocess_fit() (geometry, colour
 * matrix, row function) without touching a pixel; @xf (optional) receives
 * the mapping back to the image.
 */
void mo_preprocess_plan_init (MoPreprocessPlan * p, const MoImage * img,
    const MoRect * crop, MoFit fit, const double mean[3], const double std[3],
    float *dst, int dw, int dh, int dcs, MoTransform * xf);

/** mo_preprocess_plan_run: the output rows of thread @ith of @nth. */
void mo_preprocess_plan_run (const MoPreprocessPlan * p, int ith, int nth);

G_END_DECLS
