/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BLE_SMP_SERVICE_UUID "8d53dc1d-1db7-4cd3-868b-8a527460aa84"
#define BLE_SMP_CHAR_UUID "da2e7828-fbce-4e01-ae9e-261174997c48"

typedef struct {
	const char *uuid;
	/* BlueZ's names: write, write-without-response, notify, indicate */
	const char *const *flags;
} BleGattCharSpec;

typedef struct {
	const char *uuid;
	const BleGattCharSpec *chars;
	guint n_chars;
} BleGattServiceSpec;

/* one characteristic, write-without-response and notify */
extern const BleGattServiceSpec ble_gatt_smp_service;

typedef struct {
	guint mtu;        /* ATT MTU */
	gboolean acquire; /* AcquireWrite / AcquireNotify offered (where the flags allow them) */
	const BleGattServiceSpec *service;
} BleGattConfig;

typedef struct {
	/* the link takes another write now */
	gboolean (*write_room)(gpointer user_data);
	/* chr: the characteristic's index in the service spec */
	void (*write)(guint chr, const guint8 *value, gsize len, gpointer user_data);
	/* the link is secure enough for notifications */
	gboolean (*may_notify)(gpointer user_data);
} BleGattCallbacks;

/*
 * The GATT service of a connected device: GattService1 and its
 * GattCharacteristic1 objects exported under the device, written with
 * WriteValue or an AcquireWrite socket, notifying through PropertiesChanged
 * of Value or an AcquireNotify socket. Writes of all characteristics reach
 * the link in the order the client made them. Freeing it closes the sockets
 * (the client sees HUP) and removes the objects.
 */
typedef struct _BleGatt BleGatt;

BleGatt *ble_gatt_new(GDBusObjectManagerServer *manager, const char *device_path, const BleGattConfig *config,
                      const BleGattCallbacks *callbacks, gpointer user_data);
void ble_gatt_free(BleGatt *gatt);
/* one notification as it arrives at the client */
void ble_gatt_notify(BleGatt *gatt, guint chr, const guint8 *value, gsize len);
/* the link has room for writes again */
void ble_gatt_write_space(BleGatt *gatt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleGatt, ble_gatt_free)

G_END_DECLS
