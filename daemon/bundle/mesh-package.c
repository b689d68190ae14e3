/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-hex.h"
#include "dfu-manifest.h"
#include "dfu-sha256.h"
#include "mesh-package.h"

/* the only DFU version nrfutil writes with --mesh */
#define MESH_DFU_VERSION 0.8
#define MESH_MAX_SEGMENTS 0xFFFF

static const struct {
	MeshDfuType type;
	Nrf5ImageType nrf5;
	const char *name;
	gsize fwid_size;
} types[] = {
        {MESH_DFU_TYPE_SOFTDEVICE, NRF5_IMAGE_SOFTDEVICE, "softdevice", 2},
        {MESH_DFU_TYPE_BOOTLOADER, NRF5_IMAGE_BOOTLOADER, "bootloader", 2},
        {MESH_DFU_TYPE_APPLICATION, NRF5_IMAGE_APPLICATION, "application", 10},
};

static gsize
type_index(MeshDfuType type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
		if (types[i].type == type)
			return i;
	}
	return G_N_ELEMENTS(types);
}

const char *
mesh_dfu_type_to_string(MeshDfuType type)
{
	gsize i = type_index(type);

	return i < G_N_ELEMENTS(types) ? types[i].name : "unknown";
}

guint32
mesh_get_le(const guint8 *p, gsize n)
{
	guint32 v = 0;

	for (gsize i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

void
mesh_put_le(guint8 *p, guint32 v, gsize n)
{
	for (gsize i = 0; i < n; i++)
		p[i] = (guint8)(v >> (8 * i));
}

gsize
mesh_fwid_encode(MeshDfuType type, const MeshFwid *fwid, guint8 *out)
{
	switch (type) {
	case MESH_DFU_TYPE_SOFTDEVICE:
		mesh_put_le(out, fwid->sd, 2);
		return 2;
	case MESH_DFU_TYPE_BOOTLOADER:
		out[0] = fwid->bl_id;
		out[1] = fwid->bl_version;
		return 2;
	case MESH_DFU_TYPE_APPLICATION:
		mesh_put_le(out, fwid->company, 4);
		mesh_put_le(out + 4, fwid->app_id, 2);
		mesh_put_le(out + 6, fwid->app_version, 4);
		return 10;
	}
	return 0;
}

gboolean
mesh_fwid_decode(MeshDfuType type, const guint8 *data, gsize len, MeshFwid *fwid)
{
	gsize i = type_index(type);

	if (i == G_N_ELEMENTS(types) || len < types[i].fwid_size)
		return FALSE;
	if (type == MESH_DFU_TYPE_SOFTDEVICE) {
		fwid->sd = (guint16)mesh_get_le(data, 2);
	} else if (type == MESH_DFU_TYPE_BOOTLOADER) {
		fwid->bl_id = data[0];
		fwid->bl_version = data[1];
	} else {
		fwid->company = mesh_get_le(data, 4);
		fwid->app_id = (guint16)mesh_get_le(data + 4, 2);
		fwid->app_version = mesh_get_le(data + 6, 4);
	}
	return TRUE;
}

char *
mesh_fwid_to_string(MeshDfuType type, const MeshFwid *fwid)
{
	switch (type) {
	case MESH_DFU_TYPE_SOFTDEVICE:
		return g_strdup_printf("SoftDevice 0x%04x", fwid->sd);
	case MESH_DFU_TYPE_BOOTLOADER:
		return g_strdup_printf("bootloader id %u version %u", fwid->bl_id, fwid->bl_version);
	case MESH_DFU_TYPE_APPLICATION:
		return g_strdup_printf("application company 0x%08x id 0x%04x version %u", fwid->company,
		                       fwid->app_id, fwid->app_version);
	}
	return g_strdup("unknown firmware");
}

gboolean
mesh_init_packet_parse(const guint8 *data, gsize len, MeshInitPacket *init, GError **error)
{
	gsize sig_len, i, want;

	memset(init, 0, sizeof(*init));
	if (len < MESH_INIT_PACKET_MIN) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "mesh init packet of %zu bytes is too short", len);
		return FALSE;
	}
	init->type = data[0];
	i = type_index(init->type);
	if (i == G_N_ELEMENTS(types)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "mesh init packet names firmware type 0x%02x, none of 1, 2 or 4", data[0]);
		return FALSE;
	}
	init->start_addr = mesh_get_le(data + 1, 4);
	init->length = mesh_get_le(data + 5, 4);
	sig_len = data[9];
	if (sig_len != 0 && sig_len != MESH_SIGNATURE_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "mesh init packet has a %zu-byte signature, not 0 or 64", sig_len);
		return FALSE;
	}
	want = 10 + sig_len + types[i].fwid_size;
	if (len != want) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "mesh init packet of a %s is %zu bytes, not %zu", types[i].name, len, want);
		return FALSE;
	}
	init->is_signed = sig_len != 0;
	if (init->is_signed)
		memcpy(init->signature, data + 10, sig_len);
	return mesh_fwid_decode(init->type, data + 10 + sig_len, types[i].fwid_size, &init->fwid);
}

GBytes *
mesh_init_packet_unsigned(const MeshInitPacket *init)
{
	guint8 out[10 + 10];
	gsize n;

	out[0] = init->type;
	mesh_put_le(out + 1, init->start_addr, 4);
	mesh_put_le(out + 5, init->length, 4);
	out[9] = 0;
	n = mesh_fwid_encode(init->type, &init->fwid, out + 10);
	return g_bytes_new(out, 10 + n);
}

GBytes *
mesh_signed_message(const MeshInitPacket *init, GBytes *firmware)
{
	g_autoptr(GBytes) head = mesh_init_packet_unsigned(init);
	GByteArray *message = g_byte_array_sized_new(g_bytes_get_size(head) + g_bytes_get_size(firmware));

	g_byte_array_append(message, g_bytes_get_data(head, NULL), g_bytes_get_size(head));
	g_byte_array_append(message, g_bytes_get_data(firmware, NULL), g_bytes_get_size(firmware));
	return g_byte_array_free_to_bytes(message);
}

const char *
mesh_image_verify(const MeshImage *image, DfuKeyRing *ring, GError **error)
{
	g_autoptr(GBytes) message = NULL;
	const char *type = mesh_dfu_type_to_string(image->init.type);

	if (!image->init.is_signed) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "the %s is not signed", type);
		return NULL;
	}
	message = mesh_signed_message(&image->init, image->files->firmware);
	return dfu_signature_verify_raw_p256(ring, message, image->init.signature, error);
}

guint
mesh_image_segments(const MeshImage *image)
{
	gsize len = g_bytes_get_size(image->files->firmware);

	return (guint)((len + MESH_SEGMENT_SIZE - 1) / MESH_SEGMENT_SIZE +
	               (image->init.is_signed ? MESH_SIGNATURE_SIZE / MESH_SEGMENT_SIZE : 0));
}

static void
mesh_image_free(MeshImage *image)
{
	if (image == NULL)
		return;
	nrf5_image_free(image->files);
	g_free(image);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeshImage, mesh_image_free)

void
mesh_package_free(MeshPackage *package)
{
	if (package == NULL)
		return;
	g_clear_pointer(&package->images, g_ptr_array_unref);
	g_free(package);
}

static gboolean
is_mesh_manifest(JsonObject *manifest)
{
	JsonNode *version = json_object_get_member(manifest, "dfu_version");

	if (version == NULL || json_node_get_value_type(version) != G_TYPE_DOUBLE ||
	    json_node_get_double(version) != MESH_DFU_VERSION)
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
		JsonObject *data = nrf5_json_member_object(nrf5_json_member_object(manifest, types[i].name),
		                                           "init_packet_data");

		if (data != NULL && json_object_has_member(data, "start_addr") &&
		    (json_object_has_member(data, "company_id") ||
		     types[i].type != MESH_DFU_TYPE_APPLICATION))
			return TRUE;
	}
	return FALSE;
}

gboolean
mesh_manifest_detect(GBytes *manifest)
{
	g_autoptr(JsonParser) parser = dfu_manifest_load_json(manifest, NULL);
	JsonObject *object = parser != NULL ? nrf5_manifest_object(parser) : NULL;

	return object != NULL && is_mesh_manifest(object);
}

/* a whole number in the manifest, or FALSE with the member named */
static gboolean
read_number(JsonObject *data, const char *type, const char *key, guint64 max, guint64 *value, GError **error)
{
	JsonNode *node = json_object_get_member(data, key);

	if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64 || json_node_get_int(node) < 0 ||
	    (guint64)json_node_get_int(node) > max) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME
		            ": %s: init_packet_data.%s missing or not a number up to %" G_GUINT64_FORMAT,
		            type, key, max);
		return FALSE;
	}
	*value = (guint64)json_node_get_int(node);
	return TRUE;
}

static gboolean
mismatch(const char *type, const char *what, guint64 dat, guint64 manifest, GError **error)
{
	if (dat == manifest)
		return FALSE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
	            "%s: the .dat says %s 0x%" G_GINT64_MODIFIER "x, " DFU_MANIFEST_NAME
	            " says 0x%" G_GINT64_MODIFIER "x",
	            type, what, dat, manifest);
	return TRUE;
}

/* the firmware ID the manifest gives for the type, against the one in the .dat */
static gboolean
check_fwid(JsonObject *data, const char *type, const MeshInitPacket *init, GError **error)
{
	JsonNode *sd_req;
	guint64 a, b, c;

	switch (init->type) {
	case MESH_DFU_TYPE_APPLICATION:
		return read_number(data, type, "company_id", G_MAXUINT32, &a, error) &&
		       read_number(data, type, "application_id", G_MAXUINT16, &b, error) &&
		       read_number(data, type, "application_version", G_MAXUINT32, &c, error) &&
		       !mismatch(type, "company ID", init->fwid.company, a, error) &&
		       !mismatch(type, "application ID", init->fwid.app_id, b, error) &&
		       !mismatch(type, "application version", init->fwid.app_version, c, error);
	case MESH_DFU_TYPE_BOOTLOADER:
		/* low byte the ID, high byte the version */
		return read_number(data, type, "bootloader_id", G_MAXUINT16, &a, error) &&
		       !mismatch(type, "bootloader ID and version",
		                 init->fwid.bl_id | (init->fwid.bl_version << 8), a, error);
	case MESH_DFU_TYPE_SOFTDEVICE:
		/* for a SoftDevice package the requirement is the new SoftDevice's own ID */
		sd_req = json_object_get_member(data, "softdevice_req");
		if (sd_req == NULL || !JSON_NODE_HOLDS_ARRAY(sd_req) ||
		    json_array_get_length(json_node_get_array(sd_req)) == 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
			            DFU_MANIFEST_NAME ": %s: init_packet_data.softdevice_req missing", type);
			return FALSE;
		}
		return !mismatch(type, "SoftDevice ID", init->fwid.sd,
		                 (guint64)json_array_get_int_element(json_node_get_array(sd_req), 0), error);
	}
	return FALSE;
}

/* the hex text of a manifest member against bytes of the package */
static gboolean
check_hex(JsonObject *data, const char *type, const char *key, const guint8 *want, gsize len, DfuStatus code,
          GError **error)
{
	JsonNode *node = json_object_get_member(data, key);
	g_autofree char *expected = dfu_hex_encode(want, len);

	if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: init_packet_data.%s missing or not text", type, key);
		return FALSE;
	}
	if (g_ascii_strcasecmp(json_node_get_string(node), expected) != 0) {
		g_set_error(error, DFU_ERROR, code, "%s: init_packet_data.%s does not match the package (%s)",
		            type, key, expected);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_image(JsonObject *data, const char *type, const MeshImage *image, GError **error)
{
	const MeshInitPacket *init = &image->init;
	gsize len = g_bytes_get_size(image->files->firmware);
	guint8 digest[32];
	guint64 length, start;

	if (init->length != len) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: %s says %u bytes but %s holds %zu", type, image->files->dat_file,
		            init->length, image->files->bin_file, len);
		return FALSE;
	}
	/* START counts words: a tail short of a word would be lost and break the signature */
	if (len % 4 != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s: %s is %zu bytes, not a whole number of 32-bit words: pad and sign it again",
		            type, image->files->bin_file, len);
		return FALSE;
	}
	if ((len + MESH_SEGMENT_SIZE - 1) / MESH_SEGMENT_SIZE + (init->is_signed ? 4 : 0) >
	    MESH_MAX_SEGMENTS) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_IMAGE_TOO_LARGE,
		            "%s: %s is %zu bytes, more than the 65535 segments of a mesh transfer", type,
		            image->files->bin_file, len);
		return FALSE;
	}
	if (!read_number(data, type, "firmware_length", G_MAXUINT32, &length, error) ||
	    !read_number(data, type, "start_addr", G_MAXUINT32, &start, error) ||
	    mismatch(type, "firmware length", init->length, length, error) ||
	    mismatch(type, "start address", init->start_addr, start, error) ||
	    !check_fwid(data, type, init, error))
		return FALSE;
	if (!dfu_sha256_digest(g_bytes_get_data(image->files->firmware, NULL), len, digest, error))
		return FALSE;
	if (!check_hex(data, type, "firmware_hash", digest, sizeof(digest), DFU_STATUS_CHECKSUM_MISMATCH,
	               error))
		return FALSE;
	if (init->is_signed)
		return check_hex(data, type, "init_packet_ecds", init->signature, MESH_SIGNATURE_SIZE,
		                 DFU_STATUS_MALFORMED_MANIFEST, error);
	if (json_object_has_member(data, "init_packet_ecds")) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            "%s: " DFU_MANIFEST_NAME " has a signature but %s is unsigned", type,
		            image->files->dat_file);
		return FALSE;
	}
	return TRUE;
}

static MeshImage *
load_image(JsonObject *manifest, Nrf5Image *nrf5, GError **error)
{
	g_autoptr(MeshImage) image = g_new0(MeshImage, 1);
	const char *type = nrf5_image_type_to_string(nrf5->type);
	JsonObject *data =
	        nrf5_json_member_object(nrf5_json_member_object(manifest, type), "init_packet_data");
	gsize len = 0;
	const guint8 *dat = g_bytes_get_data(nrf5->init_packet, &len);
	gsize i;

	image->files = nrf5;
	for (i = 0; i < G_N_ELEMENTS(types) && types[i].nrf5 != nrf5->type; i++)
		;
	if (i == G_N_ELEMENTS(types)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		            "%s: a mesh transfer carries one firmware type (SoftDevice 1, bootloader 2 or "
		            "application 4) and the mesh has none for a SoftDevice and bootloader in one "
		            "image; nrfutil joins the two whenever both are given, so build one package "
		            "with --softdevice and another with --bootloader and send them in that order",
		            type);
		return NULL;
	}
	if (data == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: no init_packet_data", type);
		return NULL;
	}
	if (!mesh_init_packet_parse(dat, len, &image->init, error)) {
		g_prefix_error(error, "%s: %s: ", type, image->files->dat_file);
		return NULL;
	}
	if (image->init.type != types[i].type) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE, "%s: %s is the init packet of a %s",
		            type, image->files->dat_file, mesh_dfu_type_to_string(image->init.type));
		return NULL;
	}
	if (!check_image(data, type, image, error))
		return NULL;
	return g_steal_pointer(&image);
}

MeshPackage *
mesh_package_load(Nrf5Package *nrf5, GBytes *manifest, GError **error)
{
	g_autoptr(MeshPackage) package = g_new0(MeshPackage, 1);
	g_autoptr(JsonParser) parser = dfu_manifest_load_json(manifest, error);
	JsonObject *object;

	if (parser == NULL)
		return NULL;
	object = nrf5_manifest_object(parser);
	package->images = g_ptr_array_new_with_free_func((GDestroyNotify)mesh_image_free);
	while (nrf5->images->len > 0) {
		MeshImage *image = load_image(object, g_ptr_array_steal_index(nrf5->images, 0), error);

		if (image == NULL)
			return NULL;
		g_ptr_array_add(package->images, image);
	}
	return g_steal_pointer(&package);
}
