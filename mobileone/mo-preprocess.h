/* mobileone-gst engine: image to model input in one pass (colour conversion,
 * crop, bilinear resize with optional letterbox, normalisation), and the
 * mapping of model coordinates back to the image. Allocates nothing. */
#pragma once

#include <glib.h>
#include "mo-api.h"

G_BEGIN_DECLS

typedef enum
{
  MO_PIXEL_RGB,                 /* packed 8-bit formats, named by byte order */
  MO_PIXEL_BGR,
  MO_PIXEL_RGBX,                /* also RGBA */
  MO_PIXEL_BGRX,                /* also BGRA */
  MO_PIXEL_XRGB,                /* also ARGB */
  MO_PIXEL_XBGR,                /* also ABGR */
  MO_PIXEL_GRAY8,
  MO_PIXEL_NV12,                /* Y plane + interleaved UV plane, 4:2:0 */
  MO_PIXEL_I420                 /* Y, U, V planes, 4:2:0 */
} MoPixelFormat;

typedef enum
{
  MO_YUV_BT601,
  MO_YUV_BT709
} MoYuvMatrix;

typedef struct
{
  MoPixelFormat format;
  int width, height;
  const guint8 *planes[3];
  int strides[3];               /* bytes per row of each plane */
  MoYuvMatrix matrix;           /* YUV formats only */
  gboolean full_range;          /* YUV formats only: 0..255 instead of 16..235 */
} MoImage;

/* A rectangle in image pixels. */
typedef struct
{
  double x, y, w, h;
} MoRect;

/* Where the image (or its crop) landed in the model input, to map results
 * back: image x = src.x + (u - dst.x) * src.w / dst.w, same for y. */
typedef struct
{
  MoRect src;                   /* the part of the image that was used */
  MoRect dst;                   /* where it lies in the model input */
  int input_width, input_height;
} MoTransform;

/**
 * mo_preprocess: fills the NHWC model input @dst (@dw x @dh, channel stride
 * @dcs, channels R, G, B) from @crop of @img (NULL = the whole image),
 * bilinear with pixel centres at +0.5 (PyTorch's align_corners = False),
 * normalised as (v / 255 - mean) / std. With @letterbox the aspect ratio is
 * kept and the borders are 0 (the mean colour). @xf (optional) receives the
 * mapping back to image coordinates.
 */
MO_API void mo_preprocess (const MoImage * img, const MoRect * crop,
    gboolean letterbox, const double mean[3], const double std[3], float *dst,
    int dw, int dh, int dcs, MoTransform * xf);

/** mo_transform_point: model input (@u, @v) to image coordinates. */
MO_API void mo_transform_point (const MoTransform * xf, double u, double v,
    double *x, double *y);

G_END_DECLS
