/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* bundles larger than this are refused before they can fill the cache */
#define DFU_BUNDLE_IMPORT_MAX_SIZE (256u * 1024 * 1024)

/*
 * Copies the file behind fd (borrowed: it is duplicated) into
 * <cache_dir>/bundles/<sha256>.bundle in a worker thread. Reading starts at
 * offset 0 when fd is seekable. An identical bundle already in the cache is
 * reused. Errors: BUNDLE_UNREADABLE for the source, STORAGE_ERROR for the
 * cache (the temporary file is removed), CANCELLED.
 */
void dfu_bundle_import_async(const char *cache_dir, int fd, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
/* the path of the cached bundle */
char *dfu_bundle_import_finish(GAsyncResult *result, GError **error);

/* the folder that holds the cached bundles */
char *dfu_bundle_import_dir(const char *cache_dir);
/* where the bundle with this SHA-256 (lowercase hex) lives in the cache */
char *dfu_bundle_import_path(const char *cache_dir, const char *sha256);

G_END_DECLS
