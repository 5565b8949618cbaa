/* mobileone-gst engine: error domain shared by every engine module. */
#pragma once

#include <glib.h>
#include "mo-api.h"

G_BEGIN_DECLS

/**
 * MO_ERROR: the GError domain of the engine.
 *
 * Every message names the file and, where there is one, the YAML key or
 * tensor that caused it.
 */
#define MO_ERROR (mo_error_quark ())

typedef enum
{
  MO_ERROR_IO,          /* a file could not be opened, mapped or written */
  MO_ERROR_FORMAT,      /* a file is malformed (YAML syntax, safetensors header, npy header) */
  MO_ERROR_MODEL,       /* the description or the weights do not make a valid model */
  MO_ERROR_INPUT,       /* an input tensor or image does not fit the model */
  MO_ERROR_UNSUPPORTED  /* valid but not supported by this build */
} MoErrorCode;

/** mo_error_quark: the quark behind MO_ERROR. */
MO_API GQuark mo_error_quark (void);

G_END_DECLS
