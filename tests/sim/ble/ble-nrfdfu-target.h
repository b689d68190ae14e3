/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ble-device.h"
#include "sim-nrfdfu.h"

G_BEGIN_DECLS

/* how the application lets a client enter the bootloader over BLE */
typedef enum {
	BLE_BUTTONLESS_NONE,   /* no application: the bootloader waits for DFU */
	BLE_BUTTONLESS_PLAIN,  /* 8EC90003; the bootloader advertises at the address + 1 */
	BLE_BUTTONLESS_BONDED, /* 8EC90004; the bootloader keeps the address and the bond */
} BleButtonless;

/*
 * An nRF5 device behind the fake org.bluez: the Secure DFU bootloader model
 * with its control point and packet characteristics, and, with buttonless
 * entry, the application in front of it whose DFU characteristic resets it
 * into the bootloader. An activated application brings the application back;
 * a SoftDevice or bootloader brings the bootloader back for the next image.
 */
typedef struct _BleNrfDfuTarget BleNrfDfuTarget;

/* model.state_file is set from the device config's state_dir */
BleNrfDfuTarget *ble_nrfdfu_target_new(BleAdapter *adapter, const char *address, const BleDeviceConfig *ble,
                                       const SimNrfDfuConfig *model, BleButtonless buttonless,
                                       GError **error);
/* after the adapter freed the devices */
void ble_nrfdfu_target_free(BleNrfDfuTarget *target);
gboolean ble_nrfdfu_target_write_state(BleNrfDfuTarget *target, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleNrfDfuTarget, ble_nrfdfu_target_free)

G_END_DECLS
