/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* bundles larger than this are refused before they can fill the cache */
#define DFU_BUNDLE_IMPORT_MAX_SIZE (256u * 1024 * 1024)

/*
 * Whether fd may be imported: a regular file open for reading, or a memfd
 * sealed against writing, shrinking and growing, neither empty nor over
 * DFU_BUNDLE_IMPORT_MAX_SIZE. Pipes, sockets, devices and the like are
 * refused because a read from them may never end. size (optional) gets the
 * size. Error: BUNDLE_UNREADABLE, saying what the descriptor is.
 */
gboolean dfu_bundle_import_check_fd(int fd, guint64 *size, GError **error);

/*
 * Copies the file behind fd (borrowed: it is duplicated) into
 * <cache_dir>/bundles/<sha256>.bundle in a worker thread, reading from
 * offset 0 no more than the size fd had when this was called. An identical
 * bundle already in the cache is reused. Errors: BUNDLE_UNREADABLE for the
 * source (dfu_bundle_import_check_fd), STORAGE_ERROR for the cache,
 * CANCELLED; the temporary copy is removed on every error.
 */
void dfu_bundle_import_async(const char *cache_dir, int fd, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
/* the path of the cached bundle; must be called in the thread that trims the cache */
char *dfu_bundle_import_finish(GAsyncResult *result, GError **error);

/* the folder that holds the cached bundles */
char *dfu_bundle_import_dir(const char *cache_dir);
/* where the bundle with this SHA-256 (lowercase hex) lives in the cache */
char *dfu_bundle_import_path(const char *cache_dir, const char *sha256);

G_END_DECLS
