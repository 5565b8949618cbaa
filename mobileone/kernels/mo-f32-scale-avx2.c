/* mobileone-gst engine: per-channel gating (squeeze-excite), AVX2. */
#include "mo-kernels-simd.h"

#include <assert.h>
#include <immintrin.h>

void
mo_f32_scale__avx2 (const MoScaleParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);
  const __m256 zero = _mm256_setzero_ps ();

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    for (int c = 0; c < c_end; c += 8) {
      __m256 v = _mm256_mul_ps (_mm256_loadu_ps (i + c),
          _mm256_loadu_ps (p->gate + c));
      if (p->act == MO_ACT_RELU)
        v = _mm256_max_ps (v, zero);
      _mm256_storeu_ps (o + c, v);
    }
    if (p->act == MO_ACT_SIGMOID)
      for (int c = 0; c < c_end; c++)
        o[c] = mo_act (o[c], MO_ACT_SIGMOID);
  }
}
