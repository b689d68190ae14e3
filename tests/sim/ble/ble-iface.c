/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-iface.h"

struct _BleIface {
	GDBusInterfaceSkeleton parent;
	GDBusInterfaceInfo *info;
	GHashTable *props; /* name → GVariant */
	const BleMethod *methods;
	gpointer user_data;
};

G_DEFINE_TYPE(BleIface, ble_iface, G_TYPE_DBUS_INTERFACE_SKELETON)

static void
handle_method_call(GDBusConnection *connection, const char *sender, const char *object_path,
                   const char *interface_name, const char *method_name, GVariant *parameters,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleIface *self = BLE_IFACE(user_data);

	for (const BleMethod *m = self->methods; m != NULL && m->name != NULL; m++) {
		if (g_strcmp0(m->name, method_name) == 0) {
			m->func(parameters, invocation, self->user_data);
			return;
		}
	}
	g_dbus_method_invocation_return_dbus_error(invocation, "org.freedesktop.DBus.Error.UnknownMethod",
	                                           "Unknown method");
}

static GVariant *
handle_get_property(GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *property_name, GError **error, gpointer user_data)
{
	BleIface *self = BLE_IFACE(user_data);
	GVariant *value = g_hash_table_lookup(self->props, property_name);

	if (value == NULL) {
		g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "No such property '%s'",
		            property_name);
		return NULL;
	}
	return g_variant_ref(value);
}

static gboolean
handle_set_property(GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *property_name, GVariant *value, GError **error,
                    gpointer user_data)
{
	/* GDBus has already checked that the property is writable and of the right type */
	ble_iface_set(BLE_IFACE(user_data), property_name, value);
	return TRUE;
}

static const GDBusInterfaceVTable vtable = {
        .method_call = handle_method_call,
        .get_property = handle_get_property,
        .set_property = handle_set_property,
};

static GDBusInterfaceInfo *
iface_get_info(GDBusInterfaceSkeleton *skeleton)
{
	return BLE_IFACE(skeleton)->info;
}

static GDBusInterfaceVTable *
iface_get_vtable(GDBusInterfaceSkeleton *skeleton)
{
	return (GDBusInterfaceVTable *)&vtable;
}

static GVariant *
iface_get_properties(GDBusInterfaceSkeleton *skeleton)
{
	BleIface *self = BLE_IFACE(skeleton);
	GVariantBuilder builder;
	GHashTableIter iter;
	gpointer name;
	gpointer value;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
	g_hash_table_iter_init(&iter, self->props);
	while (g_hash_table_iter_next(&iter, &name, &value))
		g_variant_builder_add(&builder, "{sv}", name, value);
	return g_variant_builder_end(&builder);
}

static void
iface_flush(GDBusInterfaceSkeleton *skeleton)
{
	/* changes are emitted when they happen */
}

static void
ble_iface_finalize(GObject *object)
{
	BleIface *self = BLE_IFACE(object);

	g_hash_table_unref(self->props);
	g_clear_pointer(&self->info, g_dbus_interface_info_unref);
	G_OBJECT_CLASS(ble_iface_parent_class)->finalize(object);
}

static void
ble_iface_class_init(BleIfaceClass *klass)
{
	GDBusInterfaceSkeletonClass *skeleton_class = G_DBUS_INTERFACE_SKELETON_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = ble_iface_finalize;
	skeleton_class->get_info = iface_get_info;
	skeleton_class->get_vtable = iface_get_vtable;
	skeleton_class->get_properties = iface_get_properties;
	skeleton_class->flush = iface_flush;
}

static void
ble_iface_init(BleIface *self)
{
	self->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_variant_unref);
}

BleIface *
ble_iface_new(const char *xml, const char *name, const BleMethod *methods, gpointer user_data)
{
	g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(xml, NULL);
	BleIface *self = g_object_new(BLE_TYPE_IFACE, NULL);
	GDBusInterfaceInfo *info;

	/* the XML is a constant of this program: a parse error is a bug */
	g_assert(node != NULL);
	info = g_dbus_node_info_lookup_interface(node, name);
	g_assert(info != NULL);
	self->info = g_dbus_interface_info_ref(info);
	self->methods = methods;
	self->user_data = user_data;
	return self;
}

static void
emit_changed(BleIface *self, GVariant *changed, const char *const *invalidated)
{
	GDBusInterfaceSkeleton *skeleton = G_DBUS_INTERFACE_SKELETON(self);
	const char *path = g_dbus_interface_skeleton_get_object_path(skeleton);
	g_autoptr(GVariant) params =
	        g_variant_ref_sink(g_variant_new("(s@a{sv}^as)", self->info->name, changed, invalidated));
	GList *connections;

	if (path == NULL)
		return;
	connections = g_dbus_interface_skeleton_get_connections(skeleton);
	for (GList *l = connections; l != NULL; l = l->next)
		g_dbus_connection_emit_signal(l->data, NULL, path, "org.freedesktop.DBus.Properties",
		                              "PropertiesChanged", params, NULL);
	g_list_free_full(connections, g_object_unref);
}

static void
store(BleIface *self, const char *property, GVariant *value, gboolean always)
{
	GVariant *old = g_hash_table_lookup(self->props, property);
	const char *none[] = {NULL};
	GVariantBuilder changed;

	g_variant_ref_sink(value);
	if (!always && old != NULL && g_variant_equal(old, value)) {
		g_variant_unref(value);
		return;
	}
	g_hash_table_replace(self->props, g_strdup(property), value);
	g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&changed, "{sv}", property, value);
	emit_changed(self, g_variant_builder_end(&changed), none);
}

void
ble_iface_set(BleIface *self, const char *property, GVariant *value)
{
	store(self, property, value, FALSE);
}

void
ble_iface_emit(BleIface *self, const char *property, GVariant *value)
{
	store(self, property, value, TRUE);
}

void
ble_iface_unset(BleIface *self, const char *property)
{
	const char *invalidated[] = {property, NULL};

	if (!g_hash_table_remove(self->props, property))
		return;
	emit_changed(self, g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0), invalidated);
}

GVariant *
ble_iface_get(BleIface *self, const char *property)
{
	return g_hash_table_lookup(self->props, property);
}
