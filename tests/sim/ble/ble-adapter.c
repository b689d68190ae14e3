/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-adapter.h"
#include "ble-device.h"
#include "ble-iface.h"

#define BLE_ADAPTER_ADDRESS "00:1A:7D:DA:71:13"

static const char adapter_xml[] = "<node><interface name='org.bluez.Adapter1'>"
                                  "<method name='StartDiscovery'/>"
                                  "<method name='StopDiscovery'/>"
                                  "<method name='SetDiscoveryFilter'>"
                                  "<arg name='filter' type='a{sv}' direction='in'/></method>"
                                  "<method name='GetDiscoveryFilters'>"
                                  "<arg name='filters' type='as' direction='out'/></method>"
                                  "<method name='RemoveDevice'>"
                                  "<arg name='device' type='o' direction='in'/></method>"
                                  "<property name='Address' type='s' access='read'/>"
                                  "<property name='AddressType' type='s' access='read'/>"
                                  "<property name='Name' type='s' access='read'/>"
                                  "<property name='Alias' type='s' access='readwrite'/>"
                                  "<property name='Powered' type='b' access='readwrite'/>"
                                  "<property name='Discoverable' type='b' access='readwrite'/>"
                                  "<property name='Pairable' type='b' access='readwrite'/>"
                                  "<property name='Discovering' type='b' access='read'/>"
                                  "<property name='UUIDs' type='as' access='read'/>"
                                  "</interface></node>";

struct _BleAdapter {
	GDBusObjectManagerServer *manager;
	char *path;
	BleIface *iface;
	GPtrArray *devices; /* BleDevice* */
	gboolean discovering;
	gboolean connecting;
};

static void
set_discovering(BleAdapter *adapter, gboolean on)
{
	adapter->discovering = on;
	ble_iface_set(adapter->iface, "Discovering", g_variant_new_boolean(on));
	for (guint i = 0; i < adapter->devices->len; i++)
		ble_device_discovery_changed(g_ptr_array_index(adapter->devices, i));
}

static void
handle_start_discovery(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	set_discovering(user_data, TRUE);
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
handle_stop_discovery(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleAdapter *adapter = user_data;

	if (!adapter->discovering) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.Failed",
		                                           "No discovery started");
		return;
	}
	set_discovering(adapter, FALSE);
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
handle_set_discovery_filter(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	/* every simulated device matches any filter a DFU client sets */
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
handle_get_discovery_filters(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	const char *filters[] = {"UUIDs",         "RSSI",         "Pathloss", "Transport",
	                         "DuplicateData", "Discoverable", "Pattern",  NULL};

	g_dbus_method_invocation_return_value(invocation, g_variant_new("(^as)", filters));
}

static void
handle_remove_device(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleAdapter *adapter = user_data;
	const char *path = NULL;

	g_variant_get(params, "(&o)", &path);
	for (guint i = 0; i < adapter->devices->len; i++) {
		BleDevice *device = g_ptr_array_index(adapter->devices, i);

		if (g_strcmp0(ble_device_get_path(device), path) == 0 && ble_device_is_known(device)) {
			ble_device_remove(device);
			g_dbus_method_invocation_return_value(invocation, NULL);
			return;
		}
	}
	g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.DoesNotExist",
	                                           "Does Not Exist");
}

static const BleMethod adapter_methods[] = {
        {"StartDiscovery", handle_start_discovery},
        {"StopDiscovery", handle_stop_discovery},
        {"SetDiscoveryFilter", handle_set_discovery_filter},
        {"GetDiscoveryFilters", handle_get_discovery_filters},
        {"RemoveDevice", handle_remove_device},
        {NULL, NULL},
};

BleAdapter *
ble_adapter_new(GDBusObjectManagerServer *manager, const char *name)
{
	BleAdapter *adapter = g_new0(BleAdapter, 1);
	g_autoptr(GDBusObjectSkeleton) object = NULL;
	g_autofree char *alias = g_strdup_printf("dfu-sim-%s", name);

	adapter->manager = g_object_ref(manager);
	adapter->path = g_strdup_printf("/org/bluez/%s", name);
	adapter->devices = g_ptr_array_new_with_free_func((GDestroyNotify)ble_device_free);
	adapter->iface = ble_iface_new(adapter_xml, "org.bluez.Adapter1", adapter_methods, adapter);
	ble_iface_set(adapter->iface, "Address", g_variant_new_string(BLE_ADAPTER_ADDRESS));
	ble_iface_set(adapter->iface, "AddressType", g_variant_new_string("public"));
	ble_iface_set(adapter->iface, "Name", g_variant_new_string(alias));
	ble_iface_set(adapter->iface, "Alias", g_variant_new_string(alias));
	ble_iface_set(adapter->iface, "Powered", g_variant_new_boolean(TRUE));
	ble_iface_set(adapter->iface, "Discoverable", g_variant_new_boolean(FALSE));
	ble_iface_set(adapter->iface, "Pairable", g_variant_new_boolean(TRUE));
	ble_iface_set(adapter->iface, "Discovering", g_variant_new_boolean(FALSE));
	ble_iface_set(adapter->iface, "UUIDs", g_variant_new_strv(NULL, 0));

	object = g_dbus_object_skeleton_new(adapter->path);
	g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(adapter->iface));
	g_dbus_object_manager_server_export(manager, object);
	return adapter;
}

void
ble_adapter_free(BleAdapter *adapter)
{
	if (adapter == NULL)
		return;
	g_ptr_array_unref(adapter->devices);
	g_dbus_object_manager_server_unexport(adapter->manager, adapter->path);
	g_object_unref(adapter->iface);
	g_object_unref(adapter->manager);
	g_free(adapter->path);
	g_free(adapter);
}

GDBusObjectManagerServer *
ble_adapter_get_manager(BleAdapter *adapter)
{
	return adapter->manager;
}

const char *
ble_adapter_get_path(BleAdapter *adapter)
{
	return adapter->path;
}

gboolean
ble_adapter_get_discovering(BleAdapter *adapter)
{
	return adapter->discovering;
}

void
ble_adapter_add_device(BleAdapter *adapter, BleDevice *device)
{
	g_ptr_array_add(adapter->devices, device);
}

gboolean
ble_adapter_begin_connect(BleAdapter *adapter)
{
	if (adapter->connecting)
		return FALSE;
	adapter->connecting = TRUE;
	return TRUE;
}

void
ble_adapter_end_connect(BleAdapter *adapter)
{
	adapter->connecting = FALSE;
}

gboolean
ble_adapter_write_state(BleAdapter *adapter, GError **error)
{
	for (guint i = 0; i < adapter->devices->len; i++) {
		if (!ble_device_write_state(g_ptr_array_index(adapter->devices, i), error))
			return FALSE;
	}
	return TRUE;
}
