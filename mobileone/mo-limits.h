/* mobileone-gst engine: the limits that keep an untrusted model description,
 * labels file, weights file or input from exhausting the host. Each is
 * documented in docs/security.md; a file beyond one fails to load with a
 * message naming the file and the limit. Not installed. */
#pragma once

/* A model description is a few hundred bytes. */
#define MO_YAML_MAX_BYTES ((gsize) 1 << 20)
/* Nodes and scalar bytes of the tree after YAML aliases are expanded: a
 * "billion laughs" file of a few hundred bytes otherwise expands to
 * gigabytes. A real description has well under a hundred nodes. */
#define MO_YAML_MAX_NODES 10000
#define MO_YAML_MAX_EXPANDED_BYTES ((gsize) 4 << 20)

/* Labels: one per line, UTF-8. */
#define MO_LABELS_MAX_BYTES ((gsize) 4 << 20)
#define MO_LABELS_MAX_COUNT 100000
#define MO_LABELS_MAX_LINE 1024

/* The JSON header of a safetensors file: a real one takes about 150 bytes
 * and 10 JSON values per tensor, and a MobileOne-S4 detector has under
 * 3000 tensors. json-glib builds a tree of about 40 bytes per byte of
 * tiny values, so both the length and the value count are bounded before
 * it parses. */
#define MO_ST_MAX_HEADER_LEN (16 * 1024 * 1024)
#define MO_ST_MAX_HEADER_VALUES 500000

/* One weight tensor (floats): the largest real one is a few million. */
#define MO_MAX_TENSOR_FLOATS ((gint64) 1 << 28)

/* The activation arena of one session: S0 at 1920x1080 needs about 300
 * MiB, SSDLite-S4 at 1280x720 about 1 GiB. */
#define MO_MAX_ARENA_BYTES ((guint64) 4 << 30)

/* SSDLite post-processing buffers (anchors x classes floats, ...). */
#define MO_MAX_SSD_POST_BYTES ((guint64) 1 << 30)
