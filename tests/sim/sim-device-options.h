/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-mcuboot.h"
#include "sim-smp-device.h"

G_BEGIN_DECLS

/* the command-line options of the device model, shared by every simulator */
typedef struct {
	gint images;
	gint64 slot_size;
	char *running_version;
	gint buf_size;
	gint buf_count;
	gboolean no_params;
	char *errors;
	gboolean image_check;
	gint erase_ms;
	gint write_us_per_kb;
	gint reset_ms;
	gint boot_ms;
	gboolean boot_rejects;
	gboolean refuse_test;
	char *bootloader_mode;
	gboolean no_bootloader_info;
	gboolean in_bootloader;
	gboolean ignore_boot_mode;
	gboolean allow_wrong_slot;
	char **faults;
	gboolean verbose;
} SimDeviceOptions;

/* the defaults every transport shares; buf_size and boot_ms are its own */
void sim_device_options_init(SimDeviceOptions *opts, gint buf_size, gint boot_ms);
void sim_device_options_clear(SimDeviceOptions *opts);
void sim_device_options_add_entries(SimDeviceOptions *opts, GOptionContext *context);
/*
 * After parsing: checks the values and fills the model's and the device's
 * configuration (everything but the state file and the log prefix).
 */
gboolean sim_device_options_apply(SimDeviceOptions *opts, SimMcubootConfig *model, SimSmpDeviceConfig *device,
                                  GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SimDeviceOptions, sim_device_options_clear)

G_END_DECLS
