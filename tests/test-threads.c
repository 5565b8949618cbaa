/* One model shared by sessions in several threads at once, each session
 * with its own thread pool (issue 14) or all sharing the process-wide pool
 * (n_threads 0, issue 15): every thread's results equal a single-threaded
 * run's, bit for bit; regions spread over a pool's threads
 * (mo_session_run_regions) equal each region run alone. CI also runs this
 * under ThreadSanitizer, which reports any data race on the shared model or
 * pool. */
#include "mo-heads.h"
#include "mo-ssdlite.h"

#include <string.h>

static const char *data_dir = MOBILEONE_TEST_DATA;

#define N_WORKERS 4
#define N_RUNS 3

typedef struct
{
  MoModel *model;
  int width, height, n_threads;
  const float *ref;             /* the first output of a lone run */
  gsize ref_len;
  MoDetection ref_det[64];
  int ref_n_det;
  gboolean ok;
} Job;

static void
fill (MoSession *s)
{
  int w, h, cs;
  float *in = mo_session_input (s, &w, &h, &cs);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        in[((gsize) y * w + x) * cs + c] = (float) ((x * 7 + y * 3 + c * 11)
            % 23) / 11.5f - 1.0f;
}

/* The first output, packed (channel padding dropped). */
static float *
pack_output (const MoSession *s, gsize *len)
{
  const MoOutput *o = mo_session_nth_output (s, 0);
  float *v = g_new (float, (gsize) o->h * o->w * o->c);
  for (gsize p = 0; p < (gsize) o->h * o->w; p++)
    memcpy (v + p * o->c, o->data + p * o->cs, o->c * sizeof (float));
  *len = (gsize) o->h * o->w * o->c;
  return v;
}

static int
detect (MoSession *s, MoDetection *det, int n)
{
  GError *error = NULL;
  MoSsdPost *post = mo_ssdlite_post_new (s, 0, &error);
  g_assert_no_error (error);
  int got = mo_ssdlite_post_run (post, NULL, det, n);
  mo_ssdlite_post_free (post);
  return got;
}

static gpointer
worker (gpointer data)
{
  Job *j = data;
  GError *error = NULL;
  gboolean ssd = g_str_equal (mo_model_desc (j->model)->head_type, "ssdlite");

  for (int r = 0; r < N_RUNS; r++) {
    MoSession *s = mo_session_new (j->model, j->width, j->height,
        j->n_threads, &error);
    g_assert_no_error (error);
    fill (s);
    mo_session_run (s);
    gsize len;
    float *v = pack_output (s, &len);
    if (len != j->ref_len || memcmp (v, j->ref, len * sizeof (float)) != 0)
      j->ok = FALSE;
    g_free (v);
    if (ssd) {
      MoDetection det[64];
      int n = detect (s, det, 64);
      if (n != j->ref_n_det || memcmp (det, j->ref_det, n * sizeof *det))
        j->ok = FALSE;
    }
    mo_session_free (s);
  }
  return NULL;
}

static void
run_shared (const char *rel, gboolean shared_pool)
{
  char *path = g_build_filename (data_dir, rel, NULL);
  GError *error = NULL;
  MoModel *m = mo_model_load (path, &error);
  g_assert_no_error (error);
  const MoDesc *d = mo_model_desc (m);
  gboolean ssd = g_str_equal (d->head_type, "ssdlite");

  MoSession *s = mo_session_new (m, d->input_width, d->input_height, 1,
      &error);
  g_assert_no_error (error);
  fill (s);
  mo_session_run (s);
  Job proto = { 0 };
  proto.model = m;
  proto.width = d->input_width;
  proto.height = d->input_height;
  proto.ok = TRUE;
  proto.ref = pack_output (s, &proto.ref_len);
  if (ssd)
    proto.ref_n_det = detect (s, proto.ref_det, 64);
  mo_session_free (s);

  Job jobs[N_WORKERS];
  GThread *th[N_WORKERS];
  for (int i = 0; i < N_WORKERS; i++) {
    jobs[i] = proto;
    jobs[i].model = mo_model_ref (m);
    /* Pools of 1, 2 and 3 threads of their own, or all the shared pool. */
    jobs[i].n_threads = shared_pool ? 0 : 1 + i % 3;
    th[i] = g_thread_new ("worker", worker, &jobs[i]);
  }
  /* The loader's reference goes while the workers run. */
  mo_model_unref (m);
  for (int i = 0; i < N_WORKERS; i++) {
    g_thread_join (th[i]);
    g_assert_true (jobs[i].ok);
    mo_model_unref (jobs[i].model);
  }
  g_free ((float *) proto.ref);
  g_free (path);
}

static void
test_shared (gconstpointer data)
{
  run_shared (data, FALSE);
}

static void
test_shared_pool (gconstpointer data)
{
  run_shared (data, TRUE);
}

/* Two sessions with n_threads 0 hold the same pool of one thread per core,
 * which goes with the last of them. */
static void
test_pool_is_shared (void)
{
  char *path = g_build_filename (data_dir, "k1-fused.yaml", NULL);
  GError *error = NULL;
  MoModel *m = mo_model_load (path, &error);
  g_assert_no_error (error);
  MoSession *a = mo_session_new (m, 32, 32, 0, &error);
  MoSession *b = mo_session_new (m, 64, 48, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mo_session_n_threads (a), ==, g_get_num_processors ());
  g_assert_cmpint (mo_session_n_threads (b), ==, g_get_num_processors ());
  mo_session_free (a);
  mo_session_free (b);
  /* A fresh pool after the last one went. */
  a = mo_session_new (m, 32, 32, 0, &error);
  g_assert_no_error (error);
  fill (a);
  mo_session_run (a);
  mo_session_free (a);
  mo_model_unref (m);
  g_free (path);
}

#define N_REGIONS 7

typedef struct
{
  float *logits[N_REGIONS];
} Regions;

static void
keep_region (gpointer user, int index, const MoSession *outputs,
    const MoTransform *xf)
{
  Regions *r = user;
  const MoOutput *o = mo_session_output (outputs, "logits");

  (void) xf;
  r->logits[index] = g_memdup2 (o->data, o->c * sizeof (float));
}

/* mo_session_run_regions() on pools of 1, 2, 3 and the shared one: every
 * region's logits equal that region run alone on one thread, bit for bit,
 * including regions partly outside the picture. */
static void
test_regions (void)
{
  char *path = g_build_filename (data_dir, "k2se-fused.yaml", NULL);
  GError *error = NULL;
  MoModel *m = mo_model_load (path, &error);
  g_assert_no_error (error);
  const MoDesc *d = mo_model_desc (m);
  const int W = 157, H = 93;
  guint8 *pixels = g_malloc ((gsize) W * H * 3);
  MoImage img = { MO_PIXEL_RGB, W, H, {pixels}, {W * 3}, MO_YUV_BT601, 0 };
  const MoRect rects[N_REGIONS] = { {0, 0, W, H}, {3, 4, 40, 30},
  {100, 50, 57, 43}, {10, 60, 9, 7}, {-5, -5, 30, 30}, {60, 10, 30, 80},
  {1, 1, 2, 2}
  };
  MoSession *alone = mo_session_new (m, d->input_width, d->input_height, 1,
      &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < (gsize) W * H * 3; i++)
    pixels[i] = (guint8) ((i * 2654435761u) >> 13);
  for (int t = 0; t < 4; t++) {
    MoSession *s = mo_session_new (m, d->input_width, d->input_height,
        t == 3 ? 0 : t + 1, &error);
    Regions r = { {0} };
    g_assert_no_error (error);
    for (int rep = 0; rep < 2; rep++) {
      mo_session_run_regions (s, &img, rects, N_REGIONS, MO_FIT_CROP,
          keep_region, &r);
      for (int i = 0; i < N_REGIONS; i++) {
        const MoOutput *o;

        mo_session_set_input_image (alone, &img, &rects[i], MO_FIT_CROP,
            NULL);
        mo_session_run (alone);
        o = mo_session_output (alone, "logits");
        g_assert_nonnull (r.logits[i]);
        g_assert_cmpint (memcmp (r.logits[i], o->data,
                o->c * sizeof (float)), ==, 0);
        g_clear_pointer (&r.logits[i], g_free);
      }
    }
    mo_session_free (s);
  }
  mo_session_free (alone);
  g_free (pixels);
  mo_model_unref (m);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/threads/classifier", "k2se-fused.yaml",
      test_shared);
  g_test_add_data_func ("/threads/ssdlite", "ssd/ssd-fused.yaml",
      test_shared);
  g_test_add_data_func ("/threads/deeplab", "deeplab/dense-fused.yaml",
      test_shared);
  g_test_add_data_func ("/threads/shared-pool/classifier", "k2se-fused.yaml",
      test_shared_pool);
  g_test_add_data_func ("/threads/shared-pool/ssdlite",
      "ssd/ssd-fused.yaml", test_shared_pool);
  g_test_add_func ("/threads/shared-pool/lifetime", test_pool_is_shared);
  g_test_add_func ("/threads/regions", test_regions);
  return g_test_run ();
}
