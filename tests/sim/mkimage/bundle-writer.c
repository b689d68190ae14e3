/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>
#include <zip.h>

#include "bundle-writer.h"
#include "dfu-error.h"
#include "mcuboot-image.h"

/* a fixed time keeps the zips reproducible */
#define BUNDLE_WRITER_TIME 1700000000

static GBytes *
zip_error_out(zip_error_t *zerr, const char *what, GError **error)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: %s", what, zip_error_strerror(zerr));
	return NULL;
}

static GBytes *
read_source(zip_source_t *source, GError **error)
{
	g_autofree guint8 *buf = NULL;
	zip_int64_t size;

	if (zip_source_open(source) < 0)
		return zip_error_out(zip_source_error(source), "cannot reopen zip", error);
	zip_source_seek(source, 0, SEEK_END);
	size = zip_source_tell(source);
	zip_source_seek(source, 0, SEEK_SET);
	buf = g_malloc(size > 0 ? size : 1);
	if (size < 0 || zip_source_read(source, buf, size) != size) {
		zip_source_close(source);
		return zip_error_out(zip_source_error(source), "cannot read zip", error);
	}
	zip_source_close(source);
	return g_bytes_new_take(g_steal_pointer(&buf), size);
}

static gboolean
add_entry(zip_t *archive, const BundleWriterEntry *entry, GError **error)
{
	gsize len = 0;
	const void *data = g_bytes_get_data(entry->data, &len);
	zip_source_t *source = zip_source_buffer(archive, data, len, 0);
	zip_int64_t index;

	index = source != NULL ? zip_file_add(archive, entry->name, source, ZIP_FL_ENC_UTF_8) : -1;
	if (index < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: %s", entry->name,
		            zip_strerror(archive));
		zip_source_free(source);
		return FALSE;
	}
	zip_file_set_mtime(archive, index, BUNDLE_WRITER_TIME, 0);
	if (entry->symlink)
		zip_file_set_external_attributes(archive, index, 0, ZIP_OPSYS_UNIX,
		                                 (zip_uint32_t)(S_IFLNK | 0777) << 16);
	return TRUE;
}

GBytes *
bundle_writer_zip(const BundleWriterEntry *entries, gsize n_entries, GError **error)
{
	zip_error_t zerr;
	zip_source_t *source;
	zip_t *archive;
	GBytes *result;

	zip_error_init(&zerr);
	source = zip_source_buffer_create(NULL, 0, 0, &zerr);
	if (source == NULL)
		return zip_error_out(&zerr, "cannot create zip", error);
	/* keep the source alive after zip_close() to read the result back */
	zip_source_keep(source);
	archive = zip_open_from_source(source, ZIP_TRUNCATE, &zerr);
	if (archive == NULL) {
		/* drop both the kept reference and the original one */
		zip_source_free(source);
		zip_source_free(source);
		return zip_error_out(&zerr, "cannot create zip", error);
	}
	for (gsize i = 0; i < n_entries; i++) {
		if (!add_entry(archive, &entries[i], error)) {
			zip_discard(archive);
			zip_source_free(source);
			return NULL;
		}
	}
	if (zip_close(archive) < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot write zip: %s",
		            zip_strerror(archive));
		zip_discard(archive);
		zip_source_free(source);
		return NULL;
	}
	result = read_source(source, error);
	zip_source_free(source);
	return result;
}

char *
bundle_writer_json_text(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);

	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	return json_generator_to_data(generator, NULL);
}

/* Adds an index-like member as an integer or, like the NCS generator, as a string. */
static void
add_index(JsonBuilder *builder, const char *key, guint value, gboolean as_string)
{
	json_builder_set_member_name(builder, key);
	if (as_string) {
		g_autofree char *str = g_strdup_printf("%u", value);
		json_builder_add_string_value(builder, str);
	} else {
		json_builder_add_int_value(builder, value);
	}
}

static void
add_image(JsonBuilder *builder, const BundleWriterImage *image, const BundleWriterManifestOptions *opts)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(image->data, &len);
	guint32 load_addr = 0;
	g_autofree char *version = g_strdup("0.0.0+0");

	/* images may be broken on purpose: read the header fields without parsing */
	if (len >= MCUBOOT_HEADER_SIZE) {
		load_addr = data[4] | data[5] << 8 | data[6] << 16 | (guint32)data[7] << 24;
		g_free(version);
		version =
		        g_strdup_printf("%u.%u.%u+%u", data[20], data[21], data[22] | data[23] << 8,
		                        data[24] | data[25] << 8 | data[26] << 16 | (guint32)data[27] << 24);
	}

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "application");
	if (opts->board != NULL) {
		json_builder_set_member_name(builder, "board");
		json_builder_add_string_value(builder, opts->board);
	}
	if (opts->soc != NULL) {
		json_builder_set_member_name(builder, "soc");
		json_builder_add_string_value(builder, opts->soc);
	}
	json_builder_set_member_name(builder, "load_address");
	json_builder_add_int_value(builder, load_addr);
	add_index(builder, "image_index", image->image_index, opts->string_index);
	add_index(builder, "slot_index_primary", 2 * image->image_index + 1, opts->string_index);
	add_index(builder, "slot_index_secondary", 2 * image->image_index + 2, opts->string_index);
	if (image->has_slot) {
		add_index(builder, "slot", image->slot, TRUE);
		json_builder_set_member_name(builder, "version_MCUBOOT+XIP");
	} else {
		json_builder_set_member_name(builder, "version_MCUBOOT");
	}
	json_builder_add_string_value(builder, version);
	json_builder_set_member_name(builder, "size");
	json_builder_add_int_value(builder, len);
	json_builder_set_member_name(builder, "file");
	json_builder_add_string_value(builder, image->file);
	json_builder_set_member_name(builder, "modtime");
	json_builder_add_int_value(builder, BUNDLE_WRITER_TIME);
	json_builder_end_object(builder);
}

char *
bundle_writer_manifest(const BundleWriterImage *images, gsize n_images,
                       const BundleWriterManifestOptions *opts)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "format-version");
	json_builder_add_int_value(builder, 1);
	json_builder_set_member_name(builder, "time");
	json_builder_add_int_value(builder, BUNDLE_WRITER_TIME);
	json_builder_set_member_name(builder, "files");
	json_builder_begin_array(builder);
	for (gsize i = 0; i < n_images; i++)
		add_image(builder, &images[i], opts);
	json_builder_end_array(builder);
	json_builder_set_member_name(builder, "name");
	json_builder_add_string_value(builder, "dfu_application");
	json_builder_end_object(builder);

	return bundle_writer_json_text(builder);
}

GBytes *
bundle_writer_dfu_zip(const BundleWriterImage *images, gsize n_images,
                      const BundleWriterManifestOptions *opts, GError **error)
{
	g_autofree char *manifest = bundle_writer_manifest(images, n_images, opts);
	g_autoptr(GBytes) manifest_bytes = g_bytes_new_static(manifest, strlen(manifest));
	g_autofree BundleWriterEntry *entries = g_new0(BundleWriterEntry, n_images + 1);

	for (gsize i = 0; i < n_images; i++) {
		entries[i].name = images[i].file;
		entries[i].data = images[i].data;
	}
	entries[n_images].name = "manifest.json";
	entries[n_images].data = manifest_bytes;
	return bundle_writer_zip(entries, n_images + 1, error);
}

GBytes *
bundle_writer_manifest_zip(GBytes *manifest, GError **error)
{
	const BundleWriterEntry entry = {.name = "manifest.json", .data = manifest};

	return bundle_writer_zip(&entry, 1, error);
}
