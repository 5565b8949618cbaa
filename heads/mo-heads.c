/* mobileone-gst heads: the head classes, and model loading through them. */
#include "mo-heads.h"
#include "mo-heads-private.h"

static const MoHeadClass *const heads[] = {
  &mo_classifier_class,
  &mo_ssdlite_class,
  &mo_deeplab_class,
  NULL,
};

struct _MoPost
{
  const MoHeadClass *klass;
  gpointer state;
};

MoModel *
mo_model_load (const char *yaml_path, GError **error)
{
  return mo_model_load_with_heads (yaml_path, heads, MO_LOAD_DEFAULT, error);
}

MoModel *
mo_model_load_full (const char *yaml_path, MoLoadFlags flags, GError **error)
{
  return mo_model_load_with_heads (yaml_path, heads, flags, error);
}

MoPost *
mo_post_new (MoSession *s, GError **error)
{
  const MoHeadClass *klass = mo_session_model (s)->head_class;
  gpointer state = klass->post_new (s, error);

  if (state == NULL)
    return NULL;
  MoPost *post = g_new (MoPost, 1);
  post->klass = klass;
  post->state = state;
  return post;
}

int
mo_post_run (MoPost *post, gconstpointer params, gpointer out, int max_out)
{
  return post->klass->post_run (post->state, params, out, max_out);
}

void
mo_post_free (MoPost *post)
{
  if (post == NULL)
    return;
  post->klass->post_free (post->state);
  g_free (post);
}
