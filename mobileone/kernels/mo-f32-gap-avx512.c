/* mobileone-gst engine: global average pool, AVX-512F.
 *
 * Like the reference, each channel is summed in double precision in pixel
 * order (so the result matches it bit for bit); four 16-channel blocks
 * run side by side to hide the add latency. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

#define MO_INLINE static inline __attribute__ ((always_inline))

MO_INLINE void
block (const MoGapParams *p, int c, const int NB)
{
  __m512d lo[4], hi[4];

#pragma GCC unroll 4
  for (int j = 0; j < NB; j++)
    lo[j] = hi[j] = _mm512_setzero_pd ();
  for (int m = 0; m < p->hw; m++) {
    const float *i = p->in + (size_t) m * p->cs + c;
#pragma GCC unroll 4
    for (int j = 0; j < NB; j++) {
      __m512 v = _mm512_loadu_ps (i + 16 * j);
      lo[j] = _mm512_add_pd (lo[j],
          _mm512_cvtps_pd (_mm512_castps512_ps256 (v)));
      hi[j] = _mm512_add_pd (hi[j],
          _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd
                  (_mm512_castps_pd (v), 1))));
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < NB; j++) {
    /* Divide as the reference does: a multiply by 1 / hw could differ in
     * the last bit. */
    __m512d n = _mm512_set1_pd ((double) p->hw);
    __m256 l = _mm512_cvtpd_ps (_mm512_div_pd (lo[j], n));
    __m256 h = _mm512_cvtpd_ps (_mm512_div_pd (hi[j], n));
    _mm256_storeu_ps (p->out + c + 16 * j, l);
    _mm256_storeu_ps (p->out + c + 16 * j + 8, h);
  }
}

void
mo_f32_gap__avx512 (const MoGapParams *p)
{
  const int c_end = MO_ROUND_UP (p->c1, MO_CALIGN);
  int c = p->c0;

  assert (p->c0 % MO_CALIGN == 0 && c_end <= p->cs && p->hw >= 1);
  for (; c + 64 <= c_end; c += 64)
    block (p, c, 4);
  switch ((c_end - c) / 16) {
    case 3:
      block (p, c, 3);
      break;
    case 2:
      block (p, c, 2);
      break;
    case 1:
      block (p, c, 1);
      break;
    default:
      break;
  }
}
