/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ble-adapter.h"
#include "ble-gatt.h"
#include "ble-link-model.h"
#include "sim-mcuboot.h"
#include "sim-smp-device.h"

G_BEGIN_DECLS

typedef enum {
	BLE_PAIRING_NONE,
	BLE_PAIRING_NOTIFY, /* notifications need pairing; writes are dropped until then */
	BLE_PAIRING_SILENT, /* every write is dropped until paired */
} BlePairing;

/* what every simulated device is like; per-device fields are filled in by the device */
typedef struct {
	SimMcubootConfig model;
	SimSmpDeviceConfig smp;  /* buf_size: largest request message */
	gboolean reassembly;     /* a request may span writes */
	gboolean drop_when_full; /* a request beyond buf_count is discarded, not held in the link */
	BleLinkModel link;
	const char *const *faults; /* SimFaultPlan specs */
	const char *state_dir;
	gboolean acquire;
	BlePairing pairing;
	gboolean hidden;
	guint advertise_ms;
	guint connect_ms;
	guint swap_ms;
	guint boot_ms;
	gboolean no_return;
	gboolean bonded; /* paired from the start */
} BleDeviceConfig;

/*
 * One org.bluez.Device1 with its own MCUboot model, SMP server and state
 * file: it advertises (seen while the adapter discovers), accepts Connect()
 * while it advertises, and then carries SMP over its GATT service through a
 * timed link. A reset drops the link and takes it off the air for a while.
 */
typedef struct _BleDevice BleDevice;

BleDevice *ble_device_new(BleAdapter *adapter, const char *address, const BleDeviceConfig *config,
                          GError **error);

/*
 * What a device that is no SMP device does over its GATT service (the Nordic
 * DFU bootloader, an application with a buttonless DFU characteristic).
 * config's SMP and MCUboot fields are not used then.
 */
typedef struct {
	/* the service the device shows on its next connection */
	const BleGattServiceSpec *(*service)(BleDevice *device, gpointer user_data);
	/* one ATT write reached the device */
	void (*write)(BleDevice *device, guint chr, const guint8 *value, gsize len, gpointer user_data);
	/* the link went away */
	void (*link_lost)(BleDevice *device, gpointer user_data);
} BleDeviceRole;

/* on_air: advertising from the start */
BleDevice *ble_device_new_with_role(BleAdapter *adapter, const char *address, const BleDeviceConfig *config,
                                    gboolean on_air, const BleDeviceRole *role, gpointer role_data,
                                    GError **error);
/* a notification or indication on characteristic chr of the service */
void ble_device_notify(BleDevice *device, guint chr, const guint8 *value, gsize len);
/* reboots once what it notified is over the air: off the air, then back after swap and boot when come_back */
void ble_device_reboot(BleDevice *device, gboolean come_back);
/* the link drops (the device's own doing) */
void ble_device_disconnect(BleDevice *device);
/* starts advertising after the boot time */
void ble_device_boot(BleDevice *device);
gboolean ble_device_is_paired(BleDevice *device);
const char *ble_device_get_address(BleDevice *device);
/* the verbose flag's prefix for log lines */
gboolean ble_device_is_verbose(BleDevice *device);
void ble_device_free(BleDevice *device);
const char *ble_device_get_path(BleDevice *device);
/* exported on the bus (known to the adapter) */
gboolean ble_device_is_known(BleDevice *device);
/* the adapter started or stopped discovery */
void ble_device_discovery_changed(BleDevice *device);
/* RemoveDevice(): disconnect and forget until seen again */
void ble_device_remove(BleDevice *device);
gboolean ble_device_write_state(BleDevice *device, GError **error);
/* the service UUIDs the device advertises (Device1.UUIDs) instead of the SMP service's */
void ble_device_set_uuids(BleDevice *device, const char *const *uuids);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleDevice, ble_device_free)

G_END_DECLS
