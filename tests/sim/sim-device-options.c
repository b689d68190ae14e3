/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-device-options.h"

void
sim_device_options_init(SimDeviceOptions *opts, gint buf_size, gint boot_ms)
{
	*opts = (SimDeviceOptions){
	        .images = 1,
	        .slot_size = 262144,
	        .buf_size = buf_size,
	        .buf_count = 4,
	        .reset_ms = 50,
	        .boot_ms = boot_ms,
	};
}

void
sim_device_options_clear(SimDeviceOptions *opts)
{
	g_clear_pointer(&opts->running_version, g_free);
	g_clear_pointer(&opts->errors, g_free);
	g_clear_pointer(&opts->bootloader_mode, g_free);
	g_clear_pointer(&opts->faults, g_strfreev);
}

void
sim_device_options_add_entries(SimDeviceOptions *o, GOptionContext *context)
{
	/* the context keeps a copy of the entries */
	const GOptionEntry entries[] = {
	        {"images", 0, 0, G_OPTION_ARG_INT, &o->images, "Number of images", "N"},
	        {"slot-size", 0, 0, G_OPTION_ARG_INT64, &o->slot_size, "Bytes per slot", "BYTES"},
	        {"running-version", 0, 0, G_OPTION_ARG_STRING, &o->running_version,
	         "Version of the running image", "X.Y.Z"},
	        {"buf-size", 0, 0, G_OPTION_ARG_INT, &o->buf_size, "SMP netbuf size", "BYTES"},
	        {"buf-count", 0, 0, G_OPTION_ARG_INT, &o->buf_count, "SMP netbuf count", "N"},
	        {"no-params", 0, 0, G_OPTION_ARG_NONE, &o->no_params, "Answer mcumgr params with ENOTSUP",
	         NULL},
	        {"errors", 0, 0, G_OPTION_ARG_STRING, &o->errors, "Error style for v2 requests", "v1|v2"},
	        {"image-check", 0, 0, G_OPTION_ARG_NONE, &o->image_check, "Check uploads against their sha",
	         NULL},
	        {"erase-ms", 0, 0, G_OPTION_ARG_INT, &o->erase_ms, "Slot erase time", "MS"},
	        {"write-us-per-kb", 0, 0, G_OPTION_ARG_INT, &o->write_us_per_kb, "Flash write time", "US"},
	        {"reset-ms", 0, 0, G_OPTION_ARG_INT, &o->reset_ms, "Delay between reset reply and reboot",
	         "MS"},
	        {"boot-ms", 0, 0, G_OPTION_ARG_INT, &o->boot_ms, "Time the device takes to boot", "MS"},
	        {"boot-rejects", 0, 0, G_OPTION_ARG_NONE, &o->boot_rejects, "Bootloader refuses new images",
	         NULL},
	        {"refuse-test", 0, 0, G_OPTION_ARG_NONE, &o->refuse_test, "State write test fails", NULL},
	        {"bootloader-mode", 0, 0, G_OPTION_ARG_STRING, &o->bootloader_mode,
	         "MCUboot mode: swap-scratch (default), swap-move, swap-offset, overwrite, direct-xip, "
	         "direct-xip-revert, ram-load, ram-load-revert, single or firmware-loader. direct-xip* and "
	         "ram-load* answer like Zephyr 4.4 (indefinite maps, no state write without revert, no "
	         "max_image_size); slot S of image I sits at 0x20000 + (2 I + S) × slot size",
	         "MODE"},
	        {"no-bootloader-info", 0, 0, G_OPTION_ARG_NONE, &o->no_bootloader_info,
	         "Answer bootloader info with ENOTSUP", NULL},
	        {"in-bootloader", 0, 0, G_OPTION_ARG_NONE, &o->in_bootloader,
	         "single, firmware-loader: start in serial recovery or the firmware loader", NULL},
	        {"ignore-boot-mode", 0, 0, G_OPTION_ARG_NONE, &o->ignore_boot_mode,
	         "A reset with boot_mode 1 starts the application again", NULL},
	        {"allow-wrong-slot", 0, 0, G_OPTION_ARG_NONE, &o->allow_wrong_slot,
	         "Direct-XIP: take ROM_FIXED images linked for the other slot", NULL},
	        {"fault", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->faults, "Inject a fault (repeatable)", "SPEC"},
	        {"verbose", 0, 0, G_OPTION_ARG_NONE, &o->verbose, "Log requests on stderr", NULL},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
}

static const struct {
	const char *name;
	SimBootMode mode;
} boot_modes[] = {
        {"swap-scratch", SIM_BOOT_SWAP_SCRATCH},
        {"swap-move", SIM_BOOT_SWAP_MOVE},
        {"overwrite", SIM_BOOT_OVERWRITE},
        {"direct-xip", SIM_BOOT_DIRECT_XIP},
        {"direct-xip-revert", SIM_BOOT_DIRECT_XIP_REVERT},
        {"ram-load", SIM_BOOT_RAM_LOAD},
        {"single", SIM_BOOT_SINGLE},
        {"swap-offset", SIM_BOOT_SWAP_OFFSET},
        {"ram-load-revert", SIM_BOOT_RAM_LOAD_REVERT},
        {"firmware-loader", SIM_BOOT_FIRMWARE_LOADER},
};

static gboolean
parse_boot_mode(const char *name, SimBootMode *mode, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(boot_modes); i++) {
		if (g_strcmp0(name, boot_modes[i].name) == 0) {
			*mode = boot_modes[i].mode;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown --bootloader-mode %s", name);
	return FALSE;
}

static gboolean
in_range(gint64 value, gint64 min, gint64 max)
{
	return value >= min && value <= max;
}

gboolean
sim_device_options_apply(SimDeviceOptions *o, SimMcubootConfig *model, SimSmpDeviceConfig *device,
                         GError **error)
{
	/* string defaults are set here: GOption does not free a default it replaces */
	if (o->running_version == NULL)
		o->running_version = g_strdup("1.0.0");
	if (o->errors == NULL)
		o->errors = g_strdup("v2");
	if (g_strcmp0(o->errors, "v1") != 0 && g_strcmp0(o->errors, "v2") != 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "--errors must be v1 or v2");
		return FALSE;
	}
	if (!in_range(o->images, 1, 8) || !in_range(o->slot_size, 1024, 64 * 1024 * 1024) ||
	    !in_range(o->buf_size, 16, 65535) || o->buf_count < 1 || o->erase_ms < 0 ||
	    o->write_us_per_kb < 0 || o->reset_ms < 0 || o->boot_ms < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "a numeric option is out of range");
		return FALSE;
	}
	if (!mcuboot_version_parse(o->running_version, &model->running_version)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "bad --running-version %s",
		            o->running_version);
		return FALSE;
	}
	model->mode = SIM_BOOT_SWAP_SCRATCH;
	if (o->bootloader_mode != NULL && !parse_boot_mode(o->bootloader_mode, &model->mode, error))
		return FALSE;
	model->no_bootloader_info = o->no_bootloader_info;
	model->start_in_loader = o->in_bootloader;
	model->ignore_boot_mode = o->ignore_boot_mode;
	model->allow_wrong_slot = o->allow_wrong_slot;
	model->images = (guint)o->images;
	model->slot_size = (gsize)o->slot_size;
	model->image_check = o->image_check;
	model->boot_rejects = o->boot_rejects;
	model->refuse_test = o->refuse_test;
	model->erase_ms = (guint)o->erase_ms;
	model->write_us_per_kb = (guint)o->write_us_per_kb;
	device->buf_size = (guint)o->buf_size;
	device->buf_count = (guint)o->buf_count;
	device->params = !o->no_params;
	device->errors_v2 = g_strcmp0(o->errors, "v2") == 0;
	device->reset_ms = (guint)o->reset_ms;
	device->verbose = o->verbose;
	return TRUE;
}
