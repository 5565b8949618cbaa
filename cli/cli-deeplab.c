/* mobileone-cli: DeepLabv3 outputs.
 *
 * run:   logits.npy (float32 [1, num_classes, H, W], at the input size) and
 *        mask.npy (uint8 [1, H, W], the argmax over classes, ties to the
 *        lowest index), then the share of pixels of each class on stdout.
 * image: the class shares; with --output, a PNG of the class map at the
 *        picture's size in the class colours of mo-palette.h, the
 *        background (class 0) black as mobileonemask draws it. */
#include "cli-heads.h"
#include "mo-deeplab.h"
#include "mo-npy.h"
#include "mo-palette.h"

#include <string.h>

#ifdef HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
#endif
#include <math.h>
#include <stdio.h>

static guint8 *
class_map (MoSession *s, const MoOutput **logits)
{
  const MoOutput *o = mo_session_output (s, "logits");
  guint8 *mask = g_malloc ((gsize) o->h * o->w);
  mo_deeplab_argmax (o, mask, o->w);
  *logits = o;
  return mask;
}

static gboolean
write_outputs (MoSession *s, const char *dir, GError **error)
{
  const MoOutput *o;
  guint8 *mask = class_map (s, &o);
  char *path = g_build_filename (dir, "mask.npy", NULL);
  const int64_t shape[3] = { 1, o->h, o->w };
  gboolean ok = mo_cli_write_npy_output (dir, o, error)
      && mo_npy_write (path, "|u1", 1, 3, shape, mask, error);
  g_free (path);
  g_free (mask);
  return ok;
}

/* One line per class present, largest share first: "ID PERCENT LABEL". */
static void
print_shares (const MoDesc *d, const guint8 *mask, gsize n, int nc)
{
  guint64 count[MO_DEEPLAB_MAX_CLASSES] = { 0 };
  int order[MO_DEEPLAB_MAX_CLASSES] = { 0 };

  for (gsize i = 0; i < n; i++)
    count[mask[i]]++;
  /* Insertion sort, stable: equal shares keep class order. */
  for (int c = 0; c < nc; c++) {
    int j = c;
    while (j > 0 && count[order[j - 1]] < count[c]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = c;
  }
  for (int i = 0; i < nc && count[order[i]] > 0; i++) {
    const char *label = mo_desc_label (d, order[i]);
    printf ("%d %.2f%% %s\n", order[i], 100.0 * count[order[i]] / n,
        label ? label : "");
  }
}

#ifdef HAVE_GDK_PIXBUF
/* The class map at the picture's size (nearest model pixel), coloured. */
static gboolean
write_png (const guint8 *mask, int iw, int ih, const MoTransform *xf,
    const char *path, GError **error)
{
  int W = MAX (1, (int) lround (xf->src.x + xf->src.w));
  int H = MAX (1, (int) lround (xf->src.y + xf->src.h));
  GdkPixbuf *pb = mo_cli_picture_new (W, H, path, error);
  guint8 *pix, colours[MO_DEEPLAB_MAX_CLASSES][3] = { {0} };
  int stride;

  if (pb == NULL)
    return FALSE;
  for (int i = 1; i < MO_DEEPLAB_MAX_CLASSES; i++)
    mo_palette_colour (i, colours[i]);
  pix = gdk_pixbuf_get_pixels (pb);
  stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < H; y++) {
    double v = xf->dst.y + (y + 0.5 - xf->src.y) * xf->dst.h / xf->src.h;
    int my = CLAMP ((int) floor (v), 0, ih - 1);
    for (int x = 0; x < W; x++) {
      double u = xf->dst.x + (x + 0.5 - xf->src.x) * xf->dst.w / xf->src.w;
      int mx = CLAMP ((int) floor (u), 0, iw - 1);
      memcpy (pix + (gsize) y * stride + 3 * x,
          colours[mask[(gsize) my * iw + mx]], 3);
    }
  }
  return mo_cli_picture_save (pb, path, error);
}
#endif

static gboolean
report (MoSession *s, const MoImage *pic, const MoTransform *xf,
    const char *out_path, GError **error)
{
  const MoDesc *d = mo_model_desc (mo_session_model (s));
  const MoOutput *o;
  guint8 *mask = class_map (s, &o);
  gboolean ok = TRUE;

  print_shares (d, mask, (gsize) o->h * o->w, o->c);
  if (out_path != NULL && xf != NULL) {
#ifdef HAVE_GDK_PIXBUF
    ok = write_png (mask, o->w, o->h, xf, out_path, error);
    if (ok)
      printf ("mask written to %s\n", out_path);
#else
    g_set_error (error, MO_ERROR, MO_ERROR_UNSUPPORTED,
        "%s: this build cannot write pictures (no gdk-pixbuf)", out_path);
    ok = FALSE;
#endif
  }
  g_free (mask);
  return ok;
}

const MoCliHead mo_cli_deeplab = {
  "deeplabv3", write_outputs, FALSE, report
};
