/* mobileone-gst engine: global average pool, one template for every ISA.
 * An instantiation (mo-f32-gap-<isa>.c) includes its vector header
 * (mo-vec-<isa>.h), defines MO_KERNEL, the name of the function to
 * define, then includes this file.
 *
 * Like the reference, each channel is summed in double precision in pixel
 * order (so the result matches it bit for bit). Blocks of 16 channels run
 * side by side, as many as make eight double accumulators (MO_VW / 4:
 * four on AVX-512, two on AVX2, one on NEON), to hide the add latency. */
#if !defined(MO_KERNEL) || !defined(MO_VW)
#error "instantiate through mo-f32-gap-<isa>.c"
#endif

#include <assert.h>

/* Vectors in a 16-channel block; blocks side by side. */
#define GAP_V16 (MO_CALIGN / MO_VW)
#define GAP_NB (MO_VW / 4)

MO_INLINE void
gap_block (const MoGapParams *p, int c, const int NB)
{
  MoVecD lo[GAP_NB * GAP_V16], hi[GAP_NB * GAP_V16];

#pragma GCC unroll 4
  for (int j = 0; j < NB * GAP_V16; j++)
    lo[j] = hi[j] = mo_vd_zero ();
  for (int m = 0; m < p->hw; m++) {
    const float *i = p->in + (size_t) m * p->cs + c;
#pragma GCC unroll 4
    for (int j = 0; j < NB * GAP_V16; j++)
      mo_vd_add_widened (&lo[j], &hi[j], i + MO_VW * j);
  }
  /* Divide as the reference does: a multiply by 1 / hw could differ in
   * the last bit. */
#pragma GCC unroll 4
  for (int j = 0; j < NB * GAP_V16; j++)
    mo_vd_div_store (p->out + c + MO_VW * j, lo[j], hi[j], (double) p->hw);
}

void
MO_KERNEL (const MoGapParams *p)
{
  const int c_end = MO_ROUND_UP (p->c1, MO_CALIGN);
  int c = p->c0;

  assert (p->c0 % MO_CALIGN == 0 && c_end <= p->cs && p->hw >= 1);
  for (; c + 16 * GAP_NB <= c_end; c += 16 * GAP_NB)
    gap_block (p, c, GAP_NB);
  switch ((c_end - c) / 16) {
    case 3:
      if (3 < GAP_NB)
        gap_block (p, c, 3);
      break;
    case 2:
      if (2 < GAP_NB)
        gap_block (p, c, 2);
      break;
    case 1:
      if (1 < GAP_NB)
        gap_block (p, c, 1);
      break;
    default:
      break;
  }
}

#undef GAP_V16
#undef GAP_NB
