/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Which cached bundles jobs still use. A bundle whose last job expired is
 * deleted; while an import is in flight deletion waits, because the import
 * may be about to hand out that very file.
 */
typedef struct _DfuBundleRefs DfuBundleRefs;

DfuBundleRefs *dfu_bundle_refs_new(void);
void dfu_bundle_refs_free(DfuBundleRefs *refs);

void dfu_bundle_refs_add(DfuBundleRefs *refs, const char *path);
/* the file is deleted when this was the last reference */
void dfu_bundle_refs_drop(DfuBundleRefs *refs, const char *path);
guint dfu_bundle_refs_count(DfuBundleRefs *refs, const char *path);

void dfu_bundle_refs_import_begin(DfuBundleRefs *refs);
void dfu_bundle_refs_import_end(DfuBundleRefs *refs);

/* deletes bundles and leftover temporary files in dir that no job references */
void dfu_bundle_refs_prune(DfuBundleRefs *refs, const char *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuBundleRefs, dfu_bundle_refs_free)

G_END_DECLS
