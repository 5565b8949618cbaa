/* mobileone-gst engine: global average pool, AVX2.
 *
 * Like the reference, each channel is summed in double precision in pixel
 * order (so the result matches it bit for bit); two 16-channel blocks run
 * side by side to hide the add latency. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

MO_INLINE void
block (const MoGapParams *p, int c, const int NB)
{
  __m256d acc[2][4];

#pragma GCC unroll 2
  for (int j = 0; j < NB; j++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      acc[j][q] = _mm256_setzero_pd ();
  for (int m = 0; m < p->hw; m++) {
    const float *i = p->in + (size_t) m * p->cs + c;
#pragma GCC unroll 2
    for (int j = 0; j < NB; j++)
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++)
        acc[j][q] = _mm256_add_pd (acc[j][q],
            _mm256_cvtps_pd (_mm_loadu_ps (i + 16 * j + 4 * q)));
  }
  /* Divide as the reference does: a multiply by 1 / hw could differ in
   * the last bit. */
  const __m256d n = _mm256_set1_pd ((double) p->hw);
#pragma GCC unroll 2
  for (int j = 0; j < NB; j++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      _mm_storeu_ps (p->out + c + 16 * j + 4 * q,
          _mm256_cvtpd_ps (_mm256_div_pd (acc[j][q], n)));
}

void
mo_f32_gap__avx2 (const MoGapParams *p)
{
  const int c_end = MO_ROUND_UP (p->c1, MO_CALIGN);
  int c = p->c0;

  assert (p->c0 % MO_CALIGN == 0 && c_end <= p->cs && p->hw >= 1);
  for (; c + 32 <= c_end; c += 32)
    block (p, c, 2);
  if (c < c_end)
    block (p, c, 1);
}
