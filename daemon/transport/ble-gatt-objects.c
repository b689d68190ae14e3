/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-gatt-objects.h"

#include <string.h>

#define IFACE_SERVICE "org.bluez.GattService1"
#define IFACE_CHAR "org.bluez.GattCharacteristic1"

gboolean
ble_path_is_under(const char *path, const char *prefix)
{
	gsize n = strlen(prefix);
	return g_str_has_prefix(path, prefix) && (path[n] == '\0' || path[n] == '/');
}

/* the properties of iface on the object when it has a UUID equal to uuid */
static GVariant *
props_with_uuid(GVariant *ifaces, const char *iface, const char *uuid)
{
	g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, iface, G_VARIANT_TYPE_VARDICT);
	const char *value = NULL;

	if (props == NULL || !g_variant_lookup(props, "UUID", "&s", &value) ||
	    g_ascii_strcasecmp(value, uuid) != 0)
		return NULL;
	return g_steal_pointer(&props);
}

char *
ble_gatt_find_service(GVariant *objects, const char *device_path, const char *uuid)
{
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_loop(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		g_autoptr(GVariant) props = NULL;

		if (!ble_path_is_under(path, device_path))
			continue;
		props = props_with_uuid(ifaces, IFACE_SERVICE, uuid);
		if (props != NULL) {
			char *found = g_strdup(path);
			g_variant_unref(ifaces);
			return found;
		}
	}
	return NULL;
}

char *
ble_gatt_find_characteristic(GVariant *objects, const char *service_path, const char *uuid, guint16 *mtu)
{
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_loop(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		g_autoptr(GVariant) props = props_with_uuid(ifaces, IFACE_CHAR, uuid);
		const char *owner = NULL;
		char *found;

		if (props == NULL)
			continue;
		if (g_variant_lookup(props, "Service", "&o", &owner) ? g_strcmp0(owner, service_path) != 0
		                                                     : !ble_path_is_under(path, service_path))
			continue;
		g_variant_lookup(props, "MTU", "q", mtu);
		found = g_strdup(path);
		g_variant_unref(ifaces);
		return found;
	}
	return NULL;
}
