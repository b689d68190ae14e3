/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * org.bluez.Adapter1 of the simulated controller: discovery on and off, and
 * one connection attempt at a time, as a controller allows.
 */
typedef struct _BleAdapter BleAdapter;
typedef struct _BleDevice BleDevice;

BleAdapter *ble_adapter_new(GDBusObjectManagerServer *manager, const char *name);
void ble_adapter_free(BleAdapter *adapter);
GDBusObjectManagerServer *ble_adapter_get_manager(BleAdapter *adapter);
const char *ble_adapter_get_path(BleAdapter *adapter);
gboolean ble_adapter_get_discovering(BleAdapter *adapter);
/* takes ownership of the device */
void ble_adapter_add_device(BleAdapter *adapter, BleDevice *device);
/* FALSE when another connection attempt is under way */
gboolean ble_adapter_begin_connect(BleAdapter *adapter);
void ble_adapter_end_connect(BleAdapter *adapter);
/* writes every device's state file */
gboolean ble_adapter_write_state(BleAdapter *adapter, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleAdapter, ble_adapter_free)

G_END_DECLS
