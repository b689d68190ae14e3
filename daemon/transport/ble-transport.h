/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * SMP or Nordic DFU over GATT through bluetoothd's D-Bus API on the system
 * bus: find the adapter and the device (discovering it when BlueZ does not
 * know it yet), connect (one attempt per adapter at a time), find the
 * characteristics, then move data through AcquireWrite/AcquireNotify sockets
 * or, where BlueZ refuses those, through WriteValue and Value change signals.
 *
 * SMP: a message longer than one write is split into writes of at most
 * MTU - 3 bytes, and notifications are joined back into messages.
 *
 * Nordic DFU: a message is one request: a write request (opcode 0x08) goes
 * without its opcode to the packet characteristic (write without response),
 * any other to the control point (write with response, through WriteValue,
 * the only way to hear its answer); the packets go through the write socket
 * of the packet characteristic where BlueZ offers one, and a control point
 * write waits until bluetoothd has read every packet before it, so that the
 * device gets them in order. Each control point notification is one
 * response. An application with the buttonless DFU characteristic is reset
 * into its bootloader on the way (the bootloader then answers at the
 * address + 1, or at the same address with bond sharing), and a device found
 * at neither address is looked for at the other while the connect timeout
 * lasts, as after a restart in the middle of an update.
 */
typedef enum {
	BLE_PROFILE_SMP,
	BLE_PROFILE_NRFDFU,
} BleProfile;

typedef struct {
	BleProfile profile;
	const char *address; /* AA:BB:CC:DD:EE:FF */
	const char *adapter; /* hci0 */
	guint connect_timeout_ms;
	guint discovery_timeout_ms;
} BleTransportOptions;

#define BLE_SMP_SERVICE_UUID "8d53dc1d-1db7-4cd3-868b-8a527460aa84"
#define BLE_SMP_CHARACTERISTIC_UUID "da2e7828-fbce-4e01-ae9e-261174997c48"

DfuTransport *dfu_ble_transport_new(const BleTransportOptions *options);

/*
 * Why a device that never answered anything may have been silent, for a
 * transport made by dfu_ble_transport_new: an unpaired device drops writes
 * to a characteristic that needs an encrypted link without telling anyone.
 * Returns an AUTH_REQUIRED error then, NULL when nothing explains it.
 */
GError *dfu_ble_transport_explain_silence(DfuTransport *transport);

G_END_DECLS
