/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>
#include <openssl/ecdsa.h>

#include "bundle-writer.h"
#include "dfu-error.h"
#include "dfu-hex.h"
#include "mesh-writer.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ECDSA_SIG, ECDSA_SIG_free)

static MeshInitPacket
init_of(const MeshWriterImage *image)
{
	MeshInitPacket init = {
	        .type = image->type,
	        .start_addr = 0xFFFFFFFF,
	        .length = (guint32)g_bytes_get_size(image->firmware),
	        .fwid = image->fwid,
	};
	return init;
}

/* r||s over SHA-256 of the unsigned init packet and the firmware, as nrfutil signs */
static gboolean
sign(const MeshInitPacket *init, GBytes *firmware, EVP_PKEY *key, guint8 out[MESH_SIGNATURE_SIZE],
     GError **error)
{
	g_autoptr(GBytes) message = mesh_signed_message(init, firmware);
	g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
	g_autoptr(ECDSA_SIG) sig = NULL;
	guint8 der[80];
	const guint8 *p = der;
	gsize der_len = sizeof(der);

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) <= 0 ||
	    EVP_DigestSignUpdate(ctx, g_bytes_get_data(message, NULL), g_bytes_get_size(message)) <= 0 ||
	    EVP_DigestSignFinal(ctx, der, &der_len) <= 0 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) != 32) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "cannot sign with this key: it must be EC P-256");
		return FALSE;
	}
	return TRUE;
}

GBytes *
mesh_writer_init_packet(const MeshWriterImage *image, EVP_PKEY *key, GError **error)
{
	MeshInitPacket init = init_of(image);
	g_autoptr(GBytes) head = mesh_init_packet_unsigned(&init);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(head, &len);
	GByteArray *out = g_byte_array_new();
	guint8 sig_len = MESH_SIGNATURE_SIZE;
	guint8 signature[MESH_SIGNATURE_SIZE];

	if (key == NULL) {
		g_byte_array_append(out, data, (guint)len);
		return g_byte_array_free_to_bytes(out);
	}
	if (!sign(&init, image->firmware, key, signature, error)) {
		g_byte_array_unref(out);
		return NULL;
	}
	/* the signature sits between the signature length and the firmware ID */
	g_byte_array_append(out, data, 9);
	g_byte_array_append(out, &sig_len, 1);
	g_byte_array_append(out, signature, sizeof(signature));
	g_byte_array_append(out, data + 10, (guint)len - 10);
	return g_byte_array_free_to_bytes(out);
}

static void
add_int(JsonBuilder *builder, const char *key, gint64 value)
{
	json_builder_set_member_name(builder, key);
	json_builder_add_int_value(builder, value);
}

static void
add_string(JsonBuilder *builder, const char *key, const char *value)
{
	json_builder_set_member_name(builder, key);
	json_builder_add_string_value(builder, value);
}

/* nrfutil's defaults for what the image's type does not set */
static void
add_init_packet_data(JsonBuilder *builder, const MeshWriterImage *image, GBytes *dat)
{
	MeshInitPacket init;
	guint8 digest[32];
	unsigned int digest_len = 0;
	g_autofree char *hash = NULL;
	gsize dat_len = 0;
	const guint8 *dat_data = g_bytes_get_data(dat, &dat_len);

	mesh_init_packet_parse(dat_data, dat_len, &init, NULL);
	EVP_Digest(g_bytes_get_data(image->firmware, NULL), g_bytes_get_size(image->firmware), digest,
	           &digest_len, EVP_sha256(), NULL);
	hash = dfu_hex_encode(digest, sizeof(digest));
	json_builder_set_member_name(builder, "init_packet_data");
	json_builder_begin_object(builder);
	add_int(builder, "application_id", image->type == MESH_DFU_TYPE_APPLICATION ? image->fwid.app_id : 0);
	add_int(builder, "application_version",
	        image->type == MESH_DFU_TYPE_APPLICATION ? image->fwid.app_version : 0xFFFFFFFF);
	add_int(builder, "bootloader_id",
	        image->type == MESH_DFU_TYPE_BOOTLOADER ? image->fwid.bl_id | (image->fwid.bl_version << 8)
	                                                : 0xFF00);
	if (image->type == MESH_DFU_TYPE_APPLICATION)
		add_int(builder, "company_id", image->fwid.company);
	add_int(builder, "device_revision", 0xFFFF);
	add_int(builder, "device_type", 0xFFFF);
	add_int(builder, "ext_packet_id", 2);
	add_string(builder, "firmware_hash", hash);
	add_int(builder, "firmware_length", (gint64)g_bytes_get_size(image->firmware));
	if (init.is_signed) {
		g_autofree char *sig = dfu_hex_encode(init.signature, sizeof(init.signature));
		add_string(builder, "init_packet_ecds", sig);
	}
	json_builder_set_member_name(builder, "softdevice_req");
	json_builder_begin_array(builder);
	json_builder_add_int_value(builder,
	                           image->type == MESH_DFU_TYPE_SOFTDEVICE ? image->fwid.sd : 0xFFFE);
	json_builder_end_array(builder);
	add_int(builder, "start_addr", 0xFFFFFFFF);
	json_builder_end_object(builder);
}

char *
mesh_writer_manifest(const MeshWriterImage *images, GBytes *const *dats, gsize n_images)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "manifest");
	json_builder_begin_object(builder);
	for (gsize i = 0; i < n_images; i++) {
		const char *type = mesh_dfu_type_to_string(images[i].type);
		g_autofree char *bin = g_strconcat(type, ".bin", NULL);
		g_autofree char *dat = g_strconcat(type, ".dat", NULL);

		json_builder_set_member_name(builder, type);
		json_builder_begin_object(builder);
		add_string(builder, "bin_file", bin);
		add_string(builder, "dat_file", dat);
		add_init_packet_data(builder, &images[i], dats[i]);
		json_builder_end_object(builder);
	}
	json_builder_set_member_name(builder, "dfu_version");
	json_builder_add_double_value(builder, 0.8);
	json_builder_end_object(builder);
	json_builder_end_object(builder);
	return bundle_writer_json_text(builder);
}

GBytes *
mesh_writer_zip(const MeshWriterImage *images, gsize n_images, EVP_PKEY *key, GError **error)
{
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) dats = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autofree BundleWriterEntry *entries = g_new0(BundleWriterEntry, 2 * n_images + 1);
	g_autofree char *text = NULL;
	g_autoptr(GBytes) manifest_bytes = NULL;

	for (gsize i = 0; i < n_images; i++) {
		const char *type = mesh_dfu_type_to_string(images[i].type);
		GBytes *dat = mesh_writer_init_packet(&images[i], key, error);
		char *bin_name = g_strconcat(type, ".bin", NULL);
		char *dat_name = g_strconcat(type, ".dat", NULL);

		g_ptr_array_add(keep, bin_name);
		g_ptr_array_add(keep, dat_name);
		if (dat == NULL)
			return NULL;
		g_ptr_array_add(dats, dat);
		entries[2 * i] = (BundleWriterEntry){.name = bin_name, .data = images[i].firmware};
		entries[2 * i + 1] = (BundleWriterEntry){.name = dat_name, .data = dat};
	}
	text = mesh_writer_manifest(images, (GBytes *const *)dats->pdata, n_images);
	manifest_bytes = g_bytes_new_static(text, strlen(text));
	entries[2 * n_images] = (BundleWriterEntry){.name = "manifest.json", .data = manifest_bytes};
	return bundle_writer_zip(entries, 2 * n_images + 1, error);
}
