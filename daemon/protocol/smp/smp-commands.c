/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "smp-commands.h"

/* encoded size of a text key of this many bytes (always < 24, one head byte) */
#define KEY_SIZE(key) (1 + sizeof(key) - 1)

cbor_item_t *
smp_cmd_empty(void)
{
	return smp_map_new();
}

static gsize
upload_field_count(guint32 image, guint64 off, gboolean has_sha, gboolean upgrade)
{
	gsize n = 2; /* off, data */

	if (off != 0)
		return n;
	n++; /* len */
	if (image != 0)
		n++;
	if (has_sha)
		n++;
	if (upgrade)
		n++;
	return n;
}

cbor_item_t *
smp_cmd_image_upload(guint32 image, guint64 off, const guint8 *data, gsize data_len, guint64 total_len,
                     const guint8 *sha, gsize sha_len, gboolean upgrade)
{
	cbor_item_t *map = smp_map_new();

	smp_map_add_uint(map, "off", off);
	smp_map_add_bytes(map, "data", data, data_len);
	if (off != 0)
		return map;
	smp_map_add_uint(map, "len", total_len);
	if (image != 0)
		smp_map_add_uint(map, "image", image);
	if (sha != NULL && sha_len > 0)
		smp_map_add_bytes(map, "sha", sha, sha_len);
	if (upgrade)
		smp_map_add_bool(map, "upgrade", TRUE);
	return map;
}

gsize
smp_cmd_image_upload_size(guint32 image, guint64 off, gsize data_len, guint64 total_len, gsize sha_len,
                          gboolean upgrade)
{
	/* a zero sha_len stands for no sha, as in smp_cmd_image_upload() */
	gsize size = smp_cbor_uint_size(upload_field_count(image, off, sha_len > 0, upgrade));

	size += KEY_SIZE("off") + smp_cbor_uint_size(off);
	size += KEY_SIZE("data") + smp_cbor_uint_size(data_len) + data_len;
	if (off != 0)
		return size;
	size += KEY_SIZE("len") + smp_cbor_uint_size(total_len);
	if (image != 0)
		size += KEY_SIZE("image") + smp_cbor_uint_size(image);
	if (sha_len > 0)
		size += KEY_SIZE("sha") + smp_cbor_uint_size(sha_len) + sha_len;
	if (upgrade)
		size += KEY_SIZE("upgrade") + 1;
	return size;
}

cbor_item_t *
smp_cmd_image_state_write(const guint8 *hash, gsize hash_len, gboolean confirm)
{
	cbor_item_t *map = smp_map_new();

	if (hash != NULL)
		smp_map_add_bytes(map, "hash", hash, hash_len);
	smp_map_add_bool(map, "confirm", confirm);
	return map;
}

cbor_item_t *
smp_cmd_reset(gboolean force)
{
	cbor_item_t *map = smp_map_new();

	/* Zephyr decodes force as a bool, whatever its docs say */
	if (force)
		smp_map_add_bool(map, "force", TRUE);
	return map;
}

cbor_item_t *
smp_cmd_reset_to_bootloader(void)
{
	cbor_item_t *map = smp_map_new();

	/* CONFIG_MCUMGR_GRP_OS_RESET_BOOT_MODE: the retention boot mode the bootloader reads */
	smp_map_add_uint(map, "boot_mode", 1);
	return map;
}

cbor_item_t *
smp_cmd_bootloader_query(const char *query)
{
	cbor_item_t *map = smp_map_new();

	smp_map_add_text(map, "query", query);
	return map;
}

cbor_item_t *
smp_cmd_echo_sized(gsize message_size)
{
	/* map head, key "d", text head and text */
	gsize fixed = SMP_HEADER_SIZE + 1 + KEY_SIZE("d");
	g_autofree char *text = NULL;
	cbor_item_t *map;
	gsize n;

	if (message_size <= fixed + 1)
		return NULL;
	n = message_size - fixed - 1;
	while (n > 0 && fixed + smp_cbor_uint_size(n) + n > message_size)
		n--;
	text = g_malloc(n + 1);
	memset(text, 'e', n);
	text[n] = '\0';
	map = smp_map_new();
	smp_map_add_text(map, "d", text);
	return map;
}

/* what messages call the commands: "mcumgr params", not "group 0 command 6" */
static const struct {
	guint16 group;
	guint8 id;
	const char *name;
} command_names[] = {
        {SMP_GROUP_OS, SMP_OS_ECHO, "echo"},
        {SMP_GROUP_OS, SMP_OS_RESET, "reset"},
        {SMP_GROUP_OS, SMP_OS_PARAMS, "mcumgr params"},
        {SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, "bootloader info"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_STATE, "image state"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, "image upload"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_ERASE, "image erase"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_SLOT_INFO, "image slot info"},
};

char *
smp_command_describe(guint16 group, guint8 id)
{
	for (gsize i = 0; i < G_N_ELEMENTS(command_names); i++) {
		if (command_names[i].group == group && command_names[i].id == id)
			return g_strdup(command_names[i].name);
	}
	return g_strdup_printf("SMP group %u command %u", group, id);
}

static gboolean
check_response(cbor_item_t *payload, guint16 group, guint8 id, GError **error)
{
	g_autofree char *what = smp_command_describe(group, id);
	SmpError err = {0};

	if (payload == NULL || !cbor_isa_map(payload)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "%s response is not a map", what);
		return FALSE;
	}
	if (!smp_response_get_error(payload, &err))
		return TRUE;
	if (!err.v2 && err.rc == SMP_RC_ENOTSUP)
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED, "%s is not supported by the device",
		            what);
	else if (err.v2)
		g_set_error(error, DFU_ERROR, DFU_STATUS_DEVICE_ERROR, "%s failed: %s (group %u, rc %u)",
		            what, smp_group_rc_to_string(err.group, err.rc), err.group, err.rc);
	else
		g_set_error(error, DFU_ERROR, DFU_STATUS_DEVICE_ERROR, "%s failed: %s (rc %u)", what,
		            smp_rc_to_string(err.rc), err.rc);
	smp_error_clear(&err);
	return FALSE;
}

gboolean
smp_rsp_params(cbor_item_t *payload, SmpParams *out, GError **error)
{
	guint64 buf_size = 0;
	guint64 buf_count = 0;

	if (!check_response(payload, SMP_GROUP_OS, SMP_OS_PARAMS, error))
		return FALSE;
	if (!smp_map_get_uint(payload, "buf_size", &buf_size) ||
	    !smp_map_get_uint(payload, "buf_count", &buf_count) || buf_size > G_MAXUINT ||
	    buf_count > G_MAXUINT) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "mcumgr params response lacks buf_size or buf_count");
		return FALSE;
	}
	out->buf_size = (guint)buf_size;
	out->buf_count = (guint)buf_count;
	return TRUE;
}

void
smp_image_slot_free(SmpImageSlot *slot)
{
	if (slot == NULL)
		return;
	g_free(slot->version);
	if (slot->hash != NULL)
		g_bytes_unref(slot->hash);
	g_free(slot);
}

static const struct {
	const char *key;
	gsize offset;
} slot_flags[] = {
        {"bootable", G_STRUCT_OFFSET(SmpImageSlot, bootable)},
        {"pending", G_STRUCT_OFFSET(SmpImageSlot, pending)},
        {"confirmed", G_STRUCT_OFFSET(SmpImageSlot, confirmed)},
        {"active", G_STRUCT_OFFSET(SmpImageSlot, active)},
        {"permanent", G_STRUCT_OFFSET(SmpImageSlot, permanent)},
};

static SmpImageSlot *
image_slot_parse(cbor_item_t *entry, GError **error)
{
	g_autoptr(SmpImageSlot) slot = g_new0(SmpImageSlot, 1);
	guint64 image = 0;
	guint64 slot_nr = 0;

	if (!cbor_isa_map(entry) || !smp_map_get_uint(entry, "slot", &slot_nr) || slot_nr > G_MAXUINT) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "image state entry is not a map with a slot number");
		return NULL;
	}
	/* image is omitted when the device has a single image */
	if (smp_map_get(entry, "image") != NULL &&
	    (!smp_map_get_uint(entry, "image", &image) || image > G_MAXUINT)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "image state entry has a bad image");
		return NULL;
	}
	slot->image = (guint)image;
	slot->slot = (guint)slot_nr;
	slot->version = smp_map_get_text(entry, "version");
	/* MCUboot's serial recovery lists slot and version only: a hash is optional */
	slot->hash = smp_map_get_bytes(entry, "hash");
	if (slot->version == NULL || (smp_map_get(entry, "hash") != NULL && slot->hash == NULL)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "image state entry for image %u slot %u lacks a version or has a bad hash",
		            slot->image, slot->slot);
		return NULL;
	}
	/* frugal lists send only the true flags */
	for (gsize i = 0; i < G_N_ELEMENTS(slot_flags); i++) {
		gboolean value = FALSE;
		smp_map_get_bool(entry, slot_flags[i].key, &value);
		G_STRUCT_MEMBER(gboolean, slot, slot_flags[i].offset) = value;
	}
	return g_steal_pointer(&slot);
}

GPtrArray *
smp_rsp_image_state(cbor_item_t *payload, GError **error)
{
	g_autoptr(GPtrArray) slots = g_ptr_array_new_with_free_func((GDestroyNotify)smp_image_slot_free);
	g_autofree cbor_item_t **items = NULL;
	gsize n = 0;

	if (!check_response(payload, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, error))
		return NULL;
	items = smp_array_items(smp_map_get(payload, "images"), &n);
	if (items == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "image state response lacks the images list");
		return NULL;
	}
	for (gsize i = 0; i < n; i++) {
		SmpImageSlot *slot = image_slot_parse(items[i], error);
		if (slot == NULL)
			return NULL;
		g_ptr_array_add(slots, slot);
	}
	return g_steal_pointer(&slots);
}

const SmpImageSlot *
smp_image_state_find_hash(GPtrArray *slots, guint image, const guint8 *hash, gsize hash_len)
{
	for (guint i = 0; slots != NULL && i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gsize len = 0;
		const guint8 *data = slot->hash != NULL ? g_bytes_get_data(slot->hash, &len) : NULL;

		if (data != NULL && slot->image == image && len == hash_len &&
		    (len == 0 || memcmp(data, hash, len) == 0))
			return slot;
	}
	return NULL;
}

const SmpImageSlot *
smp_image_state_find_slot(GPtrArray *slots, guint image, guint slot_nr)
{
	for (guint i = 0; slots != NULL && i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);

		if (slot->image == image && slot->slot == slot_nr)
			return slot;
	}
	return NULL;
}

gboolean
smp_rsp_image_upload(cbor_item_t *payload, guint64 *off, int *match, GError **error)
{
	gboolean matched = FALSE;

	if (!check_response(payload, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, error))
		return FALSE;
	if (!smp_map_get_uint(payload, "off", off)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "image upload response lacks off");
		return FALSE;
	}
	if (match != NULL)
		*match = smp_map_get_bool(payload, "match", &matched) ? (matched ? 1 : 0) : -1;
	return TRUE;
}
