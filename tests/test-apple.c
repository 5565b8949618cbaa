/* Apple's real MobileOne-S0 ImageNet weights (../shared/weights-ref): the
 * preprocessed apple photo must give PyTorch's logits (vector.txt) and
 * top-1 957 "pomegranate". Skipped when the shared folder is absent. */
#include "mo-heads.h"
#include "mo-classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TOLERANCE 1e-4          /* of max |logit| */

int
main (void)
{
  const char *shared = g_getenv ("MOBILEONE_SHARED_DIR");
  if (shared == NULL)
    shared = MOBILEONE_SHARED_DIR;
  char *yaml = g_build_filename (shared, "weights-ref",
      "mobileone-s0-imagenet.yaml", NULL);
  char *bin = g_build_filename (shared, "weights-ref", "mobileone-awkrail",
      "apple.bin", NULL);
  char *vec = g_build_filename (shared, "weights-ref", "mobileone-awkrail",
      "vector.txt", NULL);
  GError *error = NULL;
  gchar *raw = NULL, *text = NULL;
  gsize len = 0;
  int rc = 0;

  if (!g_file_test (yaml, G_FILE_TEST_EXISTS)
      || !g_file_get_contents (bin, &raw, &len, NULL)
      || !g_file_get_contents (vec, &text, NULL, NULL)) {
    printf ("SKIP: %s not available\n", yaml);
    rc = 77;
    goto out;
  }
  if (len != 3 * 224 * 224 * sizeof (float)) {
    printf ("FAIL: %s has %zu bytes\n", bin, len);
    rc = 1;
    goto out;
  }

  float ref[1000];
  char *p = text;
  for (int i = 0; i < 1000; i++)
    ref[i] = strtof (p, &p);

  for (int threads = 1; threads <= 2; threads++) {
    MoModel *m = mo_model_load (yaml, &error);
    if (m == NULL) {
      printf ("FAIL: %s\n", error->message);
      return 1;
    }
    MoSession *s = mo_session_new (m, 224, 224, threads, &error);
    mo_session_set_input_nchw (s, (const float *) raw);
    mo_session_run (s);
    const MoOutput *o = mo_session_output (s, "logits");
    double mx = 0, err = 0;
    for (int i = 0; i < 1000; i++) {
      mx = MAX (mx, fabs (ref[i]));
      err = MAX (err, fabs (o->data[i] - ref[i]));
    }
    MoClass top[5];
    mo_classifier_topk (o->data, o->c, 5, top);
    printf ("threads %d (%s): top-1 %d (%s, p=%.3f), max |err| %.3g of %.3g "
        "(relative %.3g, tolerance %g)\n", threads, mo_session_isa (s),
        top[0].label, mo_desc_label (mo_model_desc (m), top[0].label),
        top[0].score, err, mx, err / mx, TOLERANCE);
    if (top[0].label != 957 || !(err / mx < TOLERANCE))
      rc = 1;
    mo_session_free (s);
    mo_model_unref (m);
  }
  printf ("%s\n", rc ? "1 passed, 1 failed" : "2 passed, 0 failed");
out:
  g_free (raw);
  g_free (text);
  g_free (yaml);
  g_free (bin);
  g_free (vec);
  return rc;
}
