/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The Nordic DFU service over GATT and the buttonless way into its
 * bootloader: an application that has the service with the buttonless
 * characteristic instead of the control point and packet ones resets into
 * the bootloader when it is sent Enter (with indications on). Without bond
 * sharing the bootloader then advertises at the address plus one in the
 * last octet; with it, at the same address and with the same bond.
 */
#define BLE_NRFDFU_SERVICE_UUID "0000fe59-0000-1000-8000-00805f9b34fb"
#define BLE_NRFDFU_CONTROL_UUID "8ec90001-f315-4f60-9fb8-838830daea50"
#define BLE_NRFDFU_PACKET_UUID "8ec90002-f315-4f60-9fb8-838830daea50"
#define BLE_NRFDFU_BUTTONLESS_UUID "8ec90003-f315-4f60-9fb8-838830daea50"
#define BLE_NRFDFU_BUTTONLESS_BONDED_UUID "8ec90004-f315-4f60-9fb8-838830daea50"

/* the Nordic write request, whose bytes go to the packet characteristic */
#define BLE_NRFDFU_WRITE_OPCODE 0x08

/* the request that resets the application into the bootloader */
#define BLE_BUTTONLESS_ENTER 0x01

/* AA:BB:CC:DD:EE:FF with the last octet plus one, modulo 256 */
char *ble_buttonless_bootloader_address(const char *address);

/*
 * An indication of the buttonless characteristic: FALSE while it is no
 * answer to Enter (keep waiting); TRUE with *error NULL when the
 * application accepted, or set to why it refused.
 */
gboolean ble_buttonless_answer(const guint8 *data, gsize len, const char *address, GError **error);

G_END_DECLS
