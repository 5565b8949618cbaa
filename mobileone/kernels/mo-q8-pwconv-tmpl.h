/* mobileone-gst engine: pointwise 1x1 int8 convolution, one template for
 * every ISA. An instantiation (mo-q8-pwconv-<isa>.c) includes its int8
 * vector header (mo-q8-vec-<isa>.h) with the macros that pick the
 * header's multiply (MO_Q8_VNNI, MO_Q8_DOT, ...), defines the tile shapes
 * below and MO_KERNEL, then includes this file.
 *
 * The GEMM of mo-f32-pwconv-tmpl.h on bytes: a tile of MR pixels x NV
 * vectors of output channels keeps int32 accumulators; per group of 4
 * input channels it loads NV weight vectors (4 bytes per channel,
 * mo_pw8_index), broadcasts each pixel's 4 activation bytes and adds
 * their products (mo_q8_dot: one vpdpbusd / usdot where the ISA has a
 * u8 x s8 dot product; widening multiplies, or a signed dot product with
 * a correction, elsewhere). The sums are exact integers, so tiles and
 * tails may take any shape: every variant gives the reference's bytes.
 * The requantisation (scales, bias, ReLU) is one fused multiply-add per
 * vector in the store.
 *
 * The vector header provides the operand types MoQ8Acc (accumulators of
 * MO_VW channels), MoQ8W (the weights of MO_VW channels x 4 inputs, as
 * the multiply wants them) and MoQ8A (a pixel's 4 bytes, broadcast), and
 * mo_q8_acc_zero, mo_q8_loadw, mo_q8_bcast4, mo_q8_dot and
 * mo_q8_acc_store. A header whose multiply sees the activations shifted
 * to signed (a - 128) defines MO_Q8_WSUM, the type MoQ8Sum,
 * mo_q8_sum_load (MO_VW channels' weight sums, MoPwConvQ8Params.wsum)
 * and mo_q8_acc_fix (acc + 128 * sum).
 *
 *   MO_Q8_BLOCK     channels per column block: 64 (a panel) or MO_CALIGN
 *   MO_Q8_MR(nv)    pixels per tile for a block of nv vectors
 *   MO_Q8_MAX_MR    the largest MO_Q8_MR (at most 16) */
#if !defined(MO_KERNEL) || !defined(MO_VW) || !defined(MO_Q8_BLOCK) \
    || !defined(MO_Q8_MR) || !defined(MO_Q8_MAX_MR) || !defined(MO_Q8_GEMM)
#error "instantiate through mo-q8-pwconv-<isa>.c"
#endif

#include <assert.h>

#define Q8_V16 (MO_CALIGN / MO_VW)
#define Q8_ACC_NV (64 / MO_VW)

#ifdef MO_Q8_WSUM
#define Q8_WS_PARAM , const MoQ8Sum *ws
#define Q8_WS_ARG , ws
#else
#define Q8_WS_PARAM
#define Q8_WS_ARG
#endif

/* R pixels x NV vectors; @w at group 0 of the tile's first channel, @wstep
 * bytes from one group of 4 inputs to the next; @ws (MO_Q8_WSUM) the NV
 * vectors' weight sums. */
MO_INLINE void
q8_tile (const uint8_t *a, size_t as, uint8_t *o, size_t os, const int8_t *w,
    size_t wstep, const float *mul, const float *add, int kq Q8_WS_PARAM,
    const int R, const int NV)
{
  MoQ8Acc acc[MO_Q8_MAX_MR][Q8_ACC_NV];

#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++)
      acc[i][j] = mo_q8_acc_zero ();

  for (int kk = 0; kk < kq; kk += 4) {
    MoQ8W wv[Q8_ACC_NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++)
      wv[j] = mo_q8_loadw (w + 4 * MO_VW * j);
    w += wstep;
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      MoQ8A x = mo_q8_bcast4 (a + i * as + kk);
#pragma GCC unroll 16
      for (int j = 0; j < NV; j++)
        acc[i][j] = mo_q8_dot (acc[i][j], x, wv[j]);
    }
  }

#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++) {
#ifdef MO_Q8_WSUM
      acc[i][j] = mo_q8_acc_fix (acc[i][j], ws[j]);
#endif
      mo_q8_acc_store (o + i * os + MO_VW * j, acc[i][j], mul + MO_VW * j,
          add + MO_VW * j);
    }
}

/* Pixels [m0, m1) for the block of NV vectors starting at channel n. */
MO_INLINE void
q8_rows (const MoPwConvQ8Params *p, int n, const int MR, const int NV)
{
  const size_t as = p->in_cs, os = p->out_cs;
  const size_t wstep = (size_t) mo_pw_panel_width (p->ldw, n) * 4;
  const int8_t *w = p->w + mo_pw8_index (p->k, p->ldw, 0, n);
  const float *mul = p->mul + n, *add = p->add + n;
  const int kq = MO_ROUND_UP (p->k, 4), m1 = p->m1;
  int m = p->m0;

#ifdef MO_Q8_WSUM
  /* Each channel's weight sum (computed with the weights), for the
   * tiles' correction. */
  MoQ8Sum ws[Q8_ACC_NV];
#pragma GCC unroll 16
  for (int j = 0; j < NV; j++)
    ws[j] = mo_q8_sum_load (p->wsum + n + MO_VW * j);
#endif

  for (; m + MR <= m1; m += MR)
    q8_tile (p->in + m * as, as, p->out + m * os + n, os, w, wstep, mul, add,
        kq Q8_WS_ARG, MR, NV);
  if (m == m1)
    return;
  const uint8_t *a = p->in + m * as;
  uint8_t *o = p->out + m * os + n;
  switch (m1 - m) {
#define TAIL(r) \
    case r: \
      if (r < MO_Q8_MAX_MR && r < MR) \
        q8_tile (a, as, o, os, w, wstep, mul, add, kq Q8_WS_ARG, r, NV); \
      break;
      TAIL (1) TAIL (2) TAIL (3) TAIL (4) TAIL (5) TAIL (6) TAIL (7)
      TAIL (8) TAIL (9) TAIL (10) TAIL (11) TAIL (12) TAIL (13) TAIL (14)
      TAIL (15)
#undef TAIL
    default:
      assert (0);
  }
}

void
MO_KERNEL (const MoPwConvQ8Params *p)
{
  const int n_end = MO_ROUND_UP (p->n1, MO_CALIGN);
  int n = p->n0;

  assert (p->n0 % MO_CALIGN == 0 && p->ldw % MO_CALIGN == 0);
  assert (n_end <= p->ldw && n_end <= p->out_cs);
  assert (MO_ROUND_UP (p->k, 4) <= p->in_cs);
  assert (p->m0 <= p->m1 && p->n0 <= p->n1 && p->k >= 1);
  if (MO_Q8_BLOCK == MO_CALIGN) {
    for (; n < n_end; n += MO_CALIGN)
      q8_rows (p, n, MO_Q8_MR (Q8_V16), Q8_V16);
    return;
  }
  /* Blocks of up to MO_Q8_BLOCK channels, never across a weight panel. */
  for (int n1; n < n_end; n = n1) {
    n1 = n - n % MO_Q8_BLOCK + MO_Q8_BLOCK;
    n1 = n1 < n_end ? n1 : n_end;
    switch ((n1 - n) / MO_CALIGN) {
      case 1:
        q8_rows (p, n, MO_Q8_MR (Q8_V16), Q8_V16);
        break;
      case 2:
        q8_rows (p, n, MO_Q8_MR (2 * Q8_V16), 2 * Q8_V16);
        break;
      case 3:
        q8_rows (p, n, MO_Q8_MR (3 * Q8_V16), 3 * Q8_V16);
        break;
      default:
        q8_rows (p, n, MO_Q8_MR (4 * Q8_V16), 4 * Q8_V16);
        break;
    }
  }
}

#undef Q8_V16
#undef Q8_ACC_NV
#undef Q8_WS_PARAM
#undef Q8_WS_ARG
