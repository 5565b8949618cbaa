/* mobileone-cli: classifier outputs. */
#include "cli-heads.h"
#include "mo-classifier.h"

#include <stdio.h>

static gboolean
write_outputs (MoSession *s, const char *dir, GError **error)
{
  return mo_cli_write_npy_output (dir, mo_session_output (s, "logits"), error);
}

static gboolean
report (MoSession *s, const MoImage *pic, const MoTransform *xf,
    const char *out_path, GError **error)
{
  const MoOutput *logits = mo_session_output (s, "logits");
  const MoDesc *d = mo_model_desc (mo_session_model (s));
  MoClass top[5];
  int n = mo_classifier_topk (logits->data, logits->c, 5, top);

  for (int i = 0; i < n; i++) {
    const char *label = mo_desc_label (d, top[i].label);
    printf ("%d %.4f %s\n", top[i].label, top[i].score, label ? label : "");
  }
  return TRUE;
}

const MoCliHead mo_cli_classifier = {
  "classifier", write_outputs, TRUE, report
};
