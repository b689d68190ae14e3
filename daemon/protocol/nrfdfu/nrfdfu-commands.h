/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-status.h"

G_BEGIN_DECLS

/*
 * Requests and responses of the nRF5 SDK Secure DFU bootloader (SDK 12-17).
 * A request is an opcode and its parameters; every response is
 * 60 <opcode> <result> [payload]. Integers are little-endian.
 */
typedef enum {
	NRFDFU_OP_PROTOCOL_VERSION = 0x00,
	NRFDFU_OP_CREATE = 0x01,
	NRFDFU_OP_SET_PRN = 0x02,
	NRFDFU_OP_CRC = 0x03,
	NRFDFU_OP_EXECUTE = 0x04,
	NRFDFU_OP_SELECT = 0x06,
	NRFDFU_OP_GET_MTU = 0x07,
	NRFDFU_OP_WRITE = 0x08,
	NRFDFU_OP_PING = 0x09,
	NRFDFU_OP_ABORT = 0x0C,
	NRFDFU_OP_RESPONSE = 0x60,
} NrfDfuOpcode;

typedef enum {
	NRFDFU_OBJECT_COMMAND = 1, /* the init packet */
	NRFDFU_OBJECT_DATA = 2,    /* the firmware */
} NrfDfuObjectType;

typedef enum {
	NRFDFU_RESULT_INVALID = 0x00,
	NRFDFU_RESULT_SUCCESS = 0x01,
	NRFDFU_RESULT_OP_NOT_SUPPORTED = 0x02,
	NRFDFU_RESULT_INVALID_PARAMETER = 0x03,
	NRFDFU_RESULT_INSUFFICIENT_RESOURCES = 0x04,
	NRFDFU_RESULT_INVALID_OBJECT = 0x05,
	NRFDFU_RESULT_INVALID_SIGNATURE = 0x06,
	NRFDFU_RESULT_UNSUPPORTED_TYPE = 0x07,
	NRFDFU_RESULT_NOT_PERMITTED = 0x08,
	NRFDFU_RESULT_OPERATION_FAILED = 0x0A,
	NRFDFU_RESULT_EXTENDED_ERROR = 0x0B,
} NrfDfuResult;

typedef enum {
	NRFDFU_EXT_NO_ERROR = 0x00,
	NRFDFU_EXT_INVALID_ERROR_CODE = 0x01,
	NRFDFU_EXT_WRONG_COMMAND_FORMAT = 0x02,
	NRFDFU_EXT_UNKNOWN_COMMAND = 0x03,
	NRFDFU_EXT_INIT_COMMAND_INVALID = 0x04,
	NRFDFU_EXT_FW_VERSION_FAILURE = 0x05,
	NRFDFU_EXT_HW_VERSION_FAILURE = 0x06,
	NRFDFU_EXT_SD_VERSION_FAILURE = 0x07,
	NRFDFU_EXT_SIGNATURE_MISSING = 0x08,
	NRFDFU_EXT_WRONG_HASH_TYPE = 0x09,
	NRFDFU_EXT_HASH_FAILED = 0x0A,
	NRFDFU_EXT_WRONG_SIGNATURE_TYPE = 0x0B,
	NRFDFU_EXT_VERIFICATION_FAILED = 0x0C,
	NRFDFU_EXT_INSUFFICIENT_SPACE = 0x0D,
	NRFDFU_EXT_FW_ALREADY_PRESENT = 0x0E,
} NrfDfuExtendedError;

/* zlib's CRC-32; the bootloader's CRC is cumulative from byte 0 of the image */
guint32 nrfdfu_crc32(guint32 crc, const guint8 *data, gsize len);

GBytes *nrfdfu_request(NrfDfuOpcode op, const guint8 *params, gsize len);
GBytes *nrfdfu_request_create(NrfDfuObjectType type, guint32 size);
GBytes *nrfdfu_request_set_prn(guint16 prn);
GBytes *nrfdfu_request_select(NrfDfuObjectType type);
GBytes *nrfdfu_request_ping(guint8 id);
/* a response as the bootloader sends it; ext only when result is EXTENDED_ERROR */
GBytes *nrfdfu_response_new(guint8 op, guint8 result, guint8 ext, const guint8 *payload, gsize len);

typedef struct {
	guint8 opcode;
	guint8 result;
	guint8 extended; /* valid when result is EXTENDED_ERROR */
	const guint8 *payload;
	gsize payload_len;
} NrfDfuResponse;

/* PROTOCOL_ERROR when the frame is no response */
gboolean nrfdfu_response_parse(const guint8 *data, gsize len, NrfDfuResponse *rsp, GError **error);
/* payloads of successful responses; PROTOCOL_ERROR when too short */
gboolean nrfdfu_response_get_select(const NrfDfuResponse *rsp, guint32 *max_size, guint32 *offset,
                                    guint32 *crc, GError **error);
gboolean nrfdfu_response_get_crc(const NrfDfuResponse *rsp, guint32 *offset, guint32 *crc, GError **error);
gboolean nrfdfu_response_get_mtu(const NrfDfuResponse *rsp, guint16 *mtu, GError **error);

const char *nrfdfu_opcode_to_string(guint8 op);
const char *nrfdfu_result_to_string(guint8 result);
const char *nrfdfu_extended_error_to_string(guint8 ext);
/* the dfud status of a refusal: 100-range when the device refuses, 150-range when the package is at fault */
DfuStatus nrfdfu_response_status(const NrfDfuResponse *rsp);
/* {"opcode", "nrf-result", "nrf-extended-error"} for DeviceError */
GVariant *nrfdfu_response_device_error(const NrfDfuResponse *rsp);
/* the GError of a refusal, naming the request and the bootloader's reason */
GError *nrfdfu_response_error(const NrfDfuResponse *rsp);

G_END_DECLS
