/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cbor.h>
#include <glib.h>

G_BEGIN_DECLS

/* MCUmgr SMP message: 8-byte big-endian header + one CBOR map. */
#define SMP_HEADER_SIZE 8
/* containers and tags inside one another that a device's payload may use */
#define SMP_PAYLOAD_MAX_DEPTH 32
#define SMP_GROUP_OS 0
#define SMP_GROUP_IMAGE 1
#define SMP_GROUP_ZEPHYR 63

#define SMP_OS_ECHO 0
#define SMP_OS_RESET 5
#define SMP_OS_PARAMS 6
#define SMP_OS_BOOTLOADER_INFO 8
#define SMP_IMAGE_STATE 0
#define SMP_IMAGE_UPLOAD 1
#define SMP_IMAGE_ERASE 5
#define SMP_IMAGE_SLOT_INFO 6

typedef enum {
	SMP_OP_READ = 0,
	SMP_OP_READ_RSP = 1,
	SMP_OP_WRITE = 2,
	SMP_OP_WRITE_RSP = 3,
} SmpOp;

/* mcumgr_err_t */
typedef enum {
	SMP_RC_OK = 0,
	SMP_RC_EUNKNOWN = 1,
	SMP_RC_ENOMEM = 2,
	SMP_RC_EINVAL = 3,
	SMP_RC_ETIMEOUT = 4,
	SMP_RC_ENOENT = 5,
	SMP_RC_EBADSTATE = 6,
	SMP_RC_EMSGSIZE = 7,
	SMP_RC_ENOTSUP = 8,
	SMP_RC_ECORRUPT = 9,
	SMP_RC_EBUSY = 10,
	SMP_RC_EACCESSDENIED = 11,
	SMP_RC_UNSUPPORTED_TOO_OLD = 12,
	SMP_RC_UNSUPPORTED_TOO_NEW = 13,
} SmpRc;

typedef struct {
	guint8 op;      /* SmpOp, 3 bits */
	guint8 version; /* 0 = v1, 1 = v2 */
	guint8 flags;
	guint16 len; /* payload length */
	guint16 group;
	guint8 seq;
	guint8 id;
} SmpHeader;

/* A decoded message: header + payload (NULL only when len == 0). */
typedef struct {
	SmpHeader hdr;
	cbor_item_t *payload;
} SmpMessage;

/* The error a response carries: v1 `rc` or v2 `err {group, rc}`. */
typedef struct {
	gboolean present; /* FALSE: success */
	gboolean v2;      /* TRUE when from an `err` map */
	guint group;      /* v2 only */
	guint rc;         /* SMP rc (v1) or group rc (v2) */
	char *rsn;        /* optional text, may be NULL */
} SmpError;

void smp_header_write(const SmpHeader *hdr, guint8 out[SMP_HEADER_SIZE]);
gboolean smp_header_parse(const guint8 *buf, gsize len, SmpHeader *hdr);

/*
 * Parses a whole message (header + payload). Fails (DFU_ERROR,
 * DFU_STATUS_PROTOCOL_ERROR) on short input, a length that does not match,
 * CBOR that is not one map, or trailing bytes. Definite- and
 * indefinite-length items are both accepted.
 */
SmpMessage *smp_message_parse(const guint8 *buf, gsize len, GError **error);
void smp_message_free(SmpMessage *msg);
/* Encodes header + payload (payload NULL = empty map A0). hdr->len is computed. */
GBytes *smp_message_encode(const SmpHeader *hdr, cbor_item_t *payload);

/* Map access that works on definite and indefinite maps alike; NULL when missing. */
cbor_item_t *smp_map_get(cbor_item_t *map, const char *key);
gboolean smp_map_get_uint(cbor_item_t *map, const char *key, guint64 *out);
gboolean smp_map_get_int(cbor_item_t *map, const char *key, gint64 *out);
gboolean smp_map_get_bool(cbor_item_t *map, const char *key, gboolean *out);
/* byte string (definite or chunked); returns a new GBytes or NULL */
GBytes *smp_map_get_bytes(cbor_item_t *map, const char *key);
/* text string (definite or chunked); returns a newly allocated string or NULL */
char *smp_map_get_text(cbor_item_t *map, const char *key);
/* NULL-terminated list of array items (definite or indefinite); NULL when not an array */
cbor_item_t **smp_array_items(cbor_item_t *array, gsize *n_items);

/* Map building helpers: keys are text, values as named. */
cbor_item_t *smp_map_new(void);
void smp_map_add_uint(cbor_item_t *map, const char *key, guint64 value);
void smp_map_add_int(cbor_item_t *map, const char *key, gint64 value);
void smp_map_add_bool(cbor_item_t *map, const char *key, gboolean value);
void smp_map_add_bytes(cbor_item_t *map, const char *key, const guint8 *data, gsize len);
void smp_map_add_text(cbor_item_t *map, const char *key, const char *value);
/* takes ownership of value */
void smp_map_add_item(cbor_item_t *map, const char *key, cbor_item_t *value);

/* Reads the error of a response payload into err (cleared first); FALSE if none. */
gboolean smp_response_get_error(cbor_item_t *payload, SmpError *err);
void smp_error_clear(SmpError *err);
/* "EBUSY", "ENOTSUP", ... for SMP rc; image group codes by their IMG_MGMT_ERR_ names */
const char *smp_rc_to_string(guint rc);
const char *smp_group_rc_to_string(guint group, guint rc);

/* Exact encoded size of an unsigned integer / a byte or text string header in CBOR. */
gsize smp_cbor_uint_size(guint64 value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpMessage, smp_message_free)

G_END_DECLS
