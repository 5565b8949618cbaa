/* Fuzzes the whole model loader: a description and its weights, then a
 * session and one run with the head's post-processing.
 *
 * Input: a 4-byte little-endian length N, N bytes of YAML (written as
 * model.yaml), the rest as w.safetensors in the same folder
 * (tests/fuzz/run.sh packs the fixtures into seeds this way). */
#include "fuzz-common.h"
#include "mo-heads.h"
#include "mo-classifier.h"
#include "mo-deeplab.h"
#include "mo-ssdlite.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

/* Sessions stay small whatever the description says: the fuzzer looks for
 * bugs, not for the (bounded) memory a large input legitimately takes. */
#define MAX_SIDE 96

static void
run_heads (MoModel *m, MoSession *s)
{
  const MoDesc *d = mo_model_desc (m);
  GError *error = NULL;

  if (g_str_equal (d->head_type, "ssdlite")) {
    MoSsdPost *post = mo_ssdlite_post_new (s, 0, &error);
    g_clear_error (&error);
    if (post != NULL) {
      MoDetection det[16];
      mo_ssdlite_post_run (post, NULL, det, G_N_ELEMENTS (det));
      mo_ssdlite_post_free (post);
    }
  } else if (g_str_equal (d->head_type, "deeplabv3")) {
    const MoOutput *o = mo_session_nth_output (s, 0);
    guint8 *mask = g_new (guint8, (gsize) o->h * o->w);
    mo_deeplab_argmax (o, mask, o->w);
    g_free (mask);
  } else {
    const MoOutput *o = mo_session_nth_output (s, 0);
    MoClass top[5];
    mo_classifier_topk (o->data, o->c, 5, top);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean init;
  GError *error = NULL;
  guint32 n;

  if (!init) {
    fuzz_init ();
    init = TRUE;
  }
  if (size < 4)
    return 0;
  memcpy (&n, data, 4);
  n = GUINT32_FROM_LE (n);
  if (n > size - 4)
    return 0;
  char *y = fuzz_write ("model.yaml", data + 4, n);
  char *w = fuzz_write ("w.safetensors", data + 4 + n, size - 4 - n);
  MoModel *m = mo_model_load (y, &error);
  g_clear_error (&error);
  if (m != NULL) {
    const MoDesc *d = mo_model_desc (m);
    int width = MIN (d->input_width, MAX_SIDE);
    int height = MIN (d->input_height, MAX_SIDE);
    MoSession *s = mo_session_new (m, width, height, 1, &error);
    g_clear_error (&error);
    if (s != NULL) {
      int cs;
      float *in = mo_session_input (s, &width, &height, &cs);
      for (gsize i = 0; i < (gsize) width * height * cs; i++)
        in[i] = (float) (i % 7) * 0.25f - 0.5f;
      mo_session_run (s);
      run_heads (m, s);
      mo_session_free (s);
    }
    mo_model_unref (m);
  }
  g_free (y);
  g_free (w);
  return 0;
}
