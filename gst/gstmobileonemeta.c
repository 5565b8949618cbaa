/* mobileone-gst: GstMobileOneMaskMeta. Follows GstVideoRegionOfInterestMeta
 * (gst-plugins-base, gstvideometa.c): an API type with the video tags and a
 * transform that handles copies and scaling. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonemeta.h"

#include <math.h>

GType
gst_mobile_one_mask_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR,
    GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL
  };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register (GST_MOBILE_ONE_MASK_META_API_NAME,
        tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_mobile_one_mask_meta_init (GstMeta * meta, gpointer params,
    GstBuffer * buffer)
{
  GstMobileOneMaskMeta *m = (GstMobileOneMaskMeta *) meta;

  m->mask = NULL;
  m->width = m->height = m->stride = 0;
  m->x = m->y = 0;
  m->w = m->h = 0;
  m->num_classes = 0;
  m->labels = NULL;
  m->repeated = FALSE;
  return TRUE;
}

static void
gst_mobile_one_mask_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstMobileOneMaskMeta *m = (GstMobileOneMaskMeta *) meta;

  gst_clear_buffer (&m->mask);
  gst_mobile_one_labels_unref (m->labels);
  m->labels = NULL;
}

static gboolean
gst_mobile_one_mask_meta_transform (GstBuffer * dest, GstMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data)
{
  GstMobileOneMaskMeta *smeta = (GstMobileOneMaskMeta *) meta;
  gint x = smeta->x, y = smeta->y;
  guint w = smeta->w, h = smeta->h;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    /* The map is immutable: copies share it. */
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *trans = data;
    gint ow = GST_VIDEO_INFO_WIDTH (trans->in_info);
    gint oh = GST_VIDEO_INFO_HEIGHT (trans->in_info);
    gint nw = GST_VIDEO_INFO_WIDTH (trans->out_info);
    gint nh = GST_VIDEO_INFO_HEIGHT (trans->out_info);
    gint x1, y1;

    if (ow <= 0 || oh <= 0)
      return FALSE;
    /* Scale both edges so that neighbouring rectangles stay adjacent. */
    x = (gint) lround ((gdouble) smeta->x * nw / ow);
    y = (gint) lround ((gdouble) smeta->y * nh / oh);
    x1 = (gint) lround ((gdouble) (smeta->x + (gint) smeta->w) * nw / ow);
    y1 = (gint) lround ((gdouble) (smeta->y + (gint) smeta->h) * nh / oh);
    w = MAX (x1 - x, 1);
    h = MAX (y1 - y, 1);
  } else {
    /* Unknown transforms (crops, flips...) drop the meta rather than leave
     * it pointing at the wrong pixels. */
    return FALSE;
  }

  {
    GstMobileOneMaskMeta *dmeta = gst_buffer_add_mobile_one_mask_meta (dest,
        smeta->mask, smeta->width, smeta->height, smeta->stride, x, y, w, h,
        smeta->num_classes, smeta->labels);

    if (dmeta == NULL)
      return FALSE;
    dmeta->repeated = smeta->repeated;
  }
  return TRUE;
}

const GstMetaInfo *
gst_mobile_one_mask_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi =
        gst_meta_register (GST_MOBILE_ONE_MASK_META_API_TYPE,
        "GstMobileOneMaskMeta", sizeof (GstMobileOneMaskMeta),
        gst_mobile_one_mask_meta_init, gst_mobile_one_mask_meta_free,
        gst_mobile_one_mask_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstMobileOneMaskMeta *
gst_buffer_add_mobile_one_mask_meta (GstBuffer * buffer, GstBuffer * mask,
    guint width, guint height, guint stride, gint x, gint y, guint w, guint h,
    guint num_classes, gchar ** labels)
{
  GstMobileOneMaskMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (GST_IS_BUFFER (mask), NULL);
  g_return_val_if_fail (stride >= width, NULL);
  g_return_val_if_fail (gst_buffer_get_size (mask) >= (gsize) stride * height,
      NULL);

  meta = (GstMobileOneMaskMeta *) gst_buffer_add_meta (buffer,
      GST_MOBILE_ONE_MASK_META_INFO, NULL);
  if (meta == NULL)
    return NULL;
  meta->mask = gst_buffer_ref (mask);
  meta->width = width;
  meta->height = height;
  meta->stride = stride;
  meta->x = x;
  meta->y = y;
  meta->w = w;
  meta->h = h;
  meta->num_classes = num_classes;
  meta->labels = labels ? gst_mobile_one_labels_ref (labels) : NULL;
  return meta;
}

const gchar *
gst_mobile_one_mask_meta_get_label (const GstMobileOneMaskMeta * meta,
    guint class_id)
{
  g_return_val_if_fail (meta != NULL, NULL);

  if (meta->labels == NULL || class_id >= meta->num_classes)
    return NULL;
  return meta->labels[class_id];
}

static void
labels_clear (gpointer data)
{
  gchar **labels = data;

  for (guint i = 0; labels[i] != NULL; i++)
    g_free (labels[i]);
}

gchar **
gst_mobile_one_labels_new (const gchar * const *labels, guint n)
{
  gchar **copy = g_atomic_rc_box_alloc0 ((n + 1) * sizeof (gchar *));

  for (guint i = 0; i < n; i++)
    copy[i] = g_strdup (labels && labels[i] ? labels[i] : "");
  return copy;
}

gchar **
gst_mobile_one_labels_ref (gchar ** labels)
{
  return g_atomic_rc_box_acquire (labels);
}

void
gst_mobile_one_labels_unref (gchar ** labels)
{
  if (labels != NULL)
    g_atomic_rc_box_release_full (labels, labels_clear);
}

/* Frame-level classifications: a GstCustomMeta (no tags, nothing in it
 * depends on the frame geometry, so it survives scaling and conversion)
 * whose structure holds one field per result, named like the result's
 * structure, its value that structure. */

static gboolean
classification_meta_transform (GstBuffer * dest, GstCustomMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data, gpointer user_data)
{
  GstStructure *from = gst_custom_meta_get_structure (meta);
  GstStructure *to;
  GstCustomMeta *dmeta;

  dmeta = gst_buffer_get_custom_meta (dest,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  if (dmeta == NULL)
    dmeta = gst_buffer_add_custom_meta (dest,
        GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  if (dmeta == NULL)
    return FALSE;
  to = gst_custom_meta_get_structure (dmeta);
  for (gint i = 0; i < gst_structure_n_fields (from); i++) {
    const gchar *name = gst_structure_nth_field_name (from, i);

    gst_structure_set_value (to, name, gst_structure_get_value (from, name));
  }
  return TRUE;
}

void
gst_mobile_one_classification_meta_register (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    static const gchar *tags[] = { NULL };

    gst_meta_register_custom (GST_MOBILE_ONE_CLASSIFICATION_META_NAME, tags,
        classification_meta_transform, NULL, NULL);
    g_once_init_leave (&done, 1);
  }
}

void
gst_buffer_add_mobile_one_classification (GstBuffer * buffer,
    GstStructure * result)
{
  GstCustomMeta *meta;
  GValue v = G_VALUE_INIT;

  g_return_if_fail (GST_IS_BUFFER (buffer) && result != NULL);

  gst_mobile_one_classification_meta_register ();
  meta = gst_buffer_get_custom_meta (buffer,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  if (meta == NULL)
    meta = gst_buffer_add_custom_meta (buffer,
        GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, result);
  gst_structure_take_value (gst_custom_meta_get_structure (meta),
      gst_structure_get_name (result), &v);
}

guint
gst_buffer_get_n_mobile_one_classifications (GstBuffer * buffer)
{
  GstCustomMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), 0);
  /* Not registered yet: no buffer can carry one. */
  if (gst_meta_get_info (GST_MOBILE_ONE_CLASSIFICATION_META_NAME) == NULL)
    return 0;
  meta = gst_buffer_get_custom_meta (buffer,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  return meta ? (guint) gst_structure_n_fields (gst_custom_meta_get_structure
      (meta)) : 0;
}

const GstStructure *
gst_buffer_get_mobile_one_classification (GstBuffer * buffer,
    const gchar * name)
{
  GstCustomMeta *meta;
  const GstStructure *s;
  const GValue *v;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  if (gst_meta_get_info (GST_MOBILE_ONE_CLASSIFICATION_META_NAME) == NULL)
    return NULL;
  meta = gst_buffer_get_custom_meta (buffer,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  if (meta == NULL)
    return NULL;
  s = gst_custom_meta_get_structure (meta);
  if (name == NULL) {
    if (gst_structure_n_fields (s) == 0)
      return NULL;
    name = gst_structure_nth_field_name (s, 0);
  }
  v = gst_structure_get_value (s, name);
  return v && GST_VALUE_HOLDS_STRUCTURE (v) ? gst_value_get_structure (v) :
      NULL;
}

const GstStructure *
gst_buffer_nth_mobile_one_classification (GstBuffer * buffer, guint n)
{
  GstCustomMeta *meta;
  GstStructure *s;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  if (n >= gst_buffer_get_n_mobile_one_classifications (buffer))
    return NULL;
  meta = gst_buffer_get_custom_meta (buffer,
      GST_MOBILE_ONE_CLASSIFICATION_META_NAME);
  s = gst_custom_meta_get_structure (meta);
  return gst_buffer_get_mobile_one_classification (buffer,
      gst_structure_nth_field_name (s, n));
}
