/* mobileone-gst heads: the registry of head.type values. */
#include "../mobileone/mo-model-private.h"

gboolean mo_classifier_build (MoModel * m, MoWeights * ws, GError ** error);
gboolean mo_ssdlite_build (MoModel * m, MoWeights * ws, GError ** error);
gboolean mo_deeplab_build (MoModel * m, MoWeights * ws, GError ** error);

static const struct
{
  const char *type;
  MoHeadBuildFunc build;
} heads[] = {
  {"classifier", mo_classifier_build},
  {"ssdlite", mo_ssdlite_build},
  {"deeplabv3", mo_deeplab_build},
};

MoHeadBuildFunc
mo_head_find (const char *type)
{
  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    if (g_str_equal (heads[i].type, type))
      return heads[i].build;
  return NULL;
}
