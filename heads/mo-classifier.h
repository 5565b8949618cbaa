/* mobileone-gst heads: the ImageNet-style classifier (gap + linear). */
#pragma once

#include <glib.h>
#include "mo-api.h"

G_BEGIN_DECLS

typedef struct
{
  int label;
  float score;                  /* softmax probability */
} MoClass;

/**
 * mo_classifier_topk: softmax over @n @logits, then the @k best classes in
 * descending order (ties: lower index first) into @out. Returns how many
 * were written (MIN (k, n)).
 */
MO_API int mo_classifier_topk (const float *logits, int n, int k,
    MoClass * out);

G_END_DECLS
