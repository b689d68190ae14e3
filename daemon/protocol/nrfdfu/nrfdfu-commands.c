/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nrfdfu-commands.h"

#include "dfu-error.h"

static const char *const opcode_names[] = {
        [NRFDFU_OP_PROTOCOL_VERSION] = "protocol version",
        [NRFDFU_OP_CREATE] = "create",
        [NRFDFU_OP_SET_PRN] = "set PRN",
        [NRFDFU_OP_CRC] = "CRC",
        [NRFDFU_OP_EXECUTE] = "execute",
        [NRFDFU_OP_SELECT] = "select",
        [NRFDFU_OP_GET_MTU] = "get MTU",
        [NRFDFU_OP_WRITE] = "write",
        [NRFDFU_OP_PING] = "ping",
        [NRFDFU_OP_ABORT] = "abort",
};

typedef struct {
	const char *name;
	DfuStatus status;
} ErrorInfo;

static const ErrorInfo result_table[] = {
        [NRFDFU_RESULT_INVALID] = {"invalid opcode", DFU_STATUS_PROTOCOL_ERROR},
        [NRFDFU_RESULT_SUCCESS] = {"success", DFU_STATUS_SUCCESS},
        [NRFDFU_RESULT_OP_NOT_SUPPORTED] = {"opcode not supported", DFU_STATUS_NOT_SUPPORTED},
        [NRFDFU_RESULT_INVALID_PARAMETER] = {"invalid parameter", DFU_STATUS_DEVICE_ERROR},
        [NRFDFU_RESULT_INSUFFICIENT_RESOURCES] = {"insufficient resources", DFU_STATUS_IMAGE_TOO_LARGE},
        [NRFDFU_RESULT_INVALID_OBJECT] = {"invalid object", DFU_STATUS_IMAGE_REJECTED},
        [NRFDFU_RESULT_INVALID_SIGNATURE] = {"invalid signature", DFU_STATUS_IMAGE_REJECTED},
        [NRFDFU_RESULT_UNSUPPORTED_TYPE] = {"unsupported object type", DFU_STATUS_PROTOCOL_ERROR},
        [NRFDFU_RESULT_NOT_PERMITTED] = {"operation not permitted", DFU_STATUS_PROTOCOL_ERROR},
        [NRFDFU_RESULT_OPERATION_FAILED] = {"operation failed", DFU_STATUS_DEVICE_ERROR},
        [NRFDFU_RESULT_EXTENDED_ERROR] = {"extended error", DFU_STATUS_DEVICE_ERROR},
};

static const ErrorInfo extended_table[] = {
        [NRFDFU_EXT_NO_ERROR] = {"no error", DFU_STATUS_DEVICE_ERROR},
        [NRFDFU_EXT_INVALID_ERROR_CODE] = {"invalid error code", DFU_STATUS_DEVICE_ERROR},
        [NRFDFU_EXT_WRONG_COMMAND_FORMAT] = {"wrong command format", DFU_STATUS_MALFORMED_IMAGE},
        [NRFDFU_EXT_UNKNOWN_COMMAND] = {"unknown command in the init packet", DFU_STATUS_MALFORMED_IMAGE},
        [NRFDFU_EXT_INIT_COMMAND_INVALID] = {"init packet invalid", DFU_STATUS_MALFORMED_IMAGE},
        [NRFDFU_EXT_FW_VERSION_FAILURE] = {"firmware version too low", DFU_STATUS_DEVICE_REFUSED_DOWNGRADE},
        [NRFDFU_EXT_HW_VERSION_FAILURE] = {"wrong hardware version", DFU_STATUS_UPLOAD_REFUSED},
        [NRFDFU_EXT_SD_VERSION_FAILURE] = {"SoftDevice requirement not met", DFU_STATUS_UPLOAD_REFUSED},
        [NRFDFU_EXT_SIGNATURE_MISSING] = {"signature missing", DFU_STATUS_IMAGE_REJECTED},
        [NRFDFU_EXT_WRONG_HASH_TYPE] = {"hash type not supported", DFU_STATUS_UNSUPPORTED_BUNDLE},
        [NRFDFU_EXT_HASH_FAILED] = {"hash could not be computed", DFU_STATUS_DEVICE_ERROR},
        [NRFDFU_EXT_WRONG_SIGNATURE_TYPE] = {"signature type not supported", DFU_STATUS_UNSUPPORTED_BUNDLE},
        [NRFDFU_EXT_VERIFICATION_FAILED] = {"signature or hash verification failed",
                                            DFU_STATUS_IMAGE_REJECTED},
        [NRFDFU_EXT_INSUFFICIENT_SPACE] = {"not enough space for the firmware", DFU_STATUS_NO_ROOM},
        [NRFDFU_EXT_FW_ALREADY_PRESENT] = {"firmware already present", DFU_STATUS_UP_TO_DATE},
};

static guint32 crc_table[256];

static gpointer
build_crc_table(gpointer data)
{
	for (guint32 i = 0; i < 256; i++) {
		guint32 c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	return NULL;
}

guint32
nrfdfu_crc32(guint32 crc, const guint8 *data, gsize len)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, build_crc_table, NULL);
	crc = ~crc;
	for (gsize i = 0; i < len; i++)
		crc = crc_table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

GBytes *
nrfdfu_request(NrfDfuOpcode op, const guint8 *params, gsize len)
{
	GByteArray *out = g_byte_array_sized_new((guint)len + 1);
	const guint8 code = op;

	g_byte_array_append(out, &code, 1);
	if (len > 0)
		g_byte_array_append(out, params, (guint)len);
	return g_byte_array_free_to_bytes(out);
}

GBytes *
nrfdfu_request_create(NrfDfuObjectType type, guint32 size)
{
	const guint8 p[5] = {type, size & 0xFF, (size >> 8) & 0xFF, (size >> 16) & 0xFF, size >> 24};
	return nrfdfu_request(NRFDFU_OP_CREATE, p, sizeof(p));
}

GBytes *
nrfdfu_request_set_prn(guint16 prn)
{
	const guint8 p[2] = {prn & 0xFF, prn >> 8};
	return nrfdfu_request(NRFDFU_OP_SET_PRN, p, sizeof(p));
}

GBytes *
nrfdfu_request_select(NrfDfuObjectType type)
{
	const guint8 p = type;
	return nrfdfu_request(NRFDFU_OP_SELECT, &p, 1);
}

GBytes *
nrfdfu_request_ping(guint8 id)
{
	return nrfdfu_request(NRFDFU_OP_PING, &id, 1);
}

GBytes *
nrfdfu_response_new(guint8 op, guint8 result, guint8 ext, const guint8 *payload, gsize len)
{
	GByteArray *out = g_byte_array_new();
	const guint8 head[3] = {NRFDFU_OP_RESPONSE, op, result};

	g_byte_array_append(out, head, sizeof(head));
	if (result == NRFDFU_RESULT_EXTENDED_ERROR)
		g_byte_array_append(out, &ext, 1);
	if (len > 0)
		g_byte_array_append(out, payload, (guint)len);
	return g_byte_array_free_to_bytes(out);
}

gboolean
nrfdfu_response_parse(const guint8 *data, gsize len, NrfDfuResponse *rsp, GError **error)
{
	gsize head = 3;

	if (len < 3 || data[0] != NRFDFU_OP_RESPONSE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "not a DFU response (%" G_GSIZE_FORMAT " bytes, starting %02x)", len,
		            len > 0 ? data[0] : 0);
		return FALSE;
	}
	*rsp = (NrfDfuResponse){.opcode = data[1], .result = data[2]};
	if (rsp->result == NRFDFU_RESULT_EXTENDED_ERROR) {
		if (len < 4) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
			                    "extended error without its code");
			return FALSE;
		}
		rsp->extended = data[3];
		head = 4;
	}
	rsp->payload = data + head;
	rsp->payload_len = len - head;
	return TRUE;
}

static guint32
get_u32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static gboolean
check_payload(const NrfDfuResponse *rsp, gsize need, GError **error)
{
	if (rsp->payload_len >= need)
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
	            "%s response too short: %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " expected",
	            nrfdfu_opcode_to_string(rsp->opcode), rsp->payload_len, need);
	return FALSE;
}

gboolean
nrfdfu_response_get_select(const NrfDfuResponse *rsp, guint32 *max_size, guint32 *offset, guint32 *crc,
                           GError **error)
{
	if (!check_payload(rsp, 12, error))
		return FALSE;
	*max_size = get_u32(rsp->payload);
	*offset = get_u32(rsp->payload + 4);
	*crc = get_u32(rsp->payload + 8);
	return TRUE;
}

gboolean
nrfdfu_response_get_crc(const NrfDfuResponse *rsp, guint32 *offset, guint32 *crc, GError **error)
{
	if (!check_payload(rsp, 8, error))
		return FALSE;
	*offset = get_u32(rsp->payload);
	*crc = get_u32(rsp->payload + 4);
	return TRUE;
}

gboolean
nrfdfu_response_get_mtu(const NrfDfuResponse *rsp, guint16 *mtu, GError **error)
{
	if (!check_payload(rsp, 2, error))
		return FALSE;
	*mtu = (guint16)(rsp->payload[0] | rsp->payload[1] << 8);
	return TRUE;
}

const char *
nrfdfu_opcode_to_string(guint8 op)
{
	if (op < G_N_ELEMENTS(opcode_names) && opcode_names[op] != NULL)
		return opcode_names[op];
	return "unknown opcode";
}

static const ErrorInfo *
lookup(const ErrorInfo *table, gsize n, guint8 code)
{
	if (code < n && table[code].name != NULL)
		return &table[code];
	return NULL;
}

const char *
nrfdfu_result_to_string(guint8 result)
{
	const ErrorInfo *info = lookup(result_table, G_N_ELEMENTS(result_table), result);
	return info != NULL ? info->name : "unknown result";
}

const char *
nrfdfu_extended_error_to_string(guint8 ext)
{
	const ErrorInfo *info = lookup(extended_table, G_N_ELEMENTS(extended_table), ext);
	return info != NULL ? info->name : "unknown extended error";
}

DfuStatus
nrfdfu_response_status(const NrfDfuResponse *rsp)
{
	const ErrorInfo *info = rsp->result == NRFDFU_RESULT_EXTENDED_ERROR
	                                ? lookup(extended_table, G_N_ELEMENTS(extended_table), rsp->extended)
	                                : lookup(result_table, G_N_ELEMENTS(result_table), rsp->result);
	return info != NULL ? info->status : DFU_STATUS_DEVICE_ERROR;
}

GVariant *
nrfdfu_response_device_error(const NrfDfuResponse *rsp)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "opcode", g_variant_new_byte(rsp->opcode));
	g_variant_builder_add(&b, "{sv}", "nrf-result", g_variant_new_byte(rsp->result));
	if (rsp->result == NRFDFU_RESULT_EXTENDED_ERROR)
		g_variant_builder_add(&b, "{sv}", "nrf-extended-error", g_variant_new_byte(rsp->extended));
	return g_variant_builder_end(&b);
}

GError *
nrfdfu_response_error(const NrfDfuResponse *rsp)
{
	if (rsp->result == NRFDFU_RESULT_EXTENDED_ERROR)
		return g_error_new(DFU_ERROR, nrfdfu_response_status(rsp),
		                   "the bootloader refused %s: %s (extended error 0x%02x)",
		                   nrfdfu_opcode_to_string(rsp->opcode),
		                   nrfdfu_extended_error_to_string(rsp->extended), rsp->extended);
	return g_error_new(
	        DFU_ERROR, nrfdfu_response_status(rsp), "the bootloader refused %s: %s (result 0x%02x)",
	        nrfdfu_opcode_to_string(rsp->opcode), nrfdfu_result_to_string(rsp->result), rsp->result);
}
