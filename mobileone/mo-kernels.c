/* mobileone-gst engine: CPU feature detection and the kernel table. */
#include "mo-kernels.h"

#include <glib.h>
#include <string.h>

unsigned
mo_cpu_flags (void)
{
  unsigned flags = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    flags |= MO_ISA_AVX2;
  if ((flags & MO_ISA_AVX2) && __builtin_cpu_supports ("avx512f"))
    flags |= MO_ISA_AVX512;
#elif defined(__aarch64__)
  flags |= MO_ISA_NEON;
#endif
  return flags;
}

unsigned
mo_isa_from_env (void)
{
  unsigned flags = mo_cpu_flags ();
  const char *env = g_getenv ("MOBILEONE_ISA");

  if (env == NULL || *env == '\0')
    return flags;
  if (g_ascii_strcasecmp (env, "ref") == 0 || g_ascii_strcasecmp (env, "c") == 0)
    return 0;
  if (g_ascii_strcasecmp (env, "avx2") == 0)
    return flags & MO_ISA_AVX2;
  if (g_ascii_strcasecmp (env, "avx512") == 0)
    return flags & (MO_ISA_AVX2 | MO_ISA_AVX512);
  if (g_ascii_strcasecmp (env, "neon") == 0)
    return flags & MO_ISA_NEON;
  g_warning ("MOBILEONE_ISA=%s is not one of ref, avx2, avx512, neon; "
      "using the best level this CPU supports", env);
  return flags;
}

void
mo_kernels_init (MoKernels *k, unsigned flags)
{
  memset (k, 0, sizeof *k);
  k->isa = "ref";
  k->conv = mo_f32_conv__ref;
  k->dwconv3x3 = mo_f32_dwconv3x3__ref;
  k->pwconv = mo_f32_pwconv__ref;
  k->gap = mo_f32_gap__ref;
  k->scale = mo_f32_scale__ref;
  (void) flags;
  /* SIMD levels are added here, lowest first (see docs/performance.md). */
}
