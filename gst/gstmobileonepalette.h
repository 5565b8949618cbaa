/* mobileone-gst: the colour of each class, shared by mobileoneoverlay and
 * mobileonemask so that a class looks the same in both. Not installed. */
#pragma once

#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

/**
 * gst_mobile_one_class_color: a bright colour for class @class_id; hues
 * step by the golden ratio so that neighbouring ids differ clearly.
 */
static inline void
gst_mobile_one_class_color (guint class_id, guint8 rgb[3])
{
  gdouble h = fmod (class_id * 0.618033988749895 + 0.08, 1.0) * 6.0;
  gdouble s = class_id % 2 ? 0.65 : 0.85, v = 0.95;
  gdouble f = h - floor (h);
  gdouble p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  gdouble r, g, b;

  switch ((gint) floor (h) % 6) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  rgb[0] = (guint8) lround (r * 255);
  rgb[1] = (guint8) lround (g * 255);
  rgb[2] = (guint8) lround (b * 255);
}

G_END_DECLS
