/* mobileone-gst heads: the colour of each class, one palette for the CLI's
 * pictures and the elements (mobileoneoverlay, mobileonemask), so that a
 * class looks the same everywhere. */
#pragma once

#include <glib.h>
#include "mo-api.h"

G_BEGIN_DECLS

/**
 * mo_palette_colour: a bright colour (R, G, B into @rgb) for class
 * @class_id; hues step by the golden ratio so that neighbouring ids differ
 * clearly. Callers that draw a background class (segmentation's 0) leave it
 * out themselves.
 */
MO_API void mo_palette_colour (guint class_id, guint8 rgb[3]);

G_END_DECLS
