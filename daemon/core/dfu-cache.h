/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The bundle cache, <cache_dir>/bundles/<sha256>.bundle. Bundles outlive the
 * jobs that used them so that later jobs reuse them. A bundle's last use is
 * its mtime, so that recency survives a restart; which URL gave which bundle
 * is kept in <cache_dir>/urls. A published URL is taken to be immutable: a
 * job that must have other bytes pins them with expected-sha256.
 */
typedef struct _DfuCache DfuCache;

DfuCache *dfu_cache_new(const char *cache_dir, guint64 max_bytes);
/* a new bound, kept from the next trim on */
void dfu_cache_set_max_bytes(DfuCache *cache, guint64 max_bytes);
void dfu_cache_free(DfuCache *cache);

/* the cached bundle with this SHA-256 (hex), or NULL */
char *dfu_cache_lookup_sha256(DfuCache *cache, const char *sha256);
/* the cached bundle last fetched from url, or NULL; sha256 (optional) gets its digest */
char *dfu_cache_lookup_url(DfuCache *cache, const char *url, char **sha256);
void dfu_cache_remember_url(DfuCache *cache, const char *url, const char *sha256);
/* the lowercase hex digest in a cached bundle's name, or NULL for another path */
char *dfu_cache_path_digest(const char *path);
/* records that a job just took the bundle, for the least-recently-used order */
void dfu_cache_touch(DfuCache *cache, const char *path);

/* detached signatures larger than this are refused */
#define DFU_CACHE_SIGNATURE_MAX_SIZE (64u * 1024)

/* stores a job's detached signature as <cache_dir>/signatures/<job_id>.sig; returns its path */
char *dfu_cache_store_signature(DfuCache *cache, guint64 job_id, GBytes *signature, GError **error);
/* the folder where signatures are downloaded before they become a job's */
char *dfu_cache_signature_fetch_dir(DfuCache *cache);

/*
 * While the bundles take more than max_bytes, deletes the least recently
 * used one whose path is not in keep (a set of paths that live jobs hold).
 * Imports in progress are left alone and never delay it. Leftover copies of
 * imports that a stop interrupted are deleted by dfu_cache_new().
 */
void dfu_cache_trim(DfuCache *cache, GHashTable *keep);

/*
 * Moves a cached bundle to <cache_dir>/quarantine, where it is kept for a
 * report and never handed to a job again: a later import of the same bytes
 * is refused.
 */
gboolean dfu_cache_quarantine(DfuCache *cache, const char *path, GError **error);
/* TRUE when the bundle with the digest in path's name is quarantined */
gboolean dfu_cache_is_quarantined(DfuCache *cache, const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuCache, dfu_cache_free)

G_END_DECLS
