/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mcuboot-image.h"

G_BEGIN_DECLS

/*
 * The trusted public keys: every *.pem file of a directory holding an EC P-256
 * or Ed25519 public key, in file name order. Other files are skipped.
 */
typedef struct _DfuKeyRing DfuKeyRing;

/* Fails with BAD_SIGNATURE when the directory cannot be read or holds no usable key. */
DfuKeyRing *dfu_key_ring_load(const char *dir, GError **error);
/* One key file as a ring of its own, e.g. the key a device holds; BAD_SIGNATURE when unusable. */
DfuKeyRing *dfu_key_ring_load_file(const char *path, GError **error);
guint dfu_key_ring_get_size(DfuKeyRing *ring);
/* TRUE when the ring holds an EC P-256 key */
gboolean dfu_key_ring_has_p256(DfuKeyRing *ring);
void dfu_key_ring_free(DfuKeyRing *ring);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuKeyRing, dfu_key_ring_free)

/*
 * Checks a detached signature over a whole bundle: ECDSA P-256 (DER) over its
 * SHA-256, or Ed25519 over its bytes. Returns the path of the key file that
 * verified (owned by @ring), or NULL with DFU_ERROR BAD_SIGNATURE.
 */
const char *dfu_signature_verify_bundle(DfuKeyRing *ring, GBytes *bundle, GBytes *signature, GError **error);

/*
 * Checks a raw 64-byte ECDSA P-256 signature (r||s, big-endian halves) over
 * the SHA-256 of @message with each P-256 key of @ring, as the nRF5 SDK for
 * Mesh signs. Returns the key file that verified (owned by @ring), or NULL
 * with BAD_SIGNATURE.
 */
const char *dfu_signature_verify_raw_p256(DfuKeyRing *ring, GBytes *message, const guint8 *sig,
                                          GError **error);

/*
 * Checks an MCUboot image's signature TLV (ECDSA_SIG, or ED25519 over the image
 * hash) for an image already parsed into @info. When the image carries a
 * KEYHASH, only the key with that hash is tried. Returns the key file that
 * verified (owned by @ring), or NULL with BAD_SIGNATURE naming what failed.
 */
const char *dfu_signature_verify_mcuboot(DfuKeyRing *ring, const guint8 *image, gsize len,
                                         const McubootImageInfo *info, GError **error);

/*
 * TRUE when a key of @ring could check the image's signature TLV: one of its
 * algorithm and, when the image carries a KEYHASH, with that hash.
 */
gboolean dfu_signature_mcuboot_has_key(DfuKeyRing *ring, const guint8 *image, gsize len,
                                       const McubootImageInfo *info);

/* Loads the keys of @key_dir and checks @sig_path against @bundle_path; returns the key path. */
char *dfu_signature_verify_file(const char *bundle_path, const char *sig_path, const char *key_dir,
                                GError **error);

G_END_DECLS
