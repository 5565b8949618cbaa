/* mobileone-gst engine: error domain shared by every engine module. */
#include "mo-error.h"

G_DEFINE_QUARK (mo-error-quark, mo_error);
