/* Fuzzes mo_safetensors_open() and the conversion of every float tensor. */
#include "fuzz-common.h"
#include "mo-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean init;
  GError *error = NULL;

  if (!init) {
    fuzz_init ();
    init = TRUE;
  }
  char *p = fuzz_write ("w.safetensors", data, size);
  MoSafetensors *st = mo_safetensors_open (p, &error);
  g_clear_error (&error);
  for (guint i = 0; st && i < mo_safetensors_n_tensors (st); i++) {
    const MoStTensor *t = mo_safetensors_nth (st, i);
    if (t->dtype == MO_DTYPE_OTHER || t->numel > (1 << 20))
      continue;
    float *dst = g_new (float, MAX (t->numel, 1));
    mo_safetensors_read_f32 (st, t->name, t->ndim, t->shape, dst, &error);
    g_clear_error (&error);
    g_free (dst);
    if (mo_safetensors_find (st, t->name) != t)
      abort ();
  }
  mo_safetensors_close (st);
  g_free (p);
  return 0;
}
