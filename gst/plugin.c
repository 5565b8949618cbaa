/* mobileone-gst: the GStreamer plugin, MobileOne networks on video frames.
 * Only registers the elements; each lives in its own gstmobileone*.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstmobileoneclassify.h"
#include "gstmobileonedetect.h"
#include "gstmobileonesegment.h"
#include "gstmobileoneoverlay.h"
#include "gstmobileonemask.h"
#include "gstmobileonetrack.h"
#include "gstmobileonepublish.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (mobileoneclassify, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileonedetect, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileonesegment, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileoneoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileonemask, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileonetrack, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileonepublish, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, mobileone,
    "MobileOne networks on video frames: classification, detection, "
    "segmentation, overlay, mask streaming and tracking", plugin_init, VERSION,
    "MIT/X11", PACKAGE, GST_PACKAGE_ORIGIN)
