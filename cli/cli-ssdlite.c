/* mobileone-cli: SSDLite outputs. `run` writes the raw head outputs in
 * torchvision's order and the decoded detections; `image` prints the
 * detections in picture coordinates. */
#include "cli-heads.h"
#include "mo-npy.h"
#include "mo-palette.h"
#include "mo-ssdlite.h"

#ifdef HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
#endif
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Detections with the description's thresholds; g_free the result. */
static MoDetection *
detect (MoSession *s, int *n, GError **error)
{
  MoSsdPost *post = mo_ssdlite_post_new (s, 0, error);
  if (post == NULL)
    return NULL;
  int max = mo_ssdlite_params (mo_session_model (s))->max_detections;
  MoDetection *dets = g_new (MoDetection, max);
  *n = mo_ssdlite_post_run (post, NULL, dets, max);
  mo_ssdlite_post_free (post);
  return dets;
}

static gboolean
write_npy (const char *dir, const char *name, int64_t n, int64_t k,
    const float *data, GError **error)
{
  char *path = g_build_filename (dir, name, NULL);
  const int64_t shape[3] = { 1, n, k };
  gboolean ok = mo_npy_write (path, "<f4", 4, 3, shape, data, error);
  g_free (path);
  return ok;
}

static gboolean
write_json (MoSession *s, const char *dir, const MoDetection *dets, int n,
    GError **error)
{
  const MoDesc *d = mo_model_desc (mo_session_model (s));
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++) {
    const char *label = mo_desc_label (d, dets[i].label);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "label_id");
    json_builder_add_int_value (b, dets[i].label);
    json_builder_set_member_name (b, "label");
    if (label)
      json_builder_add_string_value (b, label);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "score");
    json_builder_add_double_value (b, dets[i].score);
    json_builder_set_member_name (b, "box");
    json_builder_begin_array (b);
    json_builder_add_double_value (b, dets[i].x0);
    json_builder_add_double_value (b, dets[i].y0);
    json_builder_add_double_value (b, dets[i].x1);
    json_builder_add_double_value (b, dets[i].y1);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  JsonGenerator *g = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  char *path = g_build_filename (dir, "detections.json", NULL);
  json_generator_set_root (g, root);
  json_generator_set_pretty (g, TRUE);
  gboolean ok = json_generator_to_file (g, path, error);
  if (!ok)
    g_prefix_error (error, "%s: ", path);
  g_free (path);
  json_node_unref (root);
  g_object_unref (g);
  g_object_unref (b);
  return ok;
}

static gboolean
write_outputs (MoSession *s, const char *dir, GError **error)
{
  MoSsdPost *post = mo_ssdlite_post_new (s, 0, error);
  if (post == NULL)
    return FALSE;
  int n = mo_ssdlite_post_n_anchors (post);
  int k = mo_ssdlite_num_classes (mo_session_model (s));
  float *cls = g_new (float, (gsize) n * k);
  float *reg = g_new (float, (gsize) n * 4);
  mo_ssdlite_post_gather (post, cls, reg);
  mo_ssdlite_post_free (post);
  gboolean ok = write_npy (dir, "cls_logits.npy", n, k, cls, error)
      && write_npy (dir, "bbox_regression.npy", n, 4, reg, error);
  g_free (cls);
  g_free (reg);

  int nd = 0;
  MoDetection *dets = ok ? detect (s, &nd, error) : NULL;
  ok = dets != NULL && write_json (s, dir, dets, nd, error);
  g_free (dets);
  return ok;
}

#ifdef HAVE_GDK_PIXBUF
/* Fills [x0, x1) x [y0, y1), clipped to the picture, with @rgb. */
static void
fill_rect (guint8 *pix, int stride, int W, int H, int x0, int y0, int x1,
    int y1, const guint8 rgb[3])
{
  x0 = MAX (x0, 0);
  y0 = MAX (y0, 0);
  x1 = MIN (x1, W);
  y1 = MIN (y1, H);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      memcpy (pix + (gsize) y * stride + 3 * x, rgb, 3);
}

/* The picture with each detection's box drawn in its class colour
 * (mo-palette.h), lines ~1/200 of the picture thick. */
static gboolean
write_png (const MoImage *pic, const MoTransform *xf, const MoDetection *dets,
    int n, const char *path, GError **error)
{
  int W = pic->width, H = pic->height;
  int bpp = pic->format == MO_PIXEL_RGB ? 3 : 4;
  int t = MAX (2, (MAX (W, H) + 199) / 200);
  GdkPixbuf *pb = mo_cli_picture_new (W, H, path, error);
  guint8 *pix;
  int stride;

  if (pb == NULL)
    return FALSE;
  pix = gdk_pixbuf_get_pixels (pb);
  stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < H; y++) {
    const guint8 *src = pic->planes[0] + (gsize) y * pic->strides[0];
    for (int x = 0; x < W; x++)
      memcpy (pix + (gsize) y * stride + 3 * x, src + (gsize) bpp * x, 3);
  }
  /* Lowest score first: the best boxes end up on top. */
  for (int i = n - 1; i >= 0; i--) {
    double b[4];
    guint8 rgb[3];
    mo_ssdlite_detection_to_image (xf, &dets[i], b);
    mo_palette_colour (dets[i].label, rgb);
    int x0 = (int) lround (b[0]), y0 = (int) lround (b[1]);
    int x1 = (int) lround (b[2]), y1 = (int) lround (b[3]);
    fill_rect (pix, stride, W, H, x0 - t, y0 - t, x1 + t, y0, rgb);
    fill_rect (pix, stride, W, H, x0 - t, y1, x1 + t, y1 + t, rgb);
    fill_rect (pix, stride, W, H, x0 - t, y0, x0, y1, rgb);
    fill_rect (pix, stride, W, H, x1, y0, x1 + t, y1, rgb);
  }
  return mo_cli_picture_save (pb, path, error);
}
#endif

static gboolean
report (MoSession *s, const MoImage *pic, const MoTransform *xf,
    const char *out_path, GError **error)
{
  gboolean ok = TRUE;

  const MoDesc *d = mo_model_desc (mo_session_model (s));
  int n = 0;
  MoDetection *dets = detect (s, &n, error);

  if (dets == NULL)
    return FALSE;
  printf ("%d detection%s (%s coordinates: x0 y0 x1 y1)\n", n,
      n == 1 ? "" : "s", xf ? "picture" : "model-input");
  for (int i = 0; i < n; i++) {
    const char *label = mo_desc_label (d, dets[i].label);
    double box[4];
    mo_ssdlite_detection_to_image (xf, &dets[i], box);
    printf ("%d %.4f %.1f %.1f %.1f %.1f %s\n", dets[i].label, dets[i].score,
        box[0], box[1], box[2], box[3], label ? label : "");
  }
  if (out_path != NULL && pic != NULL && xf != NULL) {
#ifdef HAVE_GDK_PIXBUF
    ok = write_png (pic, xf, dets, n, out_path, error);
    if (ok)
      printf ("boxes drawn in %s\n", out_path);
#else
    g_set_error (error, MO_ERROR, MO_ERROR_UNSUPPORTED,
        "%s: this build cannot write pictures (no gdk-pixbuf)", out_path);
    ok = FALSE;
#endif
  }
  g_free (dets);
  return ok;
}

const MoCliHead mo_cli_ssdlite = {
  "ssdlite", write_outputs, FALSE, report
};
