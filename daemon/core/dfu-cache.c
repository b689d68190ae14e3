/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-cache.h"
#include "dfu-error.h"
#include "dfu-file.h"
#include "dfu-sha256.h"

#define BUNDLE_SUFFIX ".bundle"
#define INDEX_URL_KEY "Url"
#define INDEX_SHA256_KEY "Sha256"

struct _DfuCache {
	char *cache_dir;
	char *bundle_dir;
	char *index_path;
	GKeyFile *index; /* one group per URL, named by the URL's SHA-256 */
	guint64 max_bytes;
};

typedef struct {
	char *path;
	guint64 size;
	gint64 used; /* mtime, nanoseconds */
} CachedBundle;

static void
cache_delete(const char *path)
{
	if (g_unlink(path) != 0 && errno != ENOENT)
		g_warning("cannot delete cache file %s: %s", path, g_strerror(errno));
}

/* copies that an import left when the daemon stopped under it; none can be running yet */
static void
cache_delete_leftovers(DfuCache *cache)
{
	g_autoptr(GDir) dir = g_dir_open(cache->bundle_dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(cache->bundle_dir, name, NULL);

		if (!g_str_has_prefix(name, ".import-"))
			continue;
		g_info("deleting leftover cache file %s", path);
		cache_delete(path);
	}
}

DfuCache *
dfu_cache_new(const char *cache_dir, guint64 max_bytes)
{
	DfuCache *cache = g_new0(DfuCache, 1);
	g_autoptr(GError) error = NULL;

	cache->cache_dir = g_strdup(cache_dir);
	cache->bundle_dir = dfu_bundle_import_dir(cache_dir);
	cache->index_path = g_build_filename(cache_dir, "urls", NULL);
	cache->index = g_key_file_new();
	cache->max_bytes = max_bytes;
	if (!g_key_file_load_from_file(cache->index, cache->index_path, G_KEY_FILE_NONE, &error) &&
	    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		g_info("ignoring the URL index %s: %s", cache->index_path, error->message);
	cache_delete_leftovers(cache);
	return cache;
}

void
dfu_cache_set_max_bytes(DfuCache *cache, guint64 max_bytes)
{
	cache->max_bytes = max_bytes;
}

void
dfu_cache_free(DfuCache *cache)
{
	if (cache == NULL)
		return;
	g_free(cache->cache_dir);
	g_free(cache->bundle_dir);
	g_free(cache->index_path);
	g_key_file_unref(cache->index);
	g_free(cache);
}

char *
dfu_cache_path_digest(const char *path)
{
	g_autofree char *name = g_path_get_basename(path);

	if (!g_str_has_suffix(name, BUNDLE_SUFFIX))
		return NULL;
	name[strlen(name) - strlen(BUNDLE_SUFFIX)] = '\0';
	if (!dfu_sha256_is_hex(name))
		return NULL;
	return g_ascii_strdown(name, -1);
}

char *
dfu_cache_lookup_sha256(DfuCache *cache, const char *sha256)
{
	g_autofree char *lower = NULL;
	g_autofree char *path = NULL;

	if (sha256 == NULL || !dfu_sha256_is_hex(sha256))
		return NULL;
	lower = g_ascii_strdown(sha256, -1);
	path = dfu_bundle_import_path(cache->cache_dir, lower);
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return NULL;
	return g_steal_pointer(&path);
}

static char *
url_group(const char *url)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, url, -1);
}

char *
dfu_cache_lookup_url(DfuCache *cache, const char *url, char **sha256)
{
	g_autofree char *group = url_group(url);
	g_autofree char *known_url = g_key_file_get_string(cache->index, group, INDEX_URL_KEY, NULL);
	g_autofree char *digest = g_key_file_get_string(cache->index, group, INDEX_SHA256_KEY, NULL);
	char *path;

	if (g_strcmp0(known_url, url) != 0 || digest == NULL)
		return NULL;
	path = dfu_cache_lookup_sha256(cache, digest);
	if (path != NULL && sha256 != NULL)
		*sha256 = g_ascii_strdown(digest, -1);
	return path;
}

static void
cache_save_index(DfuCache *cache)
{
	g_autoptr(GError) error = NULL;

	if (g_mkdir_with_parents(cache->cache_dir, 0750) != 0 ||
	    !g_key_file_save_to_file(cache->index, cache->index_path, &error))
		g_warning("cannot save the URL index %s: %s", cache->index_path,
		          error != NULL ? error->message : g_strerror(errno));
}

void
dfu_cache_remember_url(DfuCache *cache, const char *url, const char *sha256)
{
	g_autofree char *group = url_group(url);
	g_autofree char *known = g_key_file_get_string(cache->index, group, INDEX_SHA256_KEY, NULL);

	if (g_strcmp0(known, sha256) == 0)
		return;
	g_key_file_set_string(cache->index, group, INDEX_URL_KEY, url);
	g_key_file_set_string(cache->index, group, INDEX_SHA256_KEY, sha256);
	cache_save_index(cache);
}

void
dfu_cache_touch(DfuCache *cache, const char *path)
{
	if (utimensat(AT_FDCWD, path, NULL, 0) != 0)
		g_warning("cannot mark %s as used: %s", path, g_strerror(errno));
}

char *
dfu_cache_signature_fetch_dir(DfuCache *cache)
{
	return g_build_filename(cache->cache_dir, "signatures", "fetch", NULL);
}

char *
dfu_cache_store_signature(DfuCache *cache, guint64 job_id, GBytes *signature, GError **error)
{
	g_autofree char *dir = g_build_filename(cache->cache_dir, "signatures", NULL);
	g_autofree char *name = g_strdup_printf("%" G_GUINT64_FORMAT ".sig", job_id);
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *tmp = g_build_filename(dir, ".sig-XXXXXX", NULL);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(signature, &len);
	int fd;
	gboolean ok;

	if (g_mkdir_with_parents(dir, 0750) != 0) {
		dfu_file_error(error, "create", dir, errno);
		return NULL;
	}
	fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0640);
	if (fd < 0) {
		dfu_file_error(error, "create a file in", dir, errno);
		return NULL;
	}
	ok = dfu_file_pwrite_all(fd, data, len, 0, tmp, error) && dfu_file_commit(fd, tmp, path, error);
	close(fd);
	if (!ok) {
		g_unlink(tmp);
		return NULL;
	}
	return g_steal_pointer(&path);
}

static void
cached_bundle_clear(CachedBundle *b)
{
	g_free(b->path);
}

static gint
cached_bundle_compare(gconstpointer a, gconstpointer b)
{
	const CachedBundle *ba = a;
	const CachedBundle *bb = b;

	if (ba->used != bb->used)
		return ba->used < bb->used ? -1 : 1;
	return strcmp(ba->path, bb->path);
}

/* the bundles in the cache; imports in progress are not among them */
static GArray *
cache_scan(DfuCache *cache)
{
	g_autoptr(GDir) dir = g_dir_open(cache->bundle_dir, 0, NULL);
	GArray *bundles = g_array_new(FALSE, FALSE, sizeof(CachedBundle));
	const char *name;

	g_array_set_clear_func(bundles, (GDestroyNotify)cached_bundle_clear);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(cache->bundle_dir, name, NULL);
		struct stat st;
		CachedBundle b;

		if (!g_str_has_suffix(name, BUNDLE_SUFFIX) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		b.path = g_steal_pointer(&path);
		b.size = (guint64)st.st_size;
		b.used = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st.st_mtim.tv_nsec;
		g_array_append_val(bundles, b);
	}
	return bundles;
}

/* forgets URLs whose bundle is no longer cached */
static void
cache_prune_index(DfuCache *cache)
{
	g_auto(GStrv) groups = g_key_file_get_groups(cache->index, NULL);
	gboolean changed = FALSE;

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree char *digest =
		        g_key_file_get_string(cache->index, groups[i], INDEX_SHA256_KEY, NULL);
		g_autofree char *path = dfu_cache_lookup_sha256(cache, digest);

		if (path == NULL) {
			g_key_file_remove_group(cache->index, groups[i], NULL);
			changed = TRUE;
		}
	}
	if (changed)
		cache_save_index(cache);
}

void
dfu_cache_trim(DfuCache *cache, GHashTable *keep)
{
	g_autoptr(GArray) bundles = cache_scan(cache);
	guint64 total = 0;

	for (guint i = 0; i < bundles->len; i++)
		total += g_array_index(bundles, CachedBundle, i).size;
	g_array_sort(bundles, cached_bundle_compare);
	for (guint i = 0; i < bundles->len && total > cache->max_bytes; i++) {
		CachedBundle *b = &g_array_index(bundles, CachedBundle, i);

		if (keep != NULL && g_hash_table_contains(keep, b->path))
			continue;
		g_info("cache over %" G_GUINT64_FORMAT " bytes: deleting %s", cache->max_bytes, b->path);
		cache_delete(b->path);
		total -= b->size;
	}
	cache_prune_index(cache);
}

static char *
quarantine_path(DfuCache *cache, const char *digest)
{
	g_autofree char *name = g_strconcat(digest, BUNDLE_SUFFIX, NULL);

	return g_build_filename(cache->cache_dir, "quarantine", name, NULL);
}

gboolean
dfu_cache_quarantine(DfuCache *cache, const char *path, GError **error)
{
	g_autofree char *digest = path != NULL ? dfu_cache_path_digest(path) : NULL;
	g_autofree char *aside = NULL;
	g_autofree char *dir = NULL;
	int fd;

	if (digest == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s is not a cached bundle",
		            path != NULL ? path : "(none)");
		return FALSE;
	}
	aside = quarantine_path(cache, digest);
	dir = g_path_get_dirname(aside);
	if (g_mkdir_with_parents(dir, 0750) != 0) {
		dfu_file_error(error, "create", dir, errno);
		return FALSE;
	}
	if (g_rename(path, aside) == 0)
		return TRUE;
	if (errno != ENOENT) {
		dfu_file_error(error, "move aside", path, errno);
		return FALSE;
	}
	/* the bundle is gone already: an empty file still keeps its digest out */
	fd = g_open(aside, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return dfu_file_error(error, "create", aside, errno);
	close(fd);
	return TRUE;
}

gboolean
dfu_cache_is_quarantined(DfuCache *cache, const char *path)
{
	g_autofree char *digest = dfu_cache_path_digest(path);
	g_autofree char *aside = NULL;

	if (digest == NULL)
		return FALSE;
	aside = quarantine_path(cache, digest);
	return g_file_test(aside, G_FILE_TEST_EXISTS);
}
