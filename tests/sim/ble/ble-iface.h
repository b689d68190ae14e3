/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * One D-Bus interface of a simulated BlueZ object: its introspection comes
 * from XML, its properties live in a table (a property can be absent, as
 * RSSI is while a device is not seen), and its methods go to a table of
 * handlers. Changes are announced with PropertiesChanged at once.
 */
typedef void (*BleMethodFunc)(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data);

typedef struct {
	const char *name;
	BleMethodFunc func;
} BleMethod;

#define BLE_TYPE_IFACE (ble_iface_get_type())
G_DECLARE_FINAL_TYPE(BleIface, ble_iface, BLE, IFACE, GDBusInterfaceSkeleton)

/* methods ends with a {NULL, NULL} entry and must outlive the interface */
BleIface *ble_iface_new(const char *xml, const char *name, const BleMethod *methods, gpointer user_data);
/* takes a floating reference; emits PropertiesChanged when the value differs */
void ble_iface_set(BleIface *self, const char *property, GVariant *value);
/* like ble_iface_set, but emits PropertiesChanged even for an equal value */
void ble_iface_emit(BleIface *self, const char *property, GVariant *value);
/* removes the property; emits it as invalidated when it was present */
void ble_iface_unset(BleIface *self, const char *property);
GVariant *ble_iface_get(BleIface *self, const char *property);

G_END_DECLS
