/* mobileone-gst engine: the graph, shared by the backbone builder, the heads
 * and the session. Not installed. */
#pragma once

#include "mobileone.h"
#include "mo-kernels.h"
#include "mo-safetensors.h"

G_BEGIN_DECLS

typedef enum
{
  MO_OP_CONV,                   /* dense KxK, groups 1 */
  MO_OP_DWCONV,                 /* depthwise 3x3 */
  MO_OP_PWCONV,                 /* 1x1 / fully connected */
  MO_OP_GAP,                    /* global average pool to 1x1 */
  MO_OP_SCALE,                  /* per-channel gate (in2 is the 1x1 gate) */
  MO_OP_RESIZE,                 /* bilinear resize (align_corners = False) to
                                 * the size of tensor size_like */
  MO_OP_N
} MoOpType;

/* A tensor of the graph: its channels are fixed, its size is set per session.
 * A view is a channel range of another tensor (for concatenation); its
 * offset and length must be multiples of MO_CALIGN. */
typedef struct
{
  int c;
  int parent;                   /* -1 unless a view */
  int coff;
} MoTensorDef;

typedef struct
{
  MoOpType type;
  char *name;                   /* fused checkpoint name without prefix and
                                 * without ".weight", or NULL */
  gboolean export_2d;           /* a Linear: export weight as [out, in] */
  int in, in2, out;
  int cin, cout, k, stride, dilation, pad;
  int size_like;                /* MO_OP_RESIZE: output h, w are this tensor's */
  MoAct act;
  int ldw;
  float *w, *b;                 /* packed (mo-kernels.h), 64-byte aligned */
} MoLayer;

typedef struct
{
  char *name;
  int tensor;
} MoOutputDef;

struct _MoModel
{
  gint ref;
  MoDesc *desc;
  GArray *tensors;              /* MoTensorDef */
  GPtrArray *layers;            /* MoLayer * */
  GArray *outputs;              /* MoOutputDef */
  int input;
  guint64 n_params;
  int min_input;                /* smallest width/height the graph accepts */
  gpointer head_data;
  GDestroyNotify head_data_free;
  /* Optional: the head's own check of a session's input size. */
  gboolean (*check_input) (const MoModel * m, int width, int height,
      GError ** error);
};

/* Where a layer's weights come from: the checkpoint plus what was read. */
typedef struct
{
  MoSafetensors *st;
  const char *file;
  double eps;
  GHashTable *used;             /* full tensor names read */
} MoWeights;

int mo_model_add_tensor (MoModel * m, int c);
int mo_model_add_view (MoModel * m, int parent, int coff, int c);
MoLayer *mo_model_add_layer (MoModel * m, MoOpType type, const char *name,
    int in, int out);
void mo_model_add_output (MoModel * m, const char *name, int tensor);

/** mo_layer_set_weights: packs OIHW @w ([cout][cin/groups][k][k]) and @b. */
void mo_layer_set_weights (MoModel * m, MoLayer * l, const float *w,
    const float *b);

/** mo_weights_get: tensor @prefix@name as F32 of @shape (g_free it). */
float *mo_weights_get (MoWeights * ws, const char *prefix, const char *name,
    int ndim, const int64_t * shape, GError ** error);

/**
 * mo_weights_alloc: zeroed room for @n floats of weights that tensor
 * @tensor (a full name; NULL: no check) will fill. Fails with @error, never
 * aborts, when the tensor is missing, @n is beyond MO_MAX_TENSOR_FLOATS
 * (sizes come from the description: checked before they are allocated) or
 * memory runs out. g_free() the result.
 */
float *mo_weights_alloc (MoWeights * ws, const char *tensor, guint64 n,
    GError ** error);

/** mo_weights_has: whether the checkpoint holds @prefix@name. */
gboolean mo_weights_has (MoWeights * ws, const char *prefix, const char *name);

/* Folding (mo-fold.c). W is [cout][cin_g][K][K], b is [cout]; both accumulate. */

/** mo_fold_conv_bn: adds branch @branch (.conv.weight kxk, .bn.*) padded to KxK. */
gboolean mo_fold_conv_bn (MoWeights * ws, const char *prefix,
    const char *branch, int cout, int cin_g, int k, int K, float *W, float *b,
    GError ** error);

/** mo_fold_bn_identity: adds BatchNorm @branch of the input as an identity conv. */
gboolean mo_fold_bn_identity (MoWeights * ws, const char *prefix,
    const char *branch, int cout, int cin_g, int K, float *W, float *b,
    GError ** error);

/**
 * mo_load_conv_bn: a "X.conv + X.bn" unit of the heads: folded from
 * X.conv.weight and X.bn.* when @fused is FALSE, read from X.conv.weight and
 * X.conv.bias when TRUE. W and b are overwritten.
 */
gboolean mo_load_conv_bn (MoWeights * ws, const char *name, gboolean fused,
    int cout, int cin_g, int k, float *W, float *b, GError ** error);

/* Backbone (mo-backbone.c). */
typedef struct
{
  int dilation[5];              /* per stage; >1 turns stride 2 into dilation */
} MoBackboneOpts;

typedef struct
{
  int tensor[5];                /* output of stage0..stage4 */
  int channels[5];
} MoBackboneOut;

/** mo_backbone_build: appends stage0..stage4 to the graph (input tensor m->input). */
gboolean mo_backbone_build (MoModel * m, MoWeights * ws,
    const MoBackboneOpts * opts, MoBackboneOut * out, GError ** error);

/* Heads (heads/mo-heads.c). */
typedef gboolean (*MoHeadBuildFunc) (MoModel * m, MoWeights * ws,
    GError ** error);

/** mo_head_find: the builder for head.type @type, or NULL. */
MoHeadBuildFunc mo_head_find (const char *type);

G_END_DECLS
