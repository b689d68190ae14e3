/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-scan.h"

#include <string.h>

#include "ble-transport.h"
#include "bus-autoptr.h"
#include "bus-glib.h"
#include "bus-variant.h"

#define BLUEZ "org.bluez"
#define IFACE_DEVICE "org.bluez.Device1"
#define IFACE_OBJECTS "org.freedesktop.DBus.ObjectManager"
#define ADAPTER_PATH_PREFIX "/org/bluez/"

struct _BleScan {
	char *default_adapter;
	BleScanCallbacks callbacks;
	gpointer user_data;
	sd_bus *bus;
	guint bus_source;
	sd_bus_slot *objects_match;
	sd_bus_slot *props_match;
	sd_bus_slot *owner_match;
	sd_bus_slot *list_call;
	GHashTable *targets; /* BlueZ device path -> the target reported for it */
};

/* the update service a device advertises, as the protocol of its target; NULL for none */
static const char *
advertised_protocol(GVariant *props)
{
	g_autofree const char **uuids = NULL;
	const char *protocol = NULL;

	if (!g_variant_lookup(props, "UUIDs", "^a&s", &uuids))
		return NULL;
	for (guint i = 0; uuids[i] != NULL; i++) {
		/* a device with both is updated over SMP */
		if (g_ascii_strcasecmp(uuids[i], BLE_SMP_SERVICE_UUID) == 0)
			return "smp";
		if (g_ascii_strcasecmp(uuids[i], BLE_NORDIC_DFU_SERVICE_UUID) == 0)
			protocol = "nrfdfu";
	}
	return protocol;
}

static char *
device_target(BleScan *self, GVariant *props, const char *protocol)
{
	const char *address = NULL;
	const char *adapter_path = NULL;
	const char *adapter;
	g_autoptr(GString) target = g_string_new("ble:");

	if (!g_variant_lookup(props, "Address", "&s", &address) ||
	    !g_variant_lookup(props, "Adapter", "&o", &adapter_path) ||
	    !g_str_has_prefix(adapter_path, ADAPTER_PATH_PREFIX))
		return NULL;
	adapter = adapter_path + strlen(ADAPTER_PATH_PREFIX);
	g_string_append(target, address);
	if (g_strcmp0(adapter, self->default_adapter) != 0)
		g_string_append_printf(target, "?adapter=%s", adapter);
	if (g_strcmp0(protocol, "smp") != 0)
		g_string_append_printf(target, "%cprotocol=%s", strchr(target->str, '?') != NULL ? '&' : '?',
		                       protocol);
	return g_string_free(g_steal_pointer(&target), FALSE);
}

static void
device_gone(BleScan *self, const char *path)
{
	g_autofree char *target = NULL;
	g_autofree char *key = NULL;

	if (!g_hash_table_steal_extended(self->targets, path, (gpointer *)&key, (gpointer *)&target))
		return;
	self->callbacks.gone(target, self->user_data);
}

/* a Device1 as BlueZ lists it or announces it: props holds all its properties */
static void
device_listed(BleScan *self, const char *path, GVariant *props)
{
	const char *protocol = advertised_protocol(props);
	g_autofree char *target = protocol != NULL ? device_target(self, props, protocol) : NULL;
	const char *known = g_hash_table_lookup(self->targets, path);

	if (known != NULL && g_strcmp0(known, target) != 0)
		device_gone(self, path);
	if (target == NULL)
		return;
	g_hash_table_insert(self->targets, g_strdup(path), g_strdup(target));
	self->callbacks.seen(target, g_get_real_time(), self->user_data);
}

/* interfaces: a{sa{sv}} of one object */
static void
object_listed(BleScan *self, const char *path, GVariant *interfaces)
{
	g_autoptr(GVariant) props = g_variant_lookup_value(interfaces, IFACE_DEVICE, G_VARIANT_TYPE_VARDICT);

	if (props != NULL)
		device_listed(self, path, props);
}

static int
on_objects_listed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleScan *self = userdata;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) objects = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;

	self->list_call = sd_bus_slot_unref(self->list_call);
	if (sd_bus_message_is_method_error(m, NULL)) {
		g_debug("ble scan: BlueZ lists no devices: %s", sd_bus_message_get_error(m)->message);
		return 0;
	}
	objects = dfu_bus_read_gvariant(m, &error);
	if (objects == NULL) {
		g_warning("ble scan: BlueZ's object list: %s", error->message);
		return 0;
	}
	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		object_listed(self, path, interfaces);
		g_variant_unref(interfaces);
	}
	return 0;
}

static void
list_objects(BleScan *self)
{
	g_autoptr(sd_bus_message) m = NULL;
	int r;

	self->list_call = sd_bus_slot_unref(self->list_call);
	r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ, "/", IFACE_OBJECTS, "GetManagedObjects");
	/* watching starts no bluetoothd that is not running: a job for a BLE device may */
	if (r >= 0)
		r = sd_bus_message_set_auto_start(m, 0);
	if (r >= 0)
		r = sd_bus_call_async(self->bus, &self->list_call, m, on_objects_listed, self, 0);
	if (r < 0)
		g_debug("ble scan: cannot ask BlueZ for its devices: %s", g_strerror(-r));
}

static int
on_objects_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleScan *self = userdata;
	g_autoptr(GVariant) interfaces = NULL;
	g_auto(GStrv) removed = NULL;
	const char *path = NULL;

	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	if (sd_bus_message_is_signal(m, IFACE_OBJECTS, "InterfacesAdded")) {
		interfaces = dfu_bus_read_gvariant(m, NULL);
		if (interfaces != NULL)
			object_listed(self, path, interfaces);
	} else if (sd_bus_message_is_signal(m, IFACE_OBJECTS, "InterfacesRemoved") &&
	           sd_bus_message_read_strv(m, &removed) >= 0 &&
	           g_strv_contains((const char *const *)removed, IFACE_DEVICE)) {
		device_gone(self, path);
	}
	return 0;
}

/* a changed UUIDs list may add or drop a service; an advertisement (RSSI) means it is near */
static int
on_props_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleScan *self = userdata;
	const char *path = sd_bus_message_get_path(m);
	const char *iface = NULL;
	g_autoptr(GVariant) changed = NULL;
	g_autoptr(GVariant) uuids = NULL;
	const char *target;

	if (sd_bus_message_read(m, "s", &iface) < 0 || g_strcmp0(iface, IFACE_DEVICE) != 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, NULL);
	if (changed == NULL)
		return 0;
	uuids = g_variant_lookup_value(changed, "UUIDs", NULL);
	if (uuids != NULL) {
		/* the whole device is read again: the change holds only what changed */
		list_objects(self);
		return 0;
	}
	target = g_hash_table_lookup(self->targets, path);
	if (target != NULL && g_variant_lookup(changed, "RSSI", "n", NULL))
		self->callbacks.seen(target, g_get_real_time(), self->user_data);
	return 0;
}

/* bluetoothd started or stopped: its devices come or go with it */
static int
on_owner_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleScan *self = userdata;
	const char *name = NULL, *old_owner = NULL, *new_owner = NULL;
	GHashTableIter iter;
	gpointer target;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	g_hash_table_iter_init(&iter, self->targets);
	while (g_hash_table_iter_next(&iter, NULL, &target)) {
		self->callbacks.gone(target, self->user_data);
		g_hash_table_iter_remove(&iter);
	}
	if (new_owner != NULL && new_owner[0] != '\0')
		list_objects(self);
	return 0;
}

static gboolean
on_bus_closed(gpointer user_data)
{
	BleScan *self = user_data;

	self->bus_source = 0;
	g_debug("ble scan: the system bus connection closed");
	return G_SOURCE_REMOVE;
}

BleScan *
ble_scan_new(const char *default_adapter, const BleScanCallbacks *callbacks, gpointer user_data)
{
	BleScan *self = g_new0(BleScan, 1);
	g_autoptr(sd_bus) bus = NULL;
	int r;

	self->default_adapter = g_strdup(default_adapter);
	self->callbacks = *callbacks;
	self->user_data = user_data;
	self->targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	/* honours DBUS_SYSTEM_BUS_ADDRESS, which is how tests reach a private bus */
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		g_debug("ble scan: no system bus: %s", g_strerror(-r));
		return self;
	}
	r = sd_bus_match_signal_async(bus, &self->objects_match, BLUEZ, "/", IFACE_OBJECTS, NULL,
	                              on_objects_signal, NULL, self);
	if (r >= 0)
		r = sd_bus_match_signal_async(bus, &self->props_match, BLUEZ, NULL,
		                              "org.freedesktop.DBus.Properties", "PropertiesChanged",
		                              on_props_signal, NULL, self);
	if (r >= 0)
		r = sd_bus_add_match_async(bus, &self->owner_match,
		                           "type='signal',sender='org.freedesktop.DBus',"
		                           "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
		                           "arg0='" BLUEZ "'",
		                           on_owner_signal, NULL, self);
	if (r < 0) {
		g_debug("ble scan: cannot watch BlueZ: %s", g_strerror(-r));
		g_clear_pointer(&self->objects_match, sd_bus_slot_unref);
		g_clear_pointer(&self->props_match, sd_bus_slot_unref);
		return self;
	}
	self->bus_source = dfu_bus_attach_glib(bus, NULL, on_bus_closed, self);
	self->bus = g_steal_pointer(&bus);
	list_objects(self);
	return self;
}

void
ble_scan_free(BleScan *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->list_call, sd_bus_slot_unref);
	g_clear_pointer(&self->owner_match, sd_bus_slot_unref);
	g_clear_pointer(&self->props_match, sd_bus_slot_unref);
	g_clear_pointer(&self->objects_match, sd_bus_slot_unref);
	g_clear_handle_id(&self->bus_source, g_source_remove);
	g_clear_pointer(&self->bus, sd_bus_flush_close_unref);
	g_hash_table_unref(self->targets);
	g_free(self->default_adapter);
	g_free(self);
}
