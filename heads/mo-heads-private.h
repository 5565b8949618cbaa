/* mobileone-gst heads: the head classes (heads/mo-heads.c lists them).
 * Not installed. */
#pragma once

#include "mo-model-private.h"

G_BEGIN_DECLS

extern const MoHeadClass mo_classifier_class;
extern const MoHeadClass mo_ssdlite_class;
extern const MoHeadClass mo_deeplab_class;

G_END_DECLS
