/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "ble-gatt.h"
#include "ble-iface.h"
#include "ble-link-model.h"

/* bigger than any ATT MTU, so that an oversized datagram is seen whole */
#define BLE_MAX_DATAGRAM 65536

static const char service_xml[] = "<node><interface name='org.bluez.GattService1'>"
                                  "<property name='UUID' type='s' access='read'/>"
                                  "<property name='Primary' type='b' access='read'/>"
                                  "<property name='Device' type='o' access='read'/>"
                                  "<property name='Includes' type='ao' access='read'/>"
                                  "</interface></node>";

static const char char_xml[] =
        "<node><interface name='org.bluez.GattCharacteristic1'>"
        "<method name='ReadValue'><arg name='options' type='a{sv}' direction='in'/>"
        "<arg name='value' type='ay' direction='out'/></method>"
        "<method name='WriteValue'><arg name='value' type='ay' direction='in'/>"
        "<arg name='options' type='a{sv}' direction='in'/></method>"
        "<method name='AcquireWrite'><arg name='options' type='a{sv}' direction='in'/>"
        "<arg name='fd' type='h' direction='out'/><arg name='mtu' type='q' direction='out'/></method>"
        "<method name='AcquireNotify'><arg name='options' type='a{sv}' direction='in'/>"
        "<arg name='fd' type='h' direction='out'/><arg name='mtu' type='q' direction='out'/></method>"
        "<method name='StartNotify'/>"
        "<method name='StopNotify'/>"
        "<property name='UUID' type='s' access='read'/>"
        "<property name='Service' type='o' access='read'/>"
        "<property name='Value' type='ay' access='read'/>"
        "<property name='WriteAcquired' type='b' access='read'/>"
        "<property name='NotifyAcquired' type='b' access='read'/>"
        "<property name='Notifying' type='b' access='read'/>"
        "<property name='Flags' type='as' access='read'/>"
        "<property name='MTU' type='q' access='read'/>"
        "</interface></node>";

typedef struct _BleGattChar BleGattChar;

typedef struct {
	GDBusMethodInvocation *invocation; /* returned before the entry is freed */
	guint chr;
	GBytes *value;
} BlePendingWrite;

struct _BleGattChar {
	BleGatt *gatt;
	guint index;
	const BleGattCharSpec *spec;
	char *path;
	BleIface *iface;
	int write_fd; /* our end of the AcquireWrite socket, -1 when none */
	guint write_watch;
	int notify_fd;
	guint notify_watch;
};

struct _BleGatt {
	BleGattConfig config;
	BleGattCallbacks callbacks;
	gpointer user_data;
	GDBusObjectManagerServer *manager;
	char *service_path;
	BleGattChar *chars;
	guint n_chars;
	GQueue pending; /* BlePendingWrite*: WriteValue calls waiting for room in the link */
};

static const char *const smp_flags[] = {"write-without-response", "notify", NULL};
static const BleGattCharSpec smp_chars[] = {{BLE_SMP_CHAR_UUID, smp_flags}};
const BleGattServiceSpec ble_gatt_smp_service = {BLE_SMP_SERVICE_UUID, smp_chars, 1};

static gboolean
has_flag(const BleGattChar *c, const char *flag)
{
	return g_strv_contains((const char *const *)c->spec->flags, flag);
}

static void
pending_write_free(BlePendingWrite *pw)
{
	g_bytes_unref(pw->value);
	g_free(pw);
}

static void
return_error(GDBusMethodInvocation *invocation, const char *name, const char *message)
{
	g_dbus_method_invocation_return_dbus_error(invocation, name, message);
}

static guint
max_value(BleGatt *gatt)
{
	return gatt->config.mtu - BLE_ATT_HEADER;
}

static void
release_write(BleGattChar *c)
{
	g_clear_handle_id(&c->write_watch, g_source_remove);
	if (c->write_fd >= 0)
		close(c->write_fd);
	c->write_fd = -1;
	ble_iface_set(c->iface, "WriteAcquired", g_variant_new_boolean(FALSE));
}

static void
release_notify(BleGattChar *c)
{
	g_clear_handle_id(&c->notify_watch, g_source_remove);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	c->notify_fd = -1;
	ble_iface_set(c->iface, "NotifyAcquired", g_variant_new_boolean(FALSE));
	ble_iface_set(c->iface, "Notifying", g_variant_new_boolean(FALSE));
}

/* reads the client's datagrams while the link has room; each is one ATT write */
static gboolean
on_write_fd(int fd, GIOCondition condition, gpointer data)
{
	BleGattChar *c = data;
	BleGatt *gatt = c->gatt;
	g_autofree guint8 *buf = g_malloc(BLE_MAX_DATAGRAM);

	while (gatt->callbacks.write_room(gatt->user_data)) {
		ssize_t n = recv(fd, buf, BLE_MAX_DATAGRAM, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			/* the client closed its end */
			c->write_watch = 0;
			release_write(c);
			return G_SOURCE_REMOVE;
		}
		/* a write longer than the MTU allows never reaches the device */
		if ((gsize)n <= max_value(gatt))
			gatt->callbacks.write(c->index, buf, (gsize)n, gatt->user_data);
		if (c->write_fd < 0)
			return G_SOURCE_REMOVE;
	}
	/* the link is full: the client's data waits in the socket until there is room */
	c->write_watch = 0;
	return G_SOURCE_REMOVE;
}

static void
watch_write_fd(BleGattChar *c)
{
	if (c->write_fd >= 0 && c->write_watch == 0)
		c->write_watch = g_unix_fd_add(c->write_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_write_fd, c);
}

static gboolean
on_notify_fd(int fd, GIOCondition condition, gpointer data)
{
	BleGattChar *c = data;

	/* the client closed its end: notifications stop */
	c->notify_watch = 0;
	release_notify(c);
	return G_SOURCE_REMOVE;
}

/* the write type a WriteValue asks for, or the one BlueZ picks from the flags; NULL when not allowed */
static const char *
write_type(BleGattChar *c, GVariant *options)
{
	const char *type = NULL;

	if (!g_variant_lookup(options, "type", "&s", &type))
		type = has_flag(c, "write") ? "request" : "command";
	if (g_strcmp0(type, "command") == 0 && has_flag(c, "write-without-response"))
		return type;
	if (g_strcmp0(type, "request") == 0 && has_flag(c, "write"))
		return type;
	return NULL;
}

static void
handle_write_value(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleGattChar *c = user_data;
	BleGatt *gatt = c->gatt;
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GVariant) options = NULL;
	BlePendingWrite *pw;
	gsize len;

	g_variant_get(params, "(@ay@a{sv})", &value, &options);
	if (write_type(c, options) == NULL) {
		return_error(invocation, "org.bluez.Error.NotSupported", "Operation is not supported");
		return;
	}
	len = g_variant_get_size(value);
	if (len > max_value(gatt)) {
		return_error(invocation, "org.bluez.Error.InvalidValueLength", "Invalid Length");
		return;
	}
	pw = g_new0(BlePendingWrite, 1);
	pw->invocation = invocation;
	pw->chr = c->index;
	pw->value = g_bytes_new(g_variant_get_data(value), len);
	g_queue_push_tail(&gatt->pending, pw);
	ble_gatt_write_space(gatt);
}

static void
handle_read_value(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	/* none of the simulated characteristics has the read property */
	return_error(invocation, "org.bluez.Error.NotPermitted", "Read not permitted");
}

static void
handle_start_notify(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleGattChar *c = user_data;

	if (!has_flag(c, "notify") && !has_flag(c, "indicate")) {
		return_error(invocation, "org.bluez.Error.NotSupported", "Operation is not supported");
		return;
	}
	if (!c->gatt->callbacks.may_notify(c->gatt->user_data)) {
		return_error(invocation, "org.bluez.Error.NotPermitted", "Insufficient authentication");
		return;
	}
	if (c->notify_fd >= 0) {
		return_error(invocation, "org.bluez.Error.NotPermitted", "Notify acquired");
		return;
	}
	ble_iface_set(c->iface, "Notifying", g_variant_new_boolean(TRUE));
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
handle_stop_notify(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleGattChar *c = user_data;

	if (c->notify_fd >= 0) {
		return_error(invocation, "org.bluez.Error.NotPermitted", "Notify acquired");
		return;
	}
	ble_iface_set(c->iface, "Notifying", g_variant_new_boolean(FALSE));
	g_dbus_method_invocation_return_value(invocation, NULL);
}

/* a SOCK_SEQPACKET pair: ours stays here, the other goes to the caller */
static gboolean
acquire(BleGatt *gatt, GDBusMethodInvocation *invocation, int *ours)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GError) error = NULL;
	int pair[2];
	int index;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
		return_error(invocation, "org.bluez.Error.Failed", g_strerror(errno));
		return FALSE;
	}
	index = g_unix_fd_list_append(fds, pair[1], &error);
	close(pair[1]);
	if (index < 0) {
		close(pair[0]);
		return_error(invocation, "org.bluez.Error.Failed", error->message);
		return FALSE;
	}
	*ours = pair[0];
	g_dbus_method_invocation_return_value_with_unix_fd_list(
	        invocation, g_variant_new("(hq)", index, (guint16)gatt->config.mtu), fds);
	return TRUE;
}

static void
handle_acquire_write(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleGattChar *c = user_data;

	/* BlueZ hands out a write socket only for write-without-response */
	if (!c->gatt->config.acquire || !has_flag(c, "write-without-response")) {
		return_error(invocation, "org.bluez.Error.NotSupported", "Operation is not supported");
		return;
	}
	if (c->write_fd >= 0) {
		return_error(invocation, "org.bluez.Error.NotPermitted", "Write acquired");
		return;
	}
	if (!acquire(c->gatt, invocation, &c->write_fd))
		return;
	ble_iface_set(c->iface, "WriteAcquired", g_variant_new_boolean(TRUE));
	watch_write_fd(c);
}

static void
handle_acquire_notify(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleGattChar *c = user_data;

	/* and a notification socket only for notify, never for indications */
	if (!c->gatt->config.acquire || !has_flag(c, "notify")) {
		return_error(invocation, "org.bluez.Error.NotSupported", "Operation is not supported");
		return;
	}
	if (!c->gatt->callbacks.may_notify(c->gatt->user_data)) {
		return_error(invocation, "org.bluez.Error.NotPermitted", "Insufficient authentication");
		return;
	}
	if (c->notify_fd >= 0 || g_variant_get_boolean(ble_iface_get(c->iface, "Notifying"))) {
		return_error(invocation, "org.bluez.Error.InProgress", "Notify already started");
		return;
	}
	if (!acquire(c->gatt, invocation, &c->notify_fd))
		return;
	ble_iface_set(c->iface, "NotifyAcquired", g_variant_new_boolean(TRUE));
	ble_iface_set(c->iface, "Notifying", g_variant_new_boolean(TRUE));
	c->notify_watch = g_unix_fd_add(c->notify_fd, G_IO_HUP | G_IO_ERR, on_notify_fd, c);
}

static const BleMethod char_methods[] = {
        {"ReadValue", handle_read_value},
        {"WriteValue", handle_write_value},
        {"AcquireWrite", handle_acquire_write},
        {"AcquireNotify", handle_acquire_notify},
        {"StartNotify", handle_start_notify},
        {"StopNotify", handle_stop_notify},
        {NULL, NULL},
};

static void
export_object(GDBusObjectManagerServer *manager, const char *path, BleIface *iface)
{
	g_autoptr(GDBusObjectSkeleton) object = g_dbus_object_skeleton_new(path);

	g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(iface));
	g_dbus_object_manager_server_export(manager, object);
}

static void
char_init(BleGatt *gatt, guint index)
{
	BleGattChar *c = &gatt->chars[index];

	c->gatt = gatt;
	c->index = index;
	c->spec = &gatt->config.service->chars[index];
	c->write_fd = -1;
	c->notify_fd = -1;
	/* BlueZ numbers objects by ATT handle: the service's, then two or three per characteristic */
	c->path = g_strdup_printf("%s/char%04x", gatt->service_path, 0x11 + 3 * index);
	c->iface = ble_iface_new(char_xml, "org.bluez.GattCharacteristic1", char_methods, c);
	ble_iface_set(c->iface, "UUID", g_variant_new_string(c->spec->uuid));
	ble_iface_set(c->iface, "Service", g_variant_new_object_path(gatt->service_path));
	ble_iface_set(c->iface, "Value", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, NULL, 0, 1));
	ble_iface_set(c->iface, "WriteAcquired", g_variant_new_boolean(FALSE));
	ble_iface_set(c->iface, "NotifyAcquired", g_variant_new_boolean(FALSE));
	ble_iface_set(c->iface, "Notifying", g_variant_new_boolean(FALSE));
	ble_iface_set(c->iface, "Flags", g_variant_new_strv(c->spec->flags, -1));
	ble_iface_set(c->iface, "MTU", g_variant_new_uint16((guint16)gatt->config.mtu));
	export_object(gatt->manager, c->path, c->iface);
}

BleGatt *
ble_gatt_new(GDBusObjectManagerServer *manager, const char *device_path, const BleGattConfig *config,
             const BleGattCallbacks *callbacks, gpointer user_data)
{
	BleGatt *gatt = g_new0(BleGatt, 1);
	g_autoptr(BleIface) service = NULL;

	gatt->config = *config;
	gatt->callbacks = *callbacks;
	gatt->user_data = user_data;
	gatt->manager = g_object_ref(manager);
	g_queue_init(&gatt->pending);
	gatt->service_path = g_strdup_printf("%s/service0010", device_path);

	service = ble_iface_new(service_xml, "org.bluez.GattService1", NULL, gatt);
	ble_iface_set(service, "UUID", g_variant_new_string(config->service->uuid));
	ble_iface_set(service, "Primary", g_variant_new_boolean(TRUE));
	ble_iface_set(service, "Device", g_variant_new_object_path(device_path));
	ble_iface_set(service, "Includes", g_variant_new_objv(NULL, 0));
	export_object(manager, gatt->service_path, service);

	gatt->n_chars = config->service->n_chars;
	gatt->chars = g_new0(BleGattChar, gatt->n_chars);
	for (guint i = 0; i < gatt->n_chars; i++)
		char_init(gatt, i);
	return gatt;
}

void
ble_gatt_free(BleGatt *gatt)
{
	BlePendingWrite *pw;

	if (gatt == NULL)
		return;
	while ((pw = g_queue_pop_head(&gatt->pending)) != NULL) {
		return_error(g_steal_pointer(&pw->invocation), "org.bluez.Error.Failed", "Not connected");
		pending_write_free(pw);
	}
	for (guint i = 0; i < gatt->n_chars; i++) {
		BleGattChar *c = &gatt->chars[i];

		release_write(c);
		release_notify(c);
		g_dbus_object_manager_server_unexport(gatt->manager, c->path);
		g_object_unref(c->iface);
		g_free(c->path);
	}
	g_dbus_object_manager_server_unexport(gatt->manager, gatt->service_path);
	g_object_unref(gatt->manager);
	g_free(gatt->chars);
	g_free(gatt->service_path);
	g_free(gatt);
}

void
ble_gatt_notify(BleGatt *gatt, guint chr, const guint8 *value, gsize len)
{
	BleGattChar *c = &gatt->chars[chr];

	if (c->notify_fd >= 0) {
		/* a client that does not read loses notifications, as with BlueZ */
		if (send(c->notify_fd, value, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			release_notify(c);
		return;
	}
	if (!g_variant_get_boolean(ble_iface_get(c->iface, "Notifying")))
		return;
	/* every notification is a change, even when it repeats the last value */
	ble_iface_emit(c->iface, "Value", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, value, len, 1));
}

void
ble_gatt_write_space(BleGatt *gatt)
{
	BlePendingWrite *pw;

	while (!g_queue_is_empty(&gatt->pending) && gatt->callbacks.write_room(gatt->user_data)) {
		pw = g_queue_pop_head(&gatt->pending);
		gatt->callbacks.write(pw->chr, g_bytes_get_data(pw->value, NULL), g_bytes_get_size(pw->value),
		                      gatt->user_data);
		g_dbus_method_invocation_return_value(g_steal_pointer(&pw->invocation), NULL);
		pending_write_free(pw);
	}
	for (guint i = 0; i < gatt->n_chars; i++)
		watch_write_fd(&gatt->chars[i]);
}
