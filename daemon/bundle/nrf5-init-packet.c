/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nrf5-init-packet.h"

#include <string.h>

#include "dfu-error.h"

/* protobuf wire types the init packet uses */
#define WIRE_VARINT 0
#define WIRE_BYTES 2

static const char *const init_types[] = {"application", "softdevice", "bootloader", "softdevice_bootloader",
                                         "external_application"};
static const char *const hash_types[] = {"none", "crc", "sha128", "sha256", "sha512"};
static const char *const signature_types[] = {"ecdsa-p256-sha256", "ed25519"};

static gboolean
read_varint(const guint8 **p, const guint8 *end, guint64 *value)
{
	*value = 0;
	for (guint shift = 0; *p < end && shift < 64; shift += 7) {
		guint8 b = *(*p)++;
		*value |= (guint64)(b & 0x7F) << shift;
		if ((b & 0x80) == 0)
			return TRUE;
	}
	return FALSE;
}

/* one field: varints with value, length-delimited ones with data (NULL for a varint) */
typedef gboolean (*FieldFunc)(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data);

static gboolean
walk(const guint8 *p, gsize size, FieldFunc func, gpointer user_data)
{
	const guint8 *end = p + size;

	while (p < end) {
		guint64 key, value;

		if (!read_varint(&p, end, &key))
			return FALSE;
		if ((key & 7) == WIRE_VARINT) {
			if (!read_varint(&p, end, &value) || !func(key >> 3, value, NULL, 0, user_data))
				return FALSE;
		} else if ((key & 7) == WIRE_BYTES) {
			if (!read_varint(&p, end, &value) || value > (guint64)(end - p) ||
			    !func(key >> 3, 0, p, value, user_data))
				return FALSE;
			p += value;
		} else {
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
on_hash_field(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data)
{
	Nrf5InitPacket *init = user_data;

	if (field == 1 && data == NULL)
		init->hash_type = (guint32)value;
	if (field == 2 && data != NULL) {
		if (len > sizeof(init->hash))
			return FALSE;
		memcpy(init->hash, data, len);
		init->hash_len = len;
	}
	return TRUE;
}

static gboolean
on_init_field(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data)
{
	Nrf5InitPacket *init = user_data;
	guint32 *const numbers[] = {[1] = &init->fw_version, [2] = &init->hw_version, [4] = &init->type,
	                            [5] = &init->sd_size,    [6] = &init->bl_size,    [7] = &init->app_size};

	if (field < G_N_ELEMENTS(numbers) && numbers[field] != NULL && data == NULL) {
		*numbers[field] = (guint32)value;
		return TRUE;
	}
	if (field == 3 && data == NULL) {
		guint32 v = (guint32)value;
		g_array_append_val(init->sd_req, v);
		return TRUE;
	}
	/* packed repeated: the varints one after another */
	if (field == 3) {
		for (const guint8 *p = data; p < data + len;) {
			guint64 fwid;
			guint32 v;

			if (!read_varint(&p, data + len, &fwid))
				return FALSE;
			v = (guint32)fwid;
			g_array_append_val(init->sd_req, v);
		}
		return TRUE;
	}
	if (field == 8 && data != NULL)
		return walk(data, len, on_hash_field, init);
	if (field == 9 && data == NULL)
		init->is_debug = value != 0;
	return TRUE;
}

typedef struct {
	Nrf5InitPacket *init;
	gboolean found;
} Walk;

/* Command { 1: op_code, 2: InitCommand init } */
static gboolean
on_command_field(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data)
{
	Walk *w = user_data;

	if (field != 2 || data == NULL)
		return TRUE;
	w->found = TRUE;
	return walk(data, len, on_init_field, w->init);
}

/* SignedCommand { 1: Command, 2: signature_type, 3: signature } */
static gboolean
on_signed_field(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data)
{
	Walk *w = user_data;

	if (field == 1 && data != NULL)
		return walk(data, len, on_command_field, w);
	if (field == 2 && data == NULL)
		w->init->signature_type = (guint32)value;
	if (field == 3 && data != NULL)
		w->init->signature_len = len;
	return TRUE;
}

/* Packet { 1: Command | 2: SignedCommand } */
static gboolean
on_packet_field(guint field, guint64 value, const guint8 *data, gsize len, gpointer user_data)
{
	Walk *w = user_data;

	if (field == 1 && data != NULL)
		return walk(data, len, on_command_field, w);
	if (field == 2 && data != NULL) {
		w->init->is_signed = TRUE;
		return walk(data, len, on_signed_field, w);
	}
	return TRUE;
}

Nrf5InitPacket *
nrf5_init_packet_parse(const guint8 *data, gsize len, GError **error)
{
	g_autoptr(Nrf5InitPacket) init = g_new0(Nrf5InitPacket, 1);
	Walk w = {init, FALSE};

	init->sd_req = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!walk(data, len, on_packet_field, &w)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		                    "the init packet is no valid protobuf");
		return NULL;
	}
	if (!w.found) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		                    "the init packet holds no init command");
		return NULL;
	}
	return g_steal_pointer(&init);
}

void
nrf5_init_packet_free(Nrf5InitPacket *init)
{
	if (init == NULL)
		return;
	g_array_unref(init->sd_req);
	g_free(init);
}

const char *
nrf5_init_type_to_string(guint32 type)
{
	return type < G_N_ELEMENTS(init_types) ? init_types[type] : NULL;
}

const char *
nrf5_init_hash_type_to_string(guint32 hash_type)
{
	return hash_type < G_N_ELEMENTS(hash_types) ? hash_types[hash_type] : "unknown";
}

const char *
nrf5_init_signature_to_string(const Nrf5InitPacket *init)
{
	if (!init->is_signed)
		return "unsigned";
	return init->signature_type < G_N_ELEMENTS(signature_types) ? signature_types[init->signature_type]
	                                                            : "unknown";
}

guint64
nrf5_init_packet_image_size(const Nrf5InitPacket *init)
{
	if (init->type == NRF5_INIT_APPLICATION || init->type == NRF5_INIT_EXTERNAL_APPLICATION)
		return init->app_size;
	return (guint64)init->sd_size + init->bl_size;
}

char *
nrf5_init_packet_hash_hex(const Nrf5InitPacket *init)
{
	GString *hex;

	if (init->hash_len == 0)
		return NULL;
	hex = g_string_sized_new(init->hash_len * 2);
	/* nrfutil stores the digest byte-reversed */
	for (gsize i = init->hash_len; i > 0; i--)
		g_string_append_printf(hex, "%02x", init->hash[i - 1]);
	return g_string_free(hex, FALSE);
}
