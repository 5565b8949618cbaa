/* Fuzzes the .npy reader. */
#include "fuzz-common.h"
#include "mo-npy.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean init;
  GError *error = NULL;
  MoNpy npy = { 0 };

  if (!init) {
    fuzz_init ();
    init = TRUE;
  }
  char *p = fuzz_write ("x.npy", data, size);
  if (mo_npy_read_f32 (p, &npy, &error)) {
    volatile float sink = 0.0f;
    for (gint64 i = 0; i < npy.numel; i++)
      sink += npy.data[i];
    (void) sink;
  }
  g_clear_error (&error);
  mo_npy_clear (&npy);
  g_free (p);
  return 0;
}
