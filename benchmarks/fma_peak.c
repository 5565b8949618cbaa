/* The machine's FMA peak for one thread, in fp32 multiply-accumulates per
 * second: independent FMA chains over the widest vectors the compiler is
 * allowed (-march=native), enough of them to hide the FMA latency. */
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX2__) || defined(__AVX__)
#define VL 8
#else
#define VL 4
#endif

typedef float vec __attribute__ ((vector_size (VL * 4)));

int
main (void)
{
  vec a, b;
  for (int i = 0; i < VL; i++) {
    a[i] = 0.999999f;
    b[i] = 1e-7f;
  }
  /* Twelve named accumulators stay in registers (an array would be spilled
   * because of the barrier below). */
  vec c0 = b, c1 = b * 2, c2 = b * 3, c3 = b * 4, c4 = b * 5, c5 = b * 6;
  vec c6 = b * 7, c7 = b * 8, c8 = b * 9, c9 = b * 10, c10 = b * 11,
      c11 = b * 12;
  long iters = 50 * 1000 * 1000;
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < iters; i++) {
    c0 = c0 * a + b;
    c1 = c1 * a + b;
    c2 = c2 * a + b;
    c3 = c3 * a + b;
    c4 = c4 * a + b;
    c5 = c5 * a + b;
    c6 = c6 * a + b;
    c7 = c7 * a + b;
    c8 = c8 * a + b;
    c9 = c9 * a + b;
    c10 = c10 * a + b;
    c11 = c11 * a + b;
    /* Keeps the compiler from folding iterations together. */
    __asm__ volatile ("":"+v" (c0), "+v" (c1), "+v" (c2), "+v" (c3),
        "+v" (c4), "+v" (c5), "+v" (c6), "+v" (c7), "+v" (c8), "+v" (c9),
        "+v" (c10), "+v" (c11));
  }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  printf ("%.3f GMAC/s (vector width %d floats; checksum %g)\n",
      (double) iters * 12 * VL / s / 1e9, VL, sum[0]);
  return 0;
}
