/* Helpers shared by the engine's numeric tests. */
#pragma once

#include <glib.h>

/**
 * mo_test_rel_err: max |a - ref| / max |ref| over @n values (INFINITY when
 * @a holds a NaN or an infinity); *@abs_err (optional) gets max |a - ref|.
 */
double mo_test_rel_err (const float *a, const float *ref, gint64 n,
    double *abs_err);

/**
 * mo_test_check_folding: loads @unfused_yaml, writes its C-folded weights
 * and asserts that every tensor of PyTorch's @torch_fused file is there with
 * the same shape and values (max error under 1e-5 of the tensor's max |value|,
 * plus the rounding of F16/BF16 files) and that nothing else was exported.
 * Returns the number of tensors compared; *@n_head (optional) gets those
 * outside the MobileOne backbone (names without "stage").
 */
guint mo_test_check_folding (const char *unfused_yaml, const char *torch_fused,
    guint * n_head);
