/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the 16-bit Nordic DFU service FE59 in the Bluetooth base UUID */
#define BLE_NORDIC_DFU_SERVICE_UUID "0000fe59-0000-1000-8000-00805f9b34fb"

/*
 * Watches the devices BlueZ knows (its ObjectManager on the system bus) for
 * those that advertise an update service, without starting a discovery of
 * its own: a device with the SMP service is reported as ble:ADDRESS, one with
 * the Nordic DFU service as ble:ADDRESS?protocol=nrfdfu, with ?adapter= when
 * not on the default adapter. Follows bluetoothd coming and going. When there
 * is no system bus the scan does nothing.
 */
typedef struct _BleScan BleScan;

typedef struct {
	/* target: as above; when: µs since the epoch */
	void (*seen)(const char *target, gint64 when, gpointer user_data);
	void (*gone)(const char *target, gpointer user_data);
} BleScanCallbacks;

/* default_adapter is copied */
BleScan *ble_scan_new(const char *default_adapter, const BleScanCallbacks *callbacks, gpointer user_data);
void ble_scan_free(BleScan *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleScan, ble_scan_free)

G_END_DECLS
