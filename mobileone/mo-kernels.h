/* mobileone-gst engine: compute kernels and their dispatch table.
 *
 * Layout: activations are NHWC (batch 1) with a channel stride `cs` that is
 * a multiple of MO_CALIGN floats, so SIMD variants can process whole vectors
 * without channel tails. Weights are packed at load into one layout shared
 * by every ISA:
 *   pointwise 1x1:  column panels of MO_PW_PANEL output channels (see
 *                   mo_pw_index), ldw = round_up (cout, MO_CALIGN)
 *   depthwise 3x3:  w[9][ldw],              ldw = round_up (c, MO_CALIGN)
 *   dense KxK:      w[kh][kw][cin][ldw]
 *   bias:           b[ldw]
 * Padded weight and bias entries are zero. Kernels must compute the
 * requested channels; they may also write padded output channels up to
 * round_up (n, MO_CALIGN) (the graph guarantees that room is theirs), and
 * may read padded input channels (finite values) only to multiply them by
 * zero weights.
 *
 * Kernels take a params struct, never allocate and know nothing about
 * threads: a caller splits work through the row/column ranges.
 */
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define MO_CALIGN 16
#define MO_ROUND_UP(x, a) ((((x) + (a) - 1) / (a)) * (a))

/* Pointwise weights are packed in column panels of MO_PW_PANEL output
 * channels: panel p holds channels [p * 64, p * 64 + width), width =
 * MIN (64, ldw - p * 64), as a k x width row-major block at offset
 * p * 64 * k. A GEMM tile of up to 64 channels inside one panel then reads
 * its weights as one sequential stream (with rows of ldw floats it would
 * jump ldw floats per input channel), which the prefetchers follow: the
 * weight-bound layers (7x7 maps, 1x1 vectors) gain most. */
#define MO_PW_PANEL 64

/* Row length (floats) of the panel that holds output channel @n. */
static inline int
mo_pw_panel_width (int ldw, int n)
{
  int p0 = n - n % MO_PW_PANEL;
  return ldw - p0 < MO_PW_PANEL ? ldw - p0 : MO_PW_PANEL;
}

/* Index of weight (input channel @kk, output channel @n) of a pointwise
 * layer with @k input channels. */
static inline size_t
mo_pw_index (int k, int ldw, int kk, int n)
{
  int p0 = n - n % MO_PW_PANEL;
  return (size_t) p0 * k + (size_t) kk * mo_pw_panel_width (ldw, n) + (n - p0);
}

typedef enum
{
  MO_ACT_NONE,
  MO_ACT_RELU,
  MO_ACT_SIGMOID
} MoAct;

/* Dense KxK convolution (groups = 1): the stem and the heads' 3x3 convs. */
typedef struct
{
  const float *in;
  float *out;
  const float *w, *b;
  int in_h, in_w, in_c, in_cs;
  int out_h, out_w, out_cs;
  int n, ldw;                   /* output channels, weight row length */
  int kh, kw, stride, dilation, pad;
  MoAct act;
  int y0, y1;                   /* output rows to compute */
  /* Where not NULL, the outputs go here as uint8 instead of to out:
   * mo_quantize_value (output, inv_scale), the bytes a MoQuantizeParams
   * pass over the float outputs would give (an int8 network's stem writes
   * its first uint8 tensor directly). act is ReLU or none. */
  uint8_t *out_u8;
  float inv_scale;
} MoConvParams;

/* Depthwise 3x3 convolution. */
typedef struct
{
  const float *in;
  float *out;
  const float *w, *b;
  int in_h, in_w, in_cs;
  int out_h, out_w, out_cs;
  int c, ldw;
  int stride, dilation, pad;
  MoAct act;
  int y0, y1;                   /* output rows to compute */
} MoDwConvParams;

/* Pointwise 1x1 convolution / fully-connected layer: out[m][n] =
 * act (b[n] + sum_k in[m][k] * w[mo_pw_index (k, ldw, k, n)]). */
typedef struct
{
  const float *in;
  float *out;
  const float *w, *b;
  int in_cs, out_cs;
  int k, ldw;
  MoAct act;
  int m0, m1;                   /* pixels (rows of in/out) to compute */
  int n0, n1;                   /* output channels; n0 a multiple of MO_CALIGN */
} MoPwConvParams;

/* Global average pool over hw pixels: out[c] = mean over pixels of in[.][c]. */
typedef struct
{
  const float *in;
  float *out;
  int hw, cs;
  int c0, c1;                   /* channels to compute */
} MoGapParams;

/* Per-channel gating: out[m][c] = act (in[m][c] * gate[c]) (squeeze-excite). */
typedef struct
{
  const float *in;
  const float *gate;
  float *out;
  int in_cs, out_cs, c;
  MoAct act;
  int m0, m1;
} MoScaleParams;

/* Bilinear resize with PyTorch's F.interpolate (mode = "bilinear",
 * align_corners = False) semantics: source coordinate (dst + 0.5) * in / out
 * - 0.5, negative values clamped to 0, the far neighbour clamped to the
 * last row/column. A 1x1 input broadcasts. */
typedef struct
{
  const float *in;
  float *out;
  int in_h, in_w, in_cs;
  int out_h, out_w, out_cs;
  int c;                        /* channels to compute */
  int y0, y1;                   /* output rows to compute */
} MoResizeParams;

/* ---- int8 (docs/int8.md) ----
 *
 * Quantised activations are uint8 with a per-tensor scale and zero point 0
 * (every quantised tensor follows a ReLU), NHWC with a channel stride of
 * round_up (c, MO_CALIGN) bytes; weights are int8, symmetric, one scale per
 * output channel. A layer sums exact int32 products acc = sum a * w and
 * requantises with mo_requant (acc, mul[n], add[n]): mul = s_in s_w[n] /
 * s_out, add = bias[n] / s_out, so the bias, the scales and the ReLU (the
 * clamp at 0) cost one fused multiply-add per output. Every variant gives
 * the reference's bytes exactly. */

/* Pointwise int8 weights: column panels of MO_PW_PANEL channels like the
 * float ones; inside a panel of width W, groups of 4 input channels:
 * [kq / 4][W][4] bytes (kq = round_up (k, 4)), the operand layout of
 * vpdpbusd / sdot. Padded channels and inputs are zero. */
static inline size_t
mo_pw8_index (int k, int ldw, int kk, int n)
{
  int p0 = n - n % MO_PW_PANEL;
  size_t kq = MO_ROUND_UP ((size_t) k, 4);
  return (size_t) p0 * kq + (size_t) (kk / 4) * mo_pw_panel_width (ldw, n) * 4
      + (size_t) (n - p0) * 4 + (size_t) (kk % 4);
}

/* Bytes of pointwise int8 weights for @k inputs and @ldw columns. */
static inline size_t
mo_pw8_size (int k, int ldw)
{
  return MO_ROUND_UP ((size_t) k, 4) * (size_t) ldw;
}

/** mo_requant: an int32 sum to uint8: clamp (fma (acc, mul, add)) to
 * [0, 255], rounded to nearest even. Shared by every variant's tails. */
static inline uint8_t
mo_requant (int32_t acc, float mul, float add)
{
  float v = fmaf ((float) acc, mul, add);
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return (uint8_t) rintf (v);
}

/* Pointwise 1x1 int8: out[m][n] = requant (sum_k in[m][k] w[k][n]). */
typedef struct
{
  const uint8_t *in;
  uint8_t *out;
  const int8_t *w;              /* mo_pw8_index */
  const float *mul, *add;       /* [ldw] */
  int in_cs, out_cs;            /* bytes; in_cs >= round_up (k, 4) */
  int k, ldw;
  int m0, m1;                   /* pixels */
  int n0, n1;                   /* output channels; n0 a multiple of MO_CALIGN */
  /* [ldw]: each output channel's weight sum (mo_pw8_wsum), computed once
   * with the weights: the kernels that multiply activations shifted to
   * signed (NEON's) add 128 x it back. */
  const int32_t *wsum;
} MoPwConvQ8Params;

/** mo_pw8_wsum: @out[n] = sum over k of the weights of output channel n
 * (@w packed by mo_pw8_index, @ldw columns; 0 for padded columns). */
static inline void
mo_pw8_wsum (const int8_t *w, int k, int ldw, int32_t *out)
{
  for (int n = 0; n < ldw; n++) {
    int32_t s = 0;
    for (int kk = 0; kk < k; kk++)
      s += w[mo_pw8_index (k, ldw, kk, n)];
    out[n] = s;
  }
}

/* Depthwise 3x3 int8, weights w[9][ldw]. */
typedef struct
{
  const uint8_t *in;
  uint8_t *out;
  const int8_t *w;
  const float *mul, *add;
  int in_h, in_w, in_cs;
  int out_h, out_w, out_cs;
  int c, ldw;
  int stride, dilation, pad;
  int y0, y1;                   /* output rows to compute */
} MoDwConvQ8Params;

/* float -> uint8: out = clamp (rint (in * inv_scale), 0, 255), pixels
 * [m0, m1), channels [0, round_up (c, MO_CALIGN)). */
typedef struct
{
  const float *in;
  uint8_t *out;
  int in_cs, out_cs, c;
  float inv_scale;
  int m0, m1;
} MoQuantizeParams;

/* uint8 -> float: out = (in - zero_point) * scale, same ranges. The
 * difference is an exact small integer, so every variant gives the
 * reference's floats. zero_point: 0 for ReLU outputs, 128 for signed ones
 * (docs/int8.md). */
typedef struct
{
  const uint8_t *in;
  float *out;
  int in_cs, out_cs, c;
  float scale;
  int m0, m1;
  int zero_point;               /* 0 .. 255 */
} MoDequantizeParams;

/* Global average pool of a uint8 tensor (zero point, scale) to floats,
 * squeeze-excite's pool on a conv's uint8 output (docs/int8.md):
 * out[c] = mo_q8_mean (the exact integer sum over the hw pixels),
 * channels [c0, c1). */
typedef struct
{
  const uint8_t *in;
  float *out;
  int hw, cs;
  int c0, c1;
  float scale;
  int zero_point;
} MoGapQ8Params;

/** mo_q8_mean: the mean of hw bytes of sum @sum, dequantised. */
static inline float
mo_q8_mean (double sum, int hw, float scale, int zero_point)
{
  return (float) ((sum / hw - zero_point) * (double) scale);
}

/* Squeeze-excite's gate on uint8 (docs/int8.md), what dequantize, the
 * float gate and quantize compute in turn, each step rounded to float as
 * they round it: x = (in - in_zero_point) * in_scale, out =
 * mo_quantize_value (x * gate[c], out_inv_scale); the gate's ReLU is the
 * clamp at 0 (the output's zero point is 0). Pixels [m0, m1), channels
 * [0, round_up (c, MO_CALIGN)). */
typedef struct
{
  const uint8_t *in;
  const float *gate;
  uint8_t *out;
  int in_cs, out_cs, c;
  float in_scale;
  int in_zero_point;
  float out_inv_scale;
  int m0, m1;
} MoScaleQ8Params;

/** mo_quantize_value: the scalar of MoQuantizeParams. */
static inline uint8_t
mo_quantize_value (float x, float inv_scale)
{
  float v = x * inv_scale;
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return (uint8_t) rintf (v);
}

typedef void (*MoPwConvQ8Func) (const MoPwConvQ8Params * p);
typedef void (*MoDwConvQ8Func) (const MoDwConvQ8Params * p);
typedef void (*MoQuantizeFunc) (const MoQuantizeParams * p);
typedef void (*MoDequantizeFunc) (const MoDequantizeParams * p);
typedef void (*MoGapQ8Func) (const MoGapQ8Params * p);
typedef void (*MoScaleQ8Func) (const MoScaleQ8Params * p);

typedef void (*MoConvFunc) (const MoConvParams * p);
typedef void (*MoDwConvFunc) (const MoDwConvParams * p);
typedef void (*MoPwConvFunc) (const MoPwConvParams * p);
typedef void (*MoGapFunc) (const MoGapParams * p);
typedef void (*MoScaleFunc) (const MoScaleParams * p);
typedef void (*MoResizeFunc) (const MoResizeParams * p);

typedef struct
{
  const char *isa;              /* name of the highest level used */
  MoConvFunc conv;
  MoDwConvFunc dwconv3x3;
  MoPwConvFunc pwconv;
  MoGapFunc gap;
  MoScaleFunc scale;
  MoResizeFunc resize_bilinear;
  const char *isa_q8;           /* name of the int8 kernels' level */
  MoPwConvQ8Func pwconv_q8;
  MoDwConvQ8Func dwconv3x3_q8;
  MoQuantizeFunc quantize;
  MoDequantizeFunc dequantize;
  MoGapQ8Func gap_q8;
  MoScaleQ8Func scale_q8;
} MoKernels;

typedef enum
{
  MO_ISA_REF = 0,
  MO_ISA_AVX2 = 1 << 0,         /* AVX2 + FMA */
  MO_ISA_AVX512 = 1 << 1,       /* AVX-512F */
  MO_ISA_NEON = 1 << 2,
  MO_ISA_AVXVNNI = 1 << 3,      /* AVX-VNNI (vpdpbusd on ymm), with AVX2 */
  MO_ISA_AVX512VNNI = 1 << 4,   /* AVX512-VNNI + BW, with AVX-512F */
  MO_ISA_NEONDOT = 1 << 5,      /* sdot (FEAT_DotProd), with NEON */
  MO_ISA_NEONI8MM = 1 << 6      /* usdot (FEAT_I8MM), with NEON */
} MoIsaFlags;

/** mo_cpu_flags: the ISA levels this CPU and build support. */
unsigned mo_cpu_flags (void);

/**
 * mo_isa_from_env: mo_cpu_flags() limited by the MOBILEONE_ISA environment
 * variable (ref, avx2, avx512, neon; each includes its dot-product
 * extensions, which only the int8 GEMM uses; avx2-novnni and neon-nodot
 * leave them out), for tests and benchmarks.
 */
unsigned mo_isa_from_env (void);

/**
 * mo_kernels_init: fills @k with the C reference first, then overwrites
 * entries with the variants allowed by @flags, lowest ISA first.
 */
void mo_kernels_init (MoKernels * k, unsigned flags);

/* Portable C references (mo-kernels-ref.c). */
void mo_f32_conv__ref (const MoConvParams * p);
void mo_f32_dwconv3x3__ref (const MoDwConvParams * p);
void mo_f32_pwconv__ref (const MoPwConvParams * p);
void mo_f32_gap__ref (const MoGapParams * p);
void mo_f32_scale__ref (const MoScaleParams * p);
void mo_f32_resize_bilinear__ref (const MoResizeParams * p);
void mo_q8_pwconv__ref (const MoPwConvQ8Params * p);
void mo_q8_dwconv3x3__ref (const MoDwConvQ8Params * p);
void mo_q8_quantize__ref (const MoQuantizeParams * p);
void mo_q8_dequantize__ref (const MoDequantizeParams * p);
void mo_q8_gap__ref (const MoGapQ8Params * p);
void mo_q8_scale__ref (const MoScaleQ8Params * p);

/**
 * mo_resize_source: PyTorch's source index and weights of output row or
 * column @dst for a bilinear resize (align_corners = False) with scale
 * @scale = (float) in / out: src = max (0, scale * (dst + 0.5) - 0.5),
 * *i0 = floor (src) (at most @in - 1), *i1 = MIN (*i0 + 1, @in - 1),
 * *l1 = src - *i0, *l0 = 1 - *l1. Shared by every variant.
 */
static inline void
mo_resize_source (float scale, int dst, int in, int *i0, int *i1, float *l0,
    float *l1)
{
  float src = scale * ((float) dst + 0.5f) - 0.5f;
  int i;

  if (src < 0.0f)
    src = 0.0f;
  i = (int) src;
  if (i > in - 1)
    i = in - 1;
  *i0 = i;
  *i1 = i < in - 1 ? i + 1 : i;
  *l1 = src - (float) i;
  if (*l1 > 1.0f)
    *l1 = 1.0f;
  *l0 = 1.0f - *l1;
}

/** mo_act: the scalar activation, shared by every variant's tail code. */
static inline float
mo_act (float v, MoAct act)
{
  switch (act) {
    case MO_ACT_RELU:
      return v > 0.0f ? v : 0.0f;
    case MO_ACT_SIGMOID:
      return 1.0f / (1.0f + expf (-v));
    default:
      return v;
  }
}
