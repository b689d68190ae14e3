/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "dfu-manifest.h"
#include "dfu-sha256.h"
#include "nrf5-package.h"

/* Manifest keys, in send order (never the JSON order). */
static const char *const type_keys[] = {
        [NRF5_IMAGE_SOFTDEVICE_BOOTLOADER] = "softdevice_bootloader",
        [NRF5_IMAGE_SOFTDEVICE] = "softdevice",
        [NRF5_IMAGE_BOOTLOADER] = "bootloader",
        [NRF5_IMAGE_APPLICATION] = "application",
};

const char *
nrf5_image_type_to_string(Nrf5ImageType type)
{
	if ((guint)type >= G_N_ELEMENTS(type_keys))
		return "unknown";
	return type_keys[type];
}

void
nrf5_image_free(Nrf5Image *image)
{
	if (image == NULL)
		return;
	g_free(image->bin_file);
	g_free(image->dat_file);
	g_clear_pointer(&image->firmware, g_bytes_unref);
	g_clear_pointer(&image->stream, dfu_image_data_unref);
	g_clear_pointer(&image->init_packet, g_bytes_unref);
	nrf5_init_packet_free(image->init);
	g_free(image);
}

void
nrf5_package_free(Nrf5Package *package)
{
	if (package == NULL)
		return;
	g_clear_pointer(&package->images, g_ptr_array_unref);
	g_free(package);
}

JsonObject *
nrf5_json_member_object(JsonObject *object, const char *key)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, key) : NULL;

	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

JsonObject *
nrf5_manifest_object(JsonParser *parser)
{
	JsonNode *root = json_parser_get_root(parser);

	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	return nrf5_json_member_object(json_node_get_object(root), "manifest");
}

gboolean
nrf5_manifest_detect(GBytes *manifest)
{
	g_autoptr(JsonParser) parser = dfu_manifest_load_json(manifest, NULL);

	return parser != NULL && nrf5_manifest_object(parser) != NULL;
}

static char *
member_file(JsonObject *entry, const char *type, const char *key, GError **error)
{
	JsonNode *node = json_object_get_member(entry, key);

	if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING ||
	    *json_node_get_string(node) == '\0') {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: %s missing or not a file name", type, key);
		return NULL;
	}
	return g_strdup(json_node_get_string(node));
}

static GBytes *
read_member(DfuZipReader *reader, const char *type, const char *file, GError **error)
{
	GBytes *bytes;

	if (!dfu_zip_reader_has_entry(reader, file)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            "%s: %s is listed in " DFU_MANIFEST_NAME " but not in the archive", type, file);
		return NULL;
	}
	bytes = dfu_zip_reader_read(reader, file, error);
	if (bytes != NULL && g_bytes_get_size(bytes) == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE, "%s: %s is empty", type, file);
		g_bytes_unref(bytes);
		return NULL;
	}
	return bytes;
}

/* sd_size/bl_size from info_read_only_metadata; only SoftDevice+bootloader needs them. */
static gboolean
read_split(JsonObject *entry, Nrf5Image *image, GError **error)
{
	JsonObject *meta = nrf5_json_member_object(entry, "info_read_only_metadata");
	const char *type = nrf5_image_type_to_string(image->type);
	JsonNode *sd, *bl;
	gint64 sd_size, bl_size;

	if (meta == NULL)
		return TRUE;
	sd = json_object_get_member(meta, "sd_size");
	bl = json_object_get_member(meta, "bl_size");
	if (sd == NULL && bl == NULL)
		return TRUE;
	if (sd == NULL || bl == NULL || json_node_get_value_type(sd) != G_TYPE_INT64 ||
	    json_node_get_value_type(bl) != G_TYPE_INT64) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: sd_size and bl_size must both be numbers", type);
		return FALSE;
	}
	sd_size = json_node_get_int(sd);
	bl_size = json_node_get_int(bl);
	if (sd_size < 0 || bl_size < 0 || sd_size > G_MAXUINT32 || bl_size > G_MAXUINT32 ||
	    (guint64)sd_size + (guint64)bl_size != g_bytes_get_size(image->firmware)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: sd_size %" G_GINT64_FORMAT " + bl_size %" G_GINT64_FORMAT
		            " does not add up to the %zu bytes of %s",
		            type, sd_size, bl_size, g_bytes_get_size(image->firmware), image->bin_file);
		return FALSE;
	}
	image->sd_size = (guint32)sd_size;
	image->bl_size = (guint32)bl_size;
	return TRUE;
}

/* the init packet's type for each manifest entry */
static const guint32 init_types[] = {
        [NRF5_IMAGE_SOFTDEVICE_BOOTLOADER] = NRF5_INIT_SOFTDEVICE_BOOTLOADER,
        [NRF5_IMAGE_SOFTDEVICE] = NRF5_INIT_SOFTDEVICE,
        [NRF5_IMAGE_BOOTLOADER] = NRF5_INIT_BOOTLOADER,
        [NRF5_IMAGE_APPLICATION] = NRF5_INIT_APPLICATION,
};

/*
 * What the bootloader would refuse only after the firmware went over: an
 * init packet for another kind of image, or for another size. One that
 * cannot be read is left to the bootloader.
 */
static gboolean
check_init_packet(Nrf5Image *image, const char *key, GError **error)
{
	const guint8 *data = g_bytes_get_data(image->init_packet, NULL);
	gsize len = g_bytes_get_size(image->init_packet);
	guint32 expected = init_types[image->type];
	guint64 size;

	image->init = nrf5_init_packet_parse(data, len, NULL);
	if (image->init == NULL)
		return TRUE;
	if (image->init->type != expected &&
	    !(expected == NRF5_INIT_APPLICATION && image->init->type == NRF5_INIT_EXTERNAL_APPLICATION)) {
		const char *named = nrf5_init_type_to_string(image->init->type);
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: init packet %s is for a %s image", key, image->dat_file,
		            named != NULL ? named : "unknown");
		return FALSE;
	}
	size = nrf5_init_packet_image_size(image->init);
	if (size != g_bytes_get_size(image->firmware)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: init packet %s is for %" G_GUINT64_FORMAT " bytes, %s has %zu", key,
		            image->dat_file, size, image->bin_file, g_bytes_get_size(image->firmware));
		return FALSE;
	}
	return TRUE;
}

static Nrf5Image *
load_image(DfuZipReader *reader, JsonObject *entry, Nrf5ImageType type, GError **error)
{
	g_autoptr(Nrf5Image) image = g_new0(Nrf5Image, 1);
	const char *key = nrf5_image_type_to_string(type);
	gsize len = 0;
	const guint8 *data;

	image->type = type;
	image->bin_file = member_file(entry, key, "bin_file", error);
	if (image->bin_file == NULL)
		return NULL;
	image->dat_file = member_file(entry, key, "dat_file", error);
	if (image->dat_file == NULL)
		return NULL;
	image->firmware = read_member(reader, key, image->bin_file, error);
	if (image->firmware == NULL)
		return NULL;
	image->stream = dfu_image_data_new_bytes(image->firmware);
	image->init_packet = read_member(reader, key, image->dat_file, error);
	if (image->init_packet == NULL)
		return NULL;
	if (g_bytes_get_size(image->init_packet) > NRF5_INIT_PACKET_MAX) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: init packet %s is %zu bytes, more than the %d a bootloader takes", key,
		            image->dat_file, g_bytes_get_size(image->init_packet), NRF5_INIT_PACKET_MAX);
		return NULL;
	}
	if (type == NRF5_IMAGE_SOFTDEVICE_BOOTLOADER && !read_split(entry, image, error))
		return NULL;
	if (!check_init_packet(image, key, error))
		return NULL;
	data = g_bytes_get_data(image->firmware, &len);
	if (!dfu_sha256_digest(data, len, image->firmware_sha256, error))
		return NULL;
	return g_steal_pointer(&image);
}

/*
 * nrfutil before 1.5 wrote "dfu_version": 0.5 for the legacy bootloaders
 * (nRF51, SDK 11 and older): another protocol (HCI packets, CRC-16) and
 * another init packet, which a Secure DFU bootloader cannot take either.
 */
static gboolean
check_dfu_version(JsonObject *entries, GError **error)
{
	JsonNode *node = json_object_get_member(entries, "dfu_version");

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) == G_TYPE_STRING ||
	    json_node_get_double(node) >= 1.0)
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
	            "a legacy DFU package (dfu_version %g, for nRF51 and nRF5 SDK 11 or older bootloaders): "
	            "dfud speaks Secure DFU (SDK 12 and later) only; generate the package again with "
	            "nrfutil pkg generate for a Secure DFU bootloader",
	            json_node_get_double(node));
	return FALSE;
}

static Nrf5Package *
package_load(DfuZipReader *reader, GBytes *manifest, gboolean secure_dfu, GError **error)
{
	g_autoptr(Nrf5Package) package = g_new0(Nrf5Package, 1);
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *entries;

	g_return_val_if_fail(reader != NULL && manifest != NULL, NULL);
	package->images = g_ptr_array_new_with_free_func((GDestroyNotify)nrf5_image_free);
	parser = dfu_manifest_load_json(manifest, error);
	if (parser == NULL)
		return NULL;
	entries = nrf5_manifest_object(parser);
	if (entries == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": no \"manifest\" object");
		return NULL;
	}
	if (secure_dfu && !check_dfu_version(entries, error))
		return NULL;
	for (gsize type = 0; type < G_N_ELEMENTS(type_keys); type++) {
		JsonNode *node = json_object_get_member(entries, type_keys[type]);
		Nrf5Image *image;

		if (node == NULL)
			continue;
		if (!JSON_NODE_HOLDS_OBJECT(node)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
			            DFU_MANIFEST_NAME ": %s is not an object", type_keys[type]);
			return NULL;
		}
		image = load_image(reader, json_node_get_object(node), (Nrf5ImageType)type, error);
		if (image == NULL)
			return NULL;
		g_ptr_array_add(package->images, image);
	}
	if (package->images->len == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": the nRF5 manifest lists no image");
		return NULL;
	}
	return g_steal_pointer(&package);
}

Nrf5Package *
nrf5_package_load(DfuZipReader *reader, GBytes *manifest, GError **error)
{
	return package_load(reader, manifest, TRUE, error);
}

Nrf5Package *
nrf5_package_load_files(DfuZipReader *reader, GBytes *manifest, GError **error)
{
	return package_load(reader, manifest, FALSE, error);
}
