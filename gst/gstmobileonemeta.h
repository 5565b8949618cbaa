/* mobileone-gst: GstMobileOneMaskMeta, a semantic segmentation mask on a
 * video frame. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GST_MOBILE_ONE_MASK_META_API_NAME:
 *
 * The name of the API type. Applications do not link the plugin: once it is
 * loaded they find the meta with gst_buffer_get_meta (buffer,
 * g_type_from_name (GST_MOBILE_ONE_MASK_META_API_NAME)) and read the
 * structure below (this header is installed for them).
 */
#define GST_MOBILE_ONE_MASK_META_API_NAME "GstMobileOneMaskMetaAPI"

#define GST_MOBILE_ONE_MASK_META_API_TYPE (gst_mobile_one_mask_meta_api_get_type ())
#define GST_MOBILE_ONE_MASK_META_INFO (gst_mobile_one_mask_meta_get_info ())

typedef struct _GstMobileOneMaskMeta GstMobileOneMaskMeta;

/**
 * GstMobileOneMaskMeta:
 * @meta: parent #GstMeta
 * @mask: the class-id map, one byte per pixel, @height rows of @stride
 *   bytes; read-only (it is shared between frames and copies of the meta)
 * @width: columns of the map
 * @height: rows of the map
 * @stride: bytes from one row of @mask to the next
 * @x: left edge, in frame pixels, of the frame rectangle the map covers
 * @y: top edge of that rectangle
 * @w: width of that rectangle in frame pixels (map column i covers frame
 *   columns @x + i * @w / @width up to the next one)
 * @h: height of that rectangle
 * @num_classes: the number of classes of the model; class ids are below it
 *   and 0 is the background
 * @labels: (nullable): @num_classes labels, NULL-terminated; read-only and
 *   shared (see gst_mobile_one_labels_new())
 * @repeated: TRUE on a frame between two inferences (the element's
 *   inference-interval): the map is the last inference's, not this frame's
 *
 * A semantic segmentation result: a class id per pixel of a map that covers
 * a rectangle of the frame (the whole frame when it is made). Its transform
 * keeps the rectangle right through copies and scaling (videoscale), like
 * #GstVideoRegionOfInterestMeta.
 */
struct _GstMobileOneMaskMeta
{
  GstMeta meta;

  GstBuffer *mask;
  guint width;
  guint height;
  guint stride;

  gint x;
  gint y;
  guint w;
  guint h;

  guint num_classes;
  gchar **labels;

  gboolean repeated;
};

/** gst_mobile_one_mask_meta_api_get_type: the API type of the mask meta. */
GType gst_mobile_one_mask_meta_api_get_type (void);

/** gst_mobile_one_mask_meta_get_info: the implementation of the mask meta. */
const GstMetaInfo *gst_mobile_one_mask_meta_get_info (void);

/**
 * gst_buffer_add_mobile_one_mask_meta: attaches a mask to @buffer. The meta
 * takes a reference on @mask (a map of @height rows of @stride bytes) and,
 * when not NULL, on @labels (made with gst_mobile_one_labels_new()).
 */
GstMobileOneMaskMeta *gst_buffer_add_mobile_one_mask_meta (GstBuffer * buffer,
    GstBuffer * mask, guint width, guint height, guint stride, gint x, gint y,
    guint w, guint h, guint num_classes, gchar ** labels);

/** gst_buffer_get_mobile_one_mask_meta: the first mask meta of @b, or NULL. */
#define gst_buffer_get_mobile_one_mask_meta(b) \
  ((GstMobileOneMaskMeta *) gst_buffer_get_meta ((b), GST_MOBILE_ONE_MASK_META_API_TYPE))

/**
 * gst_mobile_one_mask_meta_get_label: the label of class @class_id, or NULL
 * when the model has none.
 */
const gchar *gst_mobile_one_mask_meta_get_label (const GstMobileOneMaskMeta *
    meta, guint class_id);

/**
 * gst_mobile_one_labels_new: a reference-counted, NULL-terminated copy of
 * the @n strings of @labels (NULL entries become "" ), to share between
 * metas without a copy per frame.
 */
gchar **gst_mobile_one_labels_new (const gchar * const *labels, guint n);

/** gst_mobile_one_labels_ref: adds a reference to @labels. */
gchar **gst_mobile_one_labels_ref (gchar ** labels);

/** gst_mobile_one_labels_unref: drops a reference; NULL is allowed. */
void gst_mobile_one_labels_unref (gchar ** labels);

/**
 * GST_MOBILE_ONE_CLASSIFICATION_META_NAME:
 *
 * The name of the #GstCustomMeta that carries frame-level classifications
 * (mobileoneclassify on the whole frame). Its structure has one field per
 * classifier, named like the result (the element's result-name, by default
 * "classification"), whose value is the result: a structure of that name
 * with label_id (int), label (string), confidence (double), repeated
 * (boolean), model (string) and element (string). Applications without
 * this header read it with gst_buffer_get_custom_meta (buffer,
 * "GstMobileOneClassificationMeta") and gst_custom_meta_get_structure().
 */
#define GST_MOBILE_ONE_CLASSIFICATION_META_NAME "GstMobileOneClassificationMeta"

/**
 * gst_mobile_one_classification_meta_register: registers the frame-level
 * classification meta (once; later calls do nothing).
 */
void gst_mobile_one_classification_meta_register (void);

/**
 * gst_buffer_add_mobile_one_classification: adds @result (taken) to
 * @buffer's frame-level classifications, under its structure name
 * (replacing a result of that name).
 */
void gst_buffer_add_mobile_one_classification (GstBuffer * buffer,
    GstStructure * result);

/** gst_buffer_get_n_mobile_one_classifications: how many frame-level results @buffer has. */
guint gst_buffer_get_n_mobile_one_classifications (GstBuffer * buffer);

/**
 * gst_buffer_get_mobile_one_classification: the frame-level result named
 * @name, or the first when @name is NULL; NULL if none. Owned by the buffer.
 */
const GstStructure *gst_buffer_get_mobile_one_classification (GstBuffer *
    buffer, const gchar * name);

/** gst_buffer_nth_mobile_one_classification: the frame-level result @n, or NULL. */
const GstStructure *gst_buffer_nth_mobile_one_classification (GstBuffer *
    buffer, guint n);

G_END_DECLS
