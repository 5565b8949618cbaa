/* mobileone-gst: one MoModel per model file per process. */
#pragma once

#include <gst/gst.h>
#include "mobileone.h"

G_BEGIN_DECLS

/**
 * gst_mobile_one_model_cache_acquire: the model loaded from @path with
 * @flags, shared by every element of the process that names the same file
 * with the same flags (the key is the canonical path, symbolic links
 * resolved, and the flags). Loads it on first use. Release with
 * gst_mobile_one_model_cache_release().
 */
MoModel *gst_mobile_one_model_cache_acquire (const gchar * path,
    MoLoadFlags flags, GError ** error);

/**
 * gst_mobile_one_model_cache_release: drops one use of @model; the weights
 * are freed when the last element lets go. NULL is allowed.
 */
void gst_mobile_one_model_cache_release (MoModel * model);

G_END_DECLS
