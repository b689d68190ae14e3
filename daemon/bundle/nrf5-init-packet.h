/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* InitCommand.type */
typedef enum {
	NRF5_INIT_APPLICATION = 0,
	NRF5_INIT_SOFTDEVICE = 1,
	NRF5_INIT_BOOTLOADER = 2,
	NRF5_INIT_SOFTDEVICE_BOOTLOADER = 3,
	NRF5_INIT_EXTERNAL_APPLICATION = 4,
} Nrf5InitType;

#define NRF5_INIT_HASH_SHA256 3

/*
 * What an nRF5 init packet (.dat, protobuf) says: the fields of its
 * InitCommand and whether a SignedCommand wraps it. Read for the package's
 * own checks and for inspect; the packet itself is sent unchanged.
 */
typedef struct {
	guint32 fw_version;
	guint32 hw_version;
	GArray *sd_req; /* guint32 FWIDs the image accepts */
	guint32 type;   /* Nrf5InitType */
	guint32 sd_size;
	guint32 bl_size;
	guint32 app_size;
	guint32 hash_type; /* 0 none, 1 CRC, 2 SHA-128, 3 SHA-256, 4 SHA-512 */
	guint8 hash[64];   /* as stored: nrfutil writes SHA-256 little-endian */
	gsize hash_len;
	gboolean is_debug;
	gboolean is_signed;
	guint32 signature_type; /* 0 ECDSA P-256 SHA-256, 1 Ed25519 */
	gsize signature_len;
} Nrf5InitPacket;

/* MALFORMED_IMAGE when the bytes are no protobuf or hold no InitCommand */
Nrf5InitPacket *nrf5_init_packet_parse(const guint8 *data, gsize len, GError **error);
void nrf5_init_packet_free(Nrf5InitPacket *init);
/* "application", "softdevice", … or NULL for a type the format does not define */
const char *nrf5_init_type_to_string(guint32 type);
const char *nrf5_init_hash_type_to_string(guint32 hash_type);
/* "ecdsa-p256-sha256", "ed25519", "unsigned" */
const char *nrf5_init_signature_to_string(const Nrf5InitPacket *init);
/* the image size the packet names: app_size, or sd_size + bl_size */
guint64 nrf5_init_packet_image_size(const Nrf5InitPacket *init);
/* the hash in the usual byte order (hex), NULL when there is none */
char *nrf5_init_packet_hash_hex(const Nrf5InitPacket *init);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Nrf5InitPacket, nrf5_init_packet_free)

G_END_DECLS
