/* mobileone-gst engine: SIMD kernel variants, one file per op and ISA
 * (mo-f32-<op>-<isa>.c), each ISA built with its own compiler flags and
 * chosen at run time by mo_kernels_init.
 *
 * Each op is written once, as a template (mo-f32-<op>-tmpl.h) over the
 * few vector operations of mo-vec-<isa>.h (load, store, broadcast, FMA,
 * ReLU, prefetch, and the double-precision sums of the pool). The file of
 * a variant only includes its ISA's vector header, sets the tile shapes
 * that ISA's register file allows and names the function. A new ISA is a
 * vector header and five such files; an algorithm that truly differs on
 * one ISA would get its own file, with a comment saying why.
 *
 * Every variant follows the contract of mo-kernels.h and adds one rule:
 * each output element is computed by the same sequence of operations
 * (bias, then one fused multiply-add per tap or input channel in the
 * reference's order) wherever its tile falls, so the result is
 * bit-for-bit independent of how a caller splits rows, pixels or output
 * channels between threads. Tails therefore use narrower tiles of the same
 * kernel, never a different summation order.
 *
 * Writes: pwconv writes output channels [n0, round_up (n1, MO_CALIGN)) and
 * gap [c0, round_up (c1, MO_CALIGN)), so a caller splitting channels ends
 * every range but the last on a multiple of MO_CALIGN; conv and dwconv3x3
 * write [0, round_up (n, MO_CALIGN)) of each output pixel, scale
 * [0, round_up (c, MO_CALIGN)). Padded channels receive finite values
 * (act (0) for the convolutions, whose padded weights are zero).
 *
 * Sigmoid, which only gates squeeze-excite vectors, is applied in scalar
 * (mo_act) after the vector work: exact, and out of the hot loops. */
#pragma once

#include "mo-kernels.h"

/* x86-64: AVX2 + FMA (ymm; GEMM tiles 6x16, 1x64 for a single pixel). */
void mo_f32_conv__avx2 (const MoConvParams * p);
void mo_f32_dwconv3x3__avx2 (const MoDwConvParams * p);
void mo_f32_pwconv__avx2 (const MoPwConvParams * p);
void mo_f32_gap__avx2 (const MoGapParams * p);
void mo_f32_scale__avx2 (const MoScaleParams * p);

/* x86-64: AVX-512F (zmm; GEMM tiles 6x64, 8x48, 12x32, 16x16, 1x64 for
 * a single pixel). */
void mo_f32_conv__avx512 (const MoConvParams * p);
void mo_f32_dwconv3x3__avx512 (const MoDwConvParams * p);
void mo_f32_pwconv__avx512 (const MoPwConvParams * p);
void mo_f32_gap__avx512 (const MoGapParams * p);
void mo_f32_scale__avx512 (const MoScaleParams * p);

/* int8 (mo-q8-*): depthwise and the float <-> uint8 conversions on
 * AVX2 and AVX-512F; the pointwise GEMM on AVX2 (vpmaddwd on widened
 * bytes), AVX-VNNI (vpdpbusd, ymm) or AVX512-VNNI (zmm). */
void mo_q8_dwconv3x3__avx2 (const MoDwConvQ8Params * p);
void mo_q8_quantize__avx2 (const MoQuantizeParams * p);
void mo_q8_dequantize__avx2 (const MoDequantizeParams * p);
void mo_q8_gap__avx2 (const MoGapQ8Params * p);
void mo_q8_scale__avx2 (const MoScaleQ8Params * p);
void mo_q8_pwconv__avx2 (const MoPwConvQ8Params * p);
void mo_q8_pwconv__avxvnni (const MoPwConvQ8Params * p);
void mo_q8_dwconv3x3__avx512 (const MoDwConvQ8Params * p);
void mo_q8_quantize__avx512 (const MoQuantizeParams * p);
void mo_q8_dequantize__avx512 (const MoDequantizeParams * p);
void mo_q8_gap__avx512 (const MoGapQ8Params * p);
void mo_q8_scale__avx512 (const MoScaleQ8Params * p);
void mo_q8_pwconv__avx512vnni (const MoPwConvQ8Params * p);

/* AArch64: Advanced SIMD (q registers; GEMM tiles 5x16). */
void mo_f32_conv__neon (const MoConvParams * p);
void mo_f32_dwconv3x3__neon (const MoDwConvParams * p);
void mo_f32_pwconv__neon (const MoPwConvParams * p);
void mo_f32_gap__neon (const MoGapParams * p);
void mo_f32_scale__neon (const MoScaleParams * p);

/* AArch64 int8: depthwise and the conversions on NEON; the pointwise GEMM
 * on NEON (smull / sadalp), the dot-product extension (sdot, Armv8.2+) or
 * the int8 matrix multiply extension (usdot, Armv8.6+). */
void mo_q8_dwconv3x3__neon (const MoDwConvQ8Params * p);
void mo_q8_quantize__neon (const MoQuantizeParams * p);
void mo_q8_dequantize__neon (const MoDequantizeParams * p);
void mo_q8_gap__neon (const MoGapQ8Params * p);
void mo_q8_scale__neon (const MoScaleQ8Params * p);
void mo_q8_pwconv__neon (const MoPwConvQ8Params * p);
void mo_q8_pwconv__neondot (const MoPwConvQ8Params * p);
void mo_q8_pwconv__neoni8mm (const MoPwConvQ8Params * p);

/* The taps of a depthwise 3x3 output pixel (@oy, @ox) that fall inside the
 * input, for the tap rows [@ky0, ...) its caller found valid: columns
 * [kx0, kx1), and the input of tap (ky0, kx0) (inside the image) with the
 * steps to the next tap row (drow) and column (dcs). Shared by the
 * variants' border-pixel paths. */
typedef struct
{
  const float *in;
  size_t drow, dcs;
  int kx0, kx1;
} MoDwTaps;

static inline MoDwTaps
mo_dw_taps (const MoDwConvParams * p, int oy, int ox, int ky0)
{
  const int s = p->stride, d = p->dilation;
  const int ix0 = ox * s - p->pad, iy0 = oy * s - p->pad;
  const size_t cs = p->in_cs;
  MoDwTaps t = { NULL, (size_t) d * p->in_w * cs, (size_t) d * cs, 0, 3 };

  while (t.kx0 < 3 && ix0 + t.kx0 * d < 0)
    t.kx0++;
  while (t.kx1 > t.kx0 && ix0 + (t.kx1 - 1) * d >= p->in_w)
    t.kx1--;
  t.in = p->in + ((size_t) (iy0 + ky0 * d) * p->in_w + (ix0 + t.kx0 * d)) * cs;
  return t;
}
