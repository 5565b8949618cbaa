/* mobileone-gst: mobileonepublish. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_MOBILE_ONE_PUBLISH (gst_mobile_one_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileOnePublish, gst_mobile_one_publish,
    GST, MOBILE_ONE_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (mobileonepublish);

/**
 * GstMobileOnePublishMethod:
 * @GST_MOBILE_ONE_PUBLISH_METHOD_FILE: write to a file (or stdout)
 * @GST_MOBILE_ONE_PUBLISH_METHOD_MQTT: publish to an MQTT broker
 *
 * Where mobileonepublish sends its documents.
 */
typedef enum
{
  GST_MOBILE_ONE_PUBLISH_METHOD_FILE,
  GST_MOBILE_ONE_PUBLISH_METHOD_MQTT,
} GstMobileOnePublishMethod;

#define GST_TYPE_MOBILE_ONE_PUBLISH_METHOD (gst_mobile_one_publish_method_get_type ())
GType gst_mobile_one_publish_method_get_type (void);

/**
 * GstMobileOnePublishFileFormat:
 * @GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON_LINES: one document per line
 * @GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON: one JSON array of documents
 *
 * How mobileonepublish lays out documents in a file.
 */
typedef enum
{
  GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON_LINES,
  GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON,
} GstMobileOnePublishFileFormat;

#define GST_TYPE_MOBILE_ONE_PUBLISH_FILE_FORMAT (gst_mobile_one_publish_file_format_get_type ())
GType gst_mobile_one_publish_file_format_get_type (void);

G_END_DECLS
