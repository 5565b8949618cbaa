/* mobileone-gst heads: SSDLite's description, shared by the graph builder
 * (mo-ssdlite-graph.c) and the post-processing (mo-ssdlite-post.c). Not
 * installed. */
#pragma once

#include "mo-ssdlite.h"
#include "mo-heads-private.h"

G_BEGIN_DECLS

#define MAX_ASPECT_RATIOS 8
#define N_EXTRAS 4

typedef struct
{
  int num_classes;              /* K, background included */
  int anchors;                  /* A */
  int extra_channels[N_EXTRAS];
  double aspect_ratios[MAX_ASPECT_RATIOS];
  int n_aspect_ratios;
  double min_ratio, max_ratio;
  double box_weights[4];
  MoSsdParams params;
  double *class_thresholds;     /* K entries, 0 = none; NULL without any */
  /* Output indices (mo_session_nth_output ()) of each map's class logits
   * and box regression, recorded by the builder. */
  int cls_out[MO_SSD_N_MAPS], reg_out[MO_SSD_N_MAPS];
} SsdConfig;

/** mo_ssdlite_config: @m's SSDLite description, or NULL when @m has
 * another head. */
const SsdConfig *mo_ssdlite_config (const MoModel * m);

G_END_DECLS
