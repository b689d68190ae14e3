/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One entry of a zip built in memory. */
typedef struct {
	const char *name;
	GBytes *data;
	gboolean symlink; /* mark the entry as a Unix symbolic link */
} BundleWriterEntry;

/* One image for manifest.json; version and load address come from its header. */
typedef struct {
	const char *file;
	GBytes *data;
	guint image_index;
	gboolean has_slot; /* a direct-XIP build: "slot" and "version_MCUBOOT+XIP" as NCS writes them */
	guint slot;
} BundleWriterImage;

typedef struct {
	const char *board;     /* NULL to leave out */
	const char *soc;       /* NULL to leave out */
	gboolean string_index; /* write indices as "0" like the NCS generator */
} BundleWriterManifestOptions;

GBytes *bundle_writer_zip(const BundleWriterEntry *entries, gsize n_entries, GError **error);
char *bundle_writer_manifest(const BundleWriterImage *images, gsize n_images,
                             const BundleWriterManifestOptions *opts);
/* the pretty-printed JSON of what builder built */
char *bundle_writer_json_text(JsonBuilder *builder);

/* a whole dfu_application.zip: the images plus their manifest.json */
GBytes *bundle_writer_dfu_zip(const BundleWriterImage *images, gsize n_images,
                              const BundleWriterManifestOptions *opts, GError **error);

/* a zip holding only manifest.json with these bytes, as a hostile bundle might */
GBytes *bundle_writer_manifest_zip(GBytes *manifest, GError **error);

G_END_DECLS
