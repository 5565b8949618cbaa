/**
 * SECTION:element-mobileoneoverlay
 * @title: mobileoneoverlay
 *
 * Draws what upstream elements attached to the frames: the boxes of
 * #GstVideoRegionOfInterestMeta (mobileonedetect or any element that
 * attaches them) in a colour per class, their label and confidence
 * ("detection" and "classification" params) as text, and the masks of
 * #GstMobileOneMaskMeta (mobileonesegment) blended with a colour per class.
 * A region that covers the whole frame and is not a detection (the result
 * of a whole-frame mobileoneclassify) is drawn as text only, in the top
 * left corner. Line width and text size follow the frame size unless set.
 * Frames without metas pass untouched.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! mobileonedetect ! mobileoneoverlay ! videoconvert ! autovideosink
 * ]| Draws the detections.
 * |[
 * gst-launch-1.0 filesrc location=in.jpg ! jpegdec ! videoconvert ! mobileonesegment ! mobileoneoverlay mask-opacity=0.6 ! videoconvert ! pngenc ! filesink location=out.png
 * ]| Blends the mask of a picture and writes a PNG.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneoverlay.h"
#include "gstmobileonemeta.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileoneroi.h"
#include "mo-palette.h"

#include <math.h>
#include <string.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#define N_PALETTE 256
/* Labels per frame that later ones keep clear of; further ones are placed
 * without looking. */
#define MAX_LABELS 256

typedef struct
{
  guint8 r, g, b;
  guint8 y, u, v;
} Colour;

struct _GstMobileOneOverlay
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  gboolean draw_boxes;
  gboolean draw_labels;
  gboolean draw_masks;
  gdouble mask_opacity;
  guint line_width;
  gchar *font_desc;
  guint font_serial;            /* bumped when font-desc changes */

  /* from set_info(): the layout of the format */
  gboolean yuv;
  gboolean nv12;
  gint bpp, ro, go, bo;
  gdouble kr, kb;
  gboolean full_range;
  Colour palette[N_PALETTE];
  gint *xmap;                   /* frame column -> mask column */

  /* text, made in set_info() and again when the font changes */
  cairo_surface_t *text_surface;
  cairo_t *cr;
  PangoLayout *layout;
  gint text_height;             /* of one line, padding included */
  guint applied_font_serial;

  /* the labels drawn on this frame so far */
  GstMobileOneRect labels[MAX_LABELS];
  guint n_labels;
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_overlay_debug);
#define GST_CAT_DEFAULT gst_mobile_one_overlay_debug

enum
{
  PROP_0,
  PROP_DRAW_BOXES,
  PROP_DRAW_LABELS,
  PROP_DRAW_MASKS,
  PROP_MASK_OPACITY,
  PROP_LINE_WIDTH,
  PROP_FONT_DESC,
};

#define DEFAULT_DRAW_BOXES TRUE
#define DEFAULT_DRAW_LABELS TRUE
#define DEFAULT_DRAW_MASKS TRUE
#define DEFAULT_MASK_OPACITY 0.5
#define DEFAULT_LINE_WIDTH 0
#define DEFAULT_FONT_DESC NULL

#define FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, NV12, I420 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));

#define gst_mobile_one_overlay_parent_class parent_class
G_DEFINE_TYPE (GstMobileOneOverlay, gst_mobile_one_overlay,
    GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (mobileoneoverlay, "mobileoneoverlay",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_OVERLAY);

static void gst_mobile_one_overlay_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_overlay_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_overlay_finalize (GObject * object);
static gboolean gst_mobile_one_overlay_stop (GstBaseTransform * trans);
static GstFlowReturn gst_mobile_one_overlay_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);
static gboolean gst_mobile_one_overlay_set_info (GstVideoFilter * filter,
    GstCaps * incaps, GstVideoInfo * in_info, GstCaps * outcaps,
    GstVideoInfo * out_info);

static void
gst_mobile_one_overlay_class_init (GstMobileOneOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_overlay_debug, "mobileoneoverlay",
      0, "MobileOne results overlay");

  gobject_class->set_property = gst_mobile_one_overlay_set_property;
  gobject_class->get_property = gst_mobile_one_overlay_get_property;
  gobject_class->finalize = gst_mobile_one_overlay_finalize;

  /**
   * GstMobileOneOverlay:draw-boxes:
   *
   * Draw the outline of every region of interest.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_BOXES,
      g_param_spec_boolean ("draw-boxes", "Draw boxes",
          "Draw the outline of every region of interest", DEFAULT_DRAW_BOXES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneOverlay:draw-labels:
   *
   * Write the label and confidence of every region of interest.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_LABELS,
      g_param_spec_boolean ("draw-labels", "Draw labels",
          "Write the label and confidence of every region of interest",
          DEFAULT_DRAW_LABELS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneOverlay:draw-masks:
   *
   * Blend segmentation masks (#GstMobileOneMaskMeta) onto the frame.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_MASKS,
      g_param_spec_boolean ("draw-masks", "Draw masks",
          "Blend segmentation masks onto the frame", DEFAULT_DRAW_MASKS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneOverlay:mask-opacity:
   *
   * Opacity of the class colours of a mask; the background (class 0) is
   * never drawn.
   */
  g_object_class_install_property (gobject_class, PROP_MASK_OPACITY,
      g_param_spec_double ("mask-opacity", "Mask opacity",
          "Opacity of the mask colours (the background stays clear)", 0.0,
          1.0, DEFAULT_MASK_OPACITY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneOverlay:line-width:
   *
   * Width of the box outlines in pixels; 0 scales it with the frame size.
   */
  g_object_class_install_property (gobject_class, PROP_LINE_WIDTH,
      g_param_spec_uint ("line-width", "Line width",
          "Width of the box outlines in pixels (0 = from the frame size)", 0,
          100, DEFAULT_LINE_WIDTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneOverlay:font-desc:
   *
   * Pango font description of the labels, e.g. "Sans Bold 14". Without a
   * size (or unset) the text height follows the frame height.
   */
  g_object_class_install_property (gobject_class, PROP_FONT_DESC,
      g_param_spec_string ("font-desc", "Font description",
          "Pango font description of the labels (no size: scaled with the "
          "frame)", DEFAULT_FONT_DESC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileOne results overlay", "Filter/Effect/Video",
      "Draws regions of interest, labels and segmentation masks onto video",
      MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileoneoverlay");

  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobile_one_overlay_stop);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mobile_one_overlay_transform_ip);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_mobile_one_overlay_set_info);
}

static void
gst_mobile_one_overlay_init (GstMobileOneOverlay * self)
{
  self->draw_boxes = DEFAULT_DRAW_BOXES;
  self->draw_labels = DEFAULT_DRAW_LABELS;
  self->draw_masks = DEFAULT_DRAW_MASKS;
  self->mask_opacity = DEFAULT_MASK_OPACITY;
  self->line_width = DEFAULT_LINE_WIDTH;
  self->font_desc = g_strdup (DEFAULT_FONT_DESC);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
clear_text (GstMobileOneOverlay * self)
{
  g_clear_object (&self->layout);
  g_clear_pointer (&self->cr, cairo_destroy);
  g_clear_pointer (&self->text_surface, cairo_surface_destroy);
}

static void
gst_mobile_one_overlay_finalize (GObject * object)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (object);

  clear_text (self);
  g_free (self->xmap);
  g_free (self->font_desc);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mobile_one_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_DRAW_BOXES:
      self->draw_boxes = g_value_get_boolean (value);
      break;
    case PROP_DRAW_LABELS:
      self->draw_labels = g_value_get_boolean (value);
      break;
    case PROP_DRAW_MASKS:
      self->draw_masks = g_value_get_boolean (value);
      break;
    case PROP_MASK_OPACITY:
      self->mask_opacity = g_value_get_double (value);
      break;
    case PROP_LINE_WIDTH:
      self->line_width = g_value_get_uint (value);
      break;
    case PROP_FONT_DESC:
      g_free (self->font_desc);
      self->font_desc = g_value_dup_string (value);
      self->font_serial++;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_overlay_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_DRAW_BOXES:
      g_value_set_boolean (value, self->draw_boxes);
      break;
    case PROP_DRAW_LABELS:
      g_value_set_boolean (value, self->draw_labels);
      break;
    case PROP_DRAW_MASKS:
      g_value_set_boolean (value, self->draw_masks);
      break;
    case PROP_MASK_OPACITY:
      g_value_set_double (value, self->mask_opacity);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_uint (value, self->line_width);
      break;
    case PROP_FONT_DESC:
      g_value_set_string (value, self->font_desc);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobile_one_overlay_stop (GstBaseTransform * trans)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (trans);

  clear_text (self);
  g_clear_pointer (&self->xmap, g_free);
  return TRUE;
}

/* Colours ---------------------------------------------------------------- */

static void
make_colour (GstMobileOneOverlay * self, guint8 r, guint8 g, guint8 b,
    Colour * c)
{
  gdouble R = r / 255.0, G = g / 255.0, B = b / 255.0;
  gdouble Y = self->kr * R + (1 - self->kr - self->kb) * G + self->kb * B;
  gdouble Pb = (B - Y) / (2 * (1 - self->kb));
  gdouble Pr = (R - Y) / (2 * (1 - self->kr));

  c->r = r;
  c->g = g;
  c->b = b;
  if (self->full_range) {
    c->y = (guint8) CLAMP (lround (Y * 255), 0, 255);
    c->u = (guint8) CLAMP (lround (128 + Pb * 255), 0, 255);
    c->v = (guint8) CLAMP (lround (128 + Pr * 255), 0, 255);
  } else {
    c->y = (guint8) CLAMP (lround (16 + Y * 219), 0, 255);
    c->u = (guint8) CLAMP (lround (128 + Pb * 224), 0, 255);
    c->v = (guint8) CLAMP (lround (128 + Pr * 224), 0, 255);
  }
}

static const Colour *
class_colour (GstMobileOneOverlay * self, guint class_id)
{
  return &self->palette[class_id % N_PALETTE];
}

/* Drawing primitives, for every format ------------------------------------ */

static inline guint8
mix (guint8 dst, guint8 src, guint a)
{
  return (guint8) ((src * a + dst * (255 - a) + 127) / 255);
}

/* An opaque rectangle [x0, x1) x [y0, y1), clipped to the frame. */
static void
fill_rect (GstMobileOneOverlay * self, GstVideoFrame * f, gint x0, gint y0,
    gint x1, gint y1, const Colour * c)
{
  gint w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);

  x0 = CLAMP (x0, 0, w);
  x1 = CLAMP (x1, 0, w);
  y0 = CLAMP (y0, 0, h);
  y1 = CLAMP (y1, 0, h);
  if (x0 >= x1 || y0 >= y1)
    return;

  if (!self->yuv) {
    guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (f, 0);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);

    for (gint y = y0; y < y1; y++) {
      guint8 *p = data + (gsize) y * stride + (gsize) x0 * self->bpp;

      for (gint x = x0; x < x1; x++, p += self->bpp) {
        p[self->ro] = c->r;
        p[self->go] = c->g;
        p[self->bo] = c->b;
      }
    }
    return;
  }

  for (gint y = y0; y < y1; y++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0) + x0, c->y, x1 - x0);
  /* Chroma: every sample that the rectangle touches. */
  for (gint cy = y0 / 2; cy < (y1 + 1) / 2; cy++) {
    if (self->nv12) {
      guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1) +
          (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1);

      for (gint cx = x0 / 2; cx < (x1 + 1) / 2; cx++) {
        p[2 * cx] = c->u;
        p[2 * cx + 1] = c->v;
      }
    } else {
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1) +
          (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1) + x0 / 2, c->u,
          (x1 + 1) / 2 - x0 / 2);
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 2) +
          (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 2) + x0 / 2, c->v,
          (x1 + 1) / 2 - x0 / 2);
    }
  }
}

/* The outline of a box, @lw pixels wide, inside [x0, x1) x [y0, y1). */
static void
draw_box (GstMobileOneOverlay * self, GstVideoFrame * f, gint x0, gint y0,
    gint x1, gint y1, gint lw, const Colour * c)
{
  lw = MIN (lw, MAX (1, MIN (x1 - x0, y1 - y0) / 2));
  fill_rect (self, f, x0, y0, x1, y0 + lw, c);
  fill_rect (self, f, x0, y1 - lw, x1, y1, c);
  fill_rect (self, f, x0, y0 + lw, x0 + lw, y1 - lw, c);
  fill_rect (self, f, x1 - lw, y0 + lw, x1, y1 - lw, c);
}

/* Blends @sw x @sh pixels of the text surface (cairo ARGB32, premultiplied)
 * at (@x, @y). */
static void
blend_text (GstMobileOneOverlay * self, GstVideoFrame * f, gint x, gint y,
    gint sw, gint sh)
{
  const guint8 *sdata = cairo_image_surface_get_data (self->text_surface);
  gint sstride = cairo_image_surface_get_stride (self->text_surface);
  gint w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);
  gint x0 = MAX (x, 0), y0 = MAX (y, 0);
  gint x1 = MIN (x + sw, w), y1 = MIN (y + sh, h);

  if (x0 >= x1 || y0 >= y1)
    return;

  for (gint fy = y0; fy < y1; fy++) {
    const guint32 *s = (const guint32 *) (sdata + (gsize) (fy - y) * sstride);
    guint8 *d = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0) +
        (gsize) fy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);

    for (gint fx = x0; fx < x1; fx++) {
      guint32 px = s[fx - x];
      guint a = px >> 24;
      Colour c;

      if (a == 0)
        continue;
      /* Un-premultiply, then blend like any colour. */
      make_colour (self, (guint8) (((px >> 16) & 0xff) * 255 / a),
          (guint8) (((px >> 8) & 0xff) * 255 / a),
          (guint8) ((px & 0xff) * 255 / a), &c);
      if (self->yuv) {
        d[fx] = mix (d[fx], c.y, a);
      } else {
        guint8 *p = d + (gsize) fx * self->bpp;

        p[self->ro] = mix (p[self->ro], c.r, a);
        p[self->go] = mix (p[self->go], c.g, a);
        p[self->bo] = mix (p[self->bo], c.b, a);
      }
    }
  }
  if (!self->yuv)
    return;
  for (gint cy = y0 / 2; cy < (y1 + 1) / 2; cy++) {
    gint sy = CLAMP (2 * cy - y, 0, sh - 1);
    const guint32 *s = (const guint32 *) (sdata + (gsize) sy * sstride);
    guint8 *u = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1) +
        (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1);
    guint8 *v = self->nv12 ? u + 1 : (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f,
        2) + (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 2);
    gint step = self->nv12 ? 2 : 1;

    for (gint cx = x0 / 2; cx < (x1 + 1) / 2; cx++) {
      guint32 px = s[CLAMP (2 * cx - x, 0, sw - 1)];
      guint a = px >> 24;
      Colour c;

      if (a == 0)
        continue;
      make_colour (self, (guint8) (((px >> 16) & 0xff) * 255 / a),
          (guint8) (((px >> 8) & 0xff) * 255 / a),
          (guint8) ((px & 0xff) * 255 / a), &c);
      u[cx * step] = mix (u[cx * step], c.u, a);
      v[cx * step] = mix (v[cx * step], c.v, a);
    }
  }
}

/* Blends the class colours of @meta's map (nearest neighbour) over the
 * frame rectangle it covers; the background stays clear. */
static void
blend_mask (GstMobileOneOverlay * self, GstVideoFrame * f,
    const GstMobileOneMaskMeta * meta, guint alpha)
{
  gint w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);
  gint x0 = MAX (meta->x, 0), y0 = MAX (meta->y, 0);
  gint x1 = MIN (meta->x + (gint) meta->w, w);
  gint y1 = MIN (meta->y + (gint) meta->h, h);
  GstMapInfo map;

  if (x0 >= x1 || y0 >= y1 || meta->width == 0 || meta->height == 0)
    return;
  if (!gst_buffer_map (meta->mask, &map, GST_MAP_READ))
    return;

  for (gint x = x0; x < x1; x++)
    self->xmap[x] = (gint) (((gint64) (x - meta->x) * meta->width) / meta->w);

#define MASK_ROW(fy) (map.data + (gsize) ((((gint64) (fy) - meta->y) * \
    meta->height) / meta->h) * meta->stride)

  for (gint y = y0; y < y1; y++) {
    const guint8 *m = MASK_ROW (y);
    guint8 *d = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);

    for (gint x = x0; x < x1; x++) {
      guint id = m[self->xmap[x]];
      const Colour *c;

      if (id == 0)
        continue;
      c = class_colour (self, id);
      if (self->yuv) {
        d[x] = mix (d[x], c->y, alpha);
      } else {
        guint8 *p = d + (gsize) x * self->bpp;

        p[self->ro] = mix (p[self->ro], c->r, alpha);
        p[self->go] = mix (p[self->go], c->g, alpha);
        p[self->bo] = mix (p[self->bo], c->b, alpha);
      }
    }
  }
  if (self->yuv) {
    gint cw = (w + 1) / 2;

    for (gint cy = y0 / 2; cy < (y1 + 1) / 2; cy++) {
      gint fy = CLAMP (2 * cy, y0, y1 - 1);
      const guint8 *m = MASK_ROW (fy);
      guint8 *u = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1) +
          (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1);
      guint8 *v = self->nv12 ? u + 1 :
          (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 2) +
          (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 2);
      gint step = self->nv12 ? 2 : 1;

      for (gint cx = x0 / 2; cx < MIN ((x1 + 1) / 2, cw); cx++) {
        guint id = m[self->xmap[CLAMP (2 * cx, x0, x1 - 1)]];
        const Colour *c;

        if (id == 0)
          continue;
        c = class_colour (self, id);
        u[cx * step] = mix (u[cx * step], c->u, alpha);
        v[cx * step] = mix (v[cx * step], c->v, alpha);
      }
    }
  }
#undef MASK_ROW
  gst_buffer_unmap (meta->mask, &map);
}

/* Text ------------------------------------------------------------------- */

static gboolean
setup_text (GstMobileOneOverlay * self, gint width, gint height)
{
  PangoFontDescription *desc;
  PangoContext *context;
  cairo_font_options_t *options;
  gint lw, lh, pad;
  guint serial;
  gchar *font;

  GST_OBJECT_LOCK (self);
  font = g_strdup (self->font_desc);
  serial = self->font_serial;
  GST_OBJECT_UNLOCK (self);

  clear_text (self);
  desc = pango_font_description_from_string (font ? font : "Sans");
  if (pango_font_description_get_family (desc) == NULL)
    pango_font_description_set_family (desc, "Sans");
  /* No size given: about 36 lines of text per frame height. */
  if (pango_font_description_get_size (desc) == 0)
    pango_font_description_set_absolute_size (desc,
        MAX (9, height / 36) * PANGO_SCALE);
  g_free (font);

  /* One line of text, measured with a tall and a deep letter. */
  self->text_surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  self->cr = cairo_create (self->text_surface);
  self->layout = pango_cairo_create_layout (self->cr);
  pango_layout_set_font_description (self->layout, desc);
  pango_layout_set_text (self->layout, "Ag", -1);
  pango_layout_get_pixel_size (self->layout, &lw, &lh);
  pad = MAX (1, lh / 8);
  self->text_height = lh + 2 * pad;
  g_object_unref (self->layout);
  cairo_destroy (self->cr);
  cairo_surface_destroy (self->text_surface);

  self->text_surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
      MAX (width, 1), self->text_height);
  if (cairo_surface_status (self->text_surface) != CAIRO_STATUS_SUCCESS)
    goto cairo_failed;
  self->cr = cairo_create (self->text_surface);
  options = cairo_font_options_create ();
  cairo_font_options_set_antialias (options, CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_SLIGHT);
  self->layout = pango_cairo_create_layout (self->cr);
  context = pango_layout_get_context (self->layout);
  pango_cairo_context_set_font_options (context, options);
  pango_layout_context_changed (self->layout);
  cairo_font_options_destroy (options);
  pango_layout_set_font_description (self->layout, desc);
  pango_layout_set_single_paragraph_mode (self->layout, TRUE);
  pango_font_description_free (desc);
  self->applied_font_serial = serial;
  return TRUE;

  /* ERRORS */
cairo_failed:
  {
    pango_font_description_free (desc);
    GST_ERROR_OBJECT (self, "could not make a %dx%d text surface", width,
        self->text_height);
    clear_text (self);
    return FALSE;
  }
}

/* Renders @text onto the text surface; returns the width of its box. */
static gint
render_text (GstMobileOneOverlay * self, const gchar * text,
    const Colour * bg)
{
  gint tw, th, pad = MAX (1, self->text_height / 10);
  gboolean dark = 0.299 * bg->r + 0.587 * bg->g + 0.114 * bg->b > 150;

  cairo_save (self->cr);
  cairo_set_operator (self->cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (self->cr);
  cairo_restore (self->cr);

  pango_layout_set_text (self->layout, text, -1);
  pango_layout_get_pixel_size (self->layout, &tw, &th);
  cairo_move_to (self->cr, pad, (self->text_height - th) / 2);
  if (dark)
    cairo_set_source_rgb (self->cr, 0, 0, 0);
  else
    cairo_set_source_rgb (self->cr, 1, 1, 1);
  pango_cairo_show_layout (self->cr, self->layout);
  cairo_surface_flush (self->text_surface);
  return MIN (tw + 2 * pad, cairo_image_surface_get_width (self->text_surface));
}

/* Writes @text on a box of @bg by @box (above it, else inside its top),
 * where no label of this frame is yet (gst_mobile_one_place_label()).
 * Returns where it went. */
static GstMobileOneRect
draw_label (GstMobileOneOverlay * self, GstVideoFrame * f, const gchar * text,
    const GstMobileOneRect * box, const Colour * bg)
{
  gint bw = render_text (self, text, bg);
  GstMobileOneRect r = gst_mobile_one_place_label (box, bw,
      self->text_height, GST_VIDEO_FRAME_WIDTH (f),
      GST_VIDEO_FRAME_HEIGHT (f), self->labels, self->n_labels);

  fill_rect (self, f, r.x, r.y, r.x + r.w, r.y + r.h, bg);
  blend_text (self, f, r.x, r.y, r.w, r.h);
  if (self->n_labels < MAX_LABELS)
    self->labels[self->n_labels++] = r;
  return r;
}

/* Regions ---------------------------------------------------------------- */

/* A GstAnalytics detection's text, like gst_mobile_one_roi_describe()'s:
 * "#ID " when tracked, then "label 0.87" and its classification. */
static void
describe_region (const GstMobileOneRegion * r, gchar * text, gsize size)
{
  gsize len = 0;

  text[0] = '\0';
  if (r->has_track)
    len = g_snprintf (text, size, "#%" G_GUINT64_FORMAT " ", r->track_id);
  if (r->label != 0 && len < size)
    len += g_snprintf (text + len, size - len, "%s %.2f",
        g_quark_to_string (r->label), r->confidence);
  if (r->class_label != 0 && len < size)
    g_snprintf (text + len, size - len, "%s%s %.2f", len ? ", " : "",
        g_quark_to_string (r->class_label), r->class_confidence);
}

static GstFlowReturn
gst_mobile_one_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  gboolean draw_boxes, draw_labels, draw_masks;
  guint alpha, lw, serial;
  GstVideoFrame frame;
  gpointer state = NULL;
  GstMeta *meta;
  GstMobileOneRoi roi;
  gint fw, fh;
  gboolean have_rois, have_mask, have_regions, have_seg_mask;
  GstMobileOneMaskMeta seg_mask;
  guint n_classes;

  if (!filter->negotiated)
    goto not_negotiated;

  /* Our 1.22 metas when there are any, else the GstAnalytics ones (of an
   * upstream element): the elements attach both, to be drawn once. */
  have_rois = gst_buffer_get_video_region_of_interest_meta (buf) != NULL;
  have_mask = gst_buffer_get_mobile_one_mask_meta (buf) != NULL;
  have_regions = !have_rois && gst_mobile_one_analytics_has_regions (buf);
  have_seg_mask = !have_mask && gst_mobile_one_analytics_get_mask (buf,
      &seg_mask);

  /* Nothing attached: leave the frame alone, without mapping it. */
  n_classes = gst_buffer_get_n_mobile_one_classifications (buf);
  if (!have_rois && !have_mask && !have_regions && !have_seg_mask
      && n_classes == 0)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  draw_boxes = self->draw_boxes;
  draw_labels = self->draw_labels;
  draw_masks = self->draw_masks;
  alpha = (guint) lround (self->mask_opacity * 255);
  lw = self->line_width;
  serial = self->font_serial;
  GST_OBJECT_UNLOCK (self);

  fw = GST_VIDEO_INFO_WIDTH (&filter->in_info);
  fh = GST_VIDEO_INFO_HEIGHT (&filter->in_info);
  if (lw == 0)
    lw = MAX (2, MIN (fw, fh) / 200);
  if (draw_labels && (self->layout == NULL
          || serial != self->applied_font_serial))
    draw_labels = setup_text (self, fw, fh);

  if (!gst_video_frame_map (&frame, &filter->in_info, buf,
          GST_MAP_READWRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF))
    goto invalid_buffer;

  if (draw_masks && alpha > 0) {
    while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_MOBILE_ONE_MASK_META_API_TYPE)))
      blend_mask (self, &frame, (GstMobileOneMaskMeta *) meta, alpha);
    if (have_seg_mask)
      blend_mask (self, &frame, &seg_mask, alpha);
  }

  /* Whole-frame classifications (frame-level metadata): text in the top
   * left corner, one line each. */
  self->n_labels = 0;
  for (guint i = 0; draw_labels && i < n_classes; i++) {
    const GstStructure *s = gst_buffer_nth_mobile_one_classification (buf, i);
    const gchar *label = gst_structure_get_string (s, "label");
    gdouble conf = 0;
    gint id = 0;
    gchar text[256];
    GstMobileOneRect corner = { 0, 0, 0, 0 };

    gst_structure_get_int (s, "label_id", &id);
    gst_structure_get_double (s, "confidence", &conf);
    g_snprintf (text, sizeof (text), "%s %.2f", label ? label : "", conf);
    draw_label (self, &frame, text, &corner,
        class_colour (self, (guint) MAX (id, 0)));
  }

  state = NULL;
  while ((draw_boxes || draw_labels)
      && gst_mobile_one_roi_next (buf, &state, &roi)) {
    GstMobileOneRect box = { roi.meta->x, roi.meta->y, roi.meta->w,
      roi.meta->h
    };
    gboolean whole;
    gint class_id;
    gchar text[256];
    const Colour *c;

    gst_mobile_one_roi_describe (&roi, text, sizeof (text));
    class_id = roi.class_id >= 0 ? roi.class_id :
        (gint) (roi.meta->roi_type % N_PALETTE);
    c = class_colour (self, (guint) class_id);
    /* A whole-frame classification is text in the corner, not a box. */
    whole = roi.detection == NULL && box.x <= 0 && box.y <= 0
        && box.x + box.w >= fw && box.y + box.h >= fh;
    if (whole) {
      GstMobileOneRect corner = { 0, 0, 0, 0 };

      if (draw_labels && text[0])
        draw_label (self, &frame, text, &corner, c);
      continue;
    }
    if (draw_boxes)
      draw_box (self, &frame, box.x, box.y, box.x + box.w, box.y + box.h,
          (gint) lw, c);
    if (draw_labels && text[0])
      draw_label (self, &frame, text, &box, c);
  }

  state = NULL;
  while (have_regions && (draw_boxes || draw_labels)) {
    GstMobileOneRegion r;
    GstMobileOneRect box;
    gchar text[256];
    const Colour *c;

    if (!gst_mobile_one_analytics_next_region (buf, &state, &r))
      break;
    describe_region (&r, text, sizeof (text));
    c = class_colour (self, r.label % N_PALETTE);
    box.x = r.x;
    box.y = r.y;
    box.w = r.w;
    box.h = r.h;
    if (draw_boxes)
      draw_box (self, &frame, r.x, r.y, r.x + r.w, r.y + r.h, (gint) lw, c);
    if (draw_labels && text[0])
      draw_label (self, &frame, text, &box, c);
  }

  gst_video_frame_unmap (&frame);
  return GST_FLOW_OK;

  /* ERRORS */
not_negotiated:
  {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
invalid_buffer:
  {
    GST_ELEMENT_WARNING (self, CORE, NOT_IMPLEMENTED, (NULL),
        ("invalid video buffer received"));
    return GST_FLOW_OK;
  }
}

static gboolean
gst_mobile_one_overlay_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstMobileOneOverlay *self = GST_MOBILE_ONE_OVERLAY (filter);
  GstVideoFormat format = GST_VIDEO_INFO_FORMAT (in_info);
  const GstVideoFormatInfo *finfo = in_info->finfo;

  self->yuv = GST_VIDEO_FORMAT_INFO_IS_YUV (finfo);
  self->nv12 = format == GST_VIDEO_FORMAT_NV12;
  if (!self->yuv) {
    /* Packed 8-bit RGB: the byte offsets come from the format info. */
    self->bpp = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
    self->ro = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_R);
    self->go = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_G);
    self->bo = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_B);
    self->kr = 0.299;
    self->kb = 0.114;
    self->full_range = TRUE;
  } else {
    GstVideoColorimetry *cm = &GST_VIDEO_INFO_COLORIMETRY (in_info);

    if (!gst_video_color_matrix_get_Kr_Kb (cm->matrix, &self->kr, &self->kb)) {
      self->kr = 0.299;
      self->kb = 0.114;
    }
    self->full_range = cm->range == GST_VIDEO_COLOR_RANGE_0_255;
  }
  for (guint i = 0; i < N_PALETTE; i++) {
    guint8 rgb[3];

    mo_palette_colour (i, rgb);
    make_colour (self, rgb[0], rgb[1], rgb[2], &self->palette[i]);
  }
  g_free (self->xmap);
  self->xmap = g_new (gint, GST_VIDEO_INFO_WIDTH (in_info));
  /* The text surface is as wide as the frame. */
  clear_text (self);
  GST_DEBUG_OBJECT (self, "%s %dx%d", gst_video_format_to_string (format),
      GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info));
  return TRUE;
}
