/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-nesting.h"
#include "smp-message.h"

void
smp_header_write(const SmpHeader *hdr, guint8 out[SMP_HEADER_SIZE])
{
	out[0] = (guint8)(((hdr->version & 0x3) << 3) | (hdr->op & 0x7));
	out[1] = hdr->flags;
	out[2] = (guint8)(hdr->len >> 8);
	out[3] = (guint8)(hdr->len & 0xff);
	out[4] = (guint8)(hdr->group >> 8);
	out[5] = (guint8)(hdr->group & 0xff);
	out[6] = hdr->seq;
	out[7] = hdr->id;
}

gboolean
smp_header_parse(const guint8 *buf, gsize len, SmpHeader *hdr)
{
	if (buf == NULL || len < SMP_HEADER_SIZE)
		return FALSE;
	hdr->op = buf[0] & 0x7;
	hdr->version = (buf[0] >> 3) & 0x3;
	hdr->flags = buf[1];
	hdr->len = (guint16)((buf[2] << 8) | buf[3]);
	hdr->group = (guint16)((buf[4] << 8) | buf[5]);
	hdr->seq = buf[6];
	hdr->id = buf[7];
	return TRUE;
}

/* SMP payloads nest a few levels only; the bound also keeps libcbor's recursive free shallow */
static const DfuNestingLimits payload_limits = {
        .what = "SMP payload",
        .max_size = G_MAXUINT16,
        .max_depth = SMP_PAYLOAD_MAX_DEPTH,
        .code = DFU_STATUS_PROTOCOL_ERROR,
};

SmpMessage *
smp_message_parse(const guint8 *buf, gsize len, GError **error)
{
	g_autoptr(SmpMessage) msg = g_new0(SmpMessage, 1);
	struct cbor_load_result result = {0};

	if (!smp_header_parse(buf, len, &msg->hdr)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "SMP message of %" G_GSIZE_FORMAT " bytes is shorter than its header", len);
		return NULL;
	}
	if ((gsize)msg->hdr.len != len - SMP_HEADER_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "SMP header says %u payload bytes, message holds %" G_GSIZE_FORMAT, msg->hdr.len,
		            len - SMP_HEADER_SIZE);
		return NULL;
	}
	if (msg->hdr.len == 0)
		return g_steal_pointer(&msg);

	/* libcbor allocates what a definite length announces, and descends recursively */
	if (!dfu_cbor_check_limits(buf + SMP_HEADER_SIZE, msg->hdr.len, &payload_limits, error))
		return NULL;
	msg->payload = cbor_load(buf + SMP_HEADER_SIZE, msg->hdr.len, &result);
	if (msg->payload == NULL || result.error.code != CBOR_ERR_NONE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "SMP payload is not valid CBOR (error %d at byte %" G_GSIZE_FORMAT ")",
		            (int)result.error.code, result.error.position);
		return NULL;
	}
	if (!cbor_isa_map(msg->payload)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "SMP payload is not a CBOR map");
		return NULL;
	}
	if (result.read != msg->hdr.len) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "SMP payload has %" G_GSIZE_FORMAT " bytes after its CBOR map",
		            msg->hdr.len - result.read);
		return NULL;
	}
	return g_steal_pointer(&msg);
}

void
smp_message_free(SmpMessage *msg)
{
	if (msg == NULL)
		return;
	if (msg->payload != NULL)
		cbor_decref(&msg->payload);
	g_free(msg);
}

gsize
smp_cbor_uint_size(guint64 value)
{
	if (value < 24)
		return 1;
	if (value <= G_MAXUINT8)
		return 2;
	if (value <= G_MAXUINT16)
		return 3;
	if (value <= G_MAXUINT32)
		return 5;
	return 9;
}

/* Total length of a byte or text string, definite or chunked. */
static gsize
string_total_length(cbor_item_t *item)
{
	gboolean bytes = cbor_isa_bytestring(item);
	gsize total = 0;
	cbor_item_t **chunks;
	gsize n;

	if (bytes ? cbor_bytestring_is_definite(item) : cbor_string_is_definite(item))
		return bytes ? cbor_bytestring_length(item) : cbor_string_length(item);
	chunks = bytes ? cbor_bytestring_chunks_handle(item) : cbor_string_chunks_handle(item);
	n = bytes ? cbor_bytestring_chunk_count(item) : cbor_string_chunk_count(item);
	for (gsize i = 0; i < n; i++)
		total += bytes ? cbor_bytestring_length(chunks[i]) : cbor_string_length(chunks[i]);
	return total;
}

/* Copies the bytes of a (possibly chunked) string into out, which holds string_total_length(). */
static void
string_copy(cbor_item_t *item, guint8 *out)
{
	gboolean bytes = cbor_isa_bytestring(item);
	cbor_item_t **chunks;
	gsize n;

	if (bytes ? cbor_bytestring_is_definite(item) : cbor_string_is_definite(item)) {
		gsize len = bytes ? cbor_bytestring_length(item) : cbor_string_length(item);
		if (len > 0)
			memcpy(out, bytes ? cbor_bytestring_handle(item) : cbor_string_handle(item), len);
		return;
	}
	chunks = bytes ? cbor_bytestring_chunks_handle(item) : cbor_string_chunks_handle(item);
	n = bytes ? cbor_bytestring_chunk_count(item) : cbor_string_chunk_count(item);
	for (gsize i = 0; i < n; i++) {
		gsize len = bytes ? cbor_bytestring_length(chunks[i]) : cbor_string_length(chunks[i]);
		if (len > 0)
			memcpy(out, bytes ? cbor_bytestring_handle(chunks[i]) : cbor_string_handle(chunks[i]),
			       len);
		out += len;
	}
}

static gboolean
key_equals(cbor_item_t *item, const char *key)
{
	gsize key_len = strlen(key);
	g_autofree guint8 *buf = NULL;

	if (!cbor_isa_string(item) || string_total_length(item) != key_len)
		return FALSE;
	if (cbor_string_is_definite(item))
		return key_len == 0 || memcmp(cbor_string_handle(item), key, key_len) == 0;
	buf = g_malloc(key_len + 1);
	string_copy(item, buf);
	return memcmp(buf, key, key_len) == 0;
}

cbor_item_t *
smp_map_get(cbor_item_t *map, const char *key)
{
	struct cbor_pair *pairs;
	gsize n;

	if (map == NULL || !cbor_isa_map(map))
		return NULL;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (gsize i = 0; i < n; i++) {
		if (pairs[i].key != NULL && pairs[i].value != NULL && key_equals(pairs[i].key, key))
			return pairs[i].value;
	}
	return NULL;
}

gboolean
smp_map_get_uint(cbor_item_t *map, const char *key, guint64 *out)
{
	cbor_item_t *item = smp_map_get(map, key);

	if (item == NULL || !cbor_isa_uint(item))
		return FALSE;
	*out = cbor_get_int(item);
	return TRUE;
}

gboolean
smp_map_get_int(cbor_item_t *map, const char *key, gint64 *out)
{
	cbor_item_t *item = smp_map_get(map, key);
	guint64 raw;

	if (item == NULL || !(cbor_isa_uint(item) || cbor_isa_negint(item)))
		return FALSE;
	raw = cbor_get_int(item);
	if (raw > (guint64)G_MAXINT64)
		return FALSE;
	/* a CBOR negative integer n stands for -1 - n */
	*out = cbor_isa_uint(item) ? (gint64)raw : -1 - (gint64)raw;
	return TRUE;
}

gboolean
smp_map_get_bool(cbor_item_t *map, const char *key, gboolean *out)
{
	cbor_item_t *item = smp_map_get(map, key);

	if (item == NULL || !cbor_is_bool(item))
		return FALSE;
	*out = cbor_get_bool(item);
	return TRUE;
}

GBytes *
smp_map_get_bytes(cbor_item_t *map, const char *key)
{
	cbor_item_t *item = smp_map_get(map, key);
	gsize len;
	guint8 *buf;

	if (item == NULL || !cbor_isa_bytestring(item))
		return NULL;
	len = string_total_length(item);
	buf = g_malloc(len + 1);
	string_copy(item, buf);
	return g_bytes_new_take(buf, len);
}

char *
smp_map_get_text(cbor_item_t *map, const char *key)
{
	cbor_item_t *item = smp_map_get(map, key);
	gsize len;
	char *buf;

	if (item == NULL || !cbor_isa_string(item))
		return NULL;
	len = string_total_length(item);
	buf = g_malloc(len + 1);
	string_copy(item, (guint8 *)buf);
	buf[len] = '\0';
	return buf;
}

cbor_item_t **
smp_array_items(cbor_item_t *array, gsize *n_items)
{
	cbor_item_t **items;
	gsize n;

	if (array == NULL || !cbor_isa_array(array))
		return NULL;
	n = cbor_array_size(array);
	/* borrowed items in a new vector; the caller frees only the vector */
	items = g_new0(cbor_item_t *, n + 1);
	if (n > 0)
		memcpy(items, cbor_array_handle(array), n * sizeof(cbor_item_t *));
	if (n_items != NULL)
		*n_items = n;
	return items;
}

cbor_item_t *
smp_map_new(void)
{
	/* indefinite so it can grow; smp_message_encode() always writes definite lengths */
	return cbor_new_indefinite_map();
}

void
smp_map_add_item(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	struct cbor_pair pair = {.key = cbor_move(cbor_build_string(key)), .value = cbor_move(value)};

	if (!cbor_map_add(map, pair))
		g_error("out of memory growing a CBOR map");
}

void
smp_map_add_uint(cbor_item_t *map, const char *key, guint64 value)
{
	smp_map_add_item(map, key, cbor_build_uint64(value));
}

void
smp_map_add_int(cbor_item_t *map, const char *key, gint64 value)
{
	if (value >= 0)
		smp_map_add_item(map, key, cbor_build_uint64((guint64)value));
	else
		smp_map_add_item(map, key, cbor_build_negint64((guint64)(-1 - value)));
}

void
smp_map_add_bool(cbor_item_t *map, const char *key, gboolean value)
{
	smp_map_add_item(map, key, cbor_build_bool(value));
}

void
smp_map_add_bytes(cbor_item_t *map, const char *key, const guint8 *data, gsize len)
{
	smp_map_add_item(map, key, cbor_build_bytestring(data, len));
}

void
smp_map_add_text(cbor_item_t *map, const char *key, const char *value)
{
	smp_map_add_item(map, key, cbor_build_string(value));
}

/*
 * The encoder walks the tree itself so that every container and string is
 * written with a definite length and every integer in its shortest form,
 * whatever widths the items were built or decoded with.
 */
static gsize
cbor_encoded_size(cbor_item_t *item)
{
	gsize size = 0;

	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		return smp_cbor_uint_size(cbor_get_int(item));
	case CBOR_TYPE_BYTESTRING:
	case CBOR_TYPE_STRING: {
		gsize len = string_total_length(item);
		return smp_cbor_uint_size(len) + len;
	}
	case CBOR_TYPE_ARRAY: {
		cbor_item_t **items = cbor_array_handle(item);
		gsize n = cbor_array_size(item);
		size = smp_cbor_uint_size(n);
		for (gsize i = 0; i < n; i++)
			size += cbor_encoded_size(items[i]);
		return size;
	}
	case CBOR_TYPE_MAP: {
		struct cbor_pair *pairs = cbor_map_handle(item);
		gsize n = cbor_map_size(item);
		size = smp_cbor_uint_size(n);
		for (gsize i = 0; i < n; i++)
			size += cbor_encoded_size(pairs[i].key) + cbor_encoded_size(pairs[i].value);
		return size;
	}
	case CBOR_TYPE_TAG: {
		cbor_item_t *inner = cbor_tag_item(item);
		size = smp_cbor_uint_size(cbor_tag_value(item)) + cbor_encoded_size(inner);
		cbor_decref(&inner);
		return size;
	}
	case CBOR_TYPE_FLOAT_CTRL:
		switch (cbor_float_get_width(item)) {
		case CBOR_FLOAT_0:
			return 1;
		case CBOR_FLOAT_16:
			return 3;
		case CBOR_FLOAT_32:
			return 5;
		case CBOR_FLOAT_64:
			return 9;
		}
		break;
	}
	return 0;
}

static gsize
cbor_encode_item(cbor_item_t *item, guint8 *out, gsize size)
{
	gsize done;

	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
		return cbor_encode_uint(cbor_get_int(item), out, size);
	case CBOR_TYPE_NEGINT:
		return cbor_encode_negint(cbor_get_int(item), out, size);
	case CBOR_TYPE_BYTESTRING:
	case CBOR_TYPE_STRING: {
		gsize len = string_total_length(item);
		done = cbor_isa_bytestring(item) ? cbor_encode_bytestring_start(len, out, size)
		                                 : cbor_encode_string_start(len, out, size);
		if (done == 0 || size - done < len)
			return 0;
		string_copy(item, out + done);
		return done + len;
	}
	case CBOR_TYPE_ARRAY: {
		cbor_item_t **items = cbor_array_handle(item);
		gsize n = cbor_array_size(item);
		done = cbor_encode_array_start(n, out, size);
		for (gsize i = 0; i < n && done > 0; i++) {
			gsize step = cbor_encode_item(items[i], out + done, size - done);
			done = step == 0 ? 0 : done + step;
		}
		return done;
	}
	case CBOR_TYPE_MAP: {
		struct cbor_pair *pairs = cbor_map_handle(item);
		gsize n = cbor_map_size(item);
		done = cbor_encode_map_start(n, out, size);
		for (gsize i = 0; i < n && done > 0; i++) {
			gsize step = cbor_encode_item(pairs[i].key, out + done, size - done);
			done = step == 0 ? 0 : done + step;
			if (done == 0)
				break;
			step = cbor_encode_item(pairs[i].value, out + done, size - done);
			done = step == 0 ? 0 : done + step;
		}
		return done;
	}
	case CBOR_TYPE_TAG: {
		cbor_item_t *inner = cbor_tag_item(item);
		gsize step = 0;
		done = cbor_encode_tag(cbor_tag_value(item), out, size);
		if (done > 0)
			step = cbor_encode_item(inner, out + done, size - done);
		cbor_decref(&inner);
		return step == 0 ? 0 : done + step;
	}
	case CBOR_TYPE_FLOAT_CTRL:
		switch (cbor_float_get_width(item)) {
		case CBOR_FLOAT_0:
			return cbor_encode_ctrl(cbor_ctrl_value(item), out, size);
		case CBOR_FLOAT_16:
			return cbor_encode_half(cbor_float_get_float2(item), out, size);
		case CBOR_FLOAT_32:
			return cbor_encode_single(cbor_float_get_float4(item), out, size);
		case CBOR_FLOAT_64:
			return cbor_encode_double(cbor_float_get_float8(item), out, size);
		}
		break;
	}
	return 0;
}

GBytes *
smp_message_encode(const SmpHeader *hdr, cbor_item_t *payload)
{
	static const guint8 empty_map = 0xa0;
	SmpHeader out_hdr = *hdr;
	gsize payload_size = payload != NULL ? cbor_encoded_size(payload) : 1;
	guint8 *buf;

	g_return_val_if_fail(payload_size <= G_MAXUINT16, NULL);
	buf = g_malloc(SMP_HEADER_SIZE + payload_size);
	out_hdr.len = (guint16)payload_size;
	smp_header_write(&out_hdr, buf);
	if (payload == NULL)
		buf[SMP_HEADER_SIZE] = empty_map;
	else if (cbor_encode_item(payload, buf + SMP_HEADER_SIZE, payload_size) != payload_size)
		g_error("CBOR encoder and size computation disagree");
	return g_bytes_new_take(buf, SMP_HEADER_SIZE + payload_size);
}

void
smp_error_clear(SmpError *err)
{
	g_clear_pointer(&err->rsn, g_free);
	memset(err, 0, sizeof(*err));
}

gboolean
smp_response_get_error(cbor_item_t *payload, SmpError *err)
{
	cbor_item_t *group_err = smp_map_get(payload, "err");
	guint64 rc = 0;
	guint64 group = 0;

	smp_error_clear(err);
	if (group_err != NULL && smp_map_get_uint(group_err, "rc", &rc) && rc != 0) {
		/* a group error without its group is still an error, of group 0 */
		smp_map_get_uint(group_err, "group", &group);
		err->present = TRUE;
		err->v2 = TRUE;
		err->group = (guint)MIN(group, G_MAXUINT);
		err->rc = (guint)MIN(rc, G_MAXUINT);
	} else if (smp_map_get_uint(payload, "rc", &rc) && rc != 0) {
		err->present = TRUE;
		err->rc = (guint)MIN(rc, G_MAXUINT);
	} else {
		return FALSE;
	}
	err->rsn = smp_map_get_text(payload, "rsn");
	return TRUE;
}

static const char *const smp_rc_names[] = {
        "EOK",
        "EUNKNOWN",
        "ENOMEM",
        "EINVAL",
        "ETIMEOUT",
        "ENOENT",
        "EBADSTATE",
        "EMSGSIZE",
        "ENOTSUP",
        "ECORRUPT",
        "EBUSY",
        "EACCESSDENIED",
        "UNSUPPORTED_TOO_OLD",
        "UNSUPPORTED_TOO_NEW",
};

static const char *const img_mgmt_err_names[] = {
        "IMG_MGMT_ERR_OK",
        "IMG_MGMT_ERR_UNKNOWN",
        "IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL",
        "IMG_MGMT_ERR_NO_IMAGE",
        "IMG_MGMT_ERR_NO_TLVS",
        "IMG_MGMT_ERR_INVALID_TLV",
        "IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND",
        "IMG_MGMT_ERR_TLV_INVALID_SIZE",
        "IMG_MGMT_ERR_HASH_NOT_FOUND",
        "IMG_MGMT_ERR_NO_FREE_SLOT",
        "IMG_MGMT_ERR_FLASH_OPEN_FAILED",
        "IMG_MGMT_ERR_FLASH_READ_FAILED",
        "IMG_MGMT_ERR_FLASH_WRITE_FAILED",
        "IMG_MGMT_ERR_FLASH_ERASE_FAILED",
        "IMG_MGMT_ERR_INVALID_SLOT",
        "IMG_MGMT_ERR_NO_FREE_MEMORY",
        "IMG_MGMT_ERR_FLASH_CONTEXT_ALREADY_SET",
        "IMG_MGMT_ERR_FLASH_CONTEXT_NOT_SET",
        "IMG_MGMT_ERR_FLASH_AREA_DEVICE_NULL",
        "IMG_MGMT_ERR_INVALID_PAGE_OFFSET",
        "IMG_MGMT_ERR_INVALID_OFFSET",
        "IMG_MGMT_ERR_INVALID_LENGTH",
        "IMG_MGMT_ERR_INVALID_IMAGE_HEADER",
        "IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC",
        "IMG_MGMT_ERR_INVALID_HASH",
        "IMG_MGMT_ERR_INVALID_FLASH_ADDRESS",
        "IMG_MGMT_ERR_VERSION_GET_FAILED",
        "IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER",
        "IMG_MGMT_ERR_IMAGE_ALREADY_PENDING",
        "IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE",
        "IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE",
        "IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN",
        "IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED",
        "IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED",
        "IMG_MGMT_ERR_ACTIVE_SLOT_NOT_KNOWN",
};

static const char *const os_mgmt_err_names[] = {
        "OS_MGMT_ERR_OK",
        "OS_MGMT_ERR_UNKNOWN",
        "OS_MGMT_ERR_INVALID_FORMAT",
        "OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER",
        "OS_MGMT_ERR_RTC_NOT_SET",
        "OS_MGMT_ERR_RTC_COMMAND_FAILED",
        "OS_MGMT_ERR_QUERY_RESPONSE_VALUE_NOT_VALID",
        "OS_MGMT_ERR_HEAP_STATS_FETCH_FAILED",
};

static const struct {
	guint group;
	const char *const *names;
	gsize n_names;
} group_rc_tables[] = {
        {SMP_GROUP_OS, os_mgmt_err_names, G_N_ELEMENTS(os_mgmt_err_names)},
        {SMP_GROUP_IMAGE, img_mgmt_err_names, G_N_ELEMENTS(img_mgmt_err_names)},
};

const char *
smp_rc_to_string(guint rc)
{
	if (rc < G_N_ELEMENTS(smp_rc_names))
		return smp_rc_names[rc];
	if (rc >= 256)
		return "EPERUSER";
	return "unknown";
}

const char *
smp_group_rc_to_string(guint group, guint rc)
{
	for (gsize i = 0; i < G_N_ELEMENTS(group_rc_tables); i++) {
		if (group_rc_tables[i].group == group)
			return rc < group_rc_tables[i].n_names ? group_rc_tables[i].names[rc] : "unknown";
	}
	return "unknown";
}
