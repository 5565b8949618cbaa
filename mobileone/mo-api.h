/* mobileone-gst: MO_API marks the functions of the installed library.
 * Everything else is built with hidden visibility (meson's
 * gnu_symbol_visibility), so the kernels, the thread pool and the graph
 * builder stay private (docs/architecture.md). */
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define MO_API __attribute__((visibility ("default")))
#else
#define MO_API
#endif
