/* mobileone-cli: the per-head parts of the tool, one file per head
 * (cli-classifier.c, ...), listed in cli_heads[] in mobileone-cli.c. */
#pragma once

#include "mo-heads.h"
#include "mo-preprocess.h"

typedef struct
{
  const char *type;             /* head.type */
  /* run: write the head's outputs as files into @dir (exists). */
  gboolean (*write_outputs) (MoSession * s, const char *dir, GError ** error);
  /* image: how the picture is mapped into the model input. */
  gboolean center_crop;         /* ImageNet style: short side, centre crop */
  /* image: print the results; write a picture to @out_path when given.
   * @pic is the picture (8-bit RGB or RGBX) and @xf its mapping into the
   * model input; both NULL when the input was not a picture. */
  gboolean (*report_image) (MoSession * s, const MoImage * pic,
      const MoTransform * xf, const char *out_path, GError ** error);
} MoCliHead;

/** mo_cli_write_npy_output: writes output @o as DIR/NAME.npy, [1,C] or [1,C,H,W]. */
gboolean mo_cli_write_npy_output (const char *dir, const MoOutput * o,
    GError ** error);

#ifdef HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
/** mo_cli_picture_new: an 8-bit RGB @width x @height picture for @path;
 * NULL (and @error naming @path) when it cannot be allocated. */
GdkPixbuf *mo_cli_picture_new (int width, int height, const char *path,
    GError ** error);
/** mo_cli_picture_save: writes @pb as a PNG to @path and unrefs it. */
gboolean mo_cli_picture_save (GdkPixbuf * pb, const char *path,
    GError ** error);
#endif

extern const MoCliHead mo_cli_classifier;
extern const MoCliHead mo_cli_ssdlite;
extern const MoCliHead mo_cli_deeplab;
