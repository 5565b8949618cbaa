/* mobileone-gst heads: the class palette (mo-palette.h). */
#include "mo-palette.h"

#include <math.h>

void
mo_palette_colour (guint class_id, guint8 rgb[3])
{
  double h = fmod (class_id * 0.618033988749895 + 0.08, 1.0) * 6.0;
  double s = class_id % 2 ? 0.65 : 0.85, v = 0.95;
  double f = h - floor (h);
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;

  switch ((int) floor (h) % 6) {
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
