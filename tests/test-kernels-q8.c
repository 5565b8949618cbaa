/* mobileone-gst: checkasm-style test of the int8 kernels (docs/int8.md).
 *
 * Walks the ISA ladder (mo_kernels_init at every level this CPU supports)
 * and tests each int8 variant the first time it appears against the C
 * reference: random shapes with odd channel counts and sizes, strides 1
 * and 2, dilations, paddings, sub-ranges of rows, pixels and channels,
 * random requantisation multipliers (saturating at 0 and 255 too). The
 * results are integers: every byte must equal the reference's, canaries
 * around and inside the outputs must survive wherever a kernel must not
 * write, and the work split as threads split it must give the same bytes.
 *
 * Plain C without GLib, like test-kernels.c (tools/cross/run-aarch64-
 * tests.sh runs it under QEMU for the NEON variants).
 *
 *   test-kernels-q8 [--cases N] [--seed S] [--require L1,L2] [--bench]
 *
 * --require fails when one of the named levels is not supported here (so
 * that a run meant to cover them cannot pass by skipping them). --bench
 * times the pointwise GEMMs of every SIMD level, int8 and float.
 */
#include "mo-kernels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUARD 64
#define CANARY 0xa5
#define MAX_REPORT 5

static uint64_t rng_state;

static uint32_t
rnd (void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t) ((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static int
rnd_int (int lo, int hi)
{
  return lo + (int) (rnd () % (uint32_t) (hi - lo + 1));
}

static float
rnd_unit (void)
{
  return (float) (rnd () / 4294967296.0);
}

static void *
xmalloc (size_t size)
{
  void *p = malloc (size ? size : 1);
  if (p == NULL) {
    fprintf (stderr, "out of memory\n");
    exit (2);
  }
  return p;
}

/* Bytes: the first @valid of every @cs random, the padding junk too (a
 * kernel may read it, only to multiply it by zero weights). */
static uint8_t *
u8_input (size_t pixels, int cs)
{
  uint8_t *p = xmalloc (pixels * cs);
  for (size_t i = 0; i < pixels * cs; i++)
    p[i] = (uint8_t) rnd ();
  return p;
}

/* Multipliers and offsets for channels [0, n), zero beyond (as the
 * quantiser leaves them): outputs spread over 0..255 with some saturating
 * at either end. @sum_scale is the size of a typical sum. */
static void
requant_new (int ldw, int n, double sum_scale, float **mul, float **add)
{
  *mul = xmalloc (ldw * sizeof (float));
  *add = xmalloc (ldw * sizeof (float));
  for (int c = 0; c < ldw; c++) {
    (*mul)[c] = c < n ? (float) ((0.2 + 2.0 * rnd_unit ()) * 128.0 /
        sum_scale) : 0.0f;
    (*add)[c] = c < n ? 300.0f * rnd_unit () - 100.0f : 0.0f;
  }
}

typedef struct
{
  const char *variant;
  char shape[200];
  int failures;
} Case;

static void
report (Case *tc, const char *what, size_t px, int c, int got, int want)
{
  if (tc->failures++ < MAX_REPORT)
    printf ("  FAIL %s %s: %s at pixel %zu channel %d: got %d, expected %d\n",
        tc->variant, tc->shape, what, px, c, got, want);
}

/* An output of @n bytes between canary guards, all canaries. */
static uint8_t *
output_new (size_t n)
{
  uint8_t *p = xmalloc (n + 2 * GUARD);
  memset (p, CANARY, n + 2 * GUARD);
  return p + GUARD;
}

static void
output_free (uint8_t *o)
{
  free (o - GUARD);
}

/* @out against @ref (both between guards): pixels [p0, p1), channels
 * [0, c1) must match, the guards must be untouched, and so must pixels
 * outside [p0, p1). Bytes inside the computed pixels beyond c1 may hold
 * anything (padding). Every channel of the reference's computed pixels
 * up to c1 is compared, so a missed channel (canary left) fails too. */
static void
check (Case *tc, const uint8_t *ref, const uint8_t *out, size_t npix,
    int cs, size_t p0, size_t p1, int c0, int c1)
{
  for (int i = 0; i < GUARD; i++) {
    if (out[-1 - i] != CANARY)
      report (tc, "guard before the output", 0, i, out[-1 - i], CANARY);
    if (out[npix * cs + i] != CANARY)
      report (tc, "guard after the output", npix, i, out[npix * cs + i],
          CANARY);
  }
  for (size_t px = 0; px < npix; px++)
    for (int c = 0; c < cs; c++) {
      size_t i = px * cs + c;
      int inside = px >= p0 && px < p1;
      if (inside && c >= c0 && c < c1) {
        if (out[i] != ref[i])
          report (tc, "value", px, c, out[i], ref[i]);
      } else if (!inside && out[i] != CANARY)
        report (tc, "written outside its rows", px, c, out[i], CANARY);
    }
}

/* ---- pwconv ------------------------------------------------------------ */

static const int sizes_k[] = { 1, 3, 4, 5, 7, 16, 17, 33, 48, 64, 100, 129,
  256, 257
};
static const int sizes_n[] = { 1, 3, 8, 15, 16, 17, 33, 48, 64, 65, 80, 100,
  128, 200
};

static void
test_pwconv (Case *tc, MoPwConvQ8Func fn, MoPwConvQ8Func ref_fn)
{
  int m = rnd () % 4 ? rnd_int (1, 40) : rnd_int (1, 300);
  int k = sizes_k[rnd () % (sizeof sizes_k / sizeof sizes_k[0])];
  int n = sizes_n[rnd () % (sizeof sizes_n / sizeof sizes_n[0])];
  int ldw = MO_ROUND_UP (n, MO_CALIGN);
  int ics = MO_ROUND_UP (k, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int ocs = ldw + MO_CALIGN * rnd_int (0, 1);
  size_t wsize = mo_pw8_size (k, ldw);
  int8_t *w = xmalloc (wsize);
  uint8_t *in = u8_input (m, ics);
  float *mul, *add;

  /* Zero weights for padded inputs and channels, as the quantiser packs. */
  memset (w, 0, wsize);
  for (int kk = 0; kk < k; kk++)
    for (int c = 0; c < n; c++)
      w[mo_pw8_index (k, ldw, kk, c)] = (int8_t) rnd_int (-127, 127);
  requant_new (ldw, n, 128.0 * 73.0 * (k < 4 ? 2 : k) / 2.0, &mul, &add);

  /* A sub-range of pixels and channels, as one thread gets. */
  int m0 = rnd () % 3 ? 0 : rnd_int (0, m - 1);
  int m1 = rnd () % 3 ? m : rnd_int (m0 + 1, m);
  int n0 = rnd () % 3 ? 0 : MO_CALIGN * rnd_int (0, (n - 1) / MO_CALIGN);
  int n1 = rnd () % 3 ? n : rnd_int (n0 + 1, n);
  snprintf (tc->shape, sizeof tc->shape, "m=%d k=%d n=%d pixels [%d,%d) "
      "channels [%d,%d) in_cs=%d out_cs=%d", m, k, n, m0, m1, n0, n1, ics,
      ocs);

  uint8_t *ref = output_new ((size_t) m * ocs);
  uint8_t *out = output_new ((size_t) m * ocs);
  int32_t *wsum = xmalloc (sizeof (int32_t) * ldw);
  mo_pw8_wsum (w, k, ldw, wsum);
  MoPwConvQ8Params p = { in, ref, w, mul, add, ics, ocs, k, ldw, m0, m1, n0,
    n1, wsum
  };
  ref_fn (&p);
  p.out = out;
  fn (&p);
  int c_end = n1;
  /* Whole-pixel check for channels [n0, n1); channels a split does not
   * own may be written up to round_up (n1, 16) only. */
  for (size_t px = m0; px < (size_t) m1; px++)
    for (int c = 0; c < ocs; c++) {
      size_t i = px * ocs + c;
      if (c >= n0 && c < c_end) {
        if (out[i] != ref[i])
          report (tc, "value", px, c, out[i], ref[i]);
      } else if ((c < n0 || c >= MO_ROUND_UP (n1, MO_CALIGN))
          && out[i] != CANARY)
        report (tc, "written outside its channels", px, c, out[i], CANARY);
    }
  check (tc, ref, out, m, ocs, m0, m1, n0, n0);

  /* Split in two by pixels and by channels: the same bytes. */
  if (m1 - m0 >= 2) {
    uint8_t *o2 = output_new ((size_t) m * ocs);
    int mid = rnd_int (m0 + 1, m1 - 1);
    MoPwConvQ8Params a = p, b = p;
    a.out = b.out = o2;
    a.m1 = mid;
    b.m0 = mid;
    fn (&a);
    fn (&b);
    if (memcmp (o2 - GUARD, out - GUARD, (size_t) m * ocs + 2 * GUARD))
      report (tc, "pixel split differs", 0, 0, 0, 0);
    output_free (o2);
  }
  if (n1 - n0 > MO_CALIGN) {
    uint8_t *o2 = output_new ((size_t) m * ocs);
    int mid = n0 + MO_CALIGN * rnd_int (1, (n1 - n0 - 1) / MO_CALIGN);
    MoPwConvQ8Params a = p, b = p;
    a.out = b.out = o2;
    a.n1 = mid;
    b.n0 = mid;
    fn (&a);
    fn (&b);
    if (memcmp (o2 - GUARD, out - GUARD, (size_t) m * ocs + 2 * GUARD))
      report (tc, "channel split differs", 0, 0, 0, 0);
    output_free (o2);
  }
  output_free (ref);
  output_free (out);
  free (w);
  free (wsum);
  free (in);
  free (mul);
  free (add);
}

/* ---- dwconv3x3 --------------------------------------------------------- */

static int
conv_out (int in, int pad, int dil, int stride)
{
  int span = dil * 2 + 1;
  return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

static void
test_dwconv (Case *tc, MoDwConvQ8Func fn, MoDwConvQ8Func ref_fn)
{
  static const int cs_[] = { 1, 3, 8, 16, 17, 24, 33, 48, 64, 65, 96, 100,
    128
  };
  int c = cs_[rnd () % (sizeof cs_ / sizeof cs_[0])];
  int stride = rnd_int (1, 2), dil = rnd () % 5 ? 1 : rnd_int (2, 3);
  int pad = rnd () % 4 ? dil : rnd_int (0, 2 * dil + 1);
  int in_h = rnd_int (1, 19), in_w = rnd_int (1, 23);
  int out_h = conv_out (in_h, pad, dil, stride);
  int out_w = conv_out (in_w, pad, dil, stride);
  int ldw = MO_ROUND_UP (c, MO_CALIGN);
  int ics = ldw + MO_CALIGN * rnd_int (0, 1), ocs = ldw;

  if (out_h < 1 || out_w < 1)
    return;
  int8_t *w = xmalloc ((size_t) 9 * ldw);
  for (int t = 0; t < 9; t++)
    for (int ch = 0; ch < ldw; ch++)
      w[t * ldw + ch] = ch < c ? (int8_t) rnd_int (-127, 127) : 0;
  uint8_t *in = u8_input ((size_t) in_h * in_w, ics);
  float *mul, *add;
  requant_new (ldw, c, 128.0 * 73.0 * 3.0, &mul, &add);
  int y0 = rnd () % 3 ? 0 : rnd_int (0, out_h - 1);
  int y1 = rnd () % 3 ? out_h : rnd_int (y0 + 1, out_h);
  snprintf (tc->shape, sizeof tc->shape, "%dx%dx%d stride %d dilation %d "
      "pad %d rows [%d,%d) in_cs=%d", in_h, in_w, c, stride, dil, pad, y0,
      y1, ics);

  size_t npix = (size_t) out_h * out_w;
  uint8_t *ref = output_new (npix * ocs), *out = output_new (npix * ocs);
  MoDwConvQ8Params p = { in, ref, w, mul, add, in_h, in_w, ics, out_h, out_w,
    ocs, c, ldw, stride, dil, pad, y0, y1
  };
  ref_fn (&p);
  p.out = out;
  fn (&p);
  check (tc, ref, out, npix, ocs, (size_t) y0 * out_w, (size_t) y1 * out_w,
      0, c);

  if (y1 - y0 >= 2) {
    uint8_t *o2 = output_new (npix * ocs);
    int mid = rnd_int (y0 + 1, y1 - 1);
    MoDwConvQ8Params a = p, b = p;
    a.out = b.out = o2;
    a.y1 = mid;
    b.y0 = mid;
    fn (&a);
    fn (&b);
    if (memcmp (o2 - GUARD, out - GUARD, npix * ocs + 2 * GUARD))
      report (tc, "row split differs", 0, 0, 0, 0);
    output_free (o2);
  }
  /* Channel split (after a channel-split pointwise layer). */
  if (c > MO_CALIGN) {
    uint8_t *o2 = output_new (npix * ocs);
    int mid = MO_CALIGN * rnd_int (1, (c - 1) / MO_CALIGN);
    MoDwConvQ8Params a = p, b = p;
    a.out = b.out = o2;
    a.c = mid;
    b.in += mid;
    b.out += mid;
    b.w += mid;
    b.mul += mid;
    b.add += mid;
    b.c = c - mid;
    fn (&a);
    fn (&b);
    for (size_t px = (size_t) y0 * out_w; px < (size_t) y1 * out_w; px++)
      for (int ch = 0; ch < c; ch++)
        if (o2[px * ocs + ch] != out[px * ocs + ch])
          report (tc, "channel split differs", px, ch, o2[px * ocs + ch],
              out[px * ocs + ch]);
    output_free (o2);
  }
  output_free (ref);
  output_free (out);
  free (w);
  free (in);
  free (mul);
  free (add);
}

/* ---- conversions ------------------------------------------------------- */

static void
test_convert (Case *tc, MoQuantizeFunc q, MoQuantizeFunc qref,
    MoDequantizeFunc dq, MoDequantizeFunc dqref)
{
  int m = rnd_int (1, 60), c = rnd_int (1, 100);
  int cs = MO_ROUND_UP (c, MO_CALIGN);
  float inv = 0.5f + 50.0f * rnd_unit ();
  float *f = xmalloc ((size_t) m * cs * sizeof (float));
  /* Values around the rounding ties and both ends, negatives included. */
  for (int i = 0; i < m * cs; i++)
    f[i] = (rnd () % 4 ? (float) rnd_int (-20, 280) + 0.5f * rnd_int (0, 1)
        : 300.0f * rnd_unit () - 20.0f) / inv;
  int m0 = rnd_int (0, m - 1), m1 = rnd_int (m0 + 1, m);
  snprintf (tc->shape, sizeof tc->shape, "%d pixels x %d channels, pixels "
      "[%d,%d)", m, c, m0, m1);
  uint8_t *ref = output_new ((size_t) m * cs), *out =
      output_new ((size_t) m * cs);
  MoQuantizeParams p = { f, ref, cs, cs, c, inv, m0, m1 };
  qref (&p);
  p.out = out;
  q (&p);
  check (tc, ref, out, m, cs, m0, m1, 0, cs);

  float *fr = xmalloc ((size_t) m * cs * sizeof (float));
  float *fo = xmalloc ((size_t) m * cs * sizeof (float));
  memset (fr, 0, (size_t) m * cs * sizeof (float));
  memset (fo, 0, (size_t) m * cs * sizeof (float));
  /* Zero point 0 (ReLU outputs), 128 (signed ones) or any byte. */
  static const int zps[3] = { 0, 128, -1 };
  int zp = zps[rnd_int (0, 2)];
  MoDequantizeParams d = { ref, fr, cs, cs, c, 1.0f / inv, m0, m1,
    zp >= 0 ? zp : rnd_int (0, 255)
  };
  dqref (&d);
  d.out = fo;
  dq (&d);
  if (memcmp (fr, fo, (size_t) m * cs * sizeof (float)))
    report (tc, "dequantize differs", 0, 0, 0, 0);
  output_free (ref);
  output_free (out);
  free (f);
  free (fr);
  free (fo);
}

/* ---- squeeze-excite on uint8 -------------------------------------------- */

/* The pool over up to 3 x 65536 + a few pixels (the float kernels' exact
 * chunks), a channel sub-range; the gate on a pixel sub-range. */
static void
test_se (Case *tc, MoGapQ8Func gap, MoGapQ8Func gapref, MoScaleQ8Func sc,
    MoScaleQ8Func scref)
{
  int big = rnd () % 8 == 0;
  int m = big ? rnd_int (65530, 3 * 65536 + 7) : rnd_int (1, 300);
  int c = rnd_int (1, 100), cs = MO_ROUND_UP (c, MO_CALIGN);
  int zp = rnd_int (0, 2) == 0 ? 0 : rnd_int (0, 1) ? 128 : rnd_int (0, 255);
  uint8_t *in = xmalloc ((size_t) m * cs);
  /* Saturated inputs now and then: the largest sums. */
  int sat = rnd () % 4 == 0;
  for (size_t i = 0; i < (size_t) m * cs; i++)
    in[i] = sat ? 255 : (uint8_t) rnd ();
  int c0 = MO_CALIGN * rnd_int (0, (c - 1) / MO_CALIGN), c1 = rnd_int (c0 + 1,
      c);
  float scale = 0.001f + rnd_unit ();
  snprintf (tc->shape, sizeof tc->shape, "gap: %d pixels x %d channels, "
      "channels [%d,%d), zero point %d", m, c, c0, c1, zp);
  float *fr = xmalloc (cs * sizeof (float)), *fo = xmalloc (cs * sizeof (float));
  memset (fr, 0, cs * sizeof (float));
  memset (fo, 0, cs * sizeof (float));
  MoGapQ8Params g = { in, fr, m, cs, c0, c1, scale, zp };
  gapref (&g);
  g.out = fo;
  gap (&g);
  if (memcmp (fr, fo, cs * sizeof (float)))
    report (tc, "gap differs", 0, 0, 0, 0);

  /* The gate: gates of either sign (the ReLU is the clamp); in half the
   * cases each channel's pixels hold one byte and its gate puts the
   * result within rounding of a tie (k + 1/2), where the order of the
   * float products decides the byte. */
  int mm = m < 200 ? m : 200, m0 = rnd_int (0, mm - 1);
  int m1 = rnd_int (m0 + 1, mm);
  float *gate = xmalloc (cs * sizeof (float));
  float inv = 0.5f + 50.0f * rnd_unit ();
  int ties = rnd () % 2;
  for (int i = 0; i < cs; i++) {
    float x = ((float) in[i] - (float) zp) * scale;
    gate[i] = 2.0f * rnd_unit () - 0.5f;
    if (ties && x != 0.0f)
      gate[i] = (float) ((rnd_int (0, 254) + 0.5) / ((double) x * inv));
    for (int px = 1; ties && px < mm; px++)
      in[(size_t) px * cs + i] = in[i];
  }
  snprintf (tc->shape, sizeof tc->shape, "scale: %d pixels x %d channels, "
      "pixels [%d,%d), zero point %d", mm, c, m0, m1, zp);
  uint8_t *ref = output_new ((size_t) mm * cs), *out =
      output_new ((size_t) mm * cs);
  MoScaleQ8Params p = { in, gate, ref, cs, cs, c, scale, zp, inv, m0, m1 };
  scref (&p);
  p.out = out;
  sc (&p);
  check (tc, ref, out, mm, cs, m0, m1, 0, cs);
  output_free (ref);
  output_free (out);
  free (gate);
  free (in);
  free (fr);
  free (fo);
}

/* ---- benchmark --------------------------------------------------------- */

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The pointwise layers of S0, in int8 at every level in @ks (the first
 * @n_ks, distinct GEMMs) and in float at every level in @fks (@n_fks),
 * hot caches; the variants alternate within each of 15 rounds, best
 * round kept; ratios against the last (best) float and int8 levels. */
static void
bench (const MoKernels *ks, int n_ks, const MoKernels *fks, int n_fks)
{
  static const int shapes[][3] = { {784, 128, 128}, {196, 256, 256},
  {49, 1024, 1024}, {3136, 64, 64}
  };
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int m = shapes[si][0], kk = shapes[si][1], n = shapes[si][2];
    int8_t *w = calloc (mo_pw8_size (kk, n), 1);
    uint8_t *in = u8_input (m, kk), *out = xmalloc ((size_t) m * n);
    float *mul, *add, *fw = calloc ((size_t) kk * n, 4), *fb = calloc (n, 4);
    float *fi = calloc ((size_t) m * kk, 4), *fo = calloc ((size_t) m * n, 4);
    requant_new (n, n, 1e5, &mul, &add);
    for (size_t i = 0; i < mo_pw8_size (kk, n); i++)
      w[i] = (int8_t) rnd ();
    int32_t *wsum = xmalloc (sizeof (int32_t) * n);
    mo_pw8_wsum (w, kk, n, wsum);
    MoPwConvQ8Params p = { in, out, w, mul, add, kk, n, kk, n, 0, m, 0, n,
      wsum
    };
    MoPwConvParams fp = { fi, fo, fw, fb, kk, n, kk, n, MO_ACT_RELU, 0, m, 0,
      n
    };
    double macs = (double) m * kk * n, t[32];
    int reps = (int) (2e7 / macs) + 1, nv = n_ks + n_fks;
    for (int v = 0; v < nv; v++)
      t[v] = 1e9;
    for (int r = 0; r < 15; r++)
      for (int v = 0; v < nv; v++) {
        double t0 = now_s ();
        for (int i = 0; i < reps; i++) {
          if (v < n_ks)
            ks[v].pwconv_q8 (&p);
          else
            fks[v - n_ks].pwconv (&fp);
        }
        double dt = (now_s () - t0) / reps;
        t[v] = dt < t[v] ? dt : t[v];
      }
    printf ("  pwconv %dx%d->%d:\n", m, kk, n);
    for (int v = 0; v < nv; v++)
      printf ("    %-5s %-10s %8.1f us %7.1f GMAC/s   x%.2f of float %s, "
          "x%.2f of int8 %s\n", v < n_ks ? "int8" : "float",
          v < n_ks ? ks[v].isa_q8 : fks[v - n_ks].isa, t[v] * 1e6,
          macs / t[v] / 1e9, t[nv - 1] / t[v], fks[n_fks - 1].isa,
          t[n_ks - 1] / t[v], ks[n_ks - 1].isa_q8);
    free (w);
    free (in);
    free (out);
    free (mul);
    free (add);
    free (fw);
    free (fb);
    free (fi);
    free (fo);
    free (wsum);
  }
}

/* ---- driver ------------------------------------------------------------ */

typedef struct
{
  const char *name;
  unsigned flags;
} Level;

static const Level levels[] = {
  {"ref", MO_ISA_REF},
  {"avx2", MO_ISA_AVX2},
  {"avxvnni", MO_ISA_AVX2 | MO_ISA_AVXVNNI},
  {"avx512", MO_ISA_AVX2 | MO_ISA_AVX512},
  {"avx512vnni", MO_ISA_AVX2 | MO_ISA_AVX512 | MO_ISA_AVX512VNNI},
  {"neon", MO_ISA_NEON},
  {"neondot", MO_ISA_NEON | MO_ISA_NEONDOT},
  {"neoni8mm", MO_ISA_NEON | MO_ISA_NEONI8MM},
};

#define N_LEVELS (int) (sizeof levels / sizeof levels[0])

/* Depthwise 3x3 (the shapes of MobileOne-S2's stages, stride 1 and 2):
 * every distinct int8 and float kernel of @ks, alternating. */
static void
bench_dw (const MoKernels *ks, int n_ks)
{
  static const int shapes[][3] = { {56, 96, 1}, {28, 256, 1}, {14, 640, 1},
  {56, 96, 2}
  };
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int hw = shapes[si][0], c = shapes[si][1], s = shapes[si][2];
    int ohw = conv_out (hw, 1, 1, s);
    int8_t *w = calloc ((size_t) 9 * c, 1);
    uint8_t *in = u8_input ((size_t) hw * hw, c);
    uint8_t *out = xmalloc ((size_t) ohw * ohw * c);
    float *mul, *add, *fw = calloc ((size_t) 9 * c, 4), *fb = calloc (c, 4);
    float *fi = calloc ((size_t) hw * hw * c, 4);
    float *fo = calloc ((size_t) ohw * ohw * c, 4);
    requant_new (c, c, 1e4, &mul, &add);
    for (int i = 0; i < 9 * c; i++)
      w[i] = (int8_t) rnd ();
    MoDwConvQ8Params p = { in, out, w, mul, add, hw, hw, c, ohw, ohw, c, c,
      c, s, 1, 1, 0, ohw
    };
    MoDwConvParams fp = { fi, fo, fw, fb, hw, hw, c, ohw, ohw, c, c, c, s, 1,
      1, MO_ACT_RELU, 0, ohw
    };
    double macs = (double) ohw * ohw * c * 9, t[2 * N_LEVELS];
    int reps = (int) (2e7 / macs) + 1, nv = 0;
    const MoKernels *kv[2 * N_LEVELS];
    int is_q8[2 * N_LEVELS];
    for (int q = 1; q >= 0; q--)
      for (int v = 0; v < n_ks; v++) {
        int dup = 0;
        for (int u = 0; u < nv; u++)
          dup |= is_q8[u] == q && (q ? kv[u]->dwconv3x3_q8 ==
              ks[v].dwconv3x3_q8 : kv[u]->dwconv3x3 == ks[v].dwconv3x3);
        if (!dup) {
          kv[nv] = &ks[v];
          is_q8[nv] = q;
          t[nv++] = 1e9;
        }
      }
    for (int r = 0; r < 15; r++)
      for (int v = 0; v < nv; v++) {
        double t0 = now_s ();
        for (int i = 0; i < reps; i++) {
          if (is_q8[v])
            kv[v]->dwconv3x3_q8 (&p);
          else
            kv[v]->dwconv3x3 (&fp);
        }
        double dt = (now_s () - t0) / reps;
        t[v] = dt < t[v] ? dt : t[v];
      }
    printf ("  dwconv3x3 %dx%dx%d stride %d:\n", hw, hw, c, s);
    for (int v = 0; v < nv; v++)
      printf ("    %-5s %-10s %8.1f us %7.1f GMAC/s\n",
          is_q8[v] ? "int8" : "float", is_q8[v] ? kv[v]->isa_q8 :
          kv[v]->isa, t[v] * 1e6, macs / t[v] / 1e9);
    free (w);
    free (in);
    free (out);
    free (mul);
    free (add);
    free (fw);
    free (fb);
    free (fi);
    free (fo);
  }
}


int
main (int argc, char **argv)
{
  int cases = 300, do_bench = 0, passed = 0, failed = 0;
  const char *require = "";
  uint64_t seed = (uint64_t) time (NULL);
  unsigned cpu = mo_cpu_flags ();
  void *seen[N_LEVELS * 3];
  int n_seen = 0;
  MoKernels ref;

  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--bench") == 0)
      do_bench = 1;
    else if (strcmp (argv[i], "--cases") == 0 && i + 1 < argc)
      cases = atoi (argv[++i]);
    else if (strcmp (argv[i], "--seed") == 0 && i + 1 < argc)
      seed = strtoull (argv[++i], NULL, 0);
    else if (strcmp (argv[i], "--require") == 0 && i + 1 < argc)
      require = argv[++i];
    else {
      fprintf (stderr, "usage: %s [--cases N] [--seed S] [--require L1,L2] "
          "[--bench]\n", argv[0]);
      return 2;
    }
  }
  /* Every name of --require must be a level (a typo would require
   * nothing). */
  for (const char *r = require; *r; r += strcspn (r, ",") + (r[strcspn (r,
              ",")] == ',')) {
    size_t len = strcspn (r, ",");
    int known = 0;
    for (int li = 0; li < N_LEVELS; li++)
      known |= strlen (levels[li].name) == len
          && strncmp (r, levels[li].name, len) == 0;
    if (!known) {
      fprintf (stderr, "--require: %.*s is not a level\n", (int) len, r);
      return 2;
    }
  }
  printf ("seed %llu, %d cases per variant, CPU flags 0x%x\n",
      (unsigned long long) seed, cases, cpu);
  mo_kernels_init (&ref, 0);

  for (int li = 0; li < N_LEVELS; li++) {
    MoKernels k;
    if ((levels[li].flags & ~cpu) != 0) {
      size_t len = strlen (levels[li].name);
      const char *r = require;
      int required = 0;
      for (; *r; r += strcspn (r, ",") + (r[strcspn (r, ",")] == ','))
        required |= strcspn (r, ",") == len
            && strncmp (r, levels[li].name, len) == 0;
      printf ("%-10s skipped (not supported here)%s\n", levels[li].name,
          required ? ": FAILED, --require names it" : "");
      failed += required;
      continue;
    }
    mo_kernels_init (&k, levels[li].flags);
    for (int op = 0; op < 4; op++) {
      static const char *const names[] = { "pwconv_q8", "dwconv3x3_q8",
        "quantize", "gap_scale_q8"
      };
      void *fn = op == 0 ? (void *) k.pwconv_q8 : op == 1 ?
          (void *) k.dwconv3x3_q8 : op == 2 ? (void *) k.quantize :
          (void *) k.gap_q8;
      int dup = 0;
      for (int i = 0; i < n_seen; i++)
        dup |= seen[i] == fn;
      if (dup)
        continue;
      seen[n_seen++] = fn;
      rng_state = seed * 0x9E3779B97F4A7C15ULL + op + 1;
      Case tc = { levels[li].name, "", 0 };
      int bad = 0;
      for (int i = 0; i < cases; i++) {
        int before = tc.failures;
        if (op == 0)
          test_pwconv (&tc, k.pwconv_q8, ref.pwconv_q8);
        else if (op == 1)
          test_dwconv (&tc, k.dwconv3x3_q8, ref.dwconv3x3_q8);
        else if (op == 2)
          test_convert (&tc, k.quantize, ref.quantize, k.dequantize,
              ref.dequantize);
        else
          test_se (&tc, k.gap_q8, ref.gap_q8, k.scale_q8, ref.scale_q8);
        bad += tc.failures > before;
      }
      printf ("%-13s %-10s %s (%d/%d cases)\n", names[op], levels[li].name,
          bad ? "FAILED" : "ok", cases - bad, cases);
      if (bad)
        failed++;
      else
        passed++;
    }
  }
  if (do_bench) {
    /* Every distinct GEMM of the levels this CPU has, the reference's
     * left out (too slow to matter). */
    MoKernels ks[N_LEVELS], fks[N_LEVELS];
    int n_ks = 0, n_fks = 0;
    for (int li = 1; li < N_LEVELS; li++) {
      if ((levels[li].flags & ~cpu) != 0)
        continue;
      mo_kernels_init (&ks[n_ks], levels[li].flags);
      fks[n_fks] = ks[n_ks];
      int dup = 0, fdup = 0;
      for (int i = 0; i < n_ks; i++)
        dup |= ks[i].pwconv_q8 == ks[n_ks].pwconv_q8;
      for (int i = 0; i < n_fks; i++)
        fdup |= fks[i].pwconv == fks[n_fks].pwconv;
      n_ks += !dup;
      n_fks += !fdup;
    }
    if (n_ks == 0 || n_fks == 0) {
      mo_kernels_init (&ks[0], 0);
      fks[0] = ks[0];
      n_ks = n_fks = 1;
    }
    printf ("bench (best of 15 alternating rounds, hot caches):\n");
    bench (ks, n_ks, fks, n_fks);
    bench_dw (ks, n_ks);
  }
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
