/* Helpers shared by the engine's numeric tests. */
#include "mo-test-util.h"
#include "mo-heads.h"
#include "mo-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define FOLD_TOLERANCE 1e-5     /* of the tensor's max |value| */

double
mo_test_rel_err (const float *a, const float *ref, gint64 n, double *abs_err)
{
  double mx = 0.0, err = 0.0;
  if (abs_err)
    *abs_err = INFINITY;
  for (gint64 i = 0; i < n; i++) {
    if (!isfinite (a[i]))
      return INFINITY;
    mx = MAX (mx, fabs (ref[i]));
    err = MAX (err, fabs ((double) a[i] - ref[i]));
  }
  if (abs_err)
    *abs_err = err;
  return mx > 0 ? err / mx : err;
}

guint
mo_test_check_folding (const char *unfused_yaml, const char *torch_fused,
    guint *n_head)
{
  char *tmpdir = g_dir_make_tmp ("mobileone-fold-XXXXXX", NULL);
  char *ours = g_build_filename (tmpdir, "fused.safetensors", NULL);
  GError *error = NULL;
  guint compared = 0, head = 0;

  MoModel *m = mo_model_load (unfused_yaml, &error);
  g_assert_no_error (error);
  g_assert_true (mo_model_export_fused (m, ours, &error));
  MoSafetensors *a = mo_safetensors_open (ours, &error);
  g_assert_no_error (error);
  MoSafetensors *b = mo_safetensors_open (torch_fused, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < mo_safetensors_n_tensors (b); i++) {
    const MoStTensor *tb = mo_safetensors_nth (b, i);
    const MoStTensor *ta = mo_safetensors_find (a, tb->name);
    if (ta == NULL)
      g_error ("%s: PyTorch's fused tensor %s was not exported", unfused_yaml,
          tb->name);
    g_assert_cmpint (ta->ndim, ==, tb->ndim);
    for (int d = 0; d < ta->ndim; d++)
      g_assert_cmpint (ta->shape[d], ==, tb->shape[d]);
    float *va = g_new (float, MAX (ta->numel, 1));
    float *vb = g_new (float, MAX (tb->numel, 1));
    g_assert_true (mo_safetensors_read_f32 (a, ta->name, ta->ndim, ta->shape,
            va, &error));
    g_assert_true (mo_safetensors_read_f32 (b, tb->name, tb->ndim, tb->shape,
            vb, &error));
    /* F16/BF16 reference files were rounded after folding: allow that
     * rounding (half an ulp of the largest value) on top. */
    double tol = FOLD_TOLERANCE + (tb->dtype == MO_DTYPE_F16 ? 1.0 / 2048 :
        tb->dtype == MO_DTYPE_BF16 ? 1.0 / 256 : 0.0);
    double e = mo_test_rel_err (va, vb, ta->numel, NULL);
    if (e >= tol)
      g_error ("%s: folded tensor %s differs from PyTorch's: %.3g",
          unfused_yaml, ta->name, e);
    g_free (va);
    g_free (vb);
    compared++;
    head += strstr (tb->name, "stage") == NULL;
  }
  g_assert_cmpuint (compared, ==, mo_safetensors_n_tensors (a));
  mo_safetensors_close (a);
  mo_safetensors_close (b);
  mo_model_unref (m);
  g_unlink (ours);
  g_rmdir (tmpdir);
  g_free (ours);
  g_free (tmpdir);
  if (n_head)
    *n_head = head;
  return compared;
}
