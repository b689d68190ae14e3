/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-nrfdfu-target.h"

#include <string.h>

#include "ble-buttonless.h"
#include "dfu-error.h"
#include "nrfdfu-commands.h"

/* buttonless characteristic: requests and the indication that answers them */
#define BUTTONLESS_ENTER 0x01
#define BUTTONLESS_SET_NAME 0x02
#define BUTTONLESS_RESPONSE 0x20
#define BUTTONLESS_SUCCESS 0x01
#define BUTTONLESS_NOT_SUPPORTED 0x02
#define BUTTONLESS_NOT_BONDED 0x07

enum { CHR_CONTROL, CHR_PACKET };

typedef enum {
	MODE_APP,
	MODE_BOOTLOADER,
} Mode;

struct _BleNrfDfuTarget {
	BleButtonless buttonless;
	SimNrfDfuConfig model_config;
	SimFaultPlan *faults;
	SimNrfDfu *model;
	Mode mode;
	BleDevice *app;  /* the application's address; NULL without buttonless */
	BleDevice *boot; /* where the bootloader advertises (the same object when bonded) */
	char *state_file;
};

static const char *const control_flags[] = {"write", "notify", NULL};
static const char *const packet_flags[] = {"write-without-response", NULL};
static const char *const buttonless_flags[] = {"write", "indicate", NULL};
static const BleGattCharSpec dfu_chars[] = {
        [CHR_CONTROL] = {BLE_NRFDFU_CONTROL_UUID, control_flags},
        [CHR_PACKET] = {BLE_NRFDFU_PACKET_UUID, packet_flags},
};
static const BleGattServiceSpec dfu_service = {BLE_NRFDFU_SERVICE_UUID, dfu_chars, G_N_ELEMENTS(dfu_chars)};
static const BleGattCharSpec plain_chars[] = {{BLE_NRFDFU_BUTTONLESS_UUID, buttonless_flags}};
static const BleGattServiceSpec plain_service = {BLE_NRFDFU_SERVICE_UUID, plain_chars, 1};
static const BleGattCharSpec bonded_chars[] = {{BLE_NRFDFU_BUTTONLESS_BONDED_UUID, buttonless_flags}};
static const BleGattServiceSpec bonded_service = {BLE_NRFDFU_SERVICE_UUID, bonded_chars, 1};

static void
save(BleNrfDfuTarget *target)
{
	g_autoptr(GError) error = NULL;

	if (!sim_nrfdfu_write_state(target->model, &error))
		g_printerr("dfu-sim-ble: %s\n", error->message);
}

static const BleGattServiceSpec *
role_service(BleDevice *device, gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;

	if (target->mode == MODE_BOOTLOADER && device == target->boot)
		return &dfu_service;
	return target->buttonless == BLE_BUTTONLESS_BONDED ? &bonded_service : &plain_service;
}

static void
indicate(BleDevice *device, guint8 op, guint8 status)
{
	const guint8 value[] = {BUTTONLESS_RESPONSE, op, status};
	ble_device_notify(device, 0, value, sizeof(value));
}

/* what runs resets into the other: on the same device, or at the other address */
static void
switch_mode(BleNrfDfuTarget *target, Mode mode)
{
	BleDevice *from = mode == MODE_BOOTLOADER ? target->app : target->boot;
	BleDevice *to = mode == MODE_BOOTLOADER ? target->boot : target->app;

	target->mode = mode;
	if (from == to) {
		ble_device_reboot(from, TRUE);
		return;
	}
	ble_device_reboot(from, FALSE);
	ble_device_boot(to);
}

static void
buttonless_write(BleNrfDfuTarget *target, BleDevice *device, const guint8 *value, gsize len)
{
	if (len == 0)
		return;
	if (value[0] == BUTTONLESS_SET_NAME && target->buttonless == BLE_BUTTONLESS_PLAIN) {
		indicate(device, value[0], BUTTONLESS_SUCCESS);
		return;
	}
	if (value[0] != BUTTONLESS_ENTER) {
		indicate(device, value[0], BUTTONLESS_NOT_SUPPORTED);
		return;
	}
	/* bond sharing hands the bond to the bootloader: there must be one */
	if (target->buttonless == BLE_BUTTONLESS_BONDED && !ble_device_is_paired(device)) {
		indicate(device, value[0], BUTTONLESS_NOT_BONDED);
		return;
	}
	indicate(device, value[0], BUTTONLESS_SUCCESS);
	switch_mode(target, MODE_BOOTLOADER);
}

static void
role_write(BleDevice *device, guint chr, const guint8 *value, gsize len, gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;
	g_autofree guint8 *request = NULL;

	if (target->mode != MODE_BOOTLOADER || device != target->boot) {
		buttonless_write(target, device, value, len);
		return;
	}
	if (chr == CHR_CONTROL) {
		if (len > 0)
			sim_nrfdfu_receive(target->model, value, len);
		return;
	}
	/* the packet characteristic carries the bytes of a write request without its opcode */
	request = g_malloc(len + 1);
	request[0] = NRFDFU_OP_WRITE;
	memcpy(request + 1, value, len);
	sim_nrfdfu_receive(target->model, request, len + 1);
}

static void
role_link_lost(BleDevice *device, gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;

	if (target->mode == MODE_BOOTLOADER && device == target->boot) {
		sim_nrfdfu_disconnect(target->model);
		save(target);
	}
}

static const BleDeviceRole role = {
        .service = role_service,
        .write = role_write,
        .link_lost = role_link_lost,
};

static void
model_send(GBytes *response, gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;

	ble_device_notify(target->boot, CHR_CONTROL, g_bytes_get_data(response, NULL),
	                  g_bytes_get_size(response));
}

/* an activated application runs when there is one to run; otherwise the bootloader comes back */
static void
model_reset(gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;

	save(target);
	if (target->app == NULL || g_strcmp0(sim_nrfdfu_get_activated(target->model), "application") != 0) {
		ble_device_reboot(target->boot, TRUE);
		return;
	}
	switch_mode(target, MODE_APP);
}

static void
model_hang_up(gpointer user_data)
{
	BleNrfDfuTarget *target = user_data;

	ble_device_disconnect(target->boot);
}

static const SimNrfDfuCallbacks model_callbacks = {
        .send = model_send,
        .reset = model_reset,
        .hang_up = model_hang_up,
};

BleNrfDfuTarget *
ble_nrfdfu_target_new(BleAdapter *adapter, const char *address, const BleDeviceConfig *ble,
                      const SimNrfDfuConfig *model, BleButtonless buttonless, GError **error)
{
	g_autoptr(BleNrfDfuTarget) target = g_new0(BleNrfDfuTarget, 1);
	g_autofree char *compact = NULL;
	BleDeviceConfig config = *ble;

	target->buttonless = buttonless;
	target->model_config = *model;
	target->model_config.gatt = TRUE;
	target->faults = sim_fault_plan_new();
	for (const char *const *f = ble->faults; f != NULL && *f != NULL; f++) {
		if (!sim_fault_plan_add(target->faults, *f, error))
			return NULL;
	}
	/* the faults belong to the bootloader model, not to the devices */
	config.faults = NULL;
	if (ble->state_dir != NULL) {
		g_auto(GStrv) parts = g_strsplit(address, ":", -1);
		compact = g_strjoinv("", parts);
		target->state_file = g_strdup_printf("%s/%s.json", ble->state_dir, compact);
	}
	target->model_config.state_file = target->state_file;
	target->model = sim_nrfdfu_new(&target->model_config, target->faults, &model_callbacks, target);
	target->mode = buttonless == BLE_BUTTONLESS_NONE ? MODE_BOOTLOADER : MODE_APP;
	if (buttonless == BLE_BUTTONLESS_NONE) {
		target->boot =
		        ble_device_new_with_role(adapter, address, &config, TRUE, &role, target, error);
		if (target->boot == NULL)
			return NULL;
		ble_adapter_add_device(adapter, target->boot);
		save(target);
		return g_steal_pointer(&target);
	}
	config.bonded = buttonless == BLE_BUTTONLESS_BONDED;
	target->app = ble_device_new_with_role(adapter, address, &config, TRUE, &role, target, error);
	if (target->app == NULL)
		return NULL;
	ble_adapter_add_device(adapter, target->app);
	if (buttonless == BLE_BUTTONLESS_BONDED) {
		target->boot = target->app;
	} else {
		g_autofree char *boot_address = ble_buttonless_bootloader_address(address);

		/* BlueZ has never seen the bootloader's address: only discovery finds it */
		config.hidden = TRUE;
		target->boot =
		        ble_device_new_with_role(adapter, boot_address, &config, FALSE, &role, target, error);
		if (target->boot == NULL)
			return NULL;
		ble_adapter_add_device(adapter, target->boot);
	}
	save(target);
	return g_steal_pointer(&target);
}

void
ble_nrfdfu_target_free(BleNrfDfuTarget *target)
{
	if (target == NULL)
		return;
	sim_nrfdfu_free(target->model);
	sim_fault_plan_free(target->faults);
	g_free(target->state_file);
	g_free(target);
}

gboolean
ble_nrfdfu_target_write_state(BleNrfDfuTarget *target, GError **error)
{
	return sim_nrfdfu_write_state(target->model, error);
}
