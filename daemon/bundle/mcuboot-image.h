/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MCUBOOT_IMAGE_MAGIC 0x96f3b83du
#define MCUBOOT_HEADER_SIZE 32
#define MCUBOOT_TLV_INFO_MAGIC 0x6907
#define MCUBOOT_TLV_PROT_INFO_MAGIC 0x6908
#define MCUBOOT_TLV_SHA256 0x10
#define MCUBOOT_TLV_SHA384 0x11
#define MCUBOOT_TLV_SHA512 0x12
#define MCUBOOT_TLV_KEYHASH 0x01
#define MCUBOOT_TLV_RSA2048_PSS 0x20
#define MCUBOOT_TLV_ECDSA_SIG 0x22
#define MCUBOOT_TLV_RSA3072_PSS 0x23
#define MCUBOOT_TLV_ED25519 0x24
#define MCUBOOT_TLV_SEC_CNT 0x50
#define MCUBOOT_FLAG_ENCRYPTED_AES128 0x04u
#define MCUBOOT_FLAG_ENCRYPTED_AES256 0x08u
#define MCUBOOT_HASH_MAX 64
/* the end of a slot's trailer, as imgtool --pad writes it */
#define MCUBOOT_TRAILER_MAGIC_SIZE 16
extern const guint8 mcuboot_trailer_magic[MCUBOOT_TRAILER_MAGIC_SIZE];

typedef struct {
	guint8 major;
	guint8 minor;
	guint16 revision;
	guint32 build;
} McubootVersion;

typedef struct {
	guint32 load_addr;
	guint16 hdr_size;
	guint16 protect_tlv_size;
	guint32 img_size;
	guint32 flags;
	McubootVersion version;
	/* the image hash from the SHA TLV, checked against the recomputed digest */
	guint8 hash[MCUBOOT_HASH_MAX];
	gsize hash_len;
	guint hash_tlv_type;
	/* the signature TLV if any (type 0 when unsigned); offsets into the image */
	guint sig_tlv_type;
	gsize sig_offset;
	gsize sig_len;
	/* total bytes the image occupies: header, payload and both TLV areas */
	gsize total_size;
	/* the hash covers the plaintext, so it was taken from the TLV unchecked */
	gboolean encrypted;
} McubootImageInfo;

/*
 * Parses and checks an MCUboot image: magic, sizes within the buffer, TLV
 * areas well formed, exactly one SHA-256/512 TLV whose value equals the digest
 * recomputed over [0, hdr_size + img_size + protect_tlv_size). Errors are in
 * DFU_ERROR: MALFORMED_IMAGE for structure, CHECKSUM_MISMATCH for the digest,
 * UNSUPPORTED_BUNDLE for a SHA-384-only image (img_mgmt cannot list it).
 * Encrypted images are accepted with their hash unchecked (info->encrypted).
 * Bytes after the TLV area (padding) are allowed.
 */
gboolean mcuboot_image_parse(const guint8 *data, gsize len, McubootImageInfo *info, GError **error);
/*
 * What follows the image (info->total_size) in a file of len bytes must be
 * imgtool's padding: the erased value (0xff, or 0x00 with --erased-val 0) up
 * to the slot size, optionally ending in a trailer (magic, image_ok set by
 * --confirm). Anything else is MALFORMED_IMAGE: MCUboot never reads it as
 * part of the image, and it usually means a wrong file (images joined, a
 * conversion with the wrong base).
 */
gboolean mcuboot_image_check_padding(const guint8 *data, gsize len, const McubootImageInfo *info,
                                     GError **error);
/* "1.2.3" or "1.2.3.4" when build != 0 (as image list shows it) */
char *mcuboot_version_to_string(const McubootVersion *version);
/* strcmp-like; build compared last */
int mcuboot_version_compare(const McubootVersion *a, const McubootVersion *b);
/* parses "1.2.3", "1.2.3.4" and "1.2.3+4" */
gboolean mcuboot_version_parse(const char *str, McubootVersion *version);

G_END_DECLS
