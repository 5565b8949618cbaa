/* mobileone-gst engine: a session runs a model for one input size. Shapes
 * and the activation arena are planned once here; mo_session_run() only
 * calls kernels. */
#include "mo-model-private.h"
#include "mo-preprocess-private.h"
#include "mo-threads.h"
#include "mo-limits.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  int h, w, c, cs;
  int first, last;              /* producing and last consuming layer */
  gboolean u8;                  /* uint8 elements (int8 models), else float */
  gsize offset;                 /* floats from the arena start */
  float *data;
} TensorState;

typedef struct
{
  guint64 macs;
  gint64 ns;                    /* profiling: accumulated time */
  int runs;
} LayerState;

struct _MoSession
{
  MoModel *model;
  MoKernels kernels;
  MoThreadPool *pool;
  MoBarrier barrier;
  /* [nth - 1][layer]: runs on the previous layer's rows with no barrier
   * between (see can_chain()) when the run has nth threads; a run gets as
   * many as the pool grants it, 1 to its size */
  gboolean *chained;
  TensorState *t;
  LayerState *ls;
  float *arena;
  gsize arena_floats;
  MoOutput *outputs;
  int n_outputs;
  guint64 macs;
  gboolean profile;
  /* mo_session_set_input_image(): the first stage of the next run */
  MoPreprocessPlan pre;
  gboolean pre_pending;
  gboolean pre_split;           /* on all threads, in run_all() */
  /* mo_session_run_regions(): one single-threaded session per pool thread,
   * made on first use */
  MoSession **lanes;
  int n_lanes;
  char isa_name[48];            /* "avx512", or "avx512+int8:avx512vnni" */
  /* mo_session_set_observer(): called after every layer */
  void (*observe) (gpointer data, guint layer);
  gpointer observe_data;
};

/* Output pixels per thread below which pre-processing is not split. */
#define MO_PRE_SPLIT_PIXELS 65536

static const char *const op_names[MO_OP_N] = {
  "conv", "dwconv3x3", "pwconv", "gap", "scale", "resize", "quantize",
  "dequantize"
};

/* Whether a pointwise layer of @m pixels and @cout output channels splits
 * its pixels between @nth threads (else its output channels). Pixels (the
 * rows the depthwise layers around split the same way, so each thread reads
 * activations its own core wrote) unless the weights outweigh the
 * activations by more than 2x (deep 14x14 and 7x7 maps, SE, linear): then
 * output channels, so each thread reads only its columns. Every thread
 * streaming all the (read-only) weights costs less than pulling half of
 * every input line from the other core's cache, up to about that ratio (S0
 * at 2 threads: 2.02 -> 1.90 ms with the 14x14x256 layers split by pixels;
 * S3/S4 unchanged). */
static gboolean
pw_splits_pixels (int m, int cout, int nth)
{
  return m >= 8 * nth && (2 * m >= cout || cout < MO_CALIGN * nth);
}

/* Whether depthwise layer @l (after @prev) splits channels between the
 * threads rather than output rows: after a pointwise layer that split its
 * output channels, so each thread reads only what its own core wrote
 * (pulling half of every line from the other core made these
 * memory-bound layers no faster with 2 threads than with 1); the
 * pointwise layer that follows hides that transfer behind its
 * arithmetic. */
static gboolean
dw_splits_channels (const MoSession *s, const MoLayer *l,
    const MoLayer *prev, int nth)
{
  const TensorState *in = &s->t[l->in];

  return prev != NULL && prev->type == MO_OP_PWCONV && prev->out == l->in
      && !pw_splits_pixels (in->h * in->w, prev->cout, nth)
      && l->cout >= MO_CALIGN * nth;
}

/* Whether pointwise layer @pw runs on the rows of depthwise layer @dw
 * without a barrier between the two: @pw reads only @dw's output and both
 * split by the same output rows, so each thread's pointwise pixels are the
 * depthwise rows it has just written itself. @dw's input then has to
 * outlive @pw (infer_shapes), which the other thread may reach while this
 * one still reads that input. Rows are the unit of the split, so only maps
 * tall enough to balance. Needs the shapes only: infer_shapes decides it. */
static gboolean
can_chain (const MoSession *s, const MoLayer *dwprev, const MoLayer *dw,
    const MoLayer *pw, int nth)
{
  const TensorState *o = &s->t[pw->out];

  return nth > 1 && dw->type == MO_OP_DWCONV && pw->type == MO_OP_PWCONV
      && pw->in == dw->out && o->h >= 4 * nth && o->h % nth == 0
      && pw_splits_pixels (o->h * o->w, pw->cout, nth)
      && !dw_splits_channels (s, dw, dwprev, nth);
}

/* Shapes, MACs and tensor lifetimes for a @width x @height input run by
 * 1 to @nth threads. */
static gboolean
infer_shapes (MoSession *s, int width, int height, int nth, GError **error)
{
  MoModel *m = s->model;
  int nt = m->tensors->len;

  for (int i = 0; i < nt; i++) {
    const MoTensorDef *d = &g_array_index (m->tensors, MoTensorDef, i);
    s->t[i].c = d->c;
    s->t[i].cs = MO_ROUND_UP (d->c, MO_CALIGN);
    s->t[i].u8 = d->u8;
    /* The RGB input only feeds the stem, which reads any channel stride:
     * 4 instead of 16 floats per pixel saves the memory-bound stem three
     * quarters of its reads. */
    if (i == m->input)
      s->t[i].cs = 4;
    s->t[i].first = G_MAXINT;
    s->t[i].last = -1;
  }
  s->t[m->input].h = height;
  s->t[m->input].w = width;
  s->t[m->input].first = -1;

  for (guint li = 0; li < m->layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (m->layers, li);
    TensorState *in = &s->t[l->in], *out = &s->t[l->out];
    int h = in->h, w = in->w;

    switch (l->type) {
      case MO_OP_CONV:
      case MO_OP_DWCONV:{
        int span = l->dilation * (l->k - 1) + 1;
        h = (in->h + 2 * l->pad - span) / l->stride + 1;
        w = (in->w + 2 * l->pad - span) / l->stride + 1;
        if (in->h + 2 * l->pad < span || in->w + 2 * l->pad < span) {
          g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
              "%s: a %dx%d input is too small: layer %u (%s) would have no "
              "output", m->desc->path, width, height, li,
              l->name ? l->name : op_names[l->type]);
          return FALSE;
        }
        s->ls[li].macs = (guint64) h * w * l->cout * l->k * l->k *
            (l->type == MO_OP_DWCONV ? 1 : l->cin);
        break;
      }
      case MO_OP_PWCONV:
        s->ls[li].macs = (guint64) h * w * l->cin * l->cout;
        break;
      case MO_OP_GAP:
        h = w = 1;
        s->ls[li].macs = (guint64) in->h * in->w * in->c;
        break;
      case MO_OP_SCALE:
        s->ls[li].macs = (guint64) h * w * l->cout;
        break;
      case MO_OP_QUANTIZE:
      case MO_OP_DEQUANTIZE:
        s->ls[li].macs = 0;
        break;
      case MO_OP_RESIZE:
        /* Sizes are inferred in layer order: size_like is known by now. */
        h = s->t[l->size_like].h;
        w = s->t[l->size_like].w;
        s->ls[li].macs = (guint64) h * w * l->cout * 4;
        break;
      default:
        g_assert_not_reached ();
    }
    out->h = h;
    out->w = w;
    {
      /* A later layer may read the whole of a concatenation its views
       * were written into: the parent takes the views' size at once. */
      int parent = g_array_index (m->tensors, MoTensorDef, l->out).parent;
      if (parent >= 0) {
        s->t[parent].h = h;
        s->t[parent].w = w;
      }
    }
    out->first = MIN (out->first, (int) li);
    in->last = MAX (in->last, (int) li);
    if (l->in2 >= 0)
      s->t[l->in2].last = MAX (s->t[l->in2].last, (int) li);
    s->macs += s->ls[li].macs;
  }
  for (guint i = 0; i < m->outputs->len; i++)
    s->t[g_array_index (m->outputs, MoOutputDef, i).tensor].last = G_MAXINT;
  /* The input outlives the run: a caller may fill it once and run again. */
  s->t[m->input].last = G_MAXINT;
  /* With threads, a pointwise layer may run on a depthwise layer's rows
   * without a barrier between them (see can_chain()): then the depthwise
   * input must outlive the pointwise layer, which the other thread may
   * reach while this one still reads that input. Planned for every number
   * of threads a run may get. */
  for (int t = 1; t <= nth; t++) {
    gboolean *chained = s->chained + (gsize) (t - 1) * m->layers->len;

    for (guint li = 1; li < m->layers->len; li++) {
      chained[li] = can_chain (s, li >= 2 ?
          g_ptr_array_index (m->layers, li - 2) : NULL,
          g_ptr_array_index (m->layers, li - 1),
          g_ptr_array_index (m->layers, li), t);
      if (chained[li]) {
        const MoLayer *dw = g_ptr_array_index (m->layers, li - 1);
        s->t[dw->in].last = MAX (s->t[dw->in].last, (int) li);
      }
    }
  }
  /* A view lives in its parent: the parent must live as long as any view. */
  for (int i = 0; i < nt; i++) {
    const MoTensorDef *d = &g_array_index (m->tensors, MoTensorDef, i);
    if (d->parent >= 0) {
      TensorState *p = &s->t[d->parent];
      p->h = s->t[i].h;
      p->w = s->t[i].w;
      p->first = MIN (p->first, s->t[i].first);
      p->last = MAX (p->last, s->t[i].last);
    }
  }
  return TRUE;
}

/* Floats a tensor occupies in the arena: whole 64-byte lines, so every
 * tensor starts aligned for the widest vectors; a uint8 tensor a quarter
 * of a float one. */
static inline gsize
tensor_floats (const TensorState *t)
{
  gsize n = (gsize) t->h * t->w * t->cs;
  return MO_ROUND_UP (t->u8 ? (n + 3) / 4 : n, MO_CALIGN);
}

/* Greedy best-fit by decreasing size: tensors whose lifetimes do not
 * overlap share memory. */
static void
plan_arena (MoSession *s)
{
  MoModel *m = s->model;
  int nt = m->tensors->len;
  int *order = g_new (int, nt);
  int *placed = g_new (int, nt);
  int n_placed = 0;
  gsize total = 0;

  for (int i = 0; i < nt; i++)
    order[i] = i;
  for (int i = 1; i < nt; i++) {
    int v = order[i], j = i;
    gsize sv = tensor_floats (&s->t[v]);
    while (j > 0 && tensor_floats (&s->t[order[j - 1]]) < sv) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }

  for (int oi = 0; oi < nt; oi++) {
    int i = order[oi];
    TensorState *t = &s->t[i];
    if (g_array_index (m->tensors, MoTensorDef, i).parent >= 0)
      continue;
    if (t->last < 0 && i != m->input)
      continue;                 /* never produced nor read */
    gsize size = tensor_floats (t);
    gsize offset = 0;
    gboolean moved = TRUE;
    /* Move past every conflicting block until a gap fits. */
    while (moved) {
      moved = FALSE;
      for (int pi = 0; pi < n_placed; pi++) {
        TensorState *o = &s->t[placed[pi]];
        gsize osize = tensor_floats (o);
        /* uint8 and float tensors never share memory: a float layer may
         * read padded channels it never wrote (mo-kernels.h), which must
         * stay finite floats, not bytes of an int8 layer. */
        gboolean live = t->u8 != o->u8
            || !(t->last < o->first || o->last < t->first);
        if (live && offset < o->offset + osize && o->offset < offset + size) {
          offset = o->offset + osize;
          moved = TRUE;
        }
      }
    }
    t->offset = offset;
    placed[n_placed++] = i;
    total = MAX (total, offset + size);
  }
  s->arena_floats = MAX (total, MO_CALIGN);
  g_free (order);
  g_free (placed);
}

MoSession *
mo_session_new (MoModel *m, int width, int height, int n_threads,
    GError **error)
{
  MoSession *s;
  int nt = m->tensors->len;

  if (width < m->min_input || height < m->min_input || width > 16384
      || height > 16384) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: input size %dx%d is outside [%d, 16384]", m->desc->path, width,
        height, m->min_input);
    return NULL;
  }
  if (m->check_input && !m->check_input (m, width, height, error))
    return NULL;
  s = g_new0 (MoSession, 1);
  s->model = mo_model_ref (m);
  s->t = g_new0 (TensorState, nt);
  s->ls = g_new0 (LayerState, m->layers->len);
  s->pool = n_threads == 0 ? mo_thread_pool_shared () :
      mo_thread_pool_new (n_threads);
  mo_barrier_init (&s->barrier);
  s->chained = g_new0 (gboolean, (gsize) mo_thread_pool_size (s->pool) *
      m->layers->len);
  if (!infer_shapes (s, width, height, mo_thread_pool_size (s->pool),
          error)) {
    mo_session_free (s);
    return NULL;
  }
  plan_arena (s);
  /* Sizes come from the description and the caller: bounded, and a failed
   * allocation is an error, not an abort. */
  if (s->arena_floats > MO_MAX_ARENA_BYTES / sizeof (float)) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: a %dx%d input needs %" G_GUINT64_FORMAT " MiB of activations, "
        "more than the limit of %" G_GUINT64_FORMAT " MiB (docs/security.md)",
        m->desc->path, width, height,
        (guint64) s->arena_floats * sizeof (float) >> 20,
        MO_MAX_ARENA_BYTES >> 20);
    mo_session_free (s);
    return NULL;
  }
  if (posix_memalign ((void **) &s->arena, 64,
          s->arena_floats * sizeof (float)) != 0) {
    s->arena = NULL;
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: out of memory for the %" G_GUINT64_FORMAT " MiB of activations "
        "of a %dx%d input", m->desc->path,
        (guint64) s->arena_floats * sizeof (float) >> 20, width, height);
    mo_session_free (s);
    return NULL;
  }
  /* Zeroed so padded channels start finite (see mo-kernels.h). */
  memset (s->arena, 0, s->arena_floats * sizeof (float));
  for (int i = 0; i < nt; i++) {
    const MoTensorDef *d = &g_array_index (m->tensors, MoTensorDef, i);
    if (d->parent >= 0) {
      s->t[i].cs = s->t[d->parent].cs;
      s->t[i].offset = s->t[d->parent].offset + d->coff;
    }
    s->t[i].data = s->arena + s->t[i].offset;
  }
  s->n_outputs = m->outputs->len;
  s->outputs = g_new0 (MoOutput, s->n_outputs);
  for (int i = 0; i < s->n_outputs; i++) {
    const MoOutputDef *o = &g_array_index (m->outputs, MoOutputDef, i);
    const TensorState *t = &s->t[o->tensor];
    MoOutput out = { o->name, t->h, t->w, t->c, t->cs, t->data };
    s->outputs[i] = out;
  }
  mo_kernels_init (&s->kernels, mo_isa_from_env ());
  if (m->n_int8 > 0)
    g_snprintf (s->isa_name, sizeof s->isa_name, "%s+int8:%s",
        s->kernels.isa, s->kernels.isa_q8);
  else
    g_strlcpy (s->isa_name, s->kernels.isa, sizeof s->isa_name);
  return s;
}

void
mo_session_free (MoSession *s)
{
  if (s == NULL)
    return;
  for (int i = 0; i < s->n_lanes; i++)
    mo_session_free (s->lanes[i]);
  g_free (s->lanes);
  mo_thread_pool_unref (s->pool);
  g_free (s->chained);
  free (s->arena);
  g_free (s->outputs);
  g_free (s->t);
  g_free (s->ls);
  mo_model_unref (s->model);
  g_free (s);
}

MoModel *
mo_session_model (const MoSession *s)
{
  return s->model;
}

float *
mo_session_input (MoSession *s, int *width, int *height, int *cs)
{
  const TensorState *t = &s->t[s->model->input];
  if (width)
    *width = t->w;
  if (height)
    *height = t->h;
  if (cs)
    *cs = t->cs;
  return t->data;
}

void
mo_session_set_input_nchw (MoSession *s, const float *chw)
{
  const TensorState *t = &s->t[s->model->input];
  gsize plane = (gsize) t->h * t->w;
  s->pre_pending = FALSE;
  for (gsize p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++)
      t->data[p * t->cs + c] = chw[c * plane + p];
}

void
mo_session_set_input_image (MoSession *s, const MoImage *img,
    const MoRect *crop, MoFit fit, MoTransform *xf)
{
  const TensorState *t = &s->t[s->model->input];
  const MoDesc *d = mo_model_desc (s->model);

  g_return_if_fail (img != NULL);
  g_return_if_fail ((unsigned) img->format < MO_PIXEL_N_FORMATS);
  g_return_if_fail (img->width > 0 && img->height > 0);

  /* Planned now, run by mo_session_run(): a pool dispatch of its own would
   * wake the threads twice per frame. */
  mo_preprocess_plan_init (&s->pre, img, crop, fit, d->mean, d->std, t->data,
      t->w, t->h, t->cs, xf);
  s->pre_pending = TRUE;
}

/* The part [lo, hi) of @n items that thread @ith of @nth computes, in
 * multiples of @align so SIMD blocks never straddle two threads. */
static inline void
split (int n, int align, int ith, int nth, int *lo, int *hi)
{
  /* 64-bit: blocks x nth overflows an int for a large map and many threads. */
  gint64 blocks = ((gint64) n + align - 1) / align;
  *lo = (int) MIN ((gint64) n, blocks * ith / nth * align);
  *hi = (int) MIN ((gint64) n, blocks * (ith + 1) / nth * align);
}

/* An int8 layer (docs/int8.md): the float layer's split, on bytes. */
static void
run_layer_q8 (MoSession *s, const MoLayer *l, const MoLayer *prev,
    gboolean chained_to_prev, int ith, int nth)
{
  const TensorState *in = &s->t[l->in], *out = &s->t[l->out];
  const MoKernels *k = &s->kernels;
  const uint8_t *id = (const uint8_t *) in->data;
  uint8_t *od = (uint8_t *) out->data;
  const MoTensorDef *ind = &g_array_index (s->model->tensors, MoTensorDef,
      l->in);

  if (l->type == MO_OP_GAP) {
    MoGapQ8Params p = { id, out->data, in->h * in->w, in->cs, 0, 0,
      ind->scale, ind->zero_point
    };
    split (in->c, MO_CALIGN, ith, nth, &p.c0, &p.c1);
    if (p.c0 < p.c1)
      k->gap_q8 (&p);
  } else if (l->type == MO_OP_SCALE) {
    const MoTensorDef *outd = &g_array_index (s->model->tensors,
        MoTensorDef, l->out);
    MoScaleQ8Params p = { id, s->t[l->in2].data, od, in->cs, out->cs,
      l->cout, ind->scale, ind->zero_point, 1.0f / outd->scale, 0, 0
    };
    split (out->h * out->w, 1, ith, nth, &p.m0, &p.m1);
    if (p.m0 < p.m1)
      k->scale_q8 (&p);
  } else if (l->type == MO_OP_DWCONV) {
    MoDwConvQ8Params p = { id, od, l->wq, l->qmul, l->qadd, in->h, in->w,
      in->cs, out->h, out->w, out->cs, l->cout, l->ldw, l->stride,
      l->dilation, l->pad, 0, 0
    };
    if (dw_splits_channels (s, l, prev, nth)) {
      int c0, c1;
      split (l->cout, MO_CALIGN, ith, nth, &c0, &c1);
      p.in += c0;
      p.out += c0;
      p.w += c0;
      p.mul += c0;
      p.add += c0;
      p.c = c1 - c0;
      p.y1 = out->h;
    } else {
      split (out->h, 1, ith, nth, &p.y0, &p.y1);
    }
    if (p.y0 < p.y1 && p.c > 0)
      k->dwconv3x3_q8 (&p);
  } else {
    int m = out->h * out->w;
    MoPwConvQ8Params p = { id, od, l->wq, l->qmul, l->qadd, in->cs, out->cs,
      l->cin, l->ldw, 0, m, 0, l->cout, l->wsum
    };
    if (chained_to_prev) {
      int y0, y1;
      split (out->h, 1, ith, nth, &y0, &y1);
      p.m0 = y0 * out->w;
      p.m1 = y1 * out->w;
    } else if (pw_splits_pixels (m, l->cout, nth))
      split (m, 1, ith, nth, &p.m0, &p.m1);
    else
      split (l->cout, l->cout >= 64 * nth ? 64 : MO_CALIGN, ith, nth,
          &p.n0, &p.n1);
    if (p.m0 < p.m1 && p.n0 < p.n1)
      k->pwconv_q8 (&p);
  }
}

static void
run_layer (MoSession *s, const MoLayer *l, const MoLayer *prev,
    gboolean chained_to_prev, int ith, int nth)
{
  const TensorState *in = &s->t[l->in], *out = &s->t[l->out];
  const MoKernels *k = &s->kernels;

  if (l->int8) {
    run_layer_q8 (s, l, prev, chained_to_prev, ith, nth);
    return;
  }
  switch (l->type) {
    case MO_OP_QUANTIZE:{
      MoQuantizeParams p = { in->data, (uint8_t *) out->data, in->cs,
        out->cs, l->cout, l->qscale, 0, 0
      };
      split (out->h * out->w, 1, ith, nth, &p.m0, &p.m1);
      if (p.m0 < p.m1)
        k->quantize (&p);
      break;
    }
    case MO_OP_DEQUANTIZE:{
      MoDequantizeParams p = { (const uint8_t *) in->data, out->data, in->cs,
        out->cs, l->cout, l->qscale, 0, 0,
        g_array_index (s->model->tensors, MoTensorDef, l->in).zero_point
      };
      split (out->h * out->w, 1, ith, nth, &p.m0, &p.m1);
      if (p.m0 < p.m1)
        k->dequantize (&p);
      break;
    }
    case MO_OP_CONV:{
      MoConvParams p = { in->data, out->data, l->w, l->b, in->h, in->w,
        l->cin, in->cs, out->h, out->w, out->cs, l->cout, l->ldw, l->k, l->k,
        l->stride, l->dilation, l->pad, l->act, 0, 0, NULL, 0.0f
      };
      if (out->u8) {            /* a quantize conversion fused in (mo-quant.c) */
        p.out = NULL;
        p.out_u8 = (uint8_t *) out->data;
        p.inv_scale = 1.0f / g_array_index (s->model->tensors, MoTensorDef,
            l->out).scale;
      }
      split (out->h, 1, ith, nth, &p.y0, &p.y1);
      if (p.y0 < p.y1)
        k->conv (&p);
      break;
    }
    case MO_OP_DWCONV:{
      MoDwConvParams p = { in->data, out->data, l->w, l->b, in->h, in->w,
        in->cs, out->h, out->w, out->cs, l->cout, l->ldw, l->stride,
        l->dilation, l->pad, l->act, 0, 0
      };
      /* The channels of a channel-split pointwise layer before it (see
       * dw_splits_channels), else output rows. */
      if (dw_splits_channels (s, l, prev, nth)) {
        int c0, c1;
        split (l->cout, MO_CALIGN, ith, nth, &c0, &c1);
        p.in += c0;
        p.out += c0;
        p.w += c0;
        p.b += c0;
        p.c = c1 - c0;
        p.y1 = out->h;
      } else {
        split (out->h, 1, ith, nth, &p.y0, &p.y1);
      }
      if (p.y0 < p.y1 && p.c > 0)
        k->dwconv3x3 (&p);
      break;
    }
    case MO_OP_PWCONV:{
      int m = out->h * out->w;
      MoPwConvParams p = { in->data, out->data, l->w, l->b, in->cs, out->cs,
        l->cin, l->ldw, l->act, 0, m, 0, l->cout
      };
      /* See pw_splits_pixels; channels in whole 64-channel panels when
       * there are enough. Kernels compute every output the same way
       * wherever a split falls, so results do not depend on nth. */
      if (chained_to_prev) {
        int y0, y1;
        split (out->h, 1, ith, nth, &y0, &y1);
        p.m0 = y0 * out->w;
        p.m1 = y1 * out->w;
      } else if (pw_splits_pixels (m, l->cout, nth))
        split (m, 1, ith, nth, &p.m0, &p.m1);
      else
        split (l->cout, l->cout >= 64 * nth ? 64 : MO_CALIGN, ith, nth,
            &p.n0, &p.n1);
      if (p.m0 < p.m1 && p.n0 < p.n1)
        k->pwconv (&p);
      break;
    }
    case MO_OP_GAP:{
      MoGapParams p = { in->data, out->data, in->h * in->w, in->cs, 0, 0 };
      split (in->c, MO_CALIGN, ith, nth, &p.c0, &p.c1);
      if (p.c0 < p.c1)
        k->gap (&p);
      break;
    }
    case MO_OP_SCALE:{
      MoScaleParams p = { in->data, s->t[l->in2].data, out->data, in->cs,
        out->cs, l->cout, l->act, 0, 0
      };
      split (out->h * out->w, 1, ith, nth, &p.m0, &p.m1);
      if (p.m0 < p.m1)
        k->scale (&p);
      break;
    }
    case MO_OP_RESIZE:{
      MoResizeParams p = { in->data, out->data, in->h, in->w, in->cs, out->h,
        out->w, out->cs, l->cout, 0, 0
      };
      split (out->h, 1, ith, nth, &p.y0, &p.y1);
      if (p.y0 < p.y1)
        k->resize_bilinear (&p);
      break;
    }
    default:
      g_assert_not_reached ();
  }
}

static void
run_all (gpointer data, int ith, int nth)
{
  MoSession *s = data;
  GPtrArray *layers = s->model->layers;
  const gboolean *chained = s->chained + (gsize) (nth - 1) * layers->len;

  if (s->pre_pending && s->pre_split) {
    mo_preprocess_plan_run (&s->pre, ith, nth);
    mo_barrier_wait (&s->barrier, ith, nth);
  }
  for (guint li = 0; li < layers->len; li++) {
    gint64 t0 = s->profile && ith == 0 ? g_get_monotonic_time () : 0;
    run_layer (s, g_ptr_array_index (layers, li),
        li > 0 ? g_ptr_array_index (layers, li - 1) : NULL, chained[li],
        ith, nth);
    /* Profiling keeps every barrier, so a layer's time is all of it; an
     * observer reads each layer's output after it (the next layer only
     * reads it, and the one after waits for this thread's barrier). */
    if (li + 1 == layers->len || !chained[li + 1] || s->profile
        || s->observe)
      mo_barrier_wait (&s->barrier, ith, nth);
    if (s->observe && ith == 0)
      s->observe (s->observe_data, li);
    if (s->profile && ith == 0) {
      s->ls[li].ns += (g_get_monotonic_time () - t0) * 1000;
      s->ls[li].runs++;
    }
  }
}

void
mo_session_run (MoSession *s)
{
  /* As many threads as the pool grants this session: all of them when it
   * runs alone, one when as many sessions as cores share it. */
  int nth = mo_thread_pool_acquire (s->pool, s,
      mo_thread_pool_size (s->pool));

  /* Pre-processing split over the threads costs a barrier before the
   * first layer; below MO_PRE_SPLIT_PIXELS per thread (224x224 on 2 threads
   * is 25k) the caller does it alone, faster than the wait on a busy
   * machine. */
  s->pre_split = s->pre_pending && nth > 1 && (gint64) s->pre.dw *
      s->pre.dh >= (gint64) MO_PRE_SPLIT_PIXELS * nth;
  if (s->pre_pending && !s->pre_split)
    mo_preprocess_plan_run (&s->pre, 0, 1);
  mo_thread_pool_run_n (s->pool, nth, run_all, s);
  mo_thread_pool_release (s->pool, nth);
  s->pre_pending = FALSE;
}

typedef struct
{
  MoSession *s;
  const MoImage *img;
  const MoRect *rects;
  int n;
  MoFit fit;
  MoRegionFunc done;
  gpointer user;
  gint next;                    /* atomic: the next region to take */
} RegionsTask;

/* Each thread takes the next region and runs it alone in its own lane: no
 * barrier per layer, and regions (typically small, 224x224) need none. */
static void
run_regions (gpointer data, int ith, int nth)
{
  RegionsTask *task = data;
  MoSession *lane = task->s->lanes[ith];
  int i;

  while ((i = g_atomic_int_add (&task->next, 1)) < task->n) {
    MoTransform xf;

    mo_session_set_input_image (lane, task->img, &task->rects[i], task->fit,
        &xf);
    mo_session_run (lane);
    task->done (task->user, i, lane, &xf);
  }
}

/* The lanes of mo_session_run_regions(), once: the same model and input
 * size, one thread each. */
static gboolean
ensure_lanes (MoSession *s)
{
  const TensorState *in = &s->t[s->model->input];
  int n = mo_thread_pool_size (s->pool);

  if (s->lanes != NULL)
    return TRUE;
  s->lanes = g_new0 (MoSession *, n);
  for (int i = 0; i < n; i++) {
    s->lanes[i] = mo_session_new (s->model, in->w, in->h, 1, NULL);
    if (s->lanes[i] == NULL) {
      for (int j = 0; j < i; j++)
        mo_session_free (s->lanes[j]);
      g_clear_pointer (&s->lanes, g_free);
      return FALSE;
    }
  }
  s->n_lanes = n;
  return TRUE;
}

void
mo_session_run_regions (MoSession *s, const MoImage *img,
    const MoRect *rects, int n, MoFit fit, MoRegionFunc done, gpointer user)
{
  RegionsTask task = { s, img, rects, n, fit, done, user, 0 };

  g_return_if_fail (img != NULL && done != NULL);
  g_return_if_fail (n == 0 || rects != NULL);

  /* One region, or one thread: every thread on each region in turn. */
  if (n == 1 || mo_thread_pool_size (s->pool) == 1 || !ensure_lanes (s)) {
    for (int i = 0; i < n; i++) {
      MoTransform xf;

      mo_session_set_input_image (s, img, &rects[i], fit, &xf);
      mo_session_run (s);
      done (user, i, s, &xf);
    }
    return;
  }
  if (n > 0) {
    int nth = mo_thread_pool_acquire (s->pool, s,
        MIN (n, mo_thread_pool_size (s->pool)));

    mo_thread_pool_run_n (s->pool, nth, run_regions, &task);
    mo_thread_pool_release (s->pool, nth);
  }
}

int
mo_session_n_outputs (const MoSession *s)
{
  return s->n_outputs;
}

const MoOutput *
mo_session_nth_output (const MoSession *s, int i)
{
  g_return_val_if_fail (i >= 0 && i < s->n_outputs, NULL);
  return &s->outputs[i];
}

const MoOutput *
mo_session_output (const MoSession *s, const char *name)
{
  for (int i = 0; i < s->n_outputs; i++)
    if (g_str_equal (s->outputs[i].name, name))
      return &s->outputs[i];
  return NULL;
}

guint64
mo_session_macs (const MoSession *s)
{
  return s->macs;
}

gsize
mo_session_arena_bytes (const MoSession *s)
{
  return s->arena_floats * sizeof (float);
}

int
mo_session_n_threads (const MoSession *s)
{
  return mo_thread_pool_size (s->pool);
}

const char *
mo_session_isa (const MoSession *s)
{
  return s->isa_name;
}

void
mo_session_set_observer (MoSession *s, void (*observe) (gpointer data,
        guint layer), gpointer data)
{
  s->observe = observe;
  s->observe_data = data;
}

const float *
mo_session_tensor (const MoSession *s, int t, int *h, int *w, int *cs)
{
  g_return_val_if_fail (!s->t[t].u8, NULL);
  *h = s->t[t].h;
  *w = s->t[t].w;
  *cs = s->t[t].cs;
  return s->t[t].data;
}

void
mo_session_describe (const MoSession *s, GString *out)
{
  GPtrArray *layers = s->model->layers;
  g_string_append_printf (out, "%-4s %-10s %-28s %-16s %-16s %3s %3s %10s\n",
      "#", "op", "name", "input (HxWxC)", "output (HxWxC)", "k", "s", "MMACs");
  for (guint li = 0; li < layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (layers, li);
    const TensorState *in = &s->t[l->in], *o = &s->t[l->out];
    char is[32], os[32];
    g_snprintf (is, sizeof is, "%dx%dx%d", in->h, in->w, in->c);
    g_snprintf (os, sizeof os, "%dx%dx%d", o->h, o->w, o->c);
    g_string_append_printf (out, "%-4u %-10s %-28s %-16s %-16s %3d %3d %10.3f\n",
        li, op_names[l->type], l->name ? l->name : "-", is, os, l->k,
        l->stride, s->ls[li].macs / 1e6);
  }
}

void
mo_session_set_profile (MoSession *s, gboolean on)
{
  s->profile = on;
  for (guint li = 0; li < s->model->layers->len; li++) {
    s->ls[li].ns = 0;
    s->ls[li].runs = 0;
  }
}

void
mo_session_profile_layers (const MoSession *s, GString *out)
{
  GPtrArray *layers = s->model->layers;

  g_string_append_printf (out, "%-4s %-10s %-28s %-16s %10s %9s\n", "#", "op",
      "name", "output (HxWxC)", "ms/run", "GMAC/s");
  for (guint li = 0; li < layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (layers, li);
    const TensorState *o = &s->t[l->out];
    double ms = s->ls[li].runs ? s->ls[li].ns / 1e6 / s->ls[li].runs : 0.0;
    char os[32];
    g_snprintf (os, sizeof os, "%dx%dx%d", o->h, o->w, o->c);
    g_string_append_printf (out, "%-4u %-10s %-28s %-16s %10.4f %9.2f\n", li,
        op_names[l->type], l->name ? l->name : "-", os, ms,
        ms > 0 ? s->ls[li].macs / 1e6 / ms : 0.0);
  }
}

void
mo_session_profile_report (const MoSession *s, GString *out)
{
  gint64 ns[MO_OP_N] = { 0 };
  guint64 macs[MO_OP_N] = { 0 };
  gint64 total = 0;
  int runs = 0;

  for (guint li = 0; li < s->model->layers->len; li++) {
    const MoLayer *l = g_ptr_array_index (s->model->layers, li);
    ns[l->type] += s->ls[li].ns;
    macs[l->type] += s->ls[li].macs;
    total += s->ls[li].ns;
    runs = MAX (runs, s->ls[li].runs);
  }
  if (runs == 0)
    return;
  g_string_append_printf (out, "%-10s %10s %7s %10s %9s\n", "op",
      "ms/run", "share", "GMACs", "GMAC/s");
  for (int t = 0; t < MO_OP_N; t++) {
    double ms = ns[t] / 1e6 / runs;
    if (macs[t] == 0 && ns[t] == 0)
      continue;
    g_string_append_printf (out, "%-10s %10.3f %6.1f%% %10.4f %9.2f\n",
        op_names[t], ms, total ? 100.0 * ns[t] / total : 0.0, macs[t] / 1e9,
        ms > 0 ? macs[t] / 1e6 / ms : 0.0);
  }
}
