/* mobileone-gst: int8 models end to end (docs/int8.md) on the random test
 * networks of tests/data: calibration through the API, loading with
 * 'precision: int8', results byte-identical for 1, 2 and 3 threads and
 * close to the float model's, MO_LOAD_FORCE_FP32, and the loader's errors
 * for bad scales files (naming the file and the tensor). */
#include "mo-heads.h"
#include "mo-model-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

typedef struct
{
  char *dir;                    /* a temporary copy of the model's folder */
  char *yaml_f32, *yaml_i8, *scales;
} Fixture;

static void
fill_input (MoSession *s, guint32 seed)
{
  int w, h, cs;
  float *in = mo_session_input (s, &w, &h, &cs);
  GRand *r = g_rand_new_with_seed (seed);
  for (int p = 0; p < w * h; p++)
    for (int c = 0; c < 3; c++)
      in[(gsize) p * cs + c] = (float) g_rand_double_range (r, -2.0, 2.0);
  g_rand_free (r);
}

/* @name (a fused model of tests/data) copied to a temporary folder with
 * its weights, calibrated on random inputs, and an int8 description. */
static void
fixture_make_full (Fixture *f, const char *name, const char *weights,
    gboolean equalise)
{
  GError *error = NULL;
  char *src = g_build_filename (MOBILEONE_TEST_DATA, name, NULL);
  char *wsrc = g_build_filename (MOBILEONE_TEST_DATA, weights, NULL);
  char *text, *wdata;
  gsize len, wlen;

  f->dir = g_dir_make_tmp ("mobileone-int8-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (src, &text, &len, NULL));
  g_assert_true (g_file_get_contents (wsrc, &wdata, &wlen, NULL));
  char *wbase = g_path_get_basename (weights);
  char *wdst = g_build_filename (f->dir, wbase, NULL);
  g_free (wbase);
  g_assert_true (g_file_set_contents (wdst, wdata, wlen, NULL));
  f->yaml_f32 = g_build_filename (f->dir, "f32.yaml", NULL);
  f->yaml_i8 = g_build_filename (f->dir, "i8.yaml", NULL);
  f->scales = g_build_filename (f->dir, "scales.safetensors", NULL);
  g_assert_true (g_file_set_contents (f->yaml_f32, text, len, NULL));
  char *i8 = g_strconcat (text, "\nprecision: int8\n"
      "int8_scales: scales.safetensors\n", NULL);
  g_assert_true (g_file_set_contents (f->yaml_i8, i8, -1, NULL));

  MoModel *m = mo_model_load (f->yaml_f32, &error);
  g_assert_no_error (error);
  const MoDesc *d = mo_model_desc (m);
  MoSession *s = mo_session_new (m, d->input_width, d->input_height, 2,
      &error);
  g_assert_no_error (error);
  MoCalibration *c = mo_calibration_new (s, &error);
  g_assert_no_error (error);
  mo_calibration_set_equalisation (c, equalise);
  for (guint32 i = 0; i < 4; i++) {
    fill_input (s, 100 + i);
    mo_session_run (s);
  }
  g_assert_cmpint (mo_calibration_n_scales (c), >, 0);
  g_assert_true (mo_calibration_write (c, f->scales, &error));
  g_assert_no_error (error);
  mo_calibration_free (c);
  mo_session_free (s);
  mo_model_unref (m);
  g_free (i8);
  g_free (wdst);
  g_free (text);
  g_free (wdata);
  g_free (src);
  g_free (wsrc);
}

static void
fixture_make (Fixture *f, const char *name, const char *weights)
{
  fixture_make_full (f, name, weights, TRUE);
}

/* How many tensors of @path end with @suffix. */
static int
count_suffix (const char *path, const char *suffix)
{
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (path, &error);
  int n = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < mo_safetensors_n_tensors (st); i++)
    n += g_str_has_suffix (mo_safetensors_nth (st, i)->name, suffix);
  mo_safetensors_close (st);
  return n;
}

static void
fixture_free (Fixture *f)
{
  GDir *d = g_dir_open (f->dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL) {
    char *p = g_build_filename (f->dir, n, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->yaml_f32);
  g_free (f->yaml_i8);
  g_free (f->scales);
}

/* The first output after a run with @threads threads, its channels
 * (padded ones excluded: kernels may leave those unwritten), copied. */
static float *
run_copy (MoModel *m, int threads, int *n)
{
  GError *error = NULL;
  const MoDesc *d = mo_model_desc (m);
  MoSession *s = mo_session_new (m, d->input_width, d->input_height, threads,
      &error);
  g_assert_no_error (error);
  if (threads == 1)             /* which kernels MOBILEONE_ISA picked */
    g_test_message ("kernels: %s", mo_session_isa (s));
  fill_input (s, 7);
  mo_session_run (s);
  mo_session_run (s);           /* a second run must not differ either */
  const MoOutput *o = mo_session_nth_output (s, 0);
  *n = o->h * o->w * o->c;
  float *copy = g_new (float, *n);
  for (int p = 0; p < o->h * o->w; p++)
    memcpy (copy + (gsize) p * o->c, o->data + (gsize) p * o->cs,
        o->c * sizeof (float));
  mo_session_free (s);
  return copy;
}

/* Calibrated with channel equalisation or without (@equalise). */
static void
check_threads_and_accuracy (const char *const *names, gboolean equalise)
{
  GError *error = NULL;
  Fixture f;
  int n, n2;

  fixture_make_full (&f, names[0], names[1], equalise);
  if (equalise)
    g_assert_cmpint (count_suffix (f.scales, ".channel_scale"), >, 0);
  else
    g_assert_cmpint (count_suffix (f.scales, ".channel_scale"), ==, 0);
  MoModel *m8 = mo_model_load (f.yaml_i8, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_model_n_int8_layers (m8), >, 0);
  MoModel *m32 = mo_model_load (f.yaml_f32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_model_n_int8_layers (m32), ==, 0);
  MoModel *forced = mo_model_load_full (f.yaml_i8, MO_LOAD_FORCE_FP32,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mo_model_n_int8_layers (forced), ==, 0);

  float *ref = run_copy (m8, 1, &n);
  for (int t = 2; t <= 3; t++) {
    float *o = run_copy (m8, t, &n2);
    g_assert_cmpint (n, ==, n2);
    g_assert_cmpmem (ref, n * sizeof (float), o, n2 * sizeof (float));
    g_free (o);
  }
  /* Close to the float network: cosine similarity of the outputs. A
   * random network is no accuracy benchmark (docs/int8.md has Apple's
   * S0 on photos), but a wrong scale, layout or conversion gives noise. */
  float *f32 = run_copy (m32, 1, &n2);
  float *f32b = run_copy (forced, 2, &n2);
  g_assert_cmpmem (f32, n2 * sizeof (float), f32b, n2 * sizeof (float));
  double dot = 0, a2 = 0, b2 = 0;
  for (int i = 0; i < n; i++) {
    dot += (double) ref[i] * f32[i];
    a2 += (double) ref[i] * ref[i];
    b2 += (double) f32[i] * f32[i];
  }
  double cosine = dot / sqrt (a2 * b2 + 1e-30);
  g_test_message ("%s: %u int8 layers, %s, cosine similarity with fp32 "
      "%.5f", names[0], mo_model_n_int8_layers (m8), equalise ?
      "channel equalisation" : "no equalisation", cosine);
  g_assert_cmpfloat (cosine, >, 0.97);
  g_free (ref);
  g_free (f32);
  g_free (f32b);
  mo_model_unref (m8);
  mo_model_unref (m32);
  mo_model_unref (forced);
  fixture_free (&f);
}

static void
test_threads_and_accuracy (gconstpointer data)
{
  check_threads_and_accuracy (data, TRUE);
  check_threads_and_accuracy (data, FALSE);
}

/* A scales file with one tensor @name = @value must fail to load with a
 * message containing @expect. */
static void
expect_bad_scales (Fixture *f, const char *name, float value,
    const char *expect)
{
  GError *error = NULL;
  MoStWriter *w = mo_st_writer_new ();
  const int64_t shape[1] = { 1 };
  mo_st_writer_add_f32 (w, name, 1, shape, &value);
  g_assert_true (mo_st_writer_write (w, f->scales, &error));
  mo_st_writer_free (w);
  MoModel *m = mo_model_load (f->yaml_i8, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
  g_assert_nonnull (strstr (error->message, "scales.safetensors"));
  g_clear_error (&error);
}

/* A scales file with bias correction @name of @n values (all @value)
 * beside valid scales must fail to load with a message containing
 * @expect and naming the file. */
static void
expect_bad_correction (Fixture *f, const char *good_scales, const char *name,
    int n, float value, const char *expect)
{
  GError *error = NULL;
  MoSafetensors *st = mo_safetensors_open (good_scales, &error);
  MoStWriter *w = mo_st_writer_new ();
  const int64_t shape[1] = { n }, one[1] = { 1 };
  float *v = g_new (float, n);

  g_assert_no_error (error);
  for (guint i = 0; i < mo_safetensors_n_tensors (st); i++) {
    const MoStTensor *t = mo_safetensors_nth (st, i);
    float x;
    if (!g_str_has_suffix (t->name, ".output_scale"))
      continue;
    g_assert_true (mo_safetensors_read_f32 (st, t->name, 1, one, &x, NULL));
    mo_st_writer_add_f32 (w, t->name, 1, one, &x);
  }
  mo_safetensors_close (st);
  for (int i = 0; i < n; i++)
    v[i] = value;
  mo_st_writer_add_f32 (w, name, 1, shape, v);
  g_free (v);
  g_assert_true (mo_st_writer_write (w, f->scales, &error));
  mo_st_writer_free (w);
  MoModel *m = mo_model_load (f->yaml_i8, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
  g_assert_nonnull (strstr (error->message, "scales.safetensors"));
  g_clear_error (&error);
}

static void
test_bad_scales (void)
{
  GError *error = NULL;
  Fixture f;

  fixture_make (&f, "k1-fused.yaml", "k1-fused.safetensors");
  /* Bias corrections, checked beside the calibrated scales: the right
   * shape ([cout]), finite values, a layer with int8 weights. */
  char *good = g_build_filename (f.dir, "good.safetensors", NULL);
  g_assert_true (g_rename (f.scales, good) == 0);
  {
    MoModel *m32 = mo_model_load (f.yaml_f32, &error);
    g_assert_no_error (error);
    const MoLayer *pw = NULL;
    for (guint i = 0; i < m32->layers->len && pw == NULL; i++) {
      const MoLayer *l = g_ptr_array_index (m32->layers, i);
      if (l->type == MO_OP_PWCONV && l->name != NULL
          && l->act == MO_ACT_RELU)
        pw = l;
    }
    g_assert_nonnull (pw);
    char *cname = g_strconcat (pw->name, ".bias_correction", NULL);
    expect_bad_correction (&f, good, cname, pw->cout + 1, 0.0f, cname);
    expect_bad_correction (&f, good, cname, pw->cout, NAN, cname);
    expect_bad_correction (&f, good, "nosuchlayer.bias_correction", 1, 0.0f,
        "nosuchlayer");
    expect_bad_correction (&f, good, "stage0.reparam_conv.bias_correction",
        48, 0.0f, "no int8 weights");
    /* The classifier: pointwise, but no activation and not read by
     * squeeze-excite, so it never has a uint8 output. */
    expect_bad_correction (&f, good, "linear.bias_correction", 10, 0.0f,
        "no int8 weights");
    g_free (cname);
    /* Channel scales: shape [cout], positive finite values, a layer whose
     * channels can be rescaled (a ReLU convolution read by convolutions or
     * a pooled classifier; not a layer without ReLU). */
    cname = g_strconcat (pw->name, ".channel_scale", NULL);
    expect_bad_correction (&f, good, cname, pw->cout + 1, 1.0f, cname);
    expect_bad_correction (&f, good, cname, pw->cout, 0.0f, "not a positive");
    expect_bad_correction (&f, good, cname, pw->cout, -2.0f, "not a positive");
    expect_bad_correction (&f, good, cname, pw->cout, NAN, cname);
    expect_bad_correction (&f, good, cname, pw->cout, INFINITY, cname);
    expect_bad_correction (&f, good, "nosuchlayer.channel_scale", 1, 1.0f,
        "nosuchlayer");
    g_free (cname);
    const MoLayer *lin = NULL;
    for (guint i = 0; i < m32->layers->len && lin == NULL; i++) {
      const MoLayer *l = g_ptr_array_index (m32->layers, i);
      if (l->name != NULL && l->act != MO_ACT_RELU)
        lin = l;
    }
    g_assert_nonnull (lin);
    cname = g_strconcat (lin->name, ".channel_scale", NULL);
    expect_bad_correction (&f, good, cname, lin->cout, 1.0f,
        "cannot be rescaled");
    g_free (cname);
    mo_model_unref (m32);
  }
  g_free (good);
  expect_bad_scales (&f, "nosuchlayer.output_scale", 0.1f, "nosuchlayer");
  expect_bad_scales (&f, "stage1.1.reparam_conv.weight", 0.1f,
      "stage1.1.reparam_conv.weight");
  expect_bad_scales (&f, "stage1.1.reparam_conv.output_scale", 0.0f,
      "stage1.1.reparam_conv.output_scale");
  expect_bad_scales (&f, "stage1.1.reparam_conv.output_scale", -1.0f,
      "not a positive");
  /* One scale alone makes no int8 layer (each needs its input's too). */
  expect_bad_scales (&f, "stage1.1.reparam_conv.output_scale", 0.1f,
      "no layer");
  g_unlink (f.scales);
  MoModel *m = mo_model_load (f.yaml_i8, &error);
  g_assert_null (m);
  g_assert_nonnull (strstr (error->message, "scales.safetensors"));
  g_clear_error (&error);
  /* ... which the float override does not read. */
  m = mo_model_load_full (f.yaml_i8, MO_LOAD_FORCE_FP32, &error);
  g_assert_no_error (error);
  mo_model_unref (m);

  /* 'precision' is checked like every key. */
  char *bad = g_build_filename (f.dir, "bad.yaml", NULL);
  char *text;
  g_assert_true (g_file_get_contents (f.yaml_f32, &text, NULL, NULL));
  char *t2 = g_strconcat (text, "\nprecision: int4\n", NULL);
  g_assert_true (g_file_set_contents (bad, t2, -1, NULL));
  m = mo_model_load (bad, &error);
  g_assert_null (m);
  g_assert_nonnull (strstr (error->message, "precision"));
  g_clear_error (&error);
  g_free (t2);
  t2 = g_strconcat (text, "\nprecision: int8\n", NULL);
  g_assert_true (g_file_set_contents (bad, t2, -1, NULL));
  m = mo_model_load (bad, &error);
  g_assert_null (m);
  g_assert_nonnull (strstr (error->message, "int8_scales"));
  g_clear_error (&error);
  g_free (t2);
  g_free (text);
  g_free (bad);
  fixture_free (&f);
}

/* Squeeze-excite blocks (conv -> SE -> ReLU) run in int8: the conv's
 * signed output is uint8 with zero point 128, read as bytes by the SE's
 * pool and gate (or through a dequantize, which subtracts it), the gate
 * (BLOCK.se) has a scale and writes bytes where only int8 convs read it,
 * and the conv reading the gate runs in int8 too. Before, both convs of
 * every SE block stayed float. */
static void
test_se (void)
{
  GError *error = NULL;
  Fixture f;
  int n_signed = 0, n_gates = 0, n_gates8 = 0, n_gaps8 = 0;

  fixture_make (&f, "k2se-fused.yaml", "k2se-fused.safetensors");
  MoModel *m = mo_model_load (f.yaml_i8, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < m->layers->len; i++) {
    const MoLayer *l = g_ptr_array_index (m->layers, i);
    const MoTensorDef *out = &g_array_index (m->tensors, MoTensorDef, l->out);

    if (l->type == MO_OP_SCALE) {
      g_assert_nonnull (l->name);
      g_assert_true (g_str_has_suffix (l->name, ".se"));
      n_gates++;
      n_gates8 += l->int8;
      g_assert_true (l->int8 == out->u8);
      /* Its only reader (after a quantize) is an int8 conv, except in the
       * last block (the classifier's pool reads it). */
      for (guint j = i + 1; j < m->layers->len; j++) {
        const MoLayer *q = g_ptr_array_index (m->layers, j);
        if (q->in != l->out || q->type != MO_OP_QUANTIZE)
          continue;
        for (guint k = j + 1; k < m->layers->len; k++) {
          const MoLayer *c = g_ptr_array_index (m->layers, k);
          if (c->in == q->out)
            g_assert_true (c->int8);
        }
      }
    }
    if ((l->type == MO_OP_DWCONV || l->type == MO_OP_PWCONV)
        && l->act == MO_ACT_NONE && l->name != NULL
        && g_str_has_suffix (l->name, ".reparam_conv")) {
      g_assert_true (l->int8);
      g_assert_true (out->u8);
      g_assert_cmpint (out->zero_point, ==, 128);
      n_signed++;
    } else if (l->int8) {
      g_assert_cmpint (out->zero_point, ==, 0);
    }
    const MoTensorDef *in = &g_array_index (m->tensors, MoTensorDef, l->in);
    if (l->type == MO_OP_GAP && in->u8) {
      g_assert_true (l->int8);
      g_assert_cmpint (in->zero_point, ==, 128);
      n_gaps8++;
    }
  }
  g_test_message ("k2se: %d SE convs with signed int8 outputs, %d gates "
      "(%d on uint8), %d pools on uint8, %u int8 layers", n_signed, n_gates,
      n_gates8, n_gaps8, mo_model_n_int8_layers (m));
  g_assert_cmpint (n_signed, >, 0);
  g_assert_cmpint (n_signed, ==, n_gates);
  g_assert_cmpint (n_gaps8, ==, n_signed);
  /* The last gate feeds the classifier's (float) pool. */
  g_assert_cmpint (n_gates8, ==, n_gates - 1);
  mo_model_unref (m);
  fixture_free (&f);
}

/* Bad scales files of a model with squeeze-excite: the gate and the
 * signed conv have scales but no correction or channel scales of their
 * own where they cannot have them; zero points are implied (0 for ReLU
 * outputs, 128 for the signed ones), never stored. */
static void
test_bad_se_scales (void)
{
  GError *error = NULL;
  Fixture f;
  const MoLayer *gate = NULL, *sconv = NULL;

  fixture_make (&f, "k2se-fused.yaml", "k2se-fused.safetensors");
  char *good = g_build_filename (f.dir, "good.safetensors", NULL);
  g_assert_true (g_rename (f.scales, good) == 0);
  MoModel *m32 = mo_model_load (f.yaml_f32, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < m32->layers->len; i++) {
    const MoLayer *l = g_ptr_array_index (m32->layers, i);
    if (l->type == MO_OP_SCALE && gate == NULL)
      gate = l;
    if (l->type == MO_OP_PWCONV && l->act == MO_ACT_NONE && sconv == NULL
        && l->name != NULL && g_str_has_suffix (l->name, ".reparam_conv"))
      sconv = l;
  }
  g_assert_nonnull (gate);
  g_assert_nonnull (sconv);
  char *n = g_strconcat (gate->name, ".bias_correction", NULL);
  expect_bad_correction (&f, good, n, gate->cout, 0.0f, "no int8 weights");
  g_free (n);
  n = g_strconcat (gate->name, ".channel_scale", NULL);
  expect_bad_correction (&f, good, n, gate->cout, 1.0f, "cannot be rescaled");
  g_free (n);
  n = g_strconcat (sconv->name, ".channel_scale", NULL);
  expect_bad_correction (&f, good, n, sconv->cout, 1.0f,
      "cannot be rescaled");
  g_free (n);
  n = g_strconcat (sconv->name, ".bias_correction", NULL);
  expect_bad_correction (&f, good, n, sconv->cout, NAN, n);
  g_free (n);
  n = g_strconcat (sconv->name, ".output_zero_point", NULL);
  expect_bad_correction (&f, good, n, 1, 128.0f, "is not an activation");
  g_free (n);
  n = g_strconcat (gate->name, ".output_scale", NULL);
  expect_bad_scales (&f, n, -1.0f, "not a positive");
  expect_bad_scales (&f, n, NAN, n);
  g_free (n);
  mo_model_unref (m32);
  g_free (good);
  fixture_free (&f);
}

int
main (int argc, char **argv)
{
  static const char *const k1[] = { "k1-fused.yaml", "k1-fused.safetensors" };
  static const char *const k3[] = { "k3-fused.yaml", "k3-fused.safetensors" };
  /* Squeeze-excite: its gated outputs are not rescaled. */
  static const char *const k2se[] = { "k2se-fused.yaml",
    "k2se-fused.safetensors"
  };
  static const char *const ssd[] = { "ssd/ssd-fused.yaml",
    "ssd/ssd-fused.safetensors"
  };

  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/int8/k1", k1, test_threads_and_accuracy);
  g_test_add_data_func ("/int8/k3", k3, test_threads_and_accuracy);
  g_test_add_data_func ("/int8/k2se", k2se, test_threads_and_accuracy);
  g_test_add_data_func ("/int8/ssdlite", ssd, test_threads_and_accuracy);
  g_test_add_func ("/int8/bad-scales", test_bad_scales);
  g_test_add_func ("/int8/se", test_se);
  g_test_add_func ("/int8/bad-se-scales", test_bad_se_scales);
  return g_test_run ();
}
