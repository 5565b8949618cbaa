/* mobileone-gst engine: safetensors reader (mmap, checked header) and writer. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define MO_ST_MAX_DIMS 8

typedef enum
{
  MO_DTYPE_F32,
  MO_DTYPE_F16,
  MO_DTYPE_BF16,
  MO_DTYPE_OTHER               /* any other safetensors dtype (I64, U8, ...): listed, never converted */
} MoDType;

/* One tensor of an open file. Pointers stay valid until mo_safetensors_close(). */
typedef struct
{
  const char *name;
  MoDType dtype;
  const char *dtype_str;       /* as written in the header, e.g. "F32", "I64" */
  int ndim;
  int64_t shape[MO_ST_MAX_DIMS];
  int64_t numel;
  const guint8 *data;          /* inside the mapping, not aligned */
  size_t nbytes;
} MoStTensor;

typedef struct _MoSafetensors MoSafetensors;

/**
 * mo_safetensors_open: maps @path read-only and validates the whole header:
 * header length within the file, JSON object, every entry with a known
 * dtype string, shape and data_offsets consistent with each other, within
 * the data area and not overlapping, no duplicate names. Returns NULL and
 * sets @error (MO_ERROR_IO or MO_ERROR_FORMAT, message naming @path and the
 * tensor) on any problem.
 */
MoSafetensors *mo_safetensors_open (const char *path, GError **error);

/** mo_safetensors_close: unmaps and frees; NULL is allowed. */
void mo_safetensors_close (MoSafetensors *st);

/** mo_safetensors_path: the path given to mo_safetensors_open(). */
const char *mo_safetensors_path (const MoSafetensors *st);

/** mo_safetensors_n_tensors: number of tensors (the "__metadata__" entry excluded). */
guint mo_safetensors_n_tensors (const MoSafetensors *st);

/** mo_safetensors_nth: tensor @i in file order (data offset order). */
const MoStTensor *mo_safetensors_nth (const MoSafetensors *st, guint i);

/** mo_safetensors_find: the tensor called @name, or NULL. */
const MoStTensor *mo_safetensors_find (const MoSafetensors *st, const char *name);

/**
 * mo_safetensors_read_f32: converts tensor @name (F32, F16 or BF16) to
 * float32 into @dst (numel floats). Fails with MO_ERROR_MODEL and a message
 * naming the file and the tensor when the tensor is missing, its dtype is not
 * a float type, its shape differs from @shape (@ndim dims; printed as
 * [a, b, ...] expected vs found), or a value is NaN or infinite.
 */
gboolean mo_safetensors_read_f32 (const MoSafetensors *st, const char *name,
    int ndim, const int64_t *shape, float *dst, GError **error);

/* Writer: collects tensors, writes F32 safetensors with sorted-by-insertion offsets. */
typedef struct _MoStWriter MoStWriter;

/** mo_st_writer_new: an empty writer. */
MoStWriter *mo_st_writer_new (void);

/** mo_st_writer_add_f32: adds a copy of @data (product of @shape floats) as @name. */
void mo_st_writer_add_f32 (MoStWriter *w, const char *name, int ndim,
    const int64_t *shape, const float *data);

/** mo_st_writer_write: writes the file atomically (temp file + rename). */
gboolean mo_st_writer_write (MoStWriter *w, const char *path, GError **error);

/** mo_st_writer_free: frees; NULL is allowed. */
void mo_st_writer_free (MoStWriter *w);

G_END_DECLS
