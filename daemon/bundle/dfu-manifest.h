/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define DFU_MANIFEST_NAME "manifest.json"
#define DFU_MANIFEST_MAX_SIZE (1024 * 1024)
/* real manifests nest three or four levels */
#define DFU_MANIFEST_MAX_DEPTH 32

/* One image that manifest.json asks to install. */
typedef struct {
	char *file;
	guint image_index;
	char *board;   /* NULL if not given */
	char *soc;     /* NULL if not given */
	char *version; /* version_MCUBOOT (or version_MCUBOOT+XIP) as written, NULL if not given */
	int slot;      /* direct-XIP builds: the slot (0, 1) the file is linked for; -1 for any */
} DfuManifestEntry;

void dfu_manifest_entry_free(DfuManifestEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuManifestEntry, dfu_manifest_entry_free)

/*
 * Parses a Zephyr/NCS manifest.json leniently (image_index as int or decimal
 * string, 0 when absent). Returns the application images only, in file order;
 * entries of other types are skipped. An image may be listed twice when each
 * names another slot (NCS direct-XIP bundles: one build per slot, `slot` as
 * the slot of the image or image × 2 + slot). Errors are DFU_ERROR
 * MALFORMED_MANIFEST.
 */
GPtrArray *dfu_manifest_parse(GBytes *json, GError **error);

/*
 * Parses the JSON of any manifest.json (Zephyr or nRF5) after checking its
 * size and nesting depth. Errors are DFU_ERROR MALFORMED_MANIFEST.
 */
JsonParser *dfu_manifest_load_json(GBytes *json, GError **error);

G_END_DECLS
