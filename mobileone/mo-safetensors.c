/* mobileone-gst engine: safetensors reader (mmap, checked header) and writer.
 *
 * The file layout is: an unsigned 64-bit little-endian header length N, N
 * bytes of JSON, then the data area.  Every tensor's data_offsets are
 * relative to the start of the data area.  The whole header is validated in
 * mo_safetensors_open() so that later code can trust every MoStTensor. */

#include "mo-safetensors.h"
#include "mo-error.h"
#include "mo-file.h"
#include "mo-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* The header's length and its count of JSON values are bounded
 * (mo-limits.h) before json-glib builds its tree, which takes tens of
 * bytes per byte of small values: a 90 MB header took 3.75 GB. */

/* write() of more than SSIZE_MAX bytes is implementation-defined. */

struct _MoSafetensors
{
  char *path;
  guint8 *map;                  /* the whole file, PROT_READ */
  size_t map_len;
  MoStTensor *tensors;          /* sorted by data offset */
  guint n_tensors;
  GHashTable *by_name;          /* name -> MoStTensor *, keys owned by tensors */
};

typedef struct
{
  const char *name;
  MoDType dtype;
  guint size;
} DTypeInfo;

/* Every dtype the safetensors format defines: the ones we never convert must
 * still be known so that their data_offsets can be checked. */
static const DTypeInfo dtype_table[] = {
  {"F32", MO_DTYPE_F32, 4},
  {"F16", MO_DTYPE_F16, 2},
  {"BF16", MO_DTYPE_BF16, 2},
  {"F64", MO_DTYPE_OTHER, 8},
  {"I64", MO_DTYPE_OTHER, 8},
  {"I32", MO_DTYPE_OTHER, 4},
  {"I16", MO_DTYPE_OTHER, 2},
  {"I8", MO_DTYPE_OTHER, 1},
  {"U8", MO_DTYPE_OTHER, 1},
  {"BOOL", MO_DTYPE_OTHER, 1},
  {"U16", MO_DTYPE_OTHER, 2},
  {"U32", MO_DTYPE_OTHER, 4},
  {"U64", MO_DTYPE_OTHER, 8},
  {"F8_E4M3", MO_DTYPE_OTHER, 1},
  {"F8_E5M2", MO_DTYPE_OTHER, 1},
};

/* json-glib parses nested values recursively, so deep nesting in a small
 * header would overflow the stack (100000 levels crash an 8 MiB stack; a
 * streaming thread has less).  Real headers nest three levels deep. */
#define MO_ST_MAX_NESTING 64

/* A tensor being validated, with the offsets the final MoStTensor drops. */
typedef struct
{
  MoStTensor t;
  guint64 begin;
  guint64 end;
} Entry;

/* json-glib keeps only the last of several members with the same name, so
 * duplicates are caught while parsing: after each member the object must
 * have grown by one.  object-member for a member is emitted after its value
 * (and every object inside it) has been parsed, so the depth of the object
 * being filled is the number of objects started and not yet ended. */
typedef struct
{
  GArray *counts;               /* members seen, per open object */
  guint depth;                  /* open objects and arrays */
  guint n_top;                  /* top-level values */
  char *dup_key;                /* first repeated key */
  guint dup_depth;              /* depth of the object that repeated it */
  char *dup_entry;              /* top-level entry holding a nested repeat */
} DupScan;

/* json-glib also accepts "{} {}" and keeps the first value: counting the
 * top-level values is how trailing ones are noticed. */
static void
dup_scan_container_start (DupScan * scan)
{
  if (scan->depth == 0)
    scan->n_top++;
  scan->depth++;
}

static void
dup_scan_object_start (JsonParser * parser, gpointer user_data)
{
  DupScan *scan = user_data;
  guint zero = 0;

  (void) parser;
  dup_scan_container_start (scan);
  g_array_append_val (scan->counts, zero);
}

static void
dup_scan_array_start (JsonParser * parser, gpointer user_data)
{
  (void) parser;
  dup_scan_container_start (user_data);
}

static void
dup_scan_array_end (JsonParser * parser, JsonArray * array,
    gpointer user_data)
{
  DupScan *scan = user_data;

  (void) parser;
  (void) array;
  if (scan->depth > 0)
    scan->depth--;
}

static void
dup_scan_object_member (JsonParser * parser, JsonObject * object,
    const char *member_name, gpointer user_data)
{
  DupScan *scan = user_data;
  guint depth = scan->counts->len;
  guint *count;

  (void) parser;
  if (depth == 0)
    return;
  count = &g_array_index (scan->counts, guint, depth - 1);
  (*count)++;
  if (scan->dup_key == NULL && json_object_get_size (object) != *count) {
    scan->dup_key = g_strdup (member_name);
    scan->dup_depth = depth;
    /* Resynchronise, so that later members of this object are not
     * reported as repeats too. */
    *count = json_object_get_size (object);
  }
  /* The first top-level member completed after a nested repeat is the
   * entry that contains it. */
  if (depth == 1 && scan->dup_key != NULL && scan->dup_depth > 1
      && scan->dup_entry == NULL)
    scan->dup_entry = g_strdup (member_name);
}

static void
dup_scan_object_end (JsonParser * parser, JsonObject * object,
    gpointer user_data)
{
  DupScan *scan = user_data;

  (void) parser;
  (void) object;
  if (scan->depth > 0)
    scan->depth--;
  if (scan->counts->len > 0)
    g_array_set_size (scan->counts, scan->counts->len - 1);
}

/* Bounds the nesting depth before json-glib sees the text.  Finding the
 * brackets that are not inside strings needs the same idea of a string as
 * json-glib, which also takes single-quoted strings and comments; those are
 * not JSON, so they are refused here rather than tracked. */
static gboolean
check_nesting (const char *path, const char *text, size_t len,
    GError ** error)
{
  size_t i;
  guint depth = 0, values = 1;
  gboolean in_string = FALSE;

  for (i = 0; i < len; i++) {
    char c = text[i];

    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    /* Every value but the first follows one of these. */
    if ((c == ',' || c == ':' || c == '[')
        && ++values > MO_ST_MAX_HEADER_VALUES) {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: header holds more than %d JSON values, more than a model "
          "needs (docs/security.md)", path, MO_ST_MAX_HEADER_VALUES);
      return FALSE;
    }
    switch (c) {
      case '"':
        in_string = TRUE;
        break;
      case '[':
      case '{':
        if (++depth > MO_ST_MAX_NESTING) {
          g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
              "%s: header nests deeper than %d levels", path,
              MO_ST_MAX_NESTING);
          return FALSE;
        }
        break;
      case ']':
      case '}':
        if (depth > 0)
          depth--;
        break;
      case '\'':
      case '/':
        g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
            "%s: header is not valid JSON: unexpected '%c' at byte %"
            G_GSIZE_FORMAT, path, c, i);
        return FALSE;
      default:
        break;
    }
  }
  return TRUE;
}

static char *
format_shape (int ndim, const int64_t * shape)
{
  GString *s = g_string_new ("[");
  int i;

  for (i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "",
        (gint64) shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Element count of @shape, FALSE when it does not fit an int64_t.  A zero
 * dimension makes the tensor empty whatever the others are. */
static gboolean
shape_numel (int ndim, const int64_t * shape, int64_t * numel)
{
  int64_t n = 1;
  int i;

  for (i = 0; i < ndim; i++) {
    if (shape[i] == 0) {
      *numel = 0;
      return TRUE;
    }
  }
  for (i = 0; i < ndim; i++) {
    if (shape[i] < 0 || n > G_MAXINT64 / shape[i])
      return FALSE;
    n *= shape[i];
  }
  *numel = n;
  return TRUE;
}

static const DTypeInfo *
lookup_dtype (const char *name)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dtype_table); i++) {
    if (strcmp (dtype_table[i].name, name) == 0)
      return &dtype_table[i];
  }
  return NULL;
}

/* TRUE when @node is a JSON integer; json-glib saturates integers beyond
 * the int64 range to negative values, so range checks on the result also
 * reject those. */
static gboolean
node_get_int (JsonNode * node, gint64 * out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_entry (const char *path, const char *name, JsonNode * node,
    size_t data_len, Entry * e, GError ** error)
{
  JsonObject *obj;
  JsonNode *member;
  JsonArray *arr;
  const DTypeInfo *info;
  const char *dtype_str;
  gint64 begin, end, nbytes;
  guint i, n;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header entry '%s' is not a JSON object", path, name);
    return FALSE;
  }
  obj = json_node_get_object (node);

  member = json_object_get_member (obj, "dtype");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
      || json_node_get_value_type (member) != G_TYPE_STRING) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has no \"dtype\" string", path, name);
    return FALSE;
  }
  dtype_str = json_node_get_string (member);
  info = lookup_dtype (dtype_str);
  if (info == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has unknown dtype '%s'", path, name, dtype_str);
    return FALSE;
  }
  e->t.dtype = info->dtype;
  e->t.dtype_str = info->name;

  member = json_object_get_member (obj, "shape");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has no \"shape\" array", path, name);
    return FALSE;
  }
  arr = json_node_get_array (member);
  n = json_array_get_length (arr);
  if (n > MO_ST_MAX_DIMS) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has %u dimensions, at most %d are supported",
        path, name, n, MO_ST_MAX_DIMS);
    return FALSE;
  }
  e->t.ndim = (int) n;
  for (i = 0; i < n; i++) {
    gint64 dim;

    if (!node_get_int (json_array_get_element (arr, i), &dim)) {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: tensor '%s' has a shape whose element %u is not an integer",
          path, name, i);
      return FALSE;
    }
    if (dim < 0) {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: tensor '%s' has dimension %" G_GINT64_FORMAT " at shape "
          "element %u; dimensions must be non-negative 64-bit integers",
          path, name, dim, i);
      return FALSE;
    }
    e->t.shape[i] = dim;
  }
  if (!shape_numel (e->t.ndim, e->t.shape, &e->t.numel)
      || e->t.numel > G_MAXINT64 / info->size) {
    char *s = format_shape (e->t.ndim, e->t.shape);

    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has shape %s, too many elements to address",
        path, name, s);
    g_free (s);
    return FALSE;
  }
  nbytes = e->t.numel * (gint64) info->size;

  member = json_object_get_member (obj, "data_offsets");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member)
      || json_array_get_length (json_node_get_array (member)) != 2) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has no \"data_offsets\" [begin, end] array",
        path, name);
    return FALSE;
  }
  arr = json_node_get_array (member);
  if (!node_get_int (json_array_get_element (arr, 0), &begin)
      || !node_get_int (json_array_get_element (arr, 1), &end)
      || begin < 0 || end < 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has data_offsets that are not two non-negative "
        "integers", path, name);
    return FALSE;
  }
  if (begin > end) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has data_offsets [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "] that end before they begin", path, name, begin,
        end);
    return FALSE;
  }
  if ((guint64) end > data_len) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has data_offsets [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "] beyond the end of the data area (%"
        G_GSIZE_FORMAT " bytes)", path, name, begin, end, data_len);
    return FALSE;
  }
  if (end - begin != nbytes) {
    char *s = format_shape (e->t.ndim, e->t.shape);

    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: tensor '%s' has data_offsets [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "] (%" G_GINT64_FORMAT " bytes), but shape %s of %s "
        "takes %" G_GINT64_FORMAT " bytes", path, name, begin, end,
        end - begin, s, info->name, nbytes);
    g_free (s);
    return FALSE;
  }
  e->begin = (guint64) begin;
  e->end = (guint64) end;
  e->t.nbytes = (size_t) nbytes;
  return TRUE;
}

static int
compare_entries (gconstpointer pa, gconstpointer pb)
{
  const Entry *a = pa, *b = pb;

  if (a->begin != b->begin)
    return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  return strcmp (a->t.name, b->t.name);
}

static gboolean
parse_header (MoSafetensors * st, GError ** error)
{
  const char *path = st->path;
  guint64 header_len;
  const guint8 *data;
  size_t data_len;
  char *text = NULL;
  JsonParser *parser = NULL;
  JsonNode *root;
  JsonObject *obj;
  GList *members = NULL, *l;
  GError *jerr = NULL;
  DupScan scan = { NULL, 0, 0, NULL, 0, NULL };
  Entry *entries = NULL;
  guint n = 0, i;
  gint last_nonempty = -1;
  gboolean ok = FALSE;

  memcpy (&header_len, st->map, sizeof header_len);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > st->map_len - 8) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header length %" G_GUINT64_FORMAT " is larger than the %"
        G_GSIZE_FORMAT " bytes that follow it", path, header_len,
        st->map_len - 8);
    return FALSE;
  }
  if (header_len > MO_ST_MAX_HEADER_LEN) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header length %" G_GUINT64_FORMAT " exceeds the limit of %d "
        "bytes (docs/security.md)", path, header_len, MO_ST_MAX_HEADER_LEN);
    return FALSE;
  }
  data = st->map + 8 + header_len;
  data_len = st->map_len - 8 - (size_t) header_len;

  /* json-glib wants its own NUL-terminated buffer; an embedded NUL would
   * silently end the text early, so refuse it outright. */
  text = g_malloc ((size_t) header_len + 1);
  memcpy (text, st->map + 8, (size_t) header_len);
  text[header_len] = '\0';
  if (memchr (text, '\0', (size_t) header_len) != NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header contains a NUL byte", path);
    goto out;
  }
  /* Tensor names end up in messages and lookups: they must be text. */
  if (!g_utf8_validate (text, (gssize) header_len, NULL)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header is not valid UTF-8", path);
    goto out;
  }

  if (!check_nesting (path, text, (size_t) header_len, error))
    goto out;

  scan.counts = g_array_new (FALSE, FALSE, sizeof (guint));
  parser = json_parser_new ();
  g_signal_connect (parser, "object-start",
      G_CALLBACK (dup_scan_object_start), &scan);
  g_signal_connect (parser, "object-member",
      G_CALLBACK (dup_scan_object_member), &scan);
  g_signal_connect (parser, "object-end", G_CALLBACK (dup_scan_object_end),
      &scan);
  g_signal_connect (parser, "array-start", G_CALLBACK (dup_scan_array_start),
      &scan);
  g_signal_connect (parser, "array-end", G_CALLBACK (dup_scan_array_end),
      &scan);
  if (!json_parser_load_from_data (parser, text, (gssize) header_len, &jerr)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header is not valid JSON: %s", path, jerr->message);
    g_clear_error (&jerr);
    goto out;
  }
  /* Before the root's type: with several top-level values, json-glib 1.10
   * (Debian 13) has no object root where 1.6 (Debian 12) has the first. */
  if (scan.n_top > 1) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header has more JSON after its object", path);
    goto out;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: header is not a JSON object", path);
    goto out;
  }
  if (scan.dup_key != NULL) {
    if (scan.dup_depth == 1)
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: tensor '%s' appears more than once in the header", path,
          scan.dup_key);
    else
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: header entry '%s' repeats the key '%s'", path,
          scan.dup_entry ? scan.dup_entry : "?", scan.dup_key);
    goto out;
  }

  obj = json_node_get_object (root);
  members = json_object_get_members (obj);
  entries = g_new0 (Entry, json_object_get_size (obj));
  for (l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (obj, name);

    if (strcmp (name, "__metadata__") == 0) {
      if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
            "%s: header entry '__metadata__' is not a JSON object", path);
        goto out;
      }
      continue;
    }
    if (!parse_entry (path, name, node, data_len, &entries[n], error))
      goto out;
    entries[n].t.name = g_strdup (name);
    entries[n].t.data = data + entries[n].begin;
    n++;
  }

  if (n > 1)
    qsort (entries, n, sizeof (Entry), compare_entries);
  /* Sorted by begin, so a tensor can only overlap the previous non-empty
   * one; empty tensors occupy no bytes and overlap nothing. */
  for (i = 0; i < n; i++) {
    if (entries[i].begin == entries[i].end)
      continue;
    if (last_nonempty >= 0 && entries[i].begin < entries[last_nonempty].end) {
      const Entry *a = &entries[last_nonempty], *b = &entries[i];

      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: tensors '%s' (data_offsets [%" G_GUINT64_FORMAT ", %"
          G_GUINT64_FORMAT "]) and '%s' (data_offsets [%" G_GUINT64_FORMAT
          ", %" G_GUINT64_FORMAT "]) overlap", path, a->t.name, a->begin,
          a->end, b->t.name, b->begin, b->end);
      goto out;
    }
    last_nonempty = (gint) i;
  }

  st->n_tensors = n;
  st->tensors = g_new0 (MoStTensor, MAX (n, 1));
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < n; i++) {
    st->tensors[i] = entries[i].t;
    entries[i].t.name = NULL;   /* now owned by st->tensors */
    g_hash_table_insert (st->by_name, (gpointer) st->tensors[i].name,
        &st->tensors[i]);
  }
  ok = TRUE;

out:
  if (entries != NULL) {
    for (i = 0; i < n; i++)
      g_free ((char *) entries[i].t.name);
    g_free (entries);
  }
  g_list_free (members);
  if (parser != NULL)
    g_object_unref (parser);
  if (scan.counts != NULL)
    g_array_free (scan.counts, TRUE);
  g_free (scan.dup_key);
  g_free (scan.dup_entry);
  g_free (text);
  return ok;
}

MoSafetensors *
mo_safetensors_open (const char *path, GError ** error)
{
  MoSafetensors *st;
  struct stat sb;
  void *map;
  size_t len;
  int fd, errsv;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    errsv = errno;
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot open: %s", path,
        g_strerror (errsv));
    return NULL;
  }
  if (fstat (fd, &sb) != 0) {
    errsv = errno;
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot stat: %s", path,
        g_strerror (errsv));
    return NULL;
  }
  if (!S_ISREG (sb.st_mode)) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: not a regular file",
        path);
    return NULL;
  }
  if ((guint64) sb.st_size > G_MAXSIZE) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_IO,
        "%s: file is too large to map", path);
    return NULL;
  }
  len = (size_t) sb.st_size;
  if (len < 8) {
    close (fd);
    g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
        "%s: file is %" G_GSIZE_FORMAT " bytes, too short for a safetensors "
        "file (it starts with an 8-byte header length)", path, len);
    return NULL;
  }
  /* If another process truncates the file while it is mapped, reading the
   * lost pages raises SIGBUS; weights files are not expected to change
   * under a running pipeline. */
  map = mmap (NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  errsv = errno;
  close (fd);
  if (map == MAP_FAILED) {
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: cannot map: %s", path,
        g_strerror (errsv));
    return NULL;
  }

  st = g_new0 (MoSafetensors, 1);
  st->path = g_strdup (path);
  st->map = map;
  st->map_len = len;
  if (!parse_header (st, error)) {
    mo_safetensors_close (st);
    return NULL;
  }
  return st;
}

void
mo_safetensors_close (MoSafetensors * st)
{
  guint i;

  if (st == NULL)
    return;
  if (st->by_name != NULL)
    g_hash_table_destroy (st->by_name);
  if (st->tensors != NULL) {
    for (i = 0; i < st->n_tensors; i++)
      g_free ((char *) st->tensors[i].name);
    g_free (st->tensors);
  }
  if (st->map != NULL)
    munmap (st->map, st->map_len);
  g_free (st->path);
  g_free (st);
}

const char *
mo_safetensors_path (const MoSafetensors * st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->path;
}

guint
mo_safetensors_n_tensors (const MoSafetensors * st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n_tensors;
}

const MoStTensor *
mo_safetensors_nth (const MoSafetensors * st, guint i)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (i < st->n_tensors, NULL);
  return &st->tensors[i];
}

const MoStTensor *
mo_safetensors_find (const MoSafetensors * st, const char *name)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

/* The tensor data is little-endian and not aligned: every element is read
 * with memcpy and byte-swapped with GUINT*_FROM_LE, which is a no-op on
 * little-endian hosts. */
static guint32
load_bits (const MoStTensor * t, int64_t i)
{
  guint32 v32;
  guint16 v16;

  switch (t->dtype) {
    case MO_DTYPE_F32:
      memcpy (&v32, t->data + (size_t) i * 4, 4);
      return GUINT32_FROM_LE (v32);
    case MO_DTYPE_BF16:
      memcpy (&v16, t->data + (size_t) i * 2, 2);
      return (guint32) GUINT16_FROM_LE (v16) << 16;
    case MO_DTYPE_F16:{
      guint32 sign, exp, mant;

      memcpy (&v16, t->data + (size_t) i * 2, 2);
      v16 = GUINT16_FROM_LE (v16);
      sign = (guint32) (v16 & 0x8000) << 16;
      exp = (v16 >> 10) & 0x1f;
      mant = v16 & 0x3ff;
      if (exp == 0x1f)          /* inf keeps mantissa 0, NaN keeps its payload */
        return sign | 0x7f800000 | (mant << 13);
      if (exp != 0)
        return sign | ((exp + 127 - 15) << 23) | (mant << 13);
      if (mant == 0)
        return sign;
      {
        /* Subnormal: mant * 2^-24 is exact in float32. */
        float f = (float) mant * 5.9604644775390625e-08f;
        guint32 bits;

        memcpy (&bits, &f, 4);
        return sign | bits;
      }
    }
    case MO_DTYPE_OTHER:
    default:
      g_assert_not_reached ();
  }
  return 0;
}

gboolean
mo_safetensors_read_f32 (const MoSafetensors * st, const char *name,
    int ndim, const int64_t * shape, float *dst, GError ** error)
{
  const MoStTensor *t;
  gboolean same_shape;
  int64_t i;
  int d;

  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (ndim >= 0 && ndim <= MO_ST_MAX_DIMS, FALSE);
  g_return_val_if_fail (ndim == 0 || shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  t = mo_safetensors_find (st, name);
  if (t == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: tensor '%s' not found", st->path, name);
    return FALSE;
  }

  same_shape = (t->ndim == ndim);
  for (d = 0; same_shape && d < ndim; d++)
    same_shape = (t->shape[d] == shape[d]);
  if (!same_shape) {
    char *found = format_shape (t->ndim, t->shape);
    char *expected = format_shape (ndim, shape);

    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: tensor '%s' has shape %s, expected %s", st->path, name, found,
        expected);
    g_free (found);
    g_free (expected);
    return FALSE;
  }

  if (t->dtype == MO_DTYPE_OTHER) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: tensor '%s' has dtype %s, expected a float type (F32, F16 or "
        "BF16)", st->path, name, t->dtype_str);
    return FALSE;
  }
  g_return_val_if_fail (t->numel == 0 || dst != NULL, FALSE);

  for (i = 0; i < t->numel; i++) {
    guint32 bits = load_bits (t, i);

    if ((bits & 0x7f800000) == 0x7f800000) {
      /* Checked on the bits so that -ffast-math cannot hide it. */
      int64_t rem = i, coord[MO_ST_MAX_DIMS];
      char *where;

      for (d = t->ndim - 1; d >= 0; d--) {
        coord[d] = rem % t->shape[d];
        rem /= t->shape[d];
      }
      where = format_shape (t->ndim, coord);
      g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
          "%s: tensor '%s' has %s at element %" G_GINT64_FORMAT
          " (index %s)", st->path, name,
          (bits & 0x007fffff) ? "a NaN" : "an infinite value", (gint64) i,
          where);
      g_free (where);
      return FALSE;
    }
    memcpy (&dst[i], &bits, 4);
  }
  return TRUE;
}

/* Writer. */

typedef struct
{
  char *name;
  int ndim;
  int64_t shape[MO_ST_MAX_DIMS];
  int64_t numel;
  float *data;
} WriterEntry;

struct _MoStWriter
{
  GPtrArray *entries;           /* WriterEntry *, in insertion order */
};

static void
writer_entry_free (gpointer p)
{
  WriterEntry *e = p;

  g_free (e->name);
  g_free (e->data);
  g_free (e);
}

MoStWriter *
mo_st_writer_new (void)
{
  MoStWriter *w = g_new0 (MoStWriter, 1);

  w->entries = g_ptr_array_new_with_free_func (writer_entry_free);
  return w;
}

void
mo_st_writer_add_f32 (MoStWriter * w, const char *name, int ndim,
    const int64_t * shape, const float *data)
{
  WriterEntry *e;
  int64_t numel;
  int i;

  g_return_if_fail (w != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (ndim >= 0 && ndim <= MO_ST_MAX_DIMS);
  g_return_if_fail (ndim == 0 || shape != NULL);
  for (i = 0; i < ndim; i++)
    g_return_if_fail (shape[i] >= 0);
  g_return_if_fail (shape_numel (ndim, shape, &numel));
  g_return_if_fail ((guint64) numel <= G_MAXSIZE / sizeof (float));
  g_return_if_fail (numel == 0 || data != NULL);

  e = g_new0 (WriterEntry, 1);
  e->name = g_strdup (name);
  e->ndim = ndim;
  for (i = 0; i < ndim; i++)
    e->shape[i] = shape[i];
  e->numel = numel;
  e->data = g_malloc (MAX ((size_t) numel * sizeof (float), 1));
  if (numel > 0)
    memcpy (e->data, data, (size_t) numel * sizeof (float));
  g_ptr_array_add (w->entries, e);
}

void
mo_st_writer_free (MoStWriter * w)
{
  if (w == NULL)
    return;
  g_ptr_array_free (w->entries, TRUE);
  g_free (w);
}

static char *
build_header (MoStWriter * w, size_t * len_out)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  guint64 offset = 0;
  char *json, *padded;
  gsize json_len, padded_len;
  guint i;
  int d;

  json_builder_begin_object (b);
  for (i = 0; i < w->entries->len; i++) {
    const WriterEntry *e = g_ptr_array_index (w->entries, i);
    guint64 nbytes = (guint64) e->numel * sizeof (float);

    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, "F32");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (d = 0; d < e->ndim; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_add_int_value (b, (gint64) (offset + nbytes));
    json_builder_end_array (b);
    json_builder_end_object (b);
    offset += nbytes;
  }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, &json_len);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);

  /* Spaces up to a multiple of 8 keep the data area 8-byte aligned in the
   * file, which is what other safetensors writers do. */
  padded_len = (json_len + 7) & ~(gsize) 7;
  padded = g_malloc (padded_len);
  memcpy (padded, json, json_len);
  memset (padded + json_len, ' ', padded_len - json_len);
  g_free (json);
  *len_out = padded_len;
  return padded;
}

gboolean
mo_st_writer_write (MoStWriter * w, const char *path, GError ** error)
{
  GHashTable *seen;
  char *header = NULL;
  MoFileWriter fw;
  size_t header_len;
  guint64 len_le;
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Refuse names a reader would reject rather than write a broken file. */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < w->entries->len; i++) {
    const WriterEntry *e = g_ptr_array_index (w->entries, i);
    const char *problem = NULL;

    if (!g_utf8_validate (e->name, -1, NULL))
      problem = "is not valid UTF-8";
    else if (strcmp (e->name, "__metadata__") == 0)
      problem = "is reserved";
    else if (!g_hash_table_add (seen, e->name))
      problem = "was added more than once";
    if (problem != NULL) {
      g_set_error (error, MO_ERROR, MO_ERROR_FORMAT,
          "%s: tensor name '%s' %s", path, e->name, problem);
      g_hash_table_destroy (seen);
      return FALSE;
    }
  }
  g_hash_table_destroy (seen);

  header = build_header (w, &header_len);
  len_le = GUINT64_TO_LE ((guint64) header_len);

  if (!mo_file_writer_open (&fw, path, error))
    goto out;
  if (!mo_file_writer_write (&fw, &len_le, sizeof len_le, error)
      || !mo_file_writer_write (&fw, header, header_len, error))
    goto out;
  for (i = 0; i < w->entries->len; i++) {
    const WriterEntry *e = g_ptr_array_index (w->entries, i);
    int64_t k;

    if (G_BYTE_ORDER == G_LITTLE_ENDIAN) {
      if (!mo_file_writer_write (&fw, e->data, (size_t) e->numel *
              sizeof (float), error))
        goto out;
      continue;
    }
    for (k = 0; k < e->numel; k++) {
      guint32 bits;

      memcpy (&bits, &e->data[k], 4);
      bits = GUINT32_TO_LE (bits);
      if (!mo_file_writer_write (&fw, &bits, 4, error))
        goto out;
    }
  }
  ok = mo_file_writer_commit (&fw, error);

out:
  g_free (header);
  return ok;
}
