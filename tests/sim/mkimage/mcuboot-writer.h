/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <openssl/evp.h>

#include "mcuboot-image.h"

G_BEGIN_DECLS

#define MCUBOOT_WRITER_DEFAULT_HDR_SIZE 0x200

/*
 * What to build. Zero-initialised options give a valid unsigned image with a
 * 0x200-byte header, an empty payload, SHA-256 and version 0.0.0.
 */
typedef struct {
	McubootVersion version;
	gsize payload_size;
	guint32 seed;     /* payload bytes are a pure function of seed and offset */
	guint16 hdr_size; /* 0 means MCUBOOT_WRITER_DEFAULT_HDR_SIZE */
	guint32 load_addr;
	guint32 flags;
	gboolean sha512;
	gboolean protected_tlv; /* add a protected area with SEC_CNT */
	guint32 security_counter;
	const char *sign_key_path; /* PEM EC P-256 or Ed25519 private key; NULL for unsigned */
	gsize pad_size; /* imgtool --pad: the file is this long, 0xff and the trailer magic after the image */
	/* knobs for broken images */
	gboolean bad_magic;
	gboolean bad_hash;
	gboolean truncate;
	gsize truncate_len; /* keep only this many bytes when truncate is set */
} McubootWriterOptions;

GBytes *mcuboot_writer_build(const McubootWriterOptions *opts, GError **error);
/* fills buf with the payload bytes the writer uses for this seed */
void mcuboot_writer_fill_payload(guint8 *buf, gsize len, guint32 seed);
/* writes a fresh EC P-256 private key as PEM, for signing tests */
gboolean mcuboot_writer_generate_key(const char *path, GError **error);
/* a PEM private key file */
EVP_PKEY *mcuboot_writer_load_private_key(const char *path, GError **error);
/* writes a fresh Ed25519 private key as PEM */
gboolean mcuboot_writer_generate_ed25519_key(const char *path, GError **error);
/* writes the public half of a PEM private key, as a verifier's key directory holds it */
gboolean mcuboot_writer_export_public_key(const char *key_path, const char *pub_path, GError **error);

G_END_DECLS
