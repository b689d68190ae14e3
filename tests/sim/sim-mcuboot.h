/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mcuboot-image.h"

G_BEGIN_DECLS

/*
 * An MCUboot device as img_mgmt sees it: per image two slots, RAM-only
 * upload sessions, test / confirm / revert across reboots. In the swap modes
 * slot 0 runs and slot 1 takes the update; in direct-XIP and RAM-load the
 * slots are equals and every boot picks the highest valid version. Pure
 * state, no I/O and no timers: the SMP server turns requests into these
 * calls and applies the delays they report.
 */

/* the bootloader's modes; a zeroed config is swap using scratch */
typedef enum {
	SIM_BOOT_SWAP_SCRATCH,
	SIM_BOOT_SWAP_MOVE,
	SIM_BOOT_OVERWRITE,
	SIM_BOOT_DIRECT_XIP,
	SIM_BOOT_DIRECT_XIP_REVERT,
	SIM_BOOT_RAM_LOAD,
	SIM_BOOT_SINGLE,
	SIM_BOOT_SWAP_OFFSET,
	SIM_BOOT_RAM_LOAD_REVERT, /* reports RAM-load, as MCUboot does; test and confirm work */
	SIM_BOOT_FIRMWARE_LOADER, /* one application slot; a loader image takes updates into it */
} SimBootMode;

/* flash address of slot s of image i: SIM_FLASH_SLOT_BASE + (2 i + s) × slot size */
#define SIM_FLASH_SLOT_BASE 0x00020000u

/* img_mgmt_err_code_t values the model answers with */
typedef enum {
	SIM_IMG_OK = 0,
	SIM_IMG_ERR_UNKNOWN = 1,
	SIM_IMG_ERR_HASH_NOT_FOUND = 8,
	SIM_IMG_ERR_NO_FREE_SLOT = 9,
	SIM_IMG_ERR_FLASH_WRITE_FAILED = 12,
	SIM_IMG_ERR_INVALID_SLOT = 14,
	SIM_IMG_ERR_INVALID_LENGTH = 21,
	SIM_IMG_ERR_INVALID_IMAGE_HEADER = 22,
	SIM_IMG_ERR_INVALID_IMAGE_HEADER_MAGIC = 23,
	SIM_IMG_ERR_INVALID_HASH = 24,
	SIM_IMG_ERR_CURRENT_VERSION_IS_NEWER = 27,
	SIM_IMG_ERR_INVALID_IMAGE_TOO_LARGE = 30,
	SIM_IMG_ERR_INVALID_IMAGE_DATA_OVERRUN = 31,
	SIM_IMG_ERR_TEST_TO_ACTIVE_DENIED = 33,
} SimImgErr;

typedef enum {
	SIM_PENDING_NONE,
	SIM_PENDING_TEST,
	SIM_PENDING_PERM,
} SimPending;

typedef struct {
	guint images;
	gsize slot_size;
	McubootVersion running_version;
	gboolean image_check;  /* answer `match` when a 32-byte sha was given */
	gboolean boot_rejects; /* the bootloader refuses every new image */
	gboolean refuse_test;  /* state write test fails */
	guint erase_ms;        /* erasing a slot before a session's first write */
	guint write_us_per_kb;
	SimBootMode mode;
	gboolean no_bootloader_info; /* bootloader info not built in: rc 8 */
	gboolean start_in_loader;    /* single slot, firmware loader: the bootloader has the device */
	gboolean ignore_boot_mode;   /* a reset with boot_mode 1 reboots into the application */
	gboolean allow_wrong_slot;   /* img_mgmt takes ROM_FIXED images linked for the other slot */
} SimMcubootConfig;

/* what img_mgmt reports for one slot holding a parseable image */
typedef struct {
	McubootImageInfo info;
	gboolean bootable;
	gboolean pending;
	gboolean confirmed;
	gboolean active;
	gboolean permanent;
} SimSlotState;

typedef struct {
	guint64 off;
	const guint8 *data;
	gsize data_len;
	gboolean has_len; /* the off-0 fields */
	guint64 len;
	guint image;
	const guint8 *sha;
	gsize sha_len;
	gboolean upgrade;
} SimUploadRequest;

typedef struct {
	guint64 off;      /* the next offset the device expects */
	int match;        /* -1 not sent, 0 false, 1 true */
	gsize written;    /* bytes this request put into flash */
	guint64 delay_us; /* flash time this request took */
} SimUploadResult;

typedef struct _SimMcuboot SimMcuboot;

SimMcuboot *sim_mcuboot_new(const SimMcubootConfig *config, GError **error);
void sim_mcuboot_free(SimMcuboot *self);
guint sim_mcuboot_get_images(SimMcuboot *self);
const SimMcubootConfig *sim_mcuboot_get_config(SimMcuboot *self);
/* the mode as bootloader info reports it (MCUboot's enum mcuboot_mode) */
guint sim_mcuboot_get_mode_number(SimMcuboot *self);
/* the slots are equals (direct-XIP, RAM-load) */
gboolean sim_mcuboot_equal_slots(SimMcuboot *self);
/* how many slots each image has: 1 in single-slot mode */
guint sim_mcuboot_get_slots(SimMcuboot *self);
/* img_mgmt has a state write handler (not in direct-XIP without revert, nor RAM-load) */
gboolean sim_mcuboot_has_state_write(SimMcuboot *self);
/* FALSE for an off-0 request whose ROM_FIXED image is linked for another slot, when refused */
gboolean sim_mcuboot_upload_address_ok(SimMcuboot *self, const SimUploadRequest *req);
gsize sim_mcuboot_get_slot_size(SimMcuboot *self);

/* FALSE when the slot holds no parseable image (or does not exist) */
gboolean sim_mcuboot_slot_state(SimMcuboot *self, guint image, guint slot, SimSlotState *out);

SimImgErr sim_mcuboot_upload(SimMcuboot *self, const SimUploadRequest *req, SimUploadResult *out);
/* hash NULL with confirm: confirm the running image */
SimImgErr sim_mcuboot_state_write(SimMcuboot *self, const guint8 *hash, gsize hash_len, gboolean confirm);
/* erase the secondary slot of image (refused while it is pending or kept for a revert) */
SimImgErr sim_mcuboot_erase(SimMcuboot *self, guint image, guint64 *delay_us);
/* a reboot: upload state (RAM) is lost, then the bootloader swaps or reverts */
void sim_mcuboot_reboot(SimMcuboot *self);
/*
 * Single slot and firmware loader: the next reboot stays in MCUboot's serial
 * recovery, or starts the firmware loader (a reset with boot_mode 1, as
 * Zephyr's retention boot mode asks for); FALSE in the other modes. There an
 * upload goes straight to slot 0 and nothing runs from it until the next
 * reboot, which starts the application again. FALSE too when the device
 * ignores boot modes.
 */
gboolean sim_mcuboot_request_loader(SimMcuboot *self);
/* the device runs its serial recovery or firmware loader, not the application */
gboolean sim_mcuboot_in_loader(SimMcuboot *self);

/* bumped whenever what the state file shows changes: slot flags, or slot
 * contents outside an upload's middle chunks */
guint64 sim_mcuboot_get_generation(SimMcuboot *self);
/* bumped by the middle chunks of an upload, which change only slot bytes and counters */
guint64 sim_mcuboot_get_data_generation(SimMcuboot *self);
/* the raw slot bytes (for tests) */
const guint8 *sim_mcuboot_peek_slot(SimMcuboot *self, guint image, guint slot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimMcuboot, sim_mcuboot_free)

G_END_DECLS
