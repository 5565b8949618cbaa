/* The machine's AVX-512 VNNI peak for one thread, in u8 x s8
 * multiply-accumulates per second (vpdpbusd on zmm: 64 per instruction):
 * twelve independent chains, the smallest time of many short runs (a
 * loaded machine preempts long ones). The int8 pointwise GEMMs' share of
 * it: docs/int8.md.
 *
 *   gcc -O2 -mavx512f -mavx512vnni benchmarks/vnni_peak.c -o /tmp/vnni_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define EACH(F) F (0) F (1) F (2) F (3) F (4) F (5) F (6) F (7) F (8) \
    F (9) F (10) F (11)

int
main (void)
{
  const __m512i a = _mm512_set1_epi32 (0x01010101);
  const __m512i b = _mm512_set1_epi32 (0x01020304);
  const long iters = 5000;
  double best = 1e9;
  int sum = 0;

  /* Named accumulators stay in registers (gcc 12 keeps an array of them
   * in memory as well, one store per instruction). */
#define DECL(k) __m512i c##k = _mm512_set1_epi32 (k);
  EACH (DECL)
#undef DECL
  for (int r = 0; r < 20000; r++) {
    double t0 = now (), t;

    for (long i = 0; i < iters; i++) {
#define DOT(k) c##k = _mm512_dpbusd_epi32 (c##k, a, b);
      EACH (DOT)
#undef DOT
      __asm__ volatile ("":"+v" (c0), "+v" (c1), "+v" (c2), "+v" (c3),
          "+v" (c4), "+v" (c5), "+v" (c6), "+v" (c7), "+v" (c8), "+v" (c9),
          "+v" (c10), "+v" (c11));
    }
    t = now () - t0;
    if (t < best)
      best = t;
  }
#define SUM(k) sum += _mm512_reduce_add_epi32 (c##k);
  EACH (SUM)
#undef SUM
  printf ("%.1f GMAC/s u8 x s8 (vpdpbusd zmm, one thread)%s\n",
      iters * 12.0 * 64 / best / 1e9, sum == 1 ? " " : "");
  return 0;
}
