/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>
#include <openssl/evp.h>

#include "bundle-writer.h"
#include "nrf5-writer.h"

/* protobuf wire types */
#define WIRE_VARINT 0
#define WIRE_BYTES 2
/* InitCommand.type values, indexed by Nrf5ImageType */
static const guint init_types[] = {
        [NRF5_IMAGE_SOFTDEVICE_BOOTLOADER] = 3,
        [NRF5_IMAGE_SOFTDEVICE] = 1,
        [NRF5_IMAGE_BOOTLOADER] = 2,
        [NRF5_IMAGE_APPLICATION] = 0,
};
#define HASH_TYPE_SHA256 3
#define NO_SOFTDEVICE_FWID 0x00
#define DUMMY_HW_VERSION 52

static void
put_varint(GByteArray *buf, guint64 v)
{
	do {
		guint8 b = v & 0x7f;

		v >>= 7;
		if (v != 0)
			b |= 0x80;
		g_byte_array_append(buf, &b, 1);
	} while (v != 0);
}

static void
put_key(GByteArray *buf, guint field, guint wire)
{
	put_varint(buf, (field << 3) | wire);
}

static void
put_uint(GByteArray *buf, guint field, guint64 v)
{
	put_key(buf, field, WIRE_VARINT);
	put_varint(buf, v);
}

static void
put_bytes(GByteArray *buf, guint field, const guint8 *data, gsize len)
{
	put_key(buf, field, WIRE_BYTES);
	put_varint(buf, len);
	g_byte_array_append(buf, data, len);
}

GBytes *
nrf5_writer_init_packet(Nrf5ImageType type, GBytes *firmware)
{
	g_autoptr(GByteArray) hash = g_byte_array_new();
	g_autoptr(GByteArray) init = g_byte_array_new();
	g_autoptr(GByteArray) command = g_byte_array_new();
	GByteArray *packet = g_byte_array_new();
	const guint8 sd_req[] = {NO_SOFTDEVICE_FWID};
	guint8 digest[32], reversed[32];
	unsigned int digest_len = 0;
	gsize size = g_bytes_get_size(firmware);
	const guint8 command_op_init = 1;

	EVP_Digest(g_bytes_get_data(firmware, NULL), size, digest, &digest_len, EVP_sha256(), NULL);
	/* nrfutil stores the digest little-endian */
	for (gsize i = 0; i < sizeof(digest); i++)
		reversed[i] = digest[sizeof(digest) - 1 - i];
	put_uint(hash, 1, HASH_TYPE_SHA256);
	put_bytes(hash, 2, reversed, sizeof(reversed));

	put_uint(init, 1, 1);
	put_uint(init, 2, DUMMY_HW_VERSION);
	put_bytes(init, 3, sd_req, sizeof(sd_req));
	put_uint(init, 4, init_types[type]);
	put_uint(init, 5, type == NRF5_IMAGE_SOFTDEVICE ? size : 0);
	put_uint(init, 6, type == NRF5_IMAGE_BOOTLOADER ? size : 0);
	put_uint(init, 7, type == NRF5_IMAGE_APPLICATION ? size : 0);
	put_bytes(init, 8, hash->data, hash->len);
	put_uint(init, 9, 0);

	put_uint(command, 1, command_op_init);
	put_bytes(command, 2, init->data, init->len);
	put_bytes(packet, 1, command->data, command->len);
	return g_byte_array_free_to_bytes(packet);
}

static char *
file_name(Nrf5ImageType type, const char *ext)
{
	return g_strconcat(nrf5_image_type_to_string(type), ext, NULL);
}

char *
nrf5_writer_manifest(const Nrf5WriterImage *images, gsize n_images)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "manifest");
	json_builder_begin_object(builder);
	for (gsize i = 0; i < n_images; i++) {
		g_autofree char *bin = file_name(images[i].type, ".bin");
		g_autofree char *dat = file_name(images[i].type, ".dat");

		json_builder_set_member_name(builder, nrf5_image_type_to_string(images[i].type));
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "bin_file");
		json_builder_add_string_value(builder, bin);
		json_builder_set_member_name(builder, "dat_file");
		json_builder_add_string_value(builder, dat);
		json_builder_end_object(builder);
	}
	json_builder_end_object(builder);
	json_builder_end_object(builder);

	return bundle_writer_json_text(builder);
}

GBytes *
nrf5_writer_zip(const Nrf5WriterImage *images, gsize n_images, GError **error)
{
	g_autofree char *manifest = nrf5_writer_manifest(images, n_images);
	g_autoptr(GBytes) manifest_bytes = g_bytes_new_static(manifest, strlen(manifest));
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) packets = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autofree BundleWriterEntry *entries = g_new0(BundleWriterEntry, 2 * n_images + 1);

	for (gsize i = 0; i < n_images; i++) {
		GBytes *dat = images[i].init_packet != NULL
		                      ? g_bytes_ref(images[i].init_packet)
		                      : nrf5_writer_init_packet(images[i].type, images[i].firmware);
		char *bin_name = file_name(images[i].type, ".bin");
		char *dat_name = file_name(images[i].type, ".dat");

		g_ptr_array_add(keep, bin_name);
		g_ptr_array_add(keep, dat_name);
		g_ptr_array_add(packets, dat);
		entries[2 * i] = (BundleWriterEntry){.name = bin_name, .data = images[i].firmware};
		entries[2 * i + 1] = (BundleWriterEntry){.name = dat_name, .data = dat};
	}
	entries[2 * n_images] = (BundleWriterEntry){.name = "manifest.json", .data = manifest_bytes};
	return bundle_writer_zip(entries, 2 * n_images + 1, error);
}
