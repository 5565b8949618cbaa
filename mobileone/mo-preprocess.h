/* mobileone-gst engine: image to model input in one pass (colour conversion,
 * crop, bilinear resize fitted by stretching, letterboxing or centre
 * cropping, normalisation), and the mapping of model coordinates back to the
 * image. One row function per pixel format, chosen once per call from a
 * table; the colour matrix is worked out once per call. Allocates nothing.
 * mo_session_set_input_image() (mobileone.h) runs it on the session's
 * threads. */
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
  MO_PIXEL_I420,                /* Y, U, V planes, 4:2:0 */
  MO_PIXEL_YUY2,                /* packed 4:2:2: Y0 U Y1 V */
  MO_PIXEL_UYVY,                /* packed 4:2:2: U Y0 V Y1 */
  MO_PIXEL_N_FORMATS
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

/**
 * MoFit:
 * @MO_FIT_STRETCH: the picture (or crop) fills the model input, its aspect
 *   ratio changed
 * @MO_FIT_LETTERBOX: scaled to fit inside the input with its aspect ratio
 *   kept, centred; the borders are 0 (the mean colour)
 * @MO_FIT_CROP: ImageNet evaluation's torchvision Resize + CenterCrop: the
 *   short side scaled to round (min (input w, h) * 256 / 224) (the long side
 *   in proportion, truncated), then the centre input-sized part cut out
 *
 * How a picture is fitted into the model input.
 */
typedef enum
{
  MO_FIT_STRETCH,
  MO_FIT_LETTERBOX,
  MO_FIT_CROP
} MoFit;

/** mo_fit_to_string: "stretch", "letterbox" or "crop". */
MO_API const char *mo_fit_to_string (MoFit fit);

/** mo_fit_from_string: parses the names of mo_fit_to_string(); FALSE if unknown. */
MO_API gboolean mo_fit_from_string (const char *name, MoFit * fit);

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
 * mo_preprocess_fit: fills the NHWC model input @dst (@dw x @dh, channel
 * stride @dcs, channels R, G, B) from @crop of @img (NULL = the whole
 * image) fitted by @fit, bilinear with pixel centres at +0.5 (PyTorch's
 * align_corners = False, no antialiasing), normalised as
 * (v / 255 - mean) / std. YUV is converted with @img's matrix and range
 * after interpolation, chroma sited at the centre of the luma pixels it
 * covers. @xf (optional) receives the mapping back to image coordinates.
 * Runs on the calling thread; mo_session_set_input_image() splits the rows
 * over the session's threads with the same results.
 */
MO_API void mo_preprocess_fit (const MoImage * img, const MoRect * crop, MoFit fit,
    const double mean[3], const double std[3], float *dst, int dw, int dh,
    int dcs, MoTransform * xf);

/**
 * mo_preprocess: mo_preprocess_fit() with MO_FIT_LETTERBOX when @letterbox,
 * else MO_FIT_STRETCH (the API before fit modes).
 */
MO_API void mo_preprocess (const MoImage * img, const MoRect * crop,
    gboolean letterbox, const double mean[3], const double std[3], float *dst,
    int dw, int dh, int dcs, MoTransform * xf);

/** mo_transform_point: model input (@u, @v) to image coordinates. */
MO_API void mo_transform_point (const MoTransform * xf, double u, double v,
    double *x, double *y);

G_END_DECLS
