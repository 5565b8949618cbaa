/* mobileone-gst: the model cache.
 *
 * A MoModel is immutable once loaded, so every element that names the same
 * file can run it; each element only keeps its own MoSession (arena and
 * threads). Loads happen under the cache lock: a second element starting at
 * the same time waits for the first load instead of reading the file twice.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonemodelcache.h"
#include "mo-heads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_model_cache_debug);
#define GST_CAT_DEFAULT gst_mobile_one_model_cache_debug

typedef struct
{
  gchar *key;
  MoModel *model;
  guint users;
} CacheEntry;

static GMutex cache_lock;
static GHashTable *cache;       /* canonical path -> CacheEntry */

static void
cache_entry_free (gpointer data)
{
  CacheEntry *e = data;

  mo_model_unref (e->model);
  g_free (e->key);
  g_free (e);
}

static void
cache_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_mobile_one_model_cache_debug,
        "mobileonemodelcache", 0, "MobileOne shared models");
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        cache_entry_free);
    g_once_init_leave (&done, 1);
  }
}

MoModel *
gst_mobile_one_model_cache_acquire (const gchar * path, MoLoadFlags flags,
    GError ** error)
{
  CacheEntry *e;
  MoModel *model;
  gchar *key, *real;

  g_return_val_if_fail (path != NULL, NULL);
  cache_init ();

  real = realpath (path, NULL);
  if (real == NULL) {
    int saved = errno;

    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s: %s", path,
        g_strerror (saved));
    return NULL;
  }
  /* A model loaded with external paths allowed is another model: an
   * element that does not allow them must not get it from the cache. */
  key = g_strdup_printf ("%s%s", real, flags ? "\n(external paths)" : "");

  g_mutex_lock (&cache_lock);
  e = g_hash_table_lookup (cache, key);
  if (e != NULL) {
    e->users++;
    GST_INFO ("sharing model '%s' (%u users)", key, e->users);
    model = e->model;
    g_mutex_unlock (&cache_lock);
    g_free (key);
    free (real);
    return model;
  }

  GST_INFO ("loading model '%s'", key);
  model = mo_model_load_full (real, flags, error);
  free (real);
  if (model == NULL) {
    g_mutex_unlock (&cache_lock);
    g_free (key);
    return NULL;
  }
  e = g_new0 (CacheEntry, 1);
  e->key = key;
  e->model = model;
  e->users = 1;
  g_hash_table_insert (cache, e->key, e);
  g_mutex_unlock (&cache_lock);
  return model;
}

void
gst_mobile_one_model_cache_release (MoModel * model)
{
  GHashTableIter iter;
  CacheEntry *e;

  if (model == NULL)
    return;
  cache_init ();

  g_mutex_lock (&cache_lock);
  g_hash_table_iter_init (&iter, cache);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & e)) {
    if (e->model != model)
      continue;
    if (--e->users == 0) {
      GST_INFO ("freeing model '%s'", e->key);
      g_hash_table_iter_remove (&iter);
    }
    break;
  }
  g_mutex_unlock (&cache_lock);
}
