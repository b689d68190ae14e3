/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE /* sendmmsg */
#include "ble-transport.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ble-buttonless.h"
#include "ble-connect-queue.h"
#include "ble-gatt-objects.h"
#include "ble-reassembly.h"
#include "bluez-errors.h"
#include "bus-variant.h"
#include "bus-autoptr.h"
#include "bus-glib.h"
#include "dfu-error.h"
#include "dfu-fd-watch.h"

#define BLUEZ "org.bluez"
#define IFACE_ADAPTER "org.bluez.Adapter1"
#define IFACE_DEVICE "org.bluez.Device1"
#define IFACE_SERVICE "org.bluez.GattService1"
#define IFACE_CHAR "org.bluez.GattCharacteristic1"
#define IFACE_OBJECTS "org.freedesktop.DBus.ObjectManager"
#define IFACE_PROPS "org.freedesktop.DBus.Properties"

/* the ATT default before any exchange */
#define ATT_DEFAULT_MTU 23
#define ATT_WRITE_HEADER 3
/* a notification socket datagram is at most MTU - 3 <= 514 bytes */
#define NOTIFY_READ_SIZE 1024
/* WriteValue calls in flight: enough to keep the link busy, few enough to bound memory in bluetoothd */
#define MAX_WRITE_CALLS 8
/* writes handed to the socket in one system call at most */
#define SOCKET_BATCH 32
/* another program's connection attempt holds the controller: look again after this */
#define IN_PROGRESS_RETRY_MS 250
/*
 * when to look again whether bluetoothd has taken the packets a control point
 * write must follow: at once as a rule, later and later if it does not
 */
#define DRAIN_POLL_MIN_MS 1
#define DRAIN_POLL_MAX_MS 64

typedef enum {
	BLE_IDLE,
	BLE_LOOKUP,
	BLE_DISCOVERING,
	BLE_WAIT_TURN,
	BLE_CONNECTING,
	BLE_RESOLVING,
	BLE_FIND_GATT,
	BLE_BUTTONLESS, /* the application was asked to reset into the bootloader */
	BLE_NOTIFY,
	BLE_WRITE,
	BLE_OPEN,
} BleState;

typedef struct _BleTransport BleTransport;

typedef struct {
	BleTransport *owner;
	sd_bus_slot *slot;
} WriteCall;

/* one ATT write waiting to go */
typedef struct {
	GBytes *value;
	gboolean to_packet; /* Nordic DFU: the packet characteristic, else the control point */
} OutPiece;

struct _BleTransport {
	DfuTransport parent;
	BleProfile profile;
	char *base_address; /* the one the target names */
	char *address;      /* the one opened: the bootloader's after a buttonless entry */
	gboolean entered;   /* a buttonless entry moved us to the bootloader */
	gboolean enter_sent;
	char *adapter;
	char *adapter_path;
	guint connect_timeout_ms;
	guint discovery_timeout_ms;

	sd_bus *bus;
	guint bus_source;
	sd_bus_slot *objects_match;
	sd_bus_slot *props_match;
	sd_bus_slot *call; /* the one call an opening step waits for */

	BleState state;
	char *device_path;
	char *char_path;   /* SMP, the Nordic control point or the buttonless characteristic */
	char *packet_path; /* Nordic DFU packet characteristic */
	gboolean bonded_buttonless;
	gboolean connected;
	gboolean resolved;
	gboolean paired;
	gboolean discovering;
	gboolean connect_issued;
	gboolean heard;  /* anything received since the last open */
	guint receiving; /* inside the owner's packet callback: writes wait for its end, to go as one */
	BleConnectTicket *ticket;
	guint step_timer;
	guint retry_timer;
	gint64 connect_deadline;
	gboolean keep_deadline; /* looking again within the same connect timeout */

	guint16 mtu;
	int notify_fd;
	int write_fd;
	guint notify_watch;
	guint write_watch;
	guint drain_timer;
	guint drain_poll_ms; /* the next wait for the socket to drain */
	gboolean notifying;  /* StartNotify path */
	GQueue outq;         /* OutPiece*: whole writes, in order */
	GList *write_calls;  /* WriteCall*, WriteValue path */
	BleReassembler *rx;

	guint report_idle;
	GError *report_error;
	gboolean report_is_open;
};

static void ble_close(DfuTransport *transport);
static void step_lookup(BleTransport *self);
static void step_connect(BleTransport *self);
static void step_find_gatt(BleTransport *self);
static void pump(BleTransport *self);

/* ---- helpers ---- */

static char *
adapter_path_for(const char *adapter)
{
	return g_strdup_printf("/org/bluez/%s", adapter);
}

static GError *
message_error(BleTransport *self, sd_bus_message *m, const char *what)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	return bluez_error_new(e != NULL ? e->name : NULL, e != NULL ? e->message : NULL, self->address,
	                       what);
}

static const char *
error_name(sd_bus_message *m)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	return e != NULL ? e->name : NULL;
}

/* fire and forget: the reply does not matter, and the call outlives the transport's interest */
static void
call_and_forget(BleTransport *self, const char *path, const char *iface, const char *member)
{
	int r;

	if (self->bus == NULL)
		return;
	r = sd_bus_call_method_async(self->bus, NULL, BLUEZ, path, iface, member, NULL, NULL, "");
	if (r < 0)
		g_debug("ble: %s.%s: %s", iface, member, g_strerror(-r));
}

/* ---- reporting to the owner, always from the loop ---- */

static gboolean
on_report_idle(gpointer user_data)
{
	BleTransport *self = user_data;
	g_autoptr(GError) error = g_steal_pointer(&self->report_error);

	self->report_idle = 0;
	if (self->report_is_open) {
		dfu_transport_emit_opened(&self->parent, error);
		return G_SOURCE_REMOVE;
	}
	ble_close(&self->parent);
	dfu_transport_emit_closed(&self->parent, error);
	return G_SOURCE_REMOVE;
}

static void
report_later(BleTransport *self, gboolean is_open, GError *error)
{
	if (self->report_idle != 0) {
		g_clear_error(&error);
		return;
	}
	self->report_is_open = is_open;
	self->report_error = error;
	self->report_idle = g_idle_add(on_report_idle, self);
}

/* everything is undone and the owner hears it as a failed open or, once open, as a lost link */
static void
end_link(BleTransport *self, GError *error, gboolean opening)
{
	g_autoptr(GError) owned = error;

	g_debug("ble: %s: %s: %s", self->address, opening ? "open failed" : "link lost", error->message);
	ble_close(&self->parent);
	if (opening)
		dfu_transport_emit_opened(&self->parent, owned);
	else
		dfu_transport_emit_closed(&self->parent, owned);
}

static void
open_failed(BleTransport *self, GError *error)
{
	end_link(self, error, TRUE);
}

static void received(BleTransport *self, const guint8 *data, gsize len);

/*
 * What the device notified before its link went may still wait in the
 * socket while BlueZ's signal that the link is gone came first (the answer
 * to the request that made the device reset): it goes to the owner first.
 * FALSE when the owner closed the link meanwhile.
 */
static gboolean
drain_notifications(BleTransport *self)
{
	guint8 buf[NOTIFY_READ_SIZE];
	int fd = self->notify_fd;

	while (self->state == BLE_OPEN && fd >= 0 && self->notify_fd == fd) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((gsize)n <= sizeof(buf))
			received(self, buf, n);
	}
	return self->state == BLE_OPEN;
}

/* the open link went away */
static void
link_lost(BleTransport *self, GError *error)
{
	if (!drain_notifications(self)) {
		g_error_free(error);
		return;
	}
	end_link(self, error, FALSE);
}

/* anything that ends the link, whether opening or open */
static void
link_ended(BleTransport *self, GError *error)
{
	if (self->state == BLE_OPEN)
		link_lost(self, error);
	else
		end_link(self, error, TRUE);
}

static gboolean
on_step_timeout(gpointer user_data)
{
	BleTransport *self = user_data;
	GError *error;

	self->step_timer = 0;
	if (self->state == BLE_DISCOVERING)
		error = g_error_new(DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND,
		                    "%s: device not found by discovery on %s within %u s", self->address,
		                    self->adapter, self->discovery_timeout_ms / 1000);
	else
		error = g_error_new(DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: not connected within %u s",
		                    self->address, self->connect_timeout_ms / 1000);
	open_failed(self, error);
	return G_SOURCE_REMOVE;
}

static void
arm_step_timer(BleTransport *self, guint ms)
{
	g_clear_handle_id(&self->step_timer, g_source_remove);
	self->step_timer = g_timeout_add(MAX(ms, 1u), on_step_timeout, self);
}

static guint64
remaining_connect_usec(BleTransport *self)
{
	gint64 left = self->connect_deadline - g_get_monotonic_time();
	return left > 1000 ? (guint64)left : 1000;
}

/* an async method call for an opening step; the reply goes to cb */
static gboolean
step_call(BleTransport *self, const char *path, const char *iface, const char *member,
          sd_bus_message_handler_t cb, sd_bus_message *m_or_null)
{
	g_autoptr(sd_bus_message) m = m_or_null != NULL ? sd_bus_message_ref(m_or_null) : NULL;
	int r = 0;

	if (m == NULL)
		r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ, path, iface, member);
	if (r >= 0)
		r = sd_bus_call_async(self->bus, &self->call, m, cb, self, remaining_connect_usec(self));
	if (r < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: %s.%s: %s",
		                              self->address, iface, member, g_strerror(-r)));
		return FALSE;
	}
	return TRUE;
}

/* ---- device properties and object signals ---- */

static void
update_device(BleTransport *self, GVariant *props)
{
	g_variant_lookup(props, "Connected", "b", &self->connected);
	g_variant_lookup(props, "ServicesResolved", "b", &self->resolved);
	g_variant_lookup(props, "Paired", "b", &self->paired);
}

static void
on_message_packet(const guint8 *msg, gsize len, gpointer user_data)
{
	BleTransport *self = user_data;

	/* an earlier message may have made the owner close the link */
	if (self->state == BLE_OPEN)
		dfu_transport_emit_packet(&self->parent, msg, len);
}

static void
received(BleTransport *self, const guint8 *data, gsize len)
{
	self->heard = TRUE;
	self->receiving++;
	/* a control point notification is one whole response */
	if (self->profile == BLE_PROFILE_NRFDFU)
		on_message_packet(data, len, self);
	else
		ble_reassembler_feed(self->rx, data, len, on_message_packet, self);
	if (--self->receiving == 0)
		pump(self);
}

static void bootloader_entered(BleTransport *self);

/* the application's answer to Enter; it resets into the bootloader once it is out */
static void
buttonless_indication(BleTransport *self, const guint8 *data, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (!self->enter_sent || !ble_buttonless_answer(data, len, self->address, &error))
		return;
	if (error != NULL) {
		open_failed(self, g_steal_pointer(&error));
		return;
	}
	g_debug("ble: %s: the application enters its bootloader", self->address);
	if (!self->connected) {
		bootloader_entered(self);
		return;
	}
	/* the next step waits until the application's link is gone */
	call_and_forget(self, self->device_path, IFACE_DEVICE, "Disconnect");
}

static void
device_changed(BleTransport *self, GVariant *changed)
{
	gboolean was_connected = self->connected;

	update_device(self, changed);
	/* the application reset into the bootloader, whether it answered first or not */
	if (was_connected && !self->connected && self->state == BLE_BUTTONLESS && self->enter_sent) {
		bootloader_entered(self);
		return;
	}
	if (was_connected && !self->connected && self->state >= BLE_RESOLVING) {
		link_ended(self,
		           g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: disconnected", self->address));
		return;
	}
	if (self->state == BLE_RESOLVING && self->connected && self->resolved)
		step_find_gatt(self);
}

static int
on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;
	const char *path = sd_bus_message_get_path(m);
	const char *iface = NULL;
	g_autoptr(GVariant) changed = NULL;
	g_autoptr(GVariant) value = NULL;

	if (path == NULL || sd_bus_message_read(m, "s", &iface) < 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, NULL);
	if (changed == NULL || !g_variant_is_of_type(changed, G_VARIANT_TYPE_VARDICT))
		return 0;
	if (g_strcmp0(path, self->device_path) == 0 && g_strcmp0(iface, IFACE_DEVICE) == 0) {
		device_changed(self, changed);
		return 0;
	}
	if (self->notifying && (self->state == BLE_OPEN || self->state == BLE_BUTTONLESS) &&
	    g_strcmp0(path, self->char_path) == 0 && g_strcmp0(iface, IFACE_CHAR) == 0 &&
	    (value = g_variant_lookup_value(changed, "Value", G_VARIANT_TYPE_BYTESTRING)) != NULL) {
		gsize len = 0;
		const guint8 *data = g_variant_get_fixed_array(value, &len, 1);

		if (self->state == BLE_BUTTONLESS)
			buttonless_indication(self, data, len);
		else
			received(self, data, len);
	}
	return 0;
}

static gboolean
watch_device(BleTransport *self, const char *path, GVariant *props)
{
	g_autofree char *rule = NULL;
	int r;

	g_free(self->device_path);
	self->device_path = g_strdup(path);
	self->connected = self->resolved = self->paired = FALSE;
	update_device(self, props);
	sd_bus_slot_unref(g_steal_pointer(&self->props_match));
	/* the AddMatch goes out before any call that makes the device change, so no change is missed */
	rule = g_strdup_printf("type='signal',sender='" BLUEZ "',interface='" IFACE_PROPS
	                       "',member='PropertiesChanged',path_namespace='%s'",
	                       path);
	r = sd_bus_add_match_async(self->bus, &self->props_match, rule, on_properties_changed, NULL, self);
	if (r < 0) {
		open_failed(self,
		            g_error_new(DFU_ERROR, DFU_STATUS_CONNECT_FAILED,
		                        "%s: cannot watch the device: %s", self->address, g_strerror(-r)));
		return FALSE;
	}
	return TRUE;
}

static gboolean
device_matches(BleTransport *self, GVariant *props)
{
	const char *address = NULL;
	const char *adapter = NULL;

	if (!g_variant_lookup(props, "Address", "&s", &address) ||
	    g_ascii_strcasecmp(address, self->address) != 0)
		return FALSE;
	/* a device object always names its adapter; the path says it too */
	return !g_variant_lookup(props, "Adapter", "&o", &adapter) ||
	       g_strcmp0(adapter, self->adapter_path) == 0;
}

static void
interfaces_added(BleTransport *self, sd_bus_message *m)
{
	const char *path = NULL;
	g_autoptr(GVariant) ifaces = NULL;
	g_autoptr(GVariant) props = NULL;

	if (self->state != BLE_DISCOVERING || sd_bus_message_read(m, "o", &path) < 0 ||
	    !ble_path_is_under(path, self->adapter_path))
		return;
	ifaces = dfu_bus_read_gvariant(m, NULL);
	if (ifaces == NULL || !g_variant_is_of_type(ifaces, G_VARIANT_TYPE("a{sa{sv}}")))
		return;
	props = g_variant_lookup_value(ifaces, IFACE_DEVICE, G_VARIANT_TYPE_VARDICT);
	if (props == NULL || !device_matches(self, props))
		return;
	g_debug("ble: %s: discovered at %s", self->address, path);
	if (watch_device(self, path, props))
		step_connect(self);
}

static void
interfaces_removed(BleTransport *self, sd_bus_message *m)
{
	const char *path = NULL;

	if (self->state == BLE_IDLE || self->device_path == NULL || sd_bus_message_read(m, "o", &path) < 0)
		return;
	if (g_strcmp0(path, self->device_path) == 0) {
		g_clear_pointer(&self->device_path, g_free);
		self->connected = self->resolved = FALSE;
		link_ended(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: BlueZ removed the device",
		                             self->address));
		return;
	}
	/* the GATT objects go when the link goes; the device's own signal may come later */
	if (self->state >= BLE_NOTIFY && self->char_path != NULL && ble_path_is_under(self->char_path, path))
		link_ended(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST,
		                             "%s: the GATT characteristic went away", self->address));
}

static int
on_objects_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	if (sd_bus_message_is_signal(m, IFACE_OBJECTS, "InterfacesAdded"))
		interfaces_added(self, m);
	else if (sd_bus_message_is_signal(m, IFACE_OBJECTS, "InterfacesRemoved"))
		interfaces_removed(self, m);
	return 0;
}

/* ---- the bus ---- */

static gboolean
on_bus_closed(gpointer user_data)
{
	BleTransport *self = user_data;

	/* the source goes away by itself after this */
	self->bus_source = 0;
	self->objects_match = sd_bus_slot_unref(self->objects_match);
	self->props_match = sd_bus_slot_unref(self->props_match);
	self->call = sd_bus_slot_unref(self->call);
	self->bus = sd_bus_unref(self->bus);
	if (self->state != BLE_IDLE)
		link_ended(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST,
		                             "%s: the system bus connection closed", self->address));
	return G_SOURCE_REMOVE;
}

static gboolean
ensure_bus(BleTransport *self, GError **error)
{
	g_autoptr(sd_bus) bus = NULL;
	int r;

	if (self->bus != NULL)
		return TRUE;
	/* honours DBUS_SYSTEM_BUS_ADDRESS, which is how tests reach a private bus */
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND, "cannot reach the system bus: %s",
		            g_strerror(-r));
		return FALSE;
	}
	r = sd_bus_match_signal_async(bus, &self->objects_match, BLUEZ, "/", IFACE_OBJECTS, NULL,
	                              on_objects_signal, NULL, self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND, "cannot watch BlueZ objects: %s",
		            g_strerror(-r));
		return FALSE;
	}
	self->bus_source = dfu_bus_attach_glib(bus, NULL, on_bus_closed, self);
	self->bus = g_steal_pointer(&bus);
	return TRUE;
}

/* ---- opening: find adapter and device ---- */

/* the device's path and properties when BlueZ knows it; adapter_found tells whether the adapter exists */
static char *
find_device(BleTransport *self, GVariant *objects, gboolean *adapter_found, GVariant **device_props)
{
	char *found = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_loop(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		g_autoptr(GVariant) adapter = g_variant_lookup_value(ifaces, IFACE_ADAPTER, NULL);
		g_autoptr(GVariant) props =
		        g_variant_lookup_value(ifaces, IFACE_DEVICE, G_VARIANT_TYPE_VARDICT);

		if (adapter != NULL && g_strcmp0(path, self->adapter_path) == 0)
			*adapter_found = TRUE;
		if (found == NULL && props != NULL && ble_path_is_under(path, self->adapter_path) &&
		    device_matches(self, props)) {
			found = g_strdup(path);
			*device_props = g_steal_pointer(&props);
		}
	}
	return found;
}

static GVariant *
read_objects(sd_bus_message *m, BleTransport *self, const char *what)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) objects = NULL;

	if (sd_bus_message_is_method_error(m, NULL)) {
		open_failed(self, message_error(self, m, what));
		return NULL;
	}
	objects = dfu_bus_read_gvariant(m, &error);
	if (objects != NULL && !g_variant_is_of_type(objects, G_VARIANT_TYPE("a{oa{sa{sv}}}"))) {
		g_clear_pointer(&objects, g_variant_unref);
		g_set_error_literal(&error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "BlueZ object list has an unexpected type");
	}
	if (objects == NULL) {
		open_failed(self, g_steal_pointer(&error));
		return NULL;
	}
	return g_steal_pointer(&objects);
}

static int
on_discovery_started(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	self->call = sd_bus_slot_unref(self->call);
	/* InProgress: this connection is discovering already, which is what we want */
	if (sd_bus_message_is_method_error(m, NULL) &&
	    g_strcmp0(error_name(m), "org.bluez.Error.InProgress") != 0) {
		open_failed(self, message_error(self, m, "start discovery"));
		return 0;
	}
	self->discovering = TRUE;
	return 0;
}

static int
on_filter_set(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	self->call = sd_bus_slot_unref(self->call);
	/* an older bluetoothd without filters still discovers LE devices */
	if (sd_bus_message_is_method_error(m, NULL))
		g_debug("ble: SetDiscoveryFilter: %s", sd_bus_message_get_error(m)->message);
	step_call(self, self->adapter_path, IFACE_ADAPTER, "StartDiscovery", on_discovery_started, NULL);
	return 0;
}

static void
step_discover(BleTransport *self)
{
	g_autoptr(sd_bus_message) m = NULL;
	int r;

	self->state = BLE_DISCOVERING;
	g_debug("ble: %s: unknown to BlueZ, discovering on %s", self->address, self->adapter);
	arm_step_timer(self, self->discovery_timeout_ms);
	r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ, self->adapter_path, IFACE_ADAPTER,
	                                   "SetDiscoveryFilter");
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 1, "Transport", "s", "le");
	if (r < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "discovery filter: %s",
		                              g_strerror(-r)));
		return;
	}
	step_call(self, self->adapter_path, IFACE_ADAPTER, "SetDiscoveryFilter", on_filter_set, m);
}

static int
on_objects_for_device(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;
	g_autoptr(GVariant) objects = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autofree char *path = NULL;
	gboolean adapter_found = FALSE;

	self->call = sd_bus_slot_unref(self->call);
	objects = read_objects(m, self, "list BlueZ objects");
	if (objects == NULL)
		return 0;
	path = find_device(self, objects, &adapter_found, &props);
	if (!adapter_found) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND,
		                              "Bluetooth adapter %s not found", self->adapter));
		return 0;
	}
	if (path == NULL) {
		step_discover(self);
		return 0;
	}
	if (watch_device(self, path, props))
		step_connect(self);
	return 0;
}

static void
step_lookup(BleTransport *self)
{
	self->state = BLE_LOOKUP;
	if (!self->keep_deadline)
		self->connect_deadline = g_get_monotonic_time() + (gint64)self->connect_timeout_ms * 1000;
	step_call(self, "/", IFACE_OBJECTS, "GetManagedObjects", on_objects_for_device, NULL);
}

/* ---- opening: connect ---- */

static void
stop_discovery(BleTransport *self)
{
	if (!self->discovering)
		return;
	self->discovering = FALSE;
	call_and_forget(self, self->adapter_path, IFACE_ADAPTER, "StopDiscovery");
}

static void
connected_now(BleTransport *self)
{
	stop_discovery(self);
	if (self->connected && self->resolved) {
		step_find_gatt(self);
		return;
	}
	/* ServicesResolved follows as a property change */
	self->state = BLE_RESOLVING;
}

static void on_connect_turn(gpointer user_data);

/* the device object we watched is no concern any more */
static void
forget_device(BleTransport *self)
{
	self->props_match = sd_bus_slot_unref(self->props_match);
	g_clear_pointer(&self->device_path, g_free);
	self->connected = self->resolved = FALSE;
	self->connect_issued = FALSE;
}

static gboolean
on_look_again(gpointer user_data)
{
	BleTransport *self = user_data;

	self->retry_timer = 0;
	step_lookup(self);
	return G_SOURCE_REMOVE;
}

/*
 * Nordic DFU: a device that does not connect may be resetting, or be in its
 * bootloader at the address + 1 (or back in the application) after an update
 * was cut short: look at the other address, within the same deadline.
 */
static void
look_again(BleTransport *self)
{
	if (!self->entered) {
		char *other = g_ascii_strcasecmp(self->address, self->base_address) == 0
		                      ? ble_buttonless_bootloader_address(self->base_address)
		                      : g_strdup(self->base_address);
		g_free(self->address);
		self->address = other;
	}
	forget_device(self);
	self->keep_deadline = TRUE;
	self->state = BLE_WAIT_TURN;
	self->retry_timer = g_timeout_add(IN_PROGRESS_RETRY_MS, on_look_again, self);
}

/* the application reset into its bootloader: connect to that */
static void
bootloader_entered(BleTransport *self)
{
	self->entered = TRUE;
	self->notifying = FALSE;
	self->call = sd_bus_slot_unref(self->call);
	g_clear_pointer(&self->char_path, g_free);
	if (!self->bonded_buttonless) {
		g_free(self->address);
		self->address = ble_buttonless_bootloader_address(self->base_address);
	}
	g_debug("ble: %s: looking for the bootloader at %s", self->base_address, self->address);
	forget_device(self);
	self->keep_deadline = FALSE;
	step_lookup(self);
}

/* the deadline set by step_connect keeps running while we wait */
static void
wait_for_turn(BleTransport *self)
{
	self->state = BLE_WAIT_TURN;
	self->ticket = ble_connect_queue_join(self->adapter, on_connect_turn, self);
}

static gboolean
on_in_progress_retry(gpointer user_data)
{
	BleTransport *self = user_data;

	self->retry_timer = 0;
	wait_for_turn(self);
	return G_SOURCE_REMOVE;
}

static int
on_connect_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;
	const char *name = error_name(m);

	self->call = sd_bus_slot_unref(self->call);
	ble_connect_queue_leave(g_steal_pointer(&self->ticket));
	if (!sd_bus_message_is_method_error(m, NULL) ||
	    g_strcmp0(name, "org.bluez.Error.AlreadyConnected") == 0) {
		self->connected = TRUE;
		connected_now(self);
		return 0;
	}
	/* another program is connecting on this adapter: wait for it, within our own deadline */
	if (g_strcmp0(name, "org.bluez.Error.InProgress") == 0 &&
	    g_get_monotonic_time() + IN_PROGRESS_RETRY_MS * 1000 < self->connect_deadline) {
		g_debug("ble: %s: another connection attempt holds %s, waiting", self->address,
		        self->adapter);
		self->state = BLE_WAIT_TURN;
		self->retry_timer = g_timeout_add(IN_PROGRESS_RETRY_MS, on_in_progress_retry, self);
		return 0;
	}
	if (self->profile == BLE_PROFILE_NRFDFU &&
	    g_get_monotonic_time() + IN_PROGRESS_RETRY_MS * 1000 < self->connect_deadline) {
		g_debug("ble: %s: connect failed (%s)", self->address, name);
		look_again(self);
		return 0;
	}
	open_failed(self, message_error(self, m, "connect"));
	return 0;
}

static void
on_connect_turn(gpointer user_data)
{
	BleTransport *self = user_data;

	self->state = BLE_CONNECTING;
	self->connect_issued = TRUE;
	step_call(self, self->device_path, IFACE_DEVICE, "Connect", on_connect_reply, NULL);
}

static void
step_connect(BleTransport *self)
{
	if (!self->keep_deadline)
		self->connect_deadline = g_get_monotonic_time() + (gint64)self->connect_timeout_ms * 1000;
	arm_step_timer(self, (guint)(remaining_connect_usec(self) / 1000));
	if (self->connected) {
		connected_now(self);
		return;
	}
	wait_for_turn(self);
}

/* ---- opening: the SMP characteristic and its data paths ---- */

static char *
find_smp_characteristic(BleTransport *self, GVariant *objects, guint16 *mtu)
{
	g_autofree char *service = ble_gatt_find_service(objects, self->device_path, BLE_SMP_SERVICE_UUID);

	if (service == NULL)
		return NULL;
	return ble_gatt_find_characteristic(objects, service, BLE_SMP_CHARACTERISTIC_UUID, mtu);
}

static void link_opened(BleTransport *self);
static void step_acquire_write(BleTransport *self);

static gboolean
on_notify_readable(gint fd, GIOCondition condition, gpointer user_data)
{
	BleTransport *self = user_data;
	guint8 buf[NOTIFY_READ_SIZE];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n > 0) {
			if ((gsize)n > sizeof(buf)) {
				g_debug("ble: %s: dropping an oversized notification", self->address);
				continue;
			}
			received(self, buf, n);
			/* the owner may have closed the link from a packet */
			if (self->notify_fd != fd)
				return G_SOURCE_REMOVE;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		self->notify_watch = 0;
		link_lost(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: notifications %s",
		                            self->address, n == 0 ? "hung up" : g_strerror(errno)));
		return G_SOURCE_REMOVE;
	}
	if (condition & (G_IO_HUP | G_IO_ERR)) {
		self->notify_watch = 0;
		link_lost(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: notifications hung up",
		                            self->address));
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* the fd in a reply belongs to the message: keep a copy */
static gboolean
take_fd(BleTransport *self, sd_bus_message *m, int *fd_out, const char *what)
{
	int fd = -1;
	guint16 mtu = 0;

	if (sd_bus_message_read(m, "hq", &fd, &mtu) < 0 || fd < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                              "%s: malformed reply from BlueZ", what));
		return FALSE;
	}
	*fd_out = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (*fd_out < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: %s", what,
		                              g_strerror(errno)));
		return FALSE;
	}
	g_unix_set_fd_nonblocking(*fd_out, TRUE, NULL);
	if (mtu >= ATT_DEFAULT_MTU)
		self->mtu = mtu;
	return TRUE;
}

/* errors after which the value-based calls may still work */
static gboolean
acquire_may_fall_back(sd_bus_message *m)
{
	static const char *const names[] = {
	        "org.bluez.Error.NotSupported",
	        "org.bluez.Error.NotPermitted",
	        "org.bluez.Error.Failed",
	        "org.freedesktop.DBus.Error.UnknownMethod",
	};
	const char *name = error_name(m);

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_strcmp0(name, names[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static void step_buttonless_enter(BleTransport *self);

/*
 * notifications are on: the write socket next, of the SMP characteristic or
 * of the Nordic packet characteristic (the control point answers each write,
 * which only WriteValue carries)
 */
static void
notifications_on(BleTransport *self)
{
	if (self->state == BLE_BUTTONLESS)
		step_buttonless_enter(self);
	else
		step_acquire_write(self);
}

static int
on_start_notify(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	self->call = sd_bus_slot_unref(self->call);
	if (sd_bus_message_is_method_error(m, NULL)) {
		open_failed(self, message_error(self, m, "enable notifications"));
		return 0;
	}
	self->notifying = TRUE;
	notifications_on(self);
	return 0;
}

/*
 * The reply to an Acquire* call: TRUE with *fd_out set when it gave a socket,
 * TRUE with *fd_out left alone when the value-based fallback is to be used,
 * FALSE when opening failed.
 */
static gboolean
take_acquired_fd(BleTransport *self, sd_bus_message *m, int *fd_out, const char *what, const char *method,
                 const char *fallback)
{
	self->call = sd_bus_slot_unref(self->call);
	if (!sd_bus_message_is_method_error(m, NULL))
		return take_fd(self, m, fd_out, what);
	if (!acquire_may_fall_back(m)) {
		open_failed(self, message_error(self, m, what));
		return FALSE;
	}
	g_debug("ble: %s: %s refused (%s), using %s", self->address, method, error_name(m), fallback);
	return TRUE;
}

static int
on_acquire_notify(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	if (!take_acquired_fd(self, m, &self->notify_fd, "acquire notifications", "AcquireNotify",
	                      "StartNotify"))
		return 0;
	if (self->notify_fd < 0) {
		step_call(self, self->char_path, IFACE_CHAR, "StartNotify", on_start_notify, NULL);
		return 0;
	}
	self->notify_watch =
	        dfu_fd_watch_add(self->notify_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_notify_readable, self);
	notifications_on(self);
	return 0;
}

static gboolean
call_with_empty_options(BleTransport *self, const char *path, const char *member, sd_bus_message_handler_t cb)
{
	g_autoptr(sd_bus_message) m = NULL;
	int r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ, path, IFACE_CHAR, member);

	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: %s", member,
		                              g_strerror(-r)));
		return FALSE;
	}
	return step_call(self, path, IFACE_CHAR, member, cb, m);
}

static int
on_acquire_write(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	if (take_acquired_fd(self, m, &self->write_fd, "acquire the write socket", "AcquireWrite",
	                     "WriteValue"))
		link_opened(self);
	return 0;
}

static void
step_acquire_write(BleTransport *self)
{
	self->state = BLE_WRITE;
	call_with_empty_options(self,
	                        self->profile == BLE_PROFILE_NRFDFU ? self->packet_path : self->char_path,
	                        "AcquireWrite", on_acquire_write);
}

static int
on_enter_written(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;

	self->call = sd_bus_slot_unref(self->call);
	/* an application that resets at once may not answer the write: its disconnect says enough */
	if (sd_bus_message_is_method_error(m, NULL) && self->connected)
		open_failed(self, message_error(self, m, "ask the application to enter its bootloader"));
	return 0;
}

static void
step_buttonless_enter(BleTransport *self)
{
	static const guint8 enter[] = {BLE_BUTTONLESS_ENTER};
	g_autoptr(sd_bus_message) m = NULL;
	int r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ, self->char_path, IFACE_CHAR,
	                                       "WriteValue");

	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', enter, sizeof(enter));
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 1, "type", "s", "request");
	if (r < 0) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "WriteValue: %s",
		                              g_strerror(-r)));
		return;
	}
	self->enter_sent = TRUE;
	step_call(self, self->char_path, IFACE_CHAR, "WriteValue", on_enter_written, m);
}

static gboolean
on_gatt_recheck(gpointer user_data)
{
	BleTransport *self = user_data;

	self->retry_timer = 0;
	step_find_gatt(self);
	return G_SOURCE_REMOVE;
}

/*
 * After an entry with bond sharing BlueZ may still show the application's GATT
 * database, cached for the bond, until the bootloader's Service Changed has it
 * discover the services again: look again while the connect time lasts.
 */
static gboolean
wait_for_rediscovery(BleTransport *self)
{
	if (!self->entered || !self->bonded_buttonless ||
	    g_get_monotonic_time() + IN_PROGRESS_RETRY_MS * 1000 >= self->connect_deadline)
		return FALSE;
	g_debug("ble: %s: no control point yet, BlueZ still lists the application's services", self->address);
	self->retry_timer = g_timeout_add(IN_PROGRESS_RETRY_MS, on_gatt_recheck, self);
	return TRUE;
}

/*
 * The bootloader's control point and packet characteristics, or else the
 * application's buttonless one: indications on it first, then Enter.
 */
static void
found_nrfdfu_gatt(BleTransport *self, GVariant *objects)
{
	g_autofree char *service = ble_gatt_find_service(objects, self->device_path, BLE_NRFDFU_SERVICE_UUID);
	guint16 mtu = ATT_DEFAULT_MTU;

	if (service != NULL) {
		self->char_path =
		        ble_gatt_find_characteristic(objects, service, BLE_NRFDFU_CONTROL_UUID, &mtu);
		self->packet_path =
		        ble_gatt_find_characteristic(objects, service, BLE_NRFDFU_PACKET_UUID, &mtu);
	}
	self->mtu = MAX(mtu, (guint16)ATT_DEFAULT_MTU);
	if (self->char_path != NULL && self->packet_path != NULL) {
		self->state = BLE_NOTIFY;
		call_with_empty_options(self, self->char_path, "AcquireNotify", on_acquire_notify);
		return;
	}
	g_clear_pointer(&self->char_path, g_free);
	g_clear_pointer(&self->packet_path, g_free);
	if (service != NULL && !self->entered) {
		self->char_path =
		        ble_gatt_find_characteristic(objects, service, BLE_NRFDFU_BUTTONLESS_UUID, &mtu);
		self->bonded_buttonless = self->char_path == NULL;
		if (self->char_path == NULL)
			self->char_path = ble_gatt_find_characteristic(
			        objects, service, BLE_NRFDFU_BUTTONLESS_BONDED_UUID, &mtu);
	}
	if (self->char_path == NULL && wait_for_rediscovery(self))
		return;
	if (self->char_path == NULL) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		                              "%s: the device has no Nordic DFU service (%s)%s",
		                              self->address, BLE_NRFDFU_SERVICE_UUID,
		                              self->entered ? " after entering its bootloader" : ""));
		return;
	}
	g_debug("ble: %s: the application offers buttonless DFU%s", self->address,
	        self->bonded_buttonless ? " with bond sharing" : "");
	/* indications: BlueZ has no socket for those */
	self->state = BLE_BUTTONLESS;
	self->enter_sent = FALSE;
	step_call(self, self->char_path, IFACE_CHAR, "StartNotify", on_start_notify, NULL);
}

static int
on_objects_for_gatt(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	BleTransport *self = userdata;
	g_autoptr(GVariant) objects = NULL;
	char *path;
	guint16 mtu = ATT_DEFAULT_MTU;

	self->call = sd_bus_slot_unref(self->call);
	objects = read_objects(m, self, "list GATT objects");
	if (objects == NULL)
		return 0;
	if (self->profile == BLE_PROFILE_NRFDFU) {
		found_nrfdfu_gatt(self, objects);
		return 0;
	}
	path = find_smp_characteristic(self, objects, &mtu);
	if (path == NULL) {
		open_failed(self, g_error_new(DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		                              "%s: the device has no SMP service (%s)", self->address,
		                              BLE_SMP_SERVICE_UUID));
		return 0;
	}
	g_free(self->char_path);
	self->char_path = path;
	self->mtu = MAX(mtu, (guint16)ATT_DEFAULT_MTU);
	self->state = BLE_NOTIFY;
	call_with_empty_options(self, self->char_path, "AcquireNotify", on_acquire_notify);
	return 0;
}

static void
step_find_gatt(BleTransport *self)
{
	self->state = BLE_FIND_GATT;
	step_call(self, "/", IFACE_OBJECTS, "GetManagedObjects", on_objects_for_gatt, NULL);
}

static void
link_opened(BleTransport *self)
{
	g_clear_handle_id(&self->step_timer, g_source_remove);
	self->state = BLE_OPEN;
	self->heard = FALSE;
	ble_reassembler_reset(self->rx);
	g_debug("ble: %s: open, ATT MTU %u, %s writes, %s notifications", self->address, self->mtu,
	        self->write_fd >= 0 ? "socket" : "WriteValue", self->notify_fd >= 0 ? "socket" : "signal");
	dfu_transport_emit_opened(&self->parent, NULL);
}

/* ---- sending ---- */

static void
schedule_lost(BleTransport *self, GError *error)
{
	g_debug("ble: %s: %s", self->address, error->message);
	report_later(self, FALSE, error);
}

static gboolean
on_write_ready(gint fd, GIOCondition condition, gpointer user_data)
{
	BleTransport *self = user_data;

	self->write_watch = 0;
	pump(self);
	return G_SOURCE_REMOVE;
}

static void
out_piece_free(OutPiece *piece)
{
	g_bytes_unref(piece->value);
	g_free(piece);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(OutPiece, out_piece_free)

static void
queue_write(BleTransport *self, GBytes *value, gboolean to_packet)
{
	OutPiece *piece = g_new0(OutPiece, 1);

	piece->value = value;
	piece->to_packet = to_packet;
	g_queue_push_tail(&self->outq, piece);
}

static void
write_failed(BleTransport *self, int err)
{
	schedule_lost(self, g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: write: %s", self->address,
	                                g_strerror(err)));
}

/* the write socket carries all of SMP's writes and the Nordic packet characteristic's */
static gboolean
goes_to_socket(BleTransport *self, const OutPiece *piece)
{
	return self->write_fd >= 0 && (self->profile != BLE_PROFILE_NRFDFU || piece->to_packet);
}

/* bluetoothd has read every packet written to the socket (or the kernel cannot tell) */
static gboolean
socket_drained(BleTransport *self)
{
	int queued = 0;

	return self->write_fd < 0 || ioctl(self->write_fd, SIOCOUTQ, &queued) < 0 || queued == 0;
}

static gboolean
on_drain_poll(gpointer user_data)
{
	BleTransport *self = user_data;

	self->drain_timer = 0;
	pump(self);
	return G_SOURCE_REMOVE;
}

/*
 * Sends the socket's pieces at the head of the queue, as many as one call takes: an SMP message or
 * a Nordic object is a burst of writes, and a system call per write would cost more than the
 * writes. FALSE when some stay: the socket is full (a watch waits for room) or the link failed.
 */
static gboolean
send_to_socket(BleTransport *self)
{
	struct mmsghdr msgs[SOCKET_BATCH];
	struct iovec iov[SOCKET_BATCH];
	guint n = 0;
	int sent;

	for (GList *l = self->outq.head; l != NULL && n < SOCKET_BATCH && goes_to_socket(self, l->data);
	     l = l->next) {
		OutPiece *piece = l->data;
		gsize len = 0;

		iov[n].iov_base = (void *)g_bytes_get_data(piece->value, &len);
		iov[n].iov_len = len;
		msgs[n] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[n], .msg_iovlen = 1}};
		n++;
	}
	do
		sent = sendmmsg(self->write_fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	for (int i = 0; i < sent; i++)
		out_piece_free(g_queue_pop_head(&self->outq));
	if (sent == (int)n)
		return TRUE;
	/* a short count hides why the rest stayed: the watch hears of room and of a failure alike */
	if (sent >= 0 || errno == EAGAIN || errno == ENOBUFS)
		self->write_watch = dfu_fd_watch_add(self->write_fd, G_IO_OUT, on_write_ready, self);
	else
		write_failed(self, errno);
	return FALSE;
}

static int
on_write_value(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	WriteCall *wc = userdata;
	BleTransport *self = wc->owner;

	self->write_calls = g_list_remove(self->write_calls, wc);
	sd_bus_slot_unref(wc->slot);
	g_free(wc);
	if (sd_bus_message_is_method_error(m, NULL)) {
		GError *error = message_error(self, m, "write");
		/* a refused write means an unusable link: the owner reconnects or gives up */
		if (error->code != DFU_STATUS_AUTH_REQUIRED)
			error->code = DFU_STATUS_LINK_LOST;
		schedule_lost(self, error);
		return 0;
	}
	pump(self);
	return 0;
}

static gboolean
send_by_call(BleTransport *self, const OutPiece *piece)
{
	g_autoptr(sd_bus_message) m = NULL;
	WriteCall *wc;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(piece->value, &len);
	/* the Nordic control point answers every write; SMP and the packet characteristic do not */
	gboolean request = self->profile == BLE_PROFILE_NRFDFU && !piece->to_packet;
	int r = sd_bus_message_new_method_call(self->bus, &m, BLUEZ,
	                                       piece->to_packet ? self->packet_path : self->char_path,
	                                       IFACE_CHAR, "WriteValue");

	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', data, len);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 1, "type", "s", request ? "request" : "command");
	if (r < 0) {
		write_failed(self, -r);
		return FALSE;
	}
	wc = g_new0(WriteCall, 1);
	wc->owner = self;
	r = sd_bus_call_async(self->bus, &wc->slot, m, on_write_value, wc, 0);
	if (r < 0) {
		g_free(wc);
		write_failed(self, -r);
		return FALSE;
	}
	self->write_calls = g_list_append(self->write_calls, wc);
	return TRUE;
}

/*
 * Writes leave in the order they were queued, though two paths carry them:
 * a write on one path waits until bluetoothd holds every one before it on
 * the other (the reply to a call, the socket read empty), so a Nordic
 * checksum request never overtakes the packets it checks.
 */
static void
pump(BleTransport *self)
{
	OutPiece *piece;

	if (self->state != BLE_OPEN || self->report_idle != 0 || self->write_watch != 0 ||
	    self->drain_timer != 0)
		return;
	while ((piece = g_queue_peek_head(&self->outq)) != NULL) {
		/* the socket's pieces leave the queue as they go */
		if (goes_to_socket(self, piece)) {
			if (self->write_calls != NULL || !send_to_socket(self))
				return;
			continue;
		}
		if (g_list_length(self->write_calls) >= MAX_WRITE_CALLS)
			return;
		if (!socket_drained(self)) {
			self->drain_poll_ms =
			        CLAMP(self->drain_poll_ms * 2, DRAIN_POLL_MIN_MS, DRAIN_POLL_MAX_MS);
			self->drain_timer = g_timeout_add(self->drain_poll_ms, on_drain_poll, self);
			return;
		}
		self->drain_poll_ms = 0;
		if (!send_by_call(self, piece))
			return;
		out_piece_free(g_queue_pop_head(&self->outq));
	}
}

static gsize
max_write(BleTransport *self)
{
	return MAX(self->mtu, (guint16)ATT_DEFAULT_MTU) - ATT_WRITE_HEADER;
}

static gboolean
ble_send(DfuTransport *transport, const guint8 *data, gsize len, GError **error)
{
	BleTransport *self = (BleTransport *)transport;
	g_autoptr(GPtrArray) pieces = NULL;

	if (self->state != BLE_OPEN || self->report_idle != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: not connected", self->address);
		return FALSE;
	}
	if (self->profile == BLE_PROFILE_NRFDFU) {
		/* a write request's bytes go to the packet characteristic without the opcode */
		gboolean to_packet = len > 0 && data[0] == BLE_NRFDFU_WRITE_OPCODE;
		gsize skip = to_packet ? 1 : 0;

		if (len == 0 || len - skip > max_write(self)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR,
			            "%s: a %" G_GSIZE_FORMAT "-byte request does not fit one write",
			            self->address, len);
			return FALSE;
		}
		queue_write(self, g_bytes_new(data + skip, len - skip), to_packet);
	} else {
		/* whole writes per message: a write never carries the end of one and the start of the next */
		pieces = ble_split_message(data, len, max_write(self));
		for (guint i = 0; i < pieces->len; i++)
			queue_write(self, g_bytes_ref(g_ptr_array_index(pieces, i)), FALSE);
	}
	if (self->receiving == 0)
		pump(self);
	return TRUE;
}

/* ---- the transport ---- */

static void
ble_open(DfuTransport *transport)
{
	BleTransport *self = (BleTransport *)transport;
	g_autoptr(GError) error = NULL;

	/* already on its way: the caller hears once */
	if (self->state != BLE_IDLE)
		return;
	if (!ensure_bus(self, &error)) {
		report_later(self, TRUE, g_steal_pointer(&error));
		return;
	}
	self->heard = FALSE;
	self->keep_deadline = FALSE;
	step_lookup(self);
}

static void
free_write_call(WriteCall *wc)
{
	sd_bus_slot_unref(wc->slot);
	g_free(wc);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
ble_close(DfuTransport *transport)
{
	BleTransport *self = (BleTransport *)transport;
	BleState was = self->state;

	self->state = BLE_IDLE;
	ble_connect_queue_leave(g_steal_pointer(&self->ticket));
	g_clear_handle_id(&self->step_timer, g_source_remove);
	g_clear_handle_id(&self->retry_timer, g_source_remove);
	g_clear_handle_id(&self->report_idle, g_source_remove);
	g_clear_error(&self->report_error);
	g_clear_handle_id(&self->notify_watch, g_source_remove);
	g_clear_handle_id(&self->write_watch, g_source_remove);
	g_clear_handle_id(&self->drain_timer, g_source_remove);
	self->drain_poll_ms = 0;
	self->call = sd_bus_slot_unref(self->call);
	self->props_match = sd_bus_slot_unref(self->props_match);
	g_list_free_full(g_steal_pointer(&self->write_calls), (GDestroyNotify)free_write_call);
	g_queue_clear_full(&self->outq, (GDestroyNotify)out_piece_free);
	close_fd(&self->notify_fd);
	close_fd(&self->write_fd);
	ble_reassembler_reset(self->rx);
	stop_discovery(self);
	if (self->notifying && self->char_path != NULL)
		call_and_forget(self, self->char_path, IFACE_CHAR, "StopNotify");
	self->notifying = FALSE;
	/* the adapter's connection slots are shared: give ours back */
	if (was != BLE_IDLE && self->connect_issued && self->device_path != NULL)
		call_and_forget(self, self->device_path, IFACE_DEVICE, "Disconnect");
	self->connect_issued = FALSE;
	transport->is_open = FALSE;
}

static gsize
ble_max_message(DfuTransport *transport)
{
	BleTransport *self = (BleTransport *)transport;

	/* a Nordic write request's opcode does not travel */
	return max_write(self) + (self->profile == BLE_PROFILE_NRFDFU ? 1 : 0);
}

static gsize
ble_wire_size(DfuTransport *transport, gsize len)
{
	gsize per = max_write((BleTransport *)transport);
	return len + (len + per - 1) / per * ATT_WRITE_HEADER;
}

static void
ble_finalize(DfuTransport *transport)
{
	BleTransport *self = (BleTransport *)transport;

	ble_close(transport);
	self->objects_match = sd_bus_slot_unref(self->objects_match);
	g_clear_handle_id(&self->bus_source, g_source_remove);
	/* what close queued (Disconnect, StopNotify) still has to reach bluetoothd */
	if (self->bus != NULL)
		self->bus = sd_bus_flush_close_unref(self->bus);
	ble_reassembler_free(self->rx);
	g_free(self->address);
	g_free(self->adapter);
	g_free(self->adapter_path);
	g_free(self->device_path);
	g_free(self->char_path);
	g_free(self->packet_path);
	g_free(self->base_address);
	g_free(self);
}

static const DfuTransportClass ble_class = {
        .name = "ble",
        .open = ble_open,
        .send = ble_send,
        .close = ble_close,
        .max_message = ble_max_message,
        .wire_size = ble_wire_size,
        /* the device reassembles writes into its buffer; nothing else shares it */
        .netbuf_overhead = 0,
        /* Zephyr's SMP transport has four buffers unless configured otherwise; one is for the answer */
        .guess_window = 3,
        .finalize = ble_finalize,
};

DfuTransport *
dfu_ble_transport_new(const BleTransportOptions *options)
{
	BleTransport *self = g_new0(BleTransport, 1);

	self->parent.klass = &ble_class;
	self->profile = options->profile;
	self->base_address = g_ascii_strup(options->address, -1);
	self->address = g_strdup(self->base_address);
	self->adapter = g_strdup(options->adapter);
	self->adapter_path = adapter_path_for(options->adapter);
	self->connect_timeout_ms = MAX(options->connect_timeout_ms, 1u);
	self->discovery_timeout_ms = MAX(options->discovery_timeout_ms, 1u);
	self->mtu = ATT_DEFAULT_MTU;
	self->notify_fd = -1;
	self->write_fd = -1;
	g_queue_init(&self->outq);
	self->rx = ble_reassembler_new();
	return &self->parent;
}

GError *
dfu_ble_transport_explain_silence(DfuTransport *transport)
{
	BleTransport *self = (BleTransport *)transport;
	g_autofree char *hint = NULL;

	g_return_val_if_fail(transport->klass == &ble_class, NULL);
	if (self->heard || self->paired)
		return NULL;
	hint = bluez_pairing_hint(self->address);
	return g_error_new(DFU_ERROR, DFU_STATUS_AUTH_REQUIRED,
	                   "%s never answered and is not paired: its SMP characteristic probably needs "
	                   "an encrypted link; %s",
	                   self->address, hint);
}
