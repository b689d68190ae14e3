/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Lookups in BlueZ's object list (GetManagedObjects, a{oa{sa{sv}}}): the
 * GATT service of a device with a UUID, and the characteristics of that
 * service. UUIDs compare without regard to case.
 */

/* TRUE when path is prefix or below it */
gboolean ble_path_is_under(const char *path, const char *prefix);
/* the first service with that UUID below the device, NULL when none */
char *ble_gatt_find_service(GVariant *objects, const char *device_path, const char *uuid);
/* the characteristic of the service with that UUID, NULL when none; *mtu from its MTU
 * property when it has one, else left alone */
char *ble_gatt_find_characteristic(GVariant *objects, const char *service_path, const char *uuid,
                                   guint16 *mtu);

G_END_DECLS
