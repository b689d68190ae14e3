/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "smp-message.h"

G_BEGIN_DECLS

/* the command's name for messages ("image upload"), "SMP group G command I" for others */
char *smp_command_describe(guint16 group, guint8 id);

/* Payload builders for the requests dfud sends (caller owns the item). */
cbor_item_t *smp_cmd_empty(void);
/*
 * Image upload chunk. At off 0 the session fields are added: len, image
 * (when != 0), sha (the SHA-256 of the whole file), upgrade (when TRUE).
 */
cbor_item_t *smp_cmd_image_upload(guint32 image, guint64 off, const guint8 *data, gsize data_len,
                                  guint64 total_len, const guint8 *sha, gsize sha_len, gboolean upgrade);
/* Exact size of the CBOR payload smp_cmd_image_upload() would build for these values. */
gsize smp_cmd_image_upload_size(guint32 image, guint64 off, gsize data_len, guint64 total_len, gsize sha_len,
                                gboolean upgrade);
/* state write: confirm FALSE = test; hash NULL with confirm = confirm the running image */
cbor_item_t *smp_cmd_image_state_write(const guint8 *hash, gsize hash_len, gboolean confirm);
cbor_item_t *smp_cmd_reset(gboolean force);
/* a reset into the bootloader's serial recovery or firmware loader (Zephyr's boot_mode 1) */
cbor_item_t *smp_cmd_reset_to_bootloader(void);
/* bootloader info (OS 8) asking one question, e.g. "mode" */
cbor_item_t *smp_cmd_bootloader_query(const char *query);
/* an echo request whose whole message (header included) is message_size bytes, or NULL if too small */
cbor_item_t *smp_cmd_echo_sized(gsize message_size);

/* mcumgr params (OS 6) */
typedef struct {
	guint buf_size;
	guint buf_count;
} SmpParams;
gboolean smp_rsp_params(cbor_item_t *payload, SmpParams *out, GError **error);

/* One slot of an image state list */
typedef struct {
	guint image;
	guint slot;
	char *version;
	GBytes *hash; /* NULL when the device lists none (MCUboot's serial recovery) */
	gboolean bootable;
	gboolean pending;
	gboolean confirmed;
	gboolean active;
	gboolean permanent;
} SmpImageSlot;

/* images list of a state read/write response; array of SmpImageSlot* (owning) */
GPtrArray *smp_rsp_image_state(cbor_item_t *payload, GError **error);
void smp_image_slot_free(SmpImageSlot *slot);
/* the slot whose hash equals hash (and image == image), NULL if none */
const SmpImageSlot *smp_image_state_find_hash(GPtrArray *slots, guint image, const guint8 *hash,
                                              gsize hash_len);
const SmpImageSlot *smp_image_state_find_slot(GPtrArray *slots, guint image, guint slot);

/* upload response: off (required), match (optional: -1 absent, 0 false, 1 true) */
gboolean smp_rsp_image_upload(cbor_item_t *payload, guint64 *off, int *match, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpImageSlot, smp_image_slot_free)

G_END_DECLS
