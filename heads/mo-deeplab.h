/* mobileone-gst heads: DeepLabv3 semantic segmentation (SPEC.md, "Heads").
 *
 * The graph ends in two outputs, NHWC float like every output:
 *   "logits"         [H][W][num_classes] at the input size (bilinear,
 *                    align_corners = False, from the low-resolution logits);
 *   "logits_lowres"  [H/os][W/os][num_classes] before that upsampling
 *                    (os = head.output_stride), for callers that prefer to
 *                    upsample a class map themselves.
 * Post-processing is an argmax per pixel. */
#pragma once

#include <glib.h>
#include "mobileone.h"

G_BEGIN_DECLS

/* head.num_classes is at most this, so a class map fits 8 bits. */
#define MO_DEEPLAB_MAX_CLASSES 256

/**
 * mo_deeplab_argmax: the class map of @logits (either output above): for
 * every pixel the index of the largest of its @logits->c values, ties going
 * to the lowest index (torch.argmax). Writes @logits->h rows of @logits->w
 * bytes, row y at @mask + y * @mask_stride. Allocates nothing.
 */
MO_API void mo_deeplab_argmax (const MoOutput * logits, guint8 * mask,
    int mask_stride);

G_END_DECLS
