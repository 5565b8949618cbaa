/* mobileone-gst engine: minimal .npy reader (float32) and writer. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define MO_NPY_MAX_DIMS 8

typedef struct
{
  int ndim;
  int64_t shape[MO_NPY_MAX_DIMS];
  int64_t numel;
  float *data;                  /* g_malloc'd, C order */
} MoNpy;

/**
 * mo_npy_read_f32: reads a version 1/2/3 .npy holding little-endian float32
 * ("<f4"), or float64 / float16 converted to float32, in C order. Any other
 * dtype, Fortran order, a malformed or lying header, or a file shorter than
 * the header says fails with MO_ERROR_FORMAT naming @path.
 */
gboolean mo_npy_read_f32 (const char *path, MoNpy *out, GError **error);

/** mo_npy_clear: frees the data and zeroes @npy. */
void mo_npy_clear (MoNpy *npy);

/**
 * mo_npy_write: writes @data (C order) as .npy version 1.0 with numpy dtype
 * string @descr ("<f4", "|u1", "<i4", ...) of @elem_size bytes per element.
 */
gboolean mo_npy_write (const char *path, const char *descr, size_t elem_size,
    int ndim, const int64_t *shape, const void *data, GError **error);

G_END_DECLS
