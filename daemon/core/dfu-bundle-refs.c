/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>

#include "dfu-bundle-refs.h"

struct _DfuBundleRefs {
	GHashTable *counts; /* path -> GUINT_TO_POINTER(count) */
	GHashTable *doomed; /* paths whose deletion waits for imports to end */
	guint imports;
};

DfuBundleRefs *
dfu_bundle_refs_new(void)
{
	DfuBundleRefs *refs = g_new0(DfuBundleRefs, 1);

	refs->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	refs->doomed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return refs;
}

void
dfu_bundle_refs_free(DfuBundleRefs *refs)
{
	if (refs == NULL)
		return;
	g_hash_table_unref(refs->counts);
	g_hash_table_unref(refs->doomed);
	g_free(refs);
}

guint
dfu_bundle_refs_count(DfuBundleRefs *refs, const char *path)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(refs->counts, path));
}

void
dfu_bundle_refs_add(DfuBundleRefs *refs, const char *path)
{
	guint count = dfu_bundle_refs_count(refs, path);

	g_hash_table_insert(refs->counts, g_strdup(path), GUINT_TO_POINTER(count + 1));
	g_hash_table_remove(refs->doomed, path);
}

static void
bundle_delete(const char *path)
{
	if (g_unlink(path) != 0 && errno != ENOENT)
		g_warning("cannot delete cached bundle %s: %s", path, g_strerror(errno));
}

void
dfu_bundle_refs_drop(DfuBundleRefs *refs, const char *path)
{
	guint count = dfu_bundle_refs_count(refs, path);

	g_return_if_fail(count > 0);
	if (count > 1) {
		g_hash_table_insert(refs->counts, g_strdup(path), GUINT_TO_POINTER(count - 1));
		return;
	}
	g_hash_table_remove(refs->counts, path);
	if (refs->imports > 0)
		g_hash_table_add(refs->doomed, g_strdup(path));
	else
		bundle_delete(path);
}

void
dfu_bundle_refs_import_begin(DfuBundleRefs *refs)
{
	refs->imports++;
}

void
dfu_bundle_refs_import_end(DfuBundleRefs *refs)
{
	GHashTableIter iter;
	gpointer path;

	g_return_if_fail(refs->imports > 0);
	if (--refs->imports > 0)
		return;
	g_hash_table_iter_init(&iter, refs->doomed);
	while (g_hash_table_iter_next(&iter, &path, NULL))
		bundle_delete(path);
	g_hash_table_remove_all(refs->doomed);
}

void
dfu_bundle_refs_prune(DfuBundleRefs *refs, const char *dir)
{
	g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
	const char *name;

	/* a running import owns its temporary file */
	if (gdir == NULL || refs->imports > 0)
		return;
	while ((name = g_dir_read_name(gdir)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		if (!g_str_has_suffix(name, ".bundle") && !g_str_has_prefix(name, ".import-"))
			continue;
		if (dfu_bundle_refs_count(refs, path) == 0) {
			g_info("deleting unused cache file %s", path);
			bundle_delete(path);
		}
	}
}
