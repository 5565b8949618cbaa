/* mobileone-gst engine: pointwise 1x1 convolution, one template for every
 * ISA. An instantiation (mo-f32-pwconv-<isa>.c) includes its vector header
 * (mo-vec-<isa>.h), defines the tile shapes below and MO_KERNEL, the name
 * of the function to define, then includes this file.
 *
 * A register-blocked GEMM over the weights packed in 64-channel panels
 * (mo_pw_index): a tile of MR pixels x NV vectors of output channels
 * lives in accumulators, starts from the bias and takes one broadcast-FMA
 * per input channel, in order; ReLU is fused in the store. Row tails run
 * the same tile with fewer rows, so every output sees the same operation
 * sequence wherever it falls. A tile never spans two panels, so it reads
 * its weights as one sequential stream, and the panel stays in cache
 * while every pixel row streams past it.
 *
 * Tile shapes (the register file is what differs between ISAs):
 *   MO_PW_BLOCK      channels per column block: 64 (a whole panel, cut to
 *                    what is left of it) or MO_CALIGN
 *   MO_PW_MR(nv)     pixels per tile for a block of nv vectors
 *   MO_PW_MAX_MR     the largest MO_PW_MR
 *   MO_PW_GEMV       1: a single pixel (squeeze-excite, the classifier)
 *                    takes 1 x 64-channel tiles over whole panels, one
 *                    pass over each (with MO_PW_BLOCK = 64 the 1-row tail
 *                    does that anyway) */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_PW_BLOCK) \
    || !defined(MO_PW_MR) || !defined(MO_PW_MAX_MR) || !defined(MO_PW_GEMV)
#error "instantiate through mo-f32-pwconv-<isa>.c"
#endif

#include <assert.h>

/* Vectors in MO_CALIGN channels. */
#define PW_V16 (MO_CALIGN / MO_VW)
/* Room for the widest tile (AVX2's 1x64: 8 ymm vectors). Every ISA
 * sizes its accumulator array so, as the hand-written variants did: GCC
 * scalarises the array either way, but its size sways the register
 * allocation, and this size keeps the generated code what it was. */
#define PW_ACC_NV 8
#if MO_PW_GEMV && MO_PW_PANEL / MO_VW > PW_ACC_NV
#error "MO_PW_GEMV: a panel does not fit the accumulators"
#endif

/* R pixels x NV vectors. */
MO_INLINE void
pw_tile (const float *a, size_t as, float *o, size_t os, const float *w,
    size_t ldw, const float *b, int k, const int R, const int NV,
    const int relu)
{
  MoVec acc[MO_PW_MAX_MR][PW_ACC_NV];
  const float *ar[MO_PW_MAX_MR];

#pragma GCC unroll 16
  for (int j = 0; j < NV; j++) {
    MoVec bj = mo_vload (b + MO_VW * j);
#pragma GCC unroll 16
    for (int i = 0; i < R; i++)
      acc[i][j] = bj;
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
    ar[i] = a + i * as;

  for (int kk = 0; kk < k; kk++) {
    MoVec wv[PW_ACC_NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++)
      wv[j] = mo_vload (w + MO_VW * j);
    w += ldw;
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      MoVec x = mo_vbroadcast (ar[i] + kk);
#pragma GCC unroll 16
      for (int j = 0; j < NV; j++)
        acc[i][j] = mo_vfma (x, wv[j], acc[i][j]);
    }
  }

#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++) {
      MoVec v = acc[i][j];
      if (relu)
        v = mo_vrelu (v);
      mo_vstore (o + i * os + MO_VW * j, v);
    }
}

/* Pixels [m0, m1) for the block of NV vectors starting at channel n. */
MO_INLINE void
pw_rows (const MoPwConvParams *p, int n, const int MR, const int NV,
    const int relu)
{
  const size_t as = p->in_cs, os = p->out_cs;
  const size_t ldw = mo_pw_panel_width (p->ldw, n);
  const float *w = p->w + mo_pw_index (p->k, p->ldw, 0, n), *b = p->b + n;
  const int k = p->k, m1 = p->m1;
  int m = p->m0;

  for (; m + MR <= m1; m += MR)
    pw_tile (p->in + m * as, as, p->out + m * os + n, os, w, ldw, b, k, MR,
        NV, relu);
  if (m == m1)
    return;
  const float *a = p->in + m * as;
  float *o = p->out + m * os + n;
  switch (m1 - m) {
#define TAIL(r) \
    case r: \
      if (r < MO_PW_MAX_MR && r < MR) \
        pw_tile (a, as, o, os, w, ldw, b, k, r, NV, relu); \
      break;
      TAIL (1) TAIL (2) TAIL (3) TAIL (4) TAIL (5) TAIL (6) TAIL (7)
      TAIL (8) TAIL (9) TAIL (10) TAIL (11) TAIL (12) TAIL (13) TAIL (14)
      TAIL (15)
#undef TAIL
    default:
      assert (0);
  }
}

MO_INLINE void
pw_run (const MoPwConvParams *p, int n_end, const int relu)
{
  int n = p->n0;

#if MO_PW_GEMV
  if (p->m1 - p->m0 == 1)
    for (; n % MO_PW_PANEL == 0 && n + MO_PW_PANEL <= n_end;
        n += MO_PW_PANEL)
      pw_tile (p->in + p->m0 * p->in_cs, 0, p->out + p->m0 * p->out_cs + n,
          0, p->w + mo_pw_index (p->k, p->ldw, 0, n), MO_PW_PANEL, p->b + n,
          p->k, 1, MO_PW_PANEL / MO_VW, relu);
#endif
  if (MO_PW_BLOCK == MO_CALIGN) {
    for (; n < n_end; n += MO_CALIGN)
      pw_rows (p, n, MO_PW_MR (PW_V16), PW_V16, relu);
    return;
  }
  /* Blocks of up to MO_PW_BLOCK channels, never across a weight panel. */
  for (int n1; n < n_end; n = n1) {
    n1 = n - n % MO_PW_BLOCK + MO_PW_BLOCK;
    n1 = n1 < n_end ? n1 : n_end;
    switch ((n1 - n) / MO_CALIGN) {
      case 1:
        pw_rows (p, n, MO_PW_MR (PW_V16), PW_V16, relu);
        break;
      case 2:
        pw_rows (p, n, MO_PW_MR (2 * PW_V16), 2 * PW_V16, relu);
        break;
      case 3:
        pw_rows (p, n, MO_PW_MR (3 * PW_V16), 3 * PW_V16, relu);
        break;
      default:
        pw_rows (p, n, MO_PW_MR (4 * PW_V16), 4 * PW_V16, relu);
        break;
    }
  }
}

void
MO_KERNEL (const MoPwConvParams *p)
{
  const int n_end = MO_ROUND_UP (p->n1, MO_CALIGN);

  assert (p->n0 % MO_CALIGN == 0 && p->ldw % MO_CALIGN == 0);
  assert (n_end <= p->ldw && n_end <= p->out_cs && p->k <= p->in_cs);
  assert (p->m0 <= p->m1 && p->n0 <= p->n1 && p->k >= 1);
  if (p->act == MO_ACT_RELU) {
    pw_run (p, n_end, 1);
    return;
  }
  pw_run (p, n_end, 0);
  /* Sigmoid only gates squeeze-excite vectors (a few hundred values):
   * scalar expf after the GEMM keeps it exact and out of the hot loop. */
  if (p->act == MO_ACT_SIGMOID)
    for (int m = p->m0; m < p->m1; m++)
      for (int n = p->n0; n < n_end; n++) {
        float *o = p->out + (size_t) m * p->out_cs + n;
        *o = mo_act (*o, MO_ACT_SIGMOID);
      }
}

#undef PW_V16
#undef PW_ACC_NV
