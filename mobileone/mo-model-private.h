/* mobileone-gst engine: the graph, shared by the backbone builder, the heads
 * and the session. Not installed. The heads (heads/) include this header;
 * the engine never includes anything of heads/ (docs/architecture.md). */
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
  MO_OP_SCALE,                  /* per-channel gate (in2 is the 1x1 gate);
                                 * named BLOCK.se in the backbone */
  MO_OP_RESIZE,                 /* bilinear resize (align_corners = False) to
                                 * the size of tensor size_like */
  MO_OP_QUANTIZE,               /* float -> uint8 (int8 models, mo-quant.c) */
  MO_OP_DEQUANTIZE,             /* uint8 -> float */
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
  gboolean u8;                  /* uint8 activations of scale `scale` (int8
                                 * models, mo-quant.c) */
  float scale;
  int zero_point;               /* u8: 0 (ReLU outputs) or 128 (signed) */
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
  /* int8 models (mo-quant.c, docs/int8.md) */
  gboolean int8;                /* DWCONV / PWCONV on uint8 in and out */
  gint8 *wq;                    /* int8 weights: mo_pw8_index / [9][ldw] */
  float *qmul, *qadd;           /* requantisation (mo_requant), [ldw] */
  gint32 *wsum;                 /* PWCONV: mo_pw8_wsum of wq, [ldw] */
  float qscale;                 /* QUANTIZE: 1 / scale; DEQUANTIZE: scale */
} MoLayer;

typedef struct
{
  char *name;
  int tensor;
} MoOutputDef;

typedef struct _MoHeadClass MoHeadClass;
typedef struct _MoWeights MoWeights;

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
  const MoHeadClass *head_class;  /* the class that built the head */
  gpointer head_data;           /* the class's per-model data */
  GDestroyNotify head_data_free;
  /* Optional: the head's own check of a session's input size. */
  gboolean (*check_input) (const MoModel * m, int width, int height,
      GError ** error);
  guint n_int8;                 /* layers that run in int8 (mo-quant.c) */
};

/* Where a layer's weights come from: the checkpoint plus what was read. */
struct _MoWeights
{
  MoSafetensors *st;
  const char *file;
  double eps;
  GHashTable *used;             /* full tensor names read */
};

int mo_model_add_tensor (MoModel * m, int c);
int mo_model_add_view (MoModel * m, int parent, int coff, int c);
MoLayer *mo_model_add_layer (MoModel * m, MoOpType type, const char *name,
    int in, int out);
/** mo_model_add_output: adds output @name; returns its index, the same in
 * every session (mo_session_nth_output()). */
int mo_model_add_output (MoModel * m, const char *name, int tensor);

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

/* int8 (mo-quant.c, docs/int8.md). */

/**
 * mo_model_quantize: reads the activation scales of @path (written by
 * mo_calibration_write()), quantises the weights of every depthwise and
 * pointwise ReLU layer whose input and output have a scale, and inserts
 * the float <-> uint8 conversions the graph then needs. Errors name the
 * file and the tensor.
 */
gboolean mo_model_quantize (MoModel * m, const char *path, GError ** error);

/**
 * mo_session_set_observer: @observe (NULL: none) is called by one thread
 * after each layer of every run, with the layer's index, while that
 * layer's output is intact (calibration).
 */
void mo_session_set_observer (MoSession * s, void (*observe) (gpointer data,
        guint layer), gpointer data);

/** mo_session_tensor: float tensor @t of @s (valid while its layer's
 * observer runs), its shape. */
const float *mo_session_tensor (const MoSession * s, int t, int *h, int *w,
    int *cs);

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

/* Heads: what the engine needs of a head (heads/mo-heads.h has the
 * classes). The engine calls only build and check_input; post_new,
 * post_run and post_free are the heads' uniform post-processing, for their
 * callers. */
struct _MoHeadClass
{
  const char *type;             /* head.type in the description */
  /* build: appends the head (and the backbone it needs) to @m's graph and
   * records what post-processing needs (output indices, ...) in
   * m->head_data. */
  gboolean (*build) (MoModel * m, MoWeights * ws, GError ** error);
  /* check_input: optional check of a session's input size. */
  gboolean (*check_input) (const MoModel * m, int width, int height,
      GError ** error);
  /* post_new: post-processing state for @s (scratch for the worst case). */
  gpointer (*post_new) (MoSession * s, GError ** error);
  /* post_run: post-processes @s's last outputs with @params (NULL: the
   * description's) into at most @max_out results of the head's result type;
   * returns how many were written or -1 on bad @params. Allocates nothing. */
  int (*post_run) (gpointer post, gconstpointer params, gpointer out,
      int max_out);
  void (*post_free) (gpointer post);
};

/**
 * mo_model_load_with_heads: mo_model_load() with the head built by the
 * class in the NULL-terminated @heads whose type is the description's
 * head.type (heads/mo-heads.c passes its table), with @flags.
 */
MoModel *mo_model_load_with_heads (const char *yaml_path,
    const MoHeadClass * const *heads, MoLoadFlags flags, GError ** error);

G_END_DECLS
