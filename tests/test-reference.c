/* The C network against the PyTorch reference (tools/mobileone_tools/reference/).
 *
 * For every case NAME in the fixture folder (NAME-unfused.yaml and
 * NAME-fused.yaml with NAME-logits-WxH.npy computed by PyTorch from the
 * unfused model on input-WxH.npy, and NAME-fused-logits-WxH.npy where the
 * fused file was rounded to F16/BF16 after folding, a slightly different
 * function):
 *  - both forms give PyTorch's logits, max |c - ref| / max |ref| < 1e-4;
 *  - the C folding of the unfused checkpoint equals PyTorch's fused tensors;
 *  - 1, 2 and 3 threads give bit-identical outputs.
 * MOBILEONE_ISA (set by meson per test) picks the kernel level. */
#include "mo-heads.h"
#include "mo-npy.h"
#include "mo-safetensors.h"
#include "mo-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define TOLERANCE 1e-4          /* of the output's max |value| */

static const char *data_dir;

/* Runs @yaml on @input with @threads and returns the logits (g_free). */
static float *
run_model (const char *yaml, const MoNpy *input, int threads, int *n)
{
  GError *error = NULL;
  MoModel *m = mo_model_load (yaml, &error);
  g_assert_no_error (error);
  MoSession *s = mo_session_new (m, (int) input->shape[3],
      (int) input->shape[2], threads, &error);
  g_assert_no_error (error);
  mo_session_set_input_nchw (s, input->data);
  mo_session_run (s);
  /* Twice: a second run must not depend on what the first left behind. */
  mo_session_run (s);
  const MoOutput *o = mo_session_output (s, "logits");
  g_assert_nonnull (o);
  g_assert_cmpint (o->h, ==, 1);
  g_assert_cmpint (o->w, ==, 1);
  float *logits = g_memdup2 (o->data, o->c * sizeof (float));
  *n = o->c;
  mo_session_free (s);
  mo_model_unref (m);
  return logits;
}

static void
test_case (gconstpointer user)
{
  const char *name = user;
  char *unfused = g_strdup_printf ("%s/%s-unfused.yaml", data_dir, name);
  char *fused = g_strdup_printf ("%s/%s-fused.yaml", data_dir, name);
  char *pattern = g_strdup_printf ("%s-logits-", name);
  GDir *dir = g_dir_open (data_dir, 0, NULL);
  const char *f;
  int n_sizes = 0;

  while ((f = g_dir_read_name (dir)) != NULL) {
    if (!g_str_has_prefix (f, pattern) || !g_str_has_suffix (f, ".npy"))
      continue;
    char *size = g_strndup (f + strlen (pattern),
        strlen (f) - strlen (pattern) - 4);
    char *in_path = g_strdup_printf ("%s/input-%s.npy", data_dir, size);
    char *ref_path = g_build_filename (data_dir, f, NULL);
    char *fref_path = g_strdup_printf ("%s/%s-fused-logits-%s.npy", data_dir,
        name, size);
    MoNpy in = { 0 }, ref = { 0 }, fref = { 0 };
    GError *error = NULL;

    g_assert_true (mo_npy_read_f32 (in_path, &in, &error));
    g_assert_true (mo_npy_read_f32 (ref_path, &ref, &error));
    if (g_file_test (fref_path, G_FILE_TEST_EXISTS))
      g_assert_true (mo_npy_read_f32 (fref_path, &fref, &error));
    for (int form = 0; form < 2; form++) {
      int n1, n2, n3;
      const char *yaml = form ? fused : unfused;
      const MoNpy *r = form && fref.data ? &fref : &ref;
      float *a = run_model (yaml, &in, 1, &n1);
      float *a2 = run_model (yaml, &in, 2, &n2);
      float *b = run_model (yaml, &in, 3, &n3);
      g_assert_cmpint (n1, ==, r->numel);
      double e = mo_test_rel_err (a, r->data, r->numel, NULL);
      g_test_message ("%s %s %s: relative error %.3g", name,
          form ? "fused" : "unfused", size, e);
      g_assert_cmpfloat (e, <, TOLERANCE);
      /* Splitting work over threads must not change a single bit. */
      g_assert_cmpmem (a, n1 * sizeof (float), a2, n2 * sizeof (float));
      g_assert_cmpmem (a, n1 * sizeof (float), b, n3 * sizeof (float));
      g_free (a2);
      g_free (a);
      g_free (b);
    }
    n_sizes++;
    mo_npy_clear (&in);
    mo_npy_clear (&ref);
    mo_npy_clear (&fref);
    g_free (fref_path);
    g_free (in_path);
    g_free (ref_path);
    g_free (size);
  }
  g_assert_cmpint (n_sizes, >, 0);
  g_dir_close (dir);
  g_free (pattern);
  g_free (unfused);
  g_free (fused);
}

/* The C folding of the unfused checkpoint against PyTorch's fused tensors. */
static void
test_folding (gconstpointer user)
{
  const char *name = user;
  char *unfused = g_strdup_printf ("%s/%s-unfused.yaml", data_dir, name);
  char *torch_fused = g_strdup_printf ("%s/%s-fused.safetensors", data_dir,
      name);
  guint n = mo_test_check_folding (unfused, torch_fused, NULL);
  g_test_message ("%s: %u fused tensors equal PyTorch's", name, n);
  g_free (unfused);
  g_free (torch_fused);
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  data_dir = g_getenv ("MOBILEONE_TEST_DATA");
  if (data_dir == NULL)
    data_dir = MOBILEONE_TEST_DATA;

  GDir *dir = g_dir_open (data_dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *f;
  g_assert_nonnull (dir);
  while ((f = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (f, "-unfused.yaml"))
      g_ptr_array_add (names, g_strndup (f, strlen (f) - strlen ("-unfused.yaml")));
  g_dir_close (dir);
  g_ptr_array_sort (names, cmp_names);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index (names, i);
    char *p = g_strdup_printf ("/reference/%s", n);
    g_test_add_data_func (p, n, test_case);
    g_free (p);
    p = g_strdup_printf ("/folding/%s", n);
    g_test_add_data_func (p, n, test_folding);
    g_free (p);
  }
  int rc = g_test_run ();
  g_ptr_array_free (names, TRUE);
  return rc;
}
