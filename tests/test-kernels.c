/* mobileone-gst: checkasm-style test of the compute kernels.
 *
 * Walks the ISA ladder (mo_kernels_init at every level this CPU supports)
 * and tests each variant the first time it appears: random shapes with
 * channel counts that are not multiples of 16, tails, sub-ranges, strides,
 * dilations and activations, compared with the C reference (relative
 * tolerance scaled by the sum of |a * w|), with canaries around and inside
 * the outputs wherever a kernel must not write, and with the work split as
 * threads would split it, which must give bit-identical results.
 *
 * Plain C without GLib so it also cross-compiles for AArch64
 * (tools/cross/run-aarch64-tests.sh).
 *
 *   test-kernels [--cases N] [--seed S] [--bench]
 */
#include "mo-kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUARD 80                /* canary floats before and after a buffer */
#define CANARY 0xffc0ffeeu      /* a NaN no kernel computes */
#define REL_TOL 1e-5
#define MAX_REPORT 5

typedef enum
{
  OP_CONV,
  OP_DWCONV,
  OP_PWCONV,
  OP_GAP,
  OP_SCALE,
  OP_N
} Op;

static const char *const op_names[OP_N] = {
  "conv", "dwconv3x3", "pwconv", "gap", "scale"
};

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng_state;

static uint32_t
rnd (void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t) ((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Uniform in [lo, hi]. */
static int
rnd_int (int lo, int hi)
{
  return lo + (int) (rnd () % (uint32_t) (hi - lo + 1));
}

static int
rnd_pick (const int *v, int n)
{
  return v[rnd () % (uint32_t) n];
}

static float
rnd_float (void)
{
  return (float) ((int32_t) rnd () / 2147483648.0);
}

static MoAct
rnd_act (void)
{
  static const int acts[] = { MO_ACT_NONE, MO_ACT_RELU, MO_ACT_RELU,
    MO_ACT_SIGMOID
  };
  return (MoAct) rnd_pick (acts, 4);
}

/* ---- buffers ----------------------------------------------------------- */

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

/* An input: exactly @n floats (so a sanitizer sees any over-read), the
 * first @valid of every @cs filled with random values and the padded rest
 * with other finite junk a kernel may read but must multiply by zero. */
static float *
input_new (size_t pixels, int cs, int valid)
{
  float *p = xmalloc (pixels * cs * sizeof (float) + 1);
  for (size_t i = 0; i < pixels; i++)
    for (int c = 0; c < cs; c++)
      p[i * cs + c] = c < valid ? rnd_float () : 100.0f * rnd_float ();
  return p;
}

/* Weights [rows][ldw] with columns >= @n zero, as the packer leaves them. */
static float *
weights_new (size_t rows, int ldw, int n)
{
  float *w = xmalloc (rows * ldw * sizeof (float) + 1);
  for (size_t r = 0; r < rows; r++)
    for (int c = 0; c < ldw; c++)
      w[r * ldw + c] = c < n ? rnd_float () : 0.0f;
  return w;
}

/* Pointwise weights [k][ldw] (row-major, from weights_new) repacked in the
 * kernels' panel layout (mo_pw_index). */
static float *
pw_pack (const float *w, int k, int ldw)
{
  float *p = xmalloc ((size_t) k * ldw * sizeof (float) + 1);
  for (int kk = 0; kk < k; kk++)
    for (int n = 0; n < ldw; n++)
      p[mo_pw_index (k, ldw, kk, n)] = w[(size_t) kk * ldw + n];
  return p;
}

/* An output of @n floats between canary guards, all canaries. */
static float *
output_new (size_t n)
{
  uint32_t *p = xmalloc ((n + 2 * GUARD) * sizeof (uint32_t));
  for (size_t i = 0; i < n + 2 * GUARD; i++)
    p[i] = CANARY;
  return (float *) (p + GUARD);
}

static void
output_free (float *o)
{
  if (o)
    free (o - GUARD);
}

static int
is_canary (const float *f)
{
  uint32_t u;
  memcpy (&u, f, sizeof u);
  return u == CANARY;
}

/* ---- checking ---------------------------------------------------------- */

/* Where an output may be written: pixels [p0, p1) of @cs floats each,
 * channels [c0, c1) must match the reference, [c1, c2) may hold any finite
 * value or stay untouched, everything else (the guards included) must keep
 * its canary. */
typedef struct
{
  size_t npix;
  int cs;
  size_t p0, p1;
  int c0, c1, c2;
} Region;

typedef struct
{
  const char *variant;
  char shape[256];
  int failures;
} Case;

static void report (Case * tc, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
report (Case *tc, const char *fmt, ...)
{
  if (tc->failures++ < MAX_REPORT) {
    va_list ap;
    va_start (ap, fmt);
    printf ("  FAIL %s %s: ", tc->variant, tc->shape);
    vprintf (fmt, ap);
    printf ("\n");
    va_end (ap);
  }
}

/* @ref, @out: reference and variant outputs; @mag: per element |bias| +
 * sum |a * w| (the scale of rounding errors). */
static void
check (Case *tc, const Region *r, const float *ref, const float *out,
    const double *mag, double rel)
{
  size_t total = r->npix * r->cs;

  for (size_t i = 0; i < GUARD; i++) {
    if (!is_canary (out - GUARD + i))
      report (tc, "guard float %zu before the output overwritten", i);
    if (!is_canary (out + total + i))
      report (tc, "guard float %zu after the output overwritten", i);
  }
  for (size_t px = 0; px < r->npix; px++)
    for (int c = 0; c < r->cs; c++) {
      size_t i = px * r->cs + c;
      int inside = px >= r->p0 && px < r->p1;
      if (inside && c >= r->c0 && c < r->c1) {
        double d = fabs ((double) out[i] - ref[i]);
        if (is_canary (out + i) || !isfinite (out[i]) ||
            d > rel * mag[i] + 1e-30)
          report (tc, "pixel %zu channel %d: got %.9g, reference %.9g",
              px, c, out[i], ref[i]);
      } else if (inside && c >= r->c1 && c < r->c2) {
        if (!is_canary (out + i) && !isfinite (out[i]))
          report (tc, "pixel %zu padded channel %d not finite (%g)", px, c,
              out[i]);
      } else if (!is_canary (out + i)) {
        report (tc, "pixel %zu channel %d written outside the allowed "
            "region (%.9g)", px, c, out[i]);
      }
    }
}

static void
check_same (Case *tc, const float *a, const float *b, size_t n,
    const char *what)
{
  /* Include the guards: a split run must not write more either. */
  if (memcmp (a - GUARD, b - GUARD, (n + 2 * GUARD) * sizeof (float)) != 0) {
    for (size_t i = 0; i < n; i++)
      if (memcmp (a + i, b + i, sizeof (float)) != 0) {
        report (tc, "%s differs from one call at element %zu (%.9g vs "
            "%.9g)", what, i, a[i], b[i]);
        return;
      }
    report (tc, "%s writes the guards", what);
  }
}

/* ---- pwconv ------------------------------------------------------------ */

static const int sizes_k[] = { 1, 3, 7, 16, 17, 33, 40, 48, 64, 100, 128,
  256
};
static const int sizes_n[] = { 1, 3, 15, 16, 17, 33, 40, 48, 64, 65, 80,
  100, 128, 200
};

static void
test_pwconv (Case *tc, MoPwConvFunc fn, MoPwConvFunc ref_fn)
{
  int m = rnd () % 4 ? rnd_int (1, 40) : rnd_int (1, 300);
  int k = rnd () % 3 ? rnd_pick (sizes_k, 12) : rnd_int (1, 300);
  int n = rnd () % 3 ? rnd_pick (sizes_n, 14) : rnd_int (1, 300);
  int ldw = MO_ROUND_UP (n, MO_CALIGN);
  int in_cs = MO_ROUND_UP (k, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int out_cs = ldw + MO_CALIGN * rnd_int (0, 2);
  int nvec = ldw / MO_CALIGN;
  int m0 = rnd () % 2 ? 0 : rnd_int (0, m - 1);
  int m1 = rnd () % 2 ? m : rnd_int (m0 + 1, m);
  int n0 = rnd () % 2 ? 0 : MO_CALIGN * rnd_int (0, nvec - 1);
  int n1 = n;
  MoAct act = rnd_act ();

  /* A range that ends before n ends on a vector boundary, as a thread
   * split makes it. */
  if (rnd () % 3 == 0 && n0 / MO_CALIGN + 1 < nvec)
    n1 = MO_CALIGN * rnd_int (n0 / MO_CALIGN + 1, nvec - 1);
  snprintf (tc->shape, sizeof tc->shape, "m=%d k=%d n=%d in_cs=%d out_cs=%d "
      "m0=%d m1=%d n0=%d n1=%d act=%d", m, k, n, in_cs, out_cs, m0, m1, n0,
      n1, act);

  float *in = input_new (m, in_cs, k);
  float *w = weights_new (k, ldw, n);
  float *wp = pw_pack (w, k, ldw);
  float *b = weights_new (1, ldw, n);
  size_t total = (size_t) (unsigned) m * (unsigned) out_cs;
  float *ref = output_new (total), *out = output_new (total);
  float *split = output_new (total);
  double *mag = calloc (total, sizeof (double));

  MoPwConvParams p = { in, ref, wp, b, in_cs, out_cs, k, ldw, act, m0, m1,
    n0, n1
  };
  ref_fn (&p);
  p.out = out;
  fn (&p);

  float *naive = output_new (total);
  for (int i = m0; i < m1; i++)
    for (int j = n0; j < n1; j++) {
      double s = fabs (b[j]), v = b[j];
      for (int kk = 0; kk < k; kk++) {
        double x = (double) in[(size_t) i * in_cs + kk] * w[(size_t) kk * ldw
            + j];
        s += fabs (x);
        v += x;
      }
      /* ReLU and sigmoid shrink errors: no extra factor. */
      mag[(size_t) i * out_cs + j] = s;
      naive[(size_t) i * out_cs + j] = mo_act ((float) v, act);
    }
  Region r = { m, out_cs, m0, m1, n0, n1, MO_ROUND_UP (n1, MO_CALIGN) };
  /* The reference against a plain sum over the unpacked weights (checks
   * the panel layout), then the variant against the reference. */
  check (tc, &r, naive, ref, mag, REL_TOL);
  check (tc, &r, ref, out, mag, REL_TOL);
  output_free (naive);

  /* As threads split it: pixels anywhere, channels on vector boundaries. */
  int ms = rnd_int (m0, m1);
  int ns = n0 + MO_CALIGN * rnd_int (0, (MO_ROUND_UP (n1, MO_CALIGN) - n0)
      / MO_CALIGN);
  if (ns > n1)
    ns = n1;
  int mr[3] = { m0, ms, m1 }, nr[3] = { n0, ns, n1 };
  p.out = split;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      p.m0 = mr[i];
      p.m1 = mr[i + 1];
      p.n0 = nr[j];
      p.n1 = nr[j + 1];
      if (p.m0 < p.m1 && p.n0 < p.n1)
        fn (&p);
    }
  check_same (tc, out, split, total, "pixel/channel split");

  free (in);
  free (w);
  free (wp);
  free (b);
  free (mag);
  output_free (ref);
  output_free (out);
  output_free (split);
}

/* ---- dwconv3x3 and conv ------------------------------------------------ */

static const int sizes_c[] = { 1, 3, 16, 17, 33, 40, 48, 64, 100 };

/* Output size of a convolution, 0 if none fits. */
static int
conv_out (int in, int pad, int k, int dil, int stride)
{
  int span = dil * (k - 1) + 1;
  return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

static void
rnd_geometry (int kh, int *in_h, int *in_w, int *stride, int *dil, int *pad,
    int *out_h, int *out_w)
{
  static const int dils[] = { 1, 1, 2, 6 };
  do {
    *in_h = rnd () % 4 ? rnd_int (1, 37) : rnd_int (1, 6);
    *in_w = rnd () % 4 ? rnd_int (1, 37) : rnd_int (1, 6);
    *stride = rnd_int (1, 2);
    *dil = rnd_pick (dils, 4);
    /* Mostly "same" padding, sometimes none or anything up to it. */
    int same = *dil * (kh - 1) / 2;
    *pad = rnd () % 4 ? same : rnd_int (0, same);
    *out_h = conv_out (*in_h, *pad, kh, *dil, *stride);
    *out_w = conv_out (*in_w, *pad, kh, *dil, *stride);
  } while (*out_h < 1 || *out_w < 1);
}

static void
test_dwconv (Case *tc, MoDwConvFunc fn, MoDwConvFunc ref_fn)
{
  int in_h, in_w, s, d, pad, out_h, out_w;
  int c = rnd () % 3 ? rnd_pick (sizes_c, 9) : rnd_int (1, 130);
  int ldw = MO_ROUND_UP (c, MO_CALIGN);
  int in_cs = ldw + MO_CALIGN * rnd_int (0, 1);
  int out_cs = ldw + MO_CALIGN * rnd_int (0, 2);
  MoAct act = rnd_act ();

  rnd_geometry (3, &in_h, &in_w, &s, &d, &pad, &out_h, &out_w);
  int y0 = rnd () % 2 ? 0 : rnd_int (0, out_h - 1);
  int y1 = rnd () % 2 ? out_h : rnd_int (y0 + 1, out_h);
  snprintf (tc->shape, sizeof tc->shape, "%dx%dx%d -> %dx%d stride=%d "
      "dilation=%d pad=%d in_cs=%d out_cs=%d y0=%d y1=%d act=%d", in_h,
      in_w, c, out_h, out_w, s, d, pad, in_cs, out_cs, y0, y1, act);

  float *in = input_new ((size_t) in_h * in_w, in_cs, c);
  float *w = weights_new (9, ldw, c);
  float *b = weights_new (1, ldw, c);
  size_t total = (size_t) out_h * out_w * out_cs;
  float *ref = output_new (total), *out = output_new (total);
  float *split = output_new (total);
  double *mag = calloc (total, sizeof (double));

  MoDwConvParams p = { in, ref, w, b, in_h, in_w, in_cs, out_h, out_w,
    out_cs, c, ldw, s, d, pad, act, y0, y1
  };
  ref_fn (&p);
  p.out = out;
  fn (&p);

  for (int oy = y0; oy < y1; oy++)
    for (int ox = 0; ox < out_w; ox++)
      for (int ch = 0; ch < c; ch++) {
        double sum = fabs (b[ch]);
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            int iy = oy * s - pad + ky * d, ix = ox * s - pad + kx * d;
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
              sum += fabs ((double) in[((size_t) iy * in_w + ix) * in_cs + ch]
                  * w[(ky * 3 + kx) * ldw + ch]);
          }
        mag[((size_t) oy * out_w + ox) * out_cs + ch] = sum;
      }
  Region r = { (size_t) out_h * out_w, out_cs, (size_t) y0 * out_w,
    (size_t) y1 * out_w, 0, c, ldw
  };
  check (tc, &r, ref, out, mag, REL_TOL);

  /* Threads split output rows. */
  int ys = rnd_int (y0, y1);
  p.out = split;
  p.y0 = y0;
  p.y1 = ys;
  if (p.y0 < p.y1)
    fn (&p);
  p.y0 = ys;
  p.y1 = y1;
  if (p.y0 < p.y1)
    fn (&p);
  check_same (tc, out, split, total, "row split");

  free (in);
  free (w);
  free (b);
  free (mag);
  output_free (ref);
  output_free (out);
  output_free (split);
}

static void
test_conv (Case *tc, MoConvFunc fn, MoConvFunc ref_fn)
{
  static const int ks[] = { 1, 3, 3, 3, 5 };
  static const int cins[] = { 1, 3, 3, 4, 17, 33 };
  static const int couts[] = { 3, 16, 17, 33, 48, 64, 80, 130 };
  int kh = rnd_pick (ks, 5);
  int in_c = rnd_pick (cins, 6), n = rnd_pick (couts, 8);
  int in_h, in_w, s, d, pad, out_h, out_w;
  int ldw = MO_ROUND_UP (n, MO_CALIGN);
  int in_cs = MO_ROUND_UP (in_c, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int out_cs = ldw + MO_CALIGN * rnd_int (0, 2);
  MoAct act = rnd_act ();

  rnd_geometry (kh, &in_h, &in_w, &s, &d, &pad, &out_h, &out_w);
  int y0 = rnd () % 2 ? 0 : rnd_int (0, out_h - 1);
  int y1 = rnd () % 2 ? out_h : rnd_int (y0 + 1, out_h);
  snprintf (tc->shape, sizeof tc->shape, "%dx%dx%d -> %dx%dx%d k=%d "
      "stride=%d dilation=%d pad=%d in_cs=%d out_cs=%d y0=%d y1=%d act=%d",
      in_h, in_w, in_c, out_h, out_w, n, kh, s, d, pad, in_cs, out_cs, y0,
      y1, act);

  float *in = input_new ((size_t) in_h * in_w, in_cs, in_c);
  float *w = weights_new ((size_t) kh * kh * in_c, ldw, n);
  float *b = weights_new (1, ldw, n);
  size_t total = (size_t) out_h * out_w * out_cs;
  float *ref = output_new (total), *out = output_new (total);
  float *split = output_new (total);
  double *mag = calloc (total, sizeof (double));

  MoConvParams p = { in, ref, w, b, in_h, in_w, in_c, in_cs, out_h, out_w,
    out_cs, n, ldw, kh, kh, s, d, pad, act, y0, y1, NULL, 0.0f
  };
  ref_fn (&p);
  p.out = out;
  fn (&p);

  for (int oy = y0; oy < y1; oy++)
    for (int ox = 0; ox < out_w; ox++)
      for (int j = 0; j < n; j++) {
        double sum = fabs (b[j]);
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kh; kx++) {
            int iy = oy * s - pad + ky * d, ix = ox * s - pad + kx * d;
            if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w)
              continue;
            for (int c = 0; c < in_c; c++)
              sum += fabs ((double) in[((size_t) iy * in_w + ix) * in_cs + c]
                  * w[((size_t) (ky * kh + kx) * in_c + c) * ldw + j]);
          }
        mag[((size_t) oy * out_w + ox) * out_cs + j] = sum;
      }
  Region r = { (size_t) out_h * out_w, out_cs, (size_t) y0 * out_w,
    (size_t) y1 * out_w, 0, n, ldw
  };
  check (tc, &r, ref, out, mag, REL_TOL);

  int ys = rnd_int (y0, y1);
  p.out = split;
  p.y0 = y0;
  p.y1 = ys;
  if (p.y0 < p.y1)
    fn (&p);
  p.y0 = ys;
  p.y1 = y1;
  if (p.y0 < p.y1)
    fn (&p);
  check_same (tc, out, split, total, "row split");

  /* uint8 outputs (out_u8): exactly the quantised float outputs of the
   * same kernel, for the reference and the variant. */
  if (act != MO_ACT_SIGMOID) {
    float vmax = 1e-3f;
    for (size_t i = 0; i < total; i++)
      vmax = ref[i] > vmax ? ref[i] : vmax;
    p.inv_scale = 255.0f / (0.8f * vmax);
    p.y0 = y0;
    p.y1 = y1;
    for (int v = 0; v < 2; v++) {
      const float *f = v ? out : ref;
      uint8_t *q = malloc (total);
      memset (q, 0xa5, total);
      p.out = NULL;
      p.out_u8 = q;
      (v ? fn : ref_fn) (&p);
      for (int oy = y0; oy < y1; oy++)
        for (int ox = 0; ox < out_w; ox++)
          for (int j = 0; j < n; j++) {
            size_t i = ((size_t) oy * out_w + ox) * out_cs + j;
            uint8_t want = mo_quantize_value (f[i], p.inv_scale);
            if (q[i] != want) {
              report (tc, "%s: uint8 output %d at element %zu, its "
                  "quantised float output %d", v ? "variant" : "reference",
                  q[i], i, want);
              oy = y1;
              ox = out_w;
              break;
            }
          }
      free (q);
    }
  }

  free (in);
  free (w);
  free (b);
  free (mag);
  output_free (ref);
  output_free (out);
  output_free (split);
}

/* ---- gap and scale ----------------------------------------------------- */

static void
test_gap (Case *tc, MoGapFunc fn, MoGapFunc ref_fn)
{
  int hw = rnd () % 3 ? rnd_int (1, 60) : rnd_int (1, 1500);
  int c = rnd () % 3 ? rnd_pick (sizes_c, 9) : rnd_int (1, 300);
  int cs = MO_ROUND_UP (c, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int nvec = MO_ROUND_UP (c, MO_CALIGN) / MO_CALIGN;
  int c0 = rnd () % 2 ? 0 : MO_CALIGN * rnd_int (0, nvec - 1);
  int c1 = c;

  if (rnd () % 3 == 0 && c0 / MO_CALIGN + 1 < nvec)
    c1 = MO_CALIGN * rnd_int (c0 / MO_CALIGN + 1, nvec - 1);
  snprintf (tc->shape, sizeof tc->shape, "hw=%d c=%d cs=%d c0=%d c1=%d", hw,
      c, cs, c0, c1);

  float *in = input_new (hw, cs, c);
  float *ref = output_new (cs), *out = output_new (cs);
  float *split = output_new (cs);
  double *mag = calloc (cs, sizeof (double));

  MoGapParams p = { in, ref, hw, cs, c0, c1 };
  ref_fn (&p);
  p.out = out;
  fn (&p);
  for (int j = c0; j < c1; j++) {
    for (int i = 0; i < hw; i++)
      mag[j] += fabs (in[(size_t) i * cs + j]);
    mag[j] /= hw;
  }
  Region r = { 1, cs, 0, 1, c0, c1, MO_ROUND_UP (c1, MO_CALIGN) };
  check (tc, &r, ref, out, mag, 1e-6);

  int cm = c0 + MO_CALIGN * rnd_int (0, (MO_ROUND_UP (c1, MO_CALIGN) - c0)
      / MO_CALIGN);
  p.out = split;
  p.c0 = c0;
  p.c1 = cm < c1 ? cm : c1;
  if (p.c0 < p.c1)
    fn (&p);
  p.c0 = p.c1;
  p.c1 = c1;
  if (p.c0 < p.c1)
    fn (&p);
  check_same (tc, out, split, cs, "channel split");

  free (in);
  free (mag);
  output_free (ref);
  output_free (out);
  output_free (split);
}

static void
test_scale (Case *tc, MoScaleFunc fn, MoScaleFunc ref_fn)
{
  int m = rnd () % 3 ? rnd_int (1, 40) : rnd_int (1, 400);
  int c = rnd () % 3 ? rnd_pick (sizes_c, 9) : rnd_int (1, 300);
  int in_cs = MO_ROUND_UP (c, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int out_cs = MO_ROUND_UP (c, MO_CALIGN) + MO_CALIGN * rnd_int (0, 1);
  int m0 = rnd () % 2 ? 0 : rnd_int (0, m - 1);
  int m1 = rnd () % 2 ? m : rnd_int (m0 + 1, m);
  MoAct act = rnd_act ();

  snprintf (tc->shape, sizeof tc->shape, "m=%d c=%d in_cs=%d out_cs=%d "
      "m0=%d m1=%d act=%d", m, c, in_cs, out_cs, m0, m1, act);

  float *in = input_new (m, in_cs, c);
  float *gate = input_new (1, MO_ROUND_UP (c, MO_CALIGN), c);
  size_t total = (size_t) m * out_cs;
  float *ref = output_new (total), *out = output_new (total);
  float *split = output_new (total);
  double *mag = calloc (total, sizeof (double));

  MoScaleParams p = { in, gate, ref, in_cs, out_cs, c, act, m0, m1 };
  ref_fn (&p);
  p.out = out;
  fn (&p);
  for (int i = m0; i < m1; i++)
    for (int j = 0; j < c; j++)
      mag[(size_t) i * out_cs + j] =
          fabs ((double) in[(size_t) i * in_cs + j] * gate[j]);
  Region r = { m, out_cs, m0, m1, 0, c, MO_ROUND_UP (c, MO_CALIGN) };
  check (tc, &r, ref, out, mag, 1e-6);

  int ms = rnd_int (m0, m1);
  p.out = split;
  p.m0 = m0;
  p.m1 = ms;
  if (p.m0 < p.m1)
    fn (&p);
  p.m0 = ms;
  p.m1 = m1;
  if (p.m0 < p.m1)
    fn (&p);
  check_same (tc, out, split, total, "pixel split");

  free (in);
  free (gate);
  free (mag);
  output_free (ref);
  output_free (out);
  output_free (split);
}

/* ---- micro-benchmark --------------------------------------------------- */

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct
{
  Op op;
  const char *name;
  /* pwconv: m k n; dwconv: hw c stride; conv: hw in_c n; gap, scale:
   * pixels, channels */
  int a, b, c;
} BenchShape;

/* MobileOne-S0 at 224x224 and S4-sized pointwise layers. */
static const BenchShape bench_shapes[] = {
  {OP_CONV, "stem 224x224x3->48 s2", 224, 3, 48},
  {OP_DWCONV, "dw 112x112x48 s2", 112, 48, 2},
  {OP_DWCONV, "dw 56x56x48 s1", 56, 48, 1},
  {OP_DWCONV, "dw 28x28x128 s1", 28, 128, 1},
  {OP_DWCONV, "dw 14x14x256 s1", 14, 256, 1},
  {OP_PWCONV, "pw 3136x48->48", 3136, 48, 48},
  {OP_PWCONV, "pw 784x128->128", 784, 128, 128},
  {OP_PWCONV, "pw 196x256->256", 196, 256, 256},
  {OP_PWCONV, "pw 49x256->1024", 49, 256, 1024},
  {OP_PWCONV, "pw 1x1024->1000", 1, 1024, 1000},
  {OP_PWCONV, "pw 3136x192->192 (S4)", 3136, 192, 192},
  {OP_PWCONV, "pw 784x448->448 (S4)", 784, 448, 448},
  {OP_PWCONV, "pw 196x896->896 (S4)", 196, 896, 896},
  {OP_PWCONV, "pw 49x2048->2048 (S4)", 49, 2048, 2048},
  {OP_GAP, "gap 7x7x1024", 49, 1024, 0},
  {OP_SCALE, "scale 14x14x256", 196, 256, 0},
};

typedef struct
{
  MoConvFunc conv;
  MoDwConvFunc dw;
  MoPwConvFunc pw;
  MoGapFunc gap;
  MoScaleFunc scale;
} Fns;

/* Seconds per call of one benchmark shape, the best of 15 runs (on a
 * shared machine the minimum is the stable statistic); *macs set. */
static double
bench_one (const BenchShape *bs, const Fns *f, double *macs)
{
  float *in = NULL, *w = NULL, *b = NULL, *out = NULL, *gate = NULL;
  MoConvParams cp;
  MoDwConvParams dp;
  MoPwConvParams pp;
  MoGapParams gp;
  MoScaleParams sp;
  double best = 1e30;

  switch (bs->op) {
    case OP_CONV:{
      int hw = bs->a, oh = hw / 2, ldw = MO_ROUND_UP (bs->c, MO_CALIGN);
      in = input_new ((size_t) hw * hw, MO_CALIGN, bs->b);
      w = weights_new ((size_t) 9 * bs->b, ldw, bs->c);
      b = weights_new (1, ldw, bs->c);
      out = xmalloc ((size_t) oh * oh * ldw * sizeof (float));
      MoConvParams p = { in, out, w, b, hw, hw, bs->b, MO_CALIGN, oh, oh,
        ldw, bs->c, ldw, 3, 3, 2, 1, 1, MO_ACT_RELU, 0, oh, NULL, 0.0f
      };
      cp = p;
      *macs = (double) oh * oh * bs->c * 9 * bs->b;
      break;
    }
    case OP_DWCONV:{
      int hw = bs->a, s = bs->c, oh = hw / s, cs = MO_ROUND_UP (bs->b, 16);
      in = input_new ((size_t) hw * hw, cs, bs->b);
      w = weights_new (9, cs, bs->b);
      b = weights_new (1, cs, bs->b);
      out = xmalloc ((size_t) oh * oh * cs * sizeof (float));
      MoDwConvParams p = { in, out, w, b, hw, hw, cs, oh, oh, cs, bs->b, cs,
        s, 1, 1, MO_ACT_NONE, 0, oh
      };
      dp = p;
      *macs = (double) oh * oh * bs->b * 9;
      break;
    }
    case OP_PWCONV:{
      int ics = MO_ROUND_UP (bs->b, 16), ldw = MO_ROUND_UP (bs->c, 16);
      in = input_new (bs->a, ics, bs->b);
      float *rows = weights_new (bs->b, ldw, bs->c);
      w = pw_pack (rows, bs->b, ldw);
      free (rows);
      b = weights_new (1, ldw, bs->c);
      out = xmalloc ((size_t) bs->a * ldw * sizeof (float));
      MoPwConvParams p = { in, out, w, b, ics, ldw, bs->b, ldw, MO_ACT_RELU,
        0, bs->a, 0, bs->c
      };
      pp = p;
      *macs = (double) bs->a * bs->b * bs->c;
      break;
    }
    case OP_GAP:{
      in = input_new (bs->a, bs->b, bs->b);
      out = xmalloc (bs->b * sizeof (float));
      MoGapParams p = { in, out, bs->a, bs->b, 0, bs->b };
      gp = p;
      *macs = (double) bs->a * bs->b;
      break;
    }
    default:{
      in = input_new (bs->a, bs->b, bs->b);
      gate = input_new (1, bs->b, bs->b);
      out = xmalloc ((size_t) bs->a * bs->b * sizeof (float));
      MoScaleParams p = { in, gate, out, bs->b, bs->b, bs->b, MO_ACT_RELU,
        0, bs->a
      };
      sp = p;
      *macs = (double) bs->a * bs->b;
      break;
    }
  }

  int reps = (int) (2e7 / *macs) + 1;
  for (int r = 0; r < 15; r++) {
    double t0 = now_s ();
    for (int i = 0; i < reps; i++) {
      switch (bs->op) {
        case OP_CONV:
          f->conv (&cp);
          break;
        case OP_DWCONV:
          f->dw (&dp);
          break;
        case OP_PWCONV:
          f->pw (&pp);
          break;
        case OP_GAP:
          f->gap (&gp);
          break;
        default:
          f->scale (&sp);
          break;
      }
    }
    double t = (now_s () - t0) / reps;
    best = t < best ? t : best;
  }
  free (in);
  free (w);
  free (b);
  free (out);
  free (gate);
  return best;
}

static void
bench (const MoKernels *ref, const MoKernels *k)
{
  Fns fr = { ref->conv, ref->dwconv3x3, ref->pwconv, ref->gap, ref->scale };
  Fns fk = { k->conv, k->dwconv3x3, k->pwconv, k->gap, k->scale };

  printf ("bench %s (best of 15, us per call, GMAC/s):\n", k->isa);
  for (size_t i = 0; i < sizeof bench_shapes / sizeof bench_shapes[0]; i++) {
    double macs, tr = bench_one (&bench_shapes[i], &fr, &macs);
    double tk = bench_one (&bench_shapes[i], &fk, &macs);
    printf ("  %-24s ref %8.1f us %6.2f   %-6s %8.1f us %6.2f   x%.1f\n",
        bench_shapes[i].name, tr * 1e6, macs / tr / 1e9, k->isa, tk * 1e6,
        macs / tk / 1e9, tr / tk);
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
  {"avx512", MO_ISA_AVX2 | MO_ISA_AVX512},
  {"neon", MO_ISA_NEON},
};

#define N_LEVELS (int) (sizeof levels / sizeof levels[0])

typedef void (*AnyFunc) (void);

static AnyFunc
kernel_fn (const MoKernels *k, Op op)
{
  switch (op) {
    case OP_CONV:
      return (AnyFunc) k->conv;
    case OP_DWCONV:
      return (AnyFunc) k->dwconv3x3;
    case OP_PWCONV:
      return (AnyFunc) k->pwconv;
    case OP_GAP:
      return (AnyFunc) k->gap;
    default:
      return (AnyFunc) k->scale;
  }
}

int
main (int argc, char **argv)
{
  int cases = 200, do_bench = 0, passed = 0, failed = 0;
  uint64_t seed = (uint64_t) time (NULL);
  unsigned cpu = mo_cpu_flags ();
  AnyFunc seen[N_LEVELS * OP_N];
  int n_seen = 0;
  MoKernels ref;

  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--bench") == 0)
      do_bench = 1;
    else if (strcmp (argv[i], "--cases") == 0 && i + 1 < argc)
      cases = atoi (argv[++i]);
    else if (strcmp (argv[i], "--seed") == 0 && i + 1 < argc)
      seed = strtoull (argv[++i], NULL, 0);
    else {
      fprintf (stderr, "usage: %s [--cases N] [--seed S] [--bench]\n",
          argv[0]);
      return 2;
    }
  }
  printf ("seed %llu, %d cases per variant, CPU flags 0x%x\n",
      (unsigned long long) seed, cases, cpu);
  mo_kernels_init (&ref, 0);

  for (int li = 0; li < N_LEVELS; li++) {
    MoKernels k;
    if ((levels[li].flags & ~cpu) != 0) {
      printf ("%-10s %-7s skipped (not supported here)\n", "*",
          levels[li].name);
      continue;
    }
    mo_kernels_init (&k, levels[li].flags);
    for (int op = 0; op < OP_N; op++) {
      AnyFunc fn = kernel_fn (&k, (Op) op);
      int dup = 0;
      for (int i = 0; i < n_seen; i++)
        dup |= seen[i] == fn;
      if (dup)
        continue;               /* tested at a lower level */
      seen[n_seen++] = fn;

      /* Same cases for every variant of an op. */
      rng_state = seed * 0x9E3779B97F4A7C15ULL + op + 1;
      Case tc = { levels[li].name, "", 0 };
      int bad = 0;
      for (int i = 0; i < cases; i++) {
        int before = tc.failures;
        switch (op) {
          case OP_CONV:
            test_conv (&tc, k.conv, ref.conv);
            break;
          case OP_DWCONV:
            test_dwconv (&tc, k.dwconv3x3, ref.dwconv3x3);
            break;
          case OP_PWCONV:
            test_pwconv (&tc, k.pwconv, ref.pwconv);
            break;
          case OP_GAP:
            test_gap (&tc, k.gap, ref.gap);
            break;
          default:
            test_scale (&tc, k.scale, ref.scale);
            break;
        }
        bad += tc.failures > before;
      }
      printf ("%-10s %-7s %s (%d/%d cases)\n", op_names[op], levels[li].name,
          bad ? "FAILED" : "ok", cases - bad, cases);
      if (bad)
        failed++;
      else
        passed++;
    }
    if (do_bench && li > 0)
      bench (&ref, &k);
  }
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
