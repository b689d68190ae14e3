/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Every job ends with exactly one of these. The ranges carry meaning so that a
 * script can act on a range without knowing every code:
 *   0-9 outcome, 10-99 recoverable (retried), 100-149 device refused or failed,
 *   150-199 bundle is wrong, 200-249 job control.
 * The values are ABI: never renumber, only append.
 */
typedef enum {
	DFU_STATUS_NONE = 0,
	DFU_STATUS_SUCCESS = 1,
	DFU_STATUS_STAGED = 2,
	DFU_STATUS_UP_TO_DATE = 3,
	DFU_STATUS_PENDING = 4,

	DFU_STATUS_LINK_NOT_FOUND = 10,
	DFU_STATUS_CONNECT_FAILED = 11,
	DFU_STATUS_RESPONSE_TIMEOUT = 12,
	DFU_STATUS_LINK_LOST = 13,
	DFU_STATUS_DEVICE_BUSY = 14,
	DFU_STATUS_FETCH_FAILED = 15,
	DFU_STATUS_PROTOCOL_ERROR = 16,
	DFU_STATUS_UPLOAD_CORRUPTED = 17,
	DFU_STATUS_DEVICE_NOT_BACK = 18,

	DFU_STATUS_NOT_SUPPORTED = 100,
	DFU_STATUS_IMAGE_REJECTED = 101,
	DFU_STATUS_NO_ROOM = 102,
	DFU_STATUS_ROLLED_BACK = 103,
	DFU_STATUS_WRONG_VERSION = 104,
	DFU_STATUS_AUTH_REQUIRED = 105,
	DFU_STATUS_DEVICE_ERROR = 106,
	DFU_STATUS_TEST_REFUSED = 107,
	DFU_STATUS_CONFIRM_REFUSED = 108,
	DFU_STATUS_DEVICE_REFUSED_DOWNGRADE = 109,
	DFU_STATUS_UPLOAD_REFUSED = 110,
	DFU_STATUS_DEVICE_MISMATCH = 111,
	DFU_STATUS_PUSH_NOT_SUPPORTED = 114,
	DFU_STATUS_PUSH_FAILED = 115,
	DFU_STATUS_MESH_SILENT = 118,
	DFU_STATUS_MESH_GARBLED = 119,
	DFU_STATUS_MESH_NOT_HEARD = 120,
	DFU_STATUS_MESH_ECHO_MISMATCH = 121,
	DFU_STATUS_MESH_BOOTLOADER = 122,
	DFU_STATUS_MESH_LINE_ERRORS = 123,

	DFU_STATUS_BUNDLE_UNREADABLE = 150,
	DFU_STATUS_MALFORMED_ZIP = 151,
	DFU_STATUS_MALFORMED_MANIFEST = 152,
	DFU_STATUS_MALFORMED_IMAGE = 153,
	DFU_STATUS_BAD_SIGNATURE = 154,
	DFU_STATUS_CHECKSUM_MISMATCH = 155,
	DFU_STATUS_BOARD_MISMATCH = 156,
	DFU_STATUS_IMAGE_TOO_LARGE = 157,
	DFU_STATUS_UNSUPPORTED_BUNDLE = 158,
	DFU_STATUS_DOWNGRADE = 159,
	DFU_STATUS_FETCH_REFUSED = 160,
	DFU_STATUS_IMAGE_KIND_MISMATCH = 162,
	DFU_STATUS_MESH_NOT_NEWER = 164,
	DFU_STATUS_MESH_OTHER_FIRMWARE = 165,
	DFU_STATUS_MESH_UNSIGNED = 166,
	DFU_STATUS_MESH_WRONG_KEY = 167,

	DFU_STATUS_CANCELLED = 200,
	DFU_STATUS_PERMISSION_DENIED = 201,
	DFU_STATUS_DAEMON_STOPPED = 202,
	DFU_STATUS_INVALID_ARGUMENT = 203,
	DFU_STATUS_NOT_FOUND = 204,
	DFU_STATUS_STORAGE_ERROR = 205,
	DFU_STATUS_INTERNAL_ERROR = 206,
	DFU_STATUS_NOT_FINISHED = 207,
	DFU_STATUS_CRASH_LOOP = 208,
	DFU_STATUS_NOTHING_STAGED = 209,
} DfuStatus;

typedef enum {
	DFU_STATUS_KIND_OUTCOME,
	DFU_STATUS_KIND_RECOVERABLE,
	DFU_STATUS_KIND_DEVICE,
	DFU_STATUS_KIND_BUNDLE,
	DFU_STATUS_KIND_JOB,
} DfuStatusKind;

typedef struct {
	DfuStatus code;
	const char *name;       /* "link-lost": StatusName on D-Bus, dfuctl output */
	const char *dbus_error; /* "LinkLost": suffix of org.dfud1.Error.* */
	const char *summary;    /* one line, what happened */
	const char *hint;       /* likely causes and what to try */
} DfuStatusInfo;

const DfuStatusInfo *dfu_status_lookup(guint code);
const DfuStatusInfo *dfu_status_lookup_name(const char *name);
const DfuStatusInfo *dfu_status_table(gsize *n_entries);
const char *dfu_status_to_name(guint code);
DfuStatusKind dfu_status_kind(guint code);
gboolean dfu_status_is_recoverable(guint code);
gboolean dfu_status_is_failure(guint code);
const char *dfu_status_kind_to_string(DfuStatusKind kind);

G_END_DECLS
