/* mobileone-gst engine: CPU feature detection and the kernel table.
 *
 * MO_HAVE_AVX2, MO_HAVE_AVX512, MO_HAVE_NEON, and the int8 GEMM's
 * MO_HAVE_AVXVNNI, MO_HAVE_AVX512VNNI, MO_HAVE_NEONDOT and
 * MO_HAVE_NEONI8MM say which SIMD kernel libraries the build linked
 * (mobileone/meson.build). MO_KERNELS_STANDALONE
 * leaves out the GLib-based environment parsing, for the GLib-free
 * cross-compiled kernel test (tools/cross/run-aarch64-tests.sh). */
#include "mo-kernels.h"
#include "kernels/mo-kernels-simd.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#ifndef MO_KERNELS_STANDALONE
#include <glib.h>
#endif

#ifndef MO_HAVE_AVX2
#define MO_HAVE_AVX2 0
#endif
#ifndef MO_HAVE_AVX512
#define MO_HAVE_AVX512 0
#endif
#ifndef MO_HAVE_AVXVNNI
#define MO_HAVE_AVXVNNI 0
#endif
#ifndef MO_HAVE_AVX512VNNI
#define MO_HAVE_AVX512VNNI 0
#endif
#ifndef MO_HAVE_NEON
#define MO_HAVE_NEON 0
#endif
#ifndef MO_HAVE_NEONDOT
#define MO_HAVE_NEONDOT 0
#endif
#ifndef MO_HAVE_NEONI8MM
#define MO_HAVE_NEONI8MM 0
#endif

unsigned
mo_cpu_flags (void)
{
  unsigned flags = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  if (MO_HAVE_AVX2 && __builtin_cpu_supports ("avx2")
      && __builtin_cpu_supports ("fma"))
    flags |= MO_ISA_AVX2;
  if (MO_HAVE_AVX512 && (flags & MO_ISA_AVX2)
      && __builtin_cpu_supports ("avx512f"))
    flags |= MO_ISA_AVX512;
  /* AVX-VNNI is CPUID leaf 7, sub-leaf 1, EAX bit 4 (the OS saves the ymm
   * state, as AVX2 above needs). Read directly: clang 14 (Debian 12, the
   * fuzzing build) does not know __builtin_cpu_supports ("avxvnni"). */
  if (MO_HAVE_AVXVNNI && (flags & MO_ISA_AVX2)) {
    unsigned a, b, c, d;
    if (__get_cpuid_count (7, 1, &a, &b, &c, &d) && (a & (1u << 4)))
      flags |= MO_ISA_AVXVNNI;
  }
  if (MO_HAVE_AVX512VNNI && (flags & MO_ISA_AVX512)
      && __builtin_cpu_supports ("avx512vnni")
      && __builtin_cpu_supports ("avx512bw"))
    flags |= MO_ISA_AVX512VNNI;
#elif defined(__aarch64__)
  if (MO_HAVE_NEON)
    flags |= MO_ISA_NEON;
#if defined(__linux__)
  /* The kernel's hwcaps (the bit values of <asm/hwcap.h>, which older C
   * libraries may not name). */
  {
    unsigned long hwcap = getauxval (AT_HWCAP), hwcap2 = getauxval (AT_HWCAP2);
    if (MO_HAVE_NEONDOT && (flags & MO_ISA_NEON) && (hwcap & (1ul << 20)))
      flags |= MO_ISA_NEONDOT;        /* HWCAP_ASIMDDP */
    if (MO_HAVE_NEONI8MM && (flags & MO_ISA_NEON) && (hwcap2 & (1ul << 13)))
      flags |= MO_ISA_NEONI8MM;       /* HWCAP2_I8MM */
  }
#endif
#endif
  return flags;
}

#ifndef MO_KERNELS_STANDALONE
unsigned
mo_isa_from_env (void)
{
  unsigned flags = mo_cpu_flags ();
  const char *env = g_getenv ("MOBILEONE_ISA");

  if (env == NULL || *env == '\0')
    return flags;
  if (g_ascii_strcasecmp (env, "ref") == 0 || g_ascii_strcasecmp (env, "c") == 0)
    return 0;
  /* A level includes its dot-product extensions (the int8 GEMM); the
   * -novnni / -nodot names leave them out, which runs the int8 GEMM of
   * the CPUs without them. */
  if (g_ascii_strcasecmp (env, "avx2") == 0)
    return flags & (MO_ISA_AVX2 | MO_ISA_AVXVNNI);
  if (g_ascii_strcasecmp (env, "avx2-novnni") == 0)
    return flags & MO_ISA_AVX2;
  if (g_ascii_strcasecmp (env, "avx512") == 0)
    return flags & (MO_ISA_AVX2 | MO_ISA_AVXVNNI | MO_ISA_AVX512
        | MO_ISA_AVX512VNNI);
  if (g_ascii_strcasecmp (env, "neon") == 0)
    return flags & (MO_ISA_NEON | MO_ISA_NEONDOT | MO_ISA_NEONI8MM);
  if (g_ascii_strcasecmp (env, "neon-nodot") == 0)
    return flags & MO_ISA_NEON;
  g_warning ("MOBILEONE_ISA=%s is not one of ref, avx2, avx2-novnni, avx512, "
      "neon, neon-nodot; using the best level this CPU supports", env);
  return flags;
}
#endif

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
  k->resize_bilinear = mo_f32_resize_bilinear__ref;
  k->isa_q8 = "ref";
  k->pwconv_q8 = mo_q8_pwconv__ref;
  k->dwconv3x3_q8 = mo_q8_dwconv3x3__ref;
  k->quantize = mo_q8_quantize__ref;
  k->dequantize = mo_q8_dequantize__ref;
  k->gap_q8 = mo_q8_gap__ref;
  k->scale_q8 = mo_q8_scale__ref;
  (void) flags;

  /* SIMD levels, lowest first; each overwrites what it implements. */
#if MO_HAVE_NEON
  if (!(flags & MO_ISA_NEON))
    return;
  k->isa = "neon";
  k->conv = mo_f32_conv__neon;
  k->dwconv3x3 = mo_f32_dwconv3x3__neon;
  k->pwconv = mo_f32_pwconv__neon;
  k->gap = mo_f32_gap__neon;
  k->scale = mo_f32_scale__neon;
  k->isa_q8 = "neon";
  k->pwconv_q8 = mo_q8_pwconv__neon;
  k->dwconv3x3_q8 = mo_q8_dwconv3x3__neon;
  k->quantize = mo_q8_quantize__neon;
  k->dequantize = mo_q8_dequantize__neon;
  k->gap_q8 = mo_q8_gap__neon;
  k->scale_q8 = mo_q8_scale__neon;
#endif
#if MO_HAVE_NEONDOT
  if (flags & MO_ISA_NEONDOT) {
    k->isa_q8 = "neondot";
    k->pwconv_q8 = mo_q8_pwconv__neondot;
  }
#endif
#if MO_HAVE_NEONI8MM
  if (flags & MO_ISA_NEONI8MM) {
    k->isa_q8 = "neoni8mm";
    k->pwconv_q8 = mo_q8_pwconv__neoni8mm;
  }
#endif

#if MO_HAVE_AVX2
  if (!(flags & MO_ISA_AVX2))
    return;
  k->isa = "avx2";
  k->conv = mo_f32_conv__avx2;
  k->dwconv3x3 = mo_f32_dwconv3x3__avx2;
  k->pwconv = mo_f32_pwconv__avx2;
  k->gap = mo_f32_gap__avx2;
  k->scale = mo_f32_scale__avx2;
  k->isa_q8 = "avx2";
  k->pwconv_q8 = mo_q8_pwconv__avx2;
  k->dwconv3x3_q8 = mo_q8_dwconv3x3__avx2;
  k->quantize = mo_q8_quantize__avx2;
  k->dequantize = mo_q8_dequantize__avx2;
  k->gap_q8 = mo_q8_gap__avx2;
  k->scale_q8 = mo_q8_scale__avx2;
#endif
#if MO_HAVE_AVXVNNI
  /* Without a dot product the int8 GEMM is AVX2's vpmaddwd on widened
   * bytes (vpmaddubsw saturates u8 x s8 pairs at 16 bits, which exact
   * results forbid). */
  if (flags & MO_ISA_AVXVNNI) {
    k->isa_q8 = "avxvnni";
    k->pwconv_q8 = mo_q8_pwconv__avxvnni;
  }
#endif

#if MO_HAVE_AVX512
  if (!(flags & MO_ISA_AVX512))
    return;
  k->isa = "avx512";
  k->conv = mo_f32_conv__avx512;
  k->dwconv3x3 = mo_f32_dwconv3x3__avx512;
  k->pwconv = mo_f32_pwconv__avx512;
  k->gap = mo_f32_gap__avx512;
  k->scale = mo_f32_scale__avx512;
  k->dwconv3x3_q8 = mo_q8_dwconv3x3__avx512;
  k->quantize = mo_q8_quantize__avx512;
  k->dequantize = mo_q8_dequantize__avx512;
  k->gap_q8 = mo_q8_gap__avx512;
  k->scale_q8 = mo_q8_scale__avx512;
#endif
#if MO_HAVE_AVX512VNNI
  if (!(flags & MO_ISA_AVX512VNNI))
    return;
  k->isa_q8 = "avx512vnni";
  k->pwconv_q8 = mo_q8_pwconv__avx512vnni;
#endif
}
