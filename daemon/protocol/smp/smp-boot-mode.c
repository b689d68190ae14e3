/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-boot-mode.h"

static const SmpBootModeInfo modes[] = {
        {SMP_BOOT_MODE_UNKNOWN, "unknown (run as a swap mode)", TRUE, FALSE, SMP_BOOT_STEP_YES,
         SMP_BOOT_STEP_YES},
        {SMP_BOOT_MODE_SINGLE, "single slot", FALSE, FALSE, SMP_BOOT_STEP_NO, SMP_BOOT_STEP_NO},
        {SMP_BOOT_MODE_SWAP_SCRATCH, "swap using scratch", TRUE, FALSE, SMP_BOOT_STEP_YES, SMP_BOOT_STEP_YES},
        {SMP_BOOT_MODE_OVERWRITE, "overwrite only", TRUE, FALSE, SMP_BOOT_STEP_YES, SMP_BOOT_STEP_YES},
        {SMP_BOOT_MODE_SWAP_MOVE, "swap using move", TRUE, FALSE, SMP_BOOT_STEP_YES, SMP_BOOT_STEP_YES},
        {SMP_BOOT_MODE_DIRECT_XIP, "direct-XIP", TRUE, TRUE, SMP_BOOT_STEP_NO, SMP_BOOT_STEP_NO},
        {SMP_BOOT_MODE_DIRECT_XIP_REVERT, "direct-XIP with revert", TRUE, TRUE, SMP_BOOT_STEP_YES,
         SMP_BOOT_STEP_YES},
        /* RAM-load with revert reports the same mode and needs test and confirm */
        {SMP_BOOT_MODE_RAM_LOAD, "RAM-load", TRUE, TRUE, SMP_BOOT_STEP_TRY, SMP_BOOT_STEP_TRY},
        {SMP_BOOT_MODE_FIRMWARE_LOADER, "firmware loader", FALSE, FALSE, SMP_BOOT_STEP_NO, SMP_BOOT_STEP_NO},
        {SMP_BOOT_MODE_SINGLE_RAM_LOAD, "single-slot RAM-load", FALSE, FALSE, SMP_BOOT_STEP_NO,
         SMP_BOOT_STEP_NO},
        {SMP_BOOT_MODE_SWAP_OFFSET, "swap using offset", TRUE, FALSE, SMP_BOOT_STEP_YES, SMP_BOOT_STEP_YES},
        {SMP_BOOT_MODE_EQUAL_SLOTS, "direct-XIP or RAM-load", TRUE, TRUE, SMP_BOOT_STEP_TRY,
         SMP_BOOT_STEP_TRY},
};

const SmpBootModeInfo *
smp_boot_mode_info(SmpBootMode mode)
{
	for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
		if (modes[i].mode == mode)
			return &modes[i];
	}
	return &modes[0];
}

SmpBootMode
smp_boot_mode_from_bootloader_info(cbor_item_t *payload)
{
	gint64 mode = -1;

	if (payload == NULL || !smp_map_get_int(payload, "mode", &mode))
		return SMP_BOOT_MODE_UNKNOWN;
	/* a mode this table does not know is no clue */
	if (mode < 0 || smp_boot_mode_info((SmpBootMode)mode)->mode != mode)
		return SMP_BOOT_MODE_UNKNOWN;
	return (SmpBootMode)mode;
}

SmpBootMode
smp_boot_mode_from_image(const McubootImageInfo *info)
{
	if (info->flags & SMP_IMAGE_F_RAM_LOAD)
		return SMP_BOOT_MODE_RAM_LOAD;
	if (info->flags & SMP_IMAGE_F_ROM_FIXED)
		return SMP_BOOT_MODE_EQUAL_SLOTS;
	return SMP_BOOT_MODE_UNKNOWN;
}

SmpBootMode
smp_boot_mode_from_state(GPtrArray *slots)
{
	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *s = g_ptr_array_index(slots, i);
		/* a swap bootloader always runs the primary slot */
		if (s->active && s->slot == 1)
			return SMP_BOOT_MODE_EQUAL_SLOTS;
	}
	return SMP_BOOT_MODE_UNKNOWN;
}

SmpBootMode
smp_boot_mode_from_slot_info(cbor_item_t *payload)
{
	gsize n_images = 0;
	g_autofree cbor_item_t **images = smp_array_items(smp_map_get(payload, "images"), &n_images);

	for (gsize i = 0; i < n_images; i++) {
		guint64 index = 0;
		gsize n_slots = 0;
		g_autofree cbor_item_t **slots = NULL;

		if (images[i] == NULL || !cbor_isa_map(images[i]))
			continue;
		smp_map_get_uint(images[i], "image", &index);
		if (index != 0)
			continue;
		slots = smp_array_items(smp_map_get(images[i], "slots"), &n_slots);
		return n_slots == 1 ? SMP_BOOT_MODE_SINGLE : SMP_BOOT_MODE_UNKNOWN;
	}
	return SMP_BOOT_MODE_UNKNOWN;
}
