/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mcuboot-image.h"
#include "smp-commands.h"

G_BEGIN_DECLS

/* image header flags that tie an image to a mode */
#define SMP_IMAGE_F_RAM_LOAD 0x20
#define SMP_IMAGE_F_ROM_FIXED 0x100

/* MCUboot's enum mcuboot_mode as bootloader info reports it, plus what dfud infers */
typedef enum {
	SMP_BOOT_MODE_UNKNOWN = -1,
	SMP_BOOT_MODE_SINGLE = 0,
	SMP_BOOT_MODE_SWAP_SCRATCH = 1,
	SMP_BOOT_MODE_OVERWRITE = 2,
	SMP_BOOT_MODE_SWAP_MOVE = 3,
	SMP_BOOT_MODE_DIRECT_XIP = 4,
	SMP_BOOT_MODE_DIRECT_XIP_REVERT = 5,
	SMP_BOOT_MODE_RAM_LOAD = 6,
	SMP_BOOT_MODE_FIRMWARE_LOADER = 7,
	SMP_BOOT_MODE_SINGLE_RAM_LOAD = 8,
	SMP_BOOT_MODE_SWAP_OFFSET = 9,
	/* inferred, not reported: direct-XIP or RAM-load, with or without revert */
	SMP_BOOT_MODE_EQUAL_SLOTS = 100,
} SmpBootMode;

typedef enum {
	SMP_BOOT_STEP_NO,
	SMP_BOOT_STEP_YES,
	SMP_BOOT_STEP_TRY, /* send it; a bare rc 8 means the mode needs none */
} SmpBootStep;

typedef struct {
	SmpBootMode mode;
	const char *name;
	gboolean updatable;   /* the running application can take an image into another slot; if
	                       * not, it goes through the bootloader after a reset into it */
	gboolean equal_slots; /* the highest version boots; uploads go to the non-active slot */
	SmpBootStep test;     /* state write test before the reset */
	SmpBootStep confirm;  /* state write confirm after the reset */
} SmpBootModeInfo;

/* never NULL: an unknown mode is run as a swap mode, as before modes were known */
const SmpBootModeInfo *smp_boot_mode_info(SmpBootMode mode);

/* clues, each SMP_BOOT_MODE_UNKNOWN when it tells nothing */
SmpBootMode smp_boot_mode_from_bootloader_info(cbor_item_t *payload);
SmpBootMode smp_boot_mode_from_image(const McubootImageInfo *info);
/* an image running from slot 1 */
SmpBootMode smp_boot_mode_from_state(GPtrArray *slots);
/* slot info listing a single slot for image 0 */
SmpBootMode smp_boot_mode_from_slot_info(cbor_item_t *payload);

G_END_DECLS
