/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "ble-device.h"
#include "ble-gatt.h"
#include "ble-iface.h"
#include "ble-link.h"
#include "ble-smp-reassembly.h"
#include "dfu-error.h"

/* how long a controller tries a device that does not advertise */
#define BLE_CONNECT_ABORT_MS 200
#define BLE_RSSI -52

static const char device_xml[] = "<node><interface name='org.bluez.Device1'>"
                                 "<method name='Connect'/>"
                                 "<method name='Disconnect'/>"
                                 "<method name='Pair'/>"
                                 "<method name='CancelPairing'/>"
                                 "<property name='Address' type='s' access='read'/>"
                                 "<property name='AddressType' type='s' access='read'/>"
                                 "<property name='Name' type='s' access='read'/>"
                                 "<property name='Alias' type='s' access='readwrite'/>"
                                 "<property name='Adapter' type='o' access='read'/>"
                                 "<property name='Paired' type='b' access='read'/>"
                                 "<property name='Trusted' type='b' access='readwrite'/>"
                                 "<property name='Blocked' type='b' access='readwrite'/>"
                                 "<property name='LegacyPairing' type='b' access='read'/>"
                                 "<property name='Connected' type='b' access='read'/>"
                                 "<property name='ServicesResolved' type='b' access='read'/>"
                                 "<property name='RSSI' type='n' access='read'/>"
                                 "<property name='UUIDs' type='as' access='read'/>"
                                 "</interface></node>";

struct _BleDevice {
	BleDeviceConfig config;
	BleAdapter *adapter;
	char *address;
	char *path;
	char *state_file;
	char *log_prefix; /* for stderr lines */
	SimFaultPlan *faults;
	SimMcuboot *model;
	SimSmpDevice *smp;
	BleSmpReassembly *reassembly;
	BleIface *iface;
	gboolean known;  /* exported */
	gboolean on_air; /* running, not rebooting */
	gboolean seen;   /* found by the current discovery */
	gboolean paired;
	guint seen_timer;
	guint connect_timer;
	GDBusMethodInvocation *connect_invocation;
	guint boot_timer;
	gboolean reset_pending;                 /* rebooting once the last answer is over the air */
	GDBusMethodInvocation *pair_invocation; /* paired once the writes sent before are in */
	GQueue answer_fragments; /* notifications left of each answer in the link, as GUINT; each holds a
	                            netbuf */
	BleLink *link;           /* non-NULL while connected */
	BleGatt *gatt;
	/* BlueZ keeps a bonded device's GATT database by address: what it showed last, and the
	 * timer after which the device's Service Changed has it discover the services again */
	const BleGattServiceSpec *cached_service;
	guint rediscover_timer;
	gboolean stay_off;         /* the reboot under way does not come back */
	const BleDeviceRole *role; /* NULL: an SMP device */
	gpointer role_data;
};

/* from a bonded device's connection to BlueZ's discovering its changed services */
#define REDISCOVER_MS 150

static void update_presence(BleDevice *device);
static void complete_pairing(BleDevice *device);
static void go_off_air(BleDevice *device);

static void
export_device(BleDevice *device)
{
	g_autoptr(GDBusObjectSkeleton) object = NULL;

	if (device->known)
		return;
	object = g_dbus_object_skeleton_new(device->path);
	g_dbus_object_skeleton_add_interface(object, G_DBUS_INTERFACE_SKELETON(device->iface));
	g_dbus_object_manager_server_export(ble_adapter_get_manager(device->adapter), object);
	device->known = TRUE;
}

static void
unexport_device(BleDevice *device)
{
	if (!device->known)
		return;
	g_dbus_object_manager_server_unexport(ble_adapter_get_manager(device->adapter), device->path);
	device->known = FALSE;
}

static gboolean
writes_allowed(BleDevice *device)
{
	return device->config.pairing == BLE_PAIRING_NONE || device->paired;
}

/* the link is gone: sockets close, GATT objects go, the device advertises again */
static void
drop_link(BleDevice *device)
{
	if (device->link == NULL)
		return;
	if (device->pair_invocation != NULL)
		g_dbus_method_invocation_return_dbus_error(g_steal_pointer(&device->pair_invocation),
		                                           "org.bluez.Error.AuthenticationFailed",
		                                           "Authentication Failed");
	g_clear_handle_id(&device->rediscover_timer, g_source_remove);
	g_clear_pointer(&device->gatt, ble_gatt_free);
	g_clear_pointer(&device->link, ble_link_free);
	g_queue_clear(&device->answer_fragments);
	if (device->role != NULL) {
		device->role->link_lost(device, device->role_data);
	} else {
		ble_smp_reassembly_reset(device->reassembly);
		sim_smp_device_link_lost(device->smp);
	}
	ble_iface_set(device->iface, "ServicesResolved", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "Connected", g_variant_new_boolean(FALSE));
	if (device->config.smp.verbose)
		g_printerr("%s: disconnected\n", device->log_prefix);
	update_presence(device);
	/* a reboot that waited for its answer to go out happens all the same */
	if (device->reset_pending)
		go_off_air(device);
}

static gboolean
on_boot_done(gpointer data)
{
	BleDevice *device = data;

	device->boot_timer = 0;
	device->on_air = TRUE;
	update_presence(device);
	return G_SOURCE_REMOVE;
}

/* the reboot takes the device off the air for the swap and the boot */
static void
go_off_air(BleDevice *device)
{
	device->reset_pending = FALSE;
	device->on_air = FALSE;
	drop_link(device);
	update_presence(device);
	g_clear_handle_id(&device->boot_timer, g_source_remove);
	if (!device->config.no_return && !device->stay_off)
		device->boot_timer =
		        g_timeout_add(device->config.swap_ms + device->config.boot_ms, on_boot_done, device);
}

static gboolean
link_can_deliver(gpointer user_data)
{
	BleDevice *device = user_data;

	if (device->role != NULL)
		return !device->reset_pending;
	/* without drop-when-full a request waits in the link while every netbuf is taken */
	return !device->reset_pending && (device->config.drop_when_full ||
	                                  sim_smp_device_held(device->smp) < device->config.smp.buf_count);
}

static void
smp_receive(const guint8 *msg, gsize len, gpointer user_data)
{
	BleDevice *device = user_data;

	sim_smp_device_receive(device->smp, msg, len);
	sim_smp_device_pump(device->smp);
}

static void
link_deliver_write(guint handle, const guint8 *value, gsize len, gpointer user_data)
{
	BleDevice *device = user_data;

	/* an unauthenticated write is refused with an ATT error the client never sees */
	if (device->role != NULL) {
		if (writes_allowed(device))
			device->role->write(device, handle, value, len, device->role_data);
	} else if (writes_allowed(device) &&
	           !ble_smp_reassembly_feed(device->reassembly, value, len, smp_receive, device))
		sim_smp_device_get_counters(device->smp)->bad_frames++;
	if (device->pair_invocation != NULL && device->link != NULL &&
	    ble_link_write_pending(device->link) == 0)
		complete_pairing(device);
}

static void
link_deliver_notify(guint handle, const guint8 *value, gsize len, gpointer user_data)
{
	BleDevice *device = user_data;

	ble_gatt_notify(device->gatt, handle, value, len);
	if (!g_queue_is_empty(&device->answer_fragments)) {
		guint left = GPOINTER_TO_UINT(g_queue_pop_head(&device->answer_fragments)) - 1;
		if (left > 0)
			g_queue_push_head(&device->answer_fragments, GUINT_TO_POINTER(left));
	}
	if (device->reset_pending && ble_link_notify_pending(device->link) == 0)
		go_off_air(device);
}

static void
link_write_space(gpointer user_data)
{
	BleDevice *device = user_data;

	ble_gatt_write_space(device->gatt);
}

static const BleLinkCallbacks link_callbacks = {
        .can_deliver = link_can_deliver,
        .deliver_write = link_deliver_write,
        .deliver_notify = link_deliver_notify,
        .write_space = link_write_space,
};

static gboolean
gatt_write_room(gpointer user_data)
{
	BleDevice *device = user_data;

	return device->link != NULL && ble_link_write_room(device->link);
}

static void
gatt_write(guint chr, const guint8 *value, gsize len, gpointer user_data)
{
	BleDevice *device = user_data;

	ble_link_write(device->link, chr, value, len);
}

static gboolean
gatt_may_notify(gpointer user_data)
{
	BleDevice *device = user_data;

	return device->config.pairing != BLE_PAIRING_NOTIFY || device->paired;
}

static const BleGattCallbacks gatt_callbacks = {
        .write_room = gatt_write_room,
        .write = gatt_write,
        .may_notify = gatt_may_notify,
};

static void
smp_send(GBytes *answer, gpointer user_data)
{
	BleDevice *device = user_data;
	gsize chunk = device->config.link.mtu - BLE_ATT_HEADER;
	gsize len;
	const guint8 *msg = g_bytes_get_data(answer, &len);

	if (device->link == NULL)
		return;
	g_queue_push_tail(&device->answer_fragments, GUINT_TO_POINTER((len + chunk - 1) / chunk));
	for (gsize off = 0; off < len; off += chunk)
		ble_link_notify(device->link, 0, msg + off, MIN(chunk, len - off));
}

static void
smp_rebooted(gpointer user_data)
{
	BleDevice *device = user_data;

	ble_smp_reassembly_reset(device->reassembly);
	/* the reset answer goes out before the link drops, however short the reset delay */
	ble_device_reboot(device, TRUE);
}

static void
smp_hang_up(gpointer user_data)
{
	drop_link(user_data);
}

static guint
smp_held(gpointer user_data)
{
	BleDevice *device = user_data;

	return g_queue_get_length(&device->answer_fragments);
}

static const SimSmpDeviceCallbacks smp_callbacks = {
        .send = smp_send,
        .rebooted = smp_rebooted,
        .hang_up = smp_hang_up,
        .held = smp_held,
};

static gboolean
on_seen(gpointer data)
{
	BleDevice *device = data;

	device->seen_timer = 0;
	device->seen = TRUE;
	ble_iface_set(device->iface, "RSSI", g_variant_new_int16(BLE_RSSI));
	export_device(device);
	return G_SOURCE_REMOVE;
}

/* a device is seen while the adapter discovers and it advertises (up and not connected) */
static void
update_presence(BleDevice *device)
{
	gboolean advertising = device->on_air && device->link == NULL;

	if (advertising && ble_adapter_get_discovering(device->adapter)) {
		if (!device->seen && device->seen_timer == 0)
			device->seen_timer = g_timeout_add(device->config.advertise_ms, on_seen, device);
		return;
	}
	g_clear_handle_id(&device->seen_timer, g_source_remove);
	if (device->seen) {
		device->seen = FALSE;
		ble_iface_unset(device->iface, "RSSI");
	}
}

static void
export_gatt(BleDevice *device, const BleGattServiceSpec *service)
{
	BleGattConfig gatt_config = {
	        .mtu = device->config.link.mtu,
	        .acquire = device->config.acquire,
	        .service = service,
	};

	g_clear_pointer(&device->gatt, ble_gatt_free);
	device->gatt = ble_gatt_new(ble_adapter_get_manager(device->adapter), device->path, &gatt_config,
	                            &gatt_callbacks, device);
	ble_iface_set(device->iface, "ServicesResolved", g_variant_new_boolean(TRUE));
}

/* the device's Service Changed indication: BlueZ drops its cache and discovers again */
static gboolean
on_rediscover(gpointer data)
{
	BleDevice *device = data;

	device->rediscover_timer = 0;
	ble_iface_set(device->iface, "ServicesResolved", g_variant_new_boolean(FALSE));
	export_gatt(device, device->cached_service);
	return G_SOURCE_REMOVE;
}

static void
establish(BleDevice *device)
{
	const BleGattServiceSpec *service = device->role != NULL
	                                            ? device->role->service(device, device->role_data)
	                                            : &ble_gatt_smp_service;
	/* a bonded device's database comes from the cache first, even when it changed */
	gboolean stale =
	        device->paired && device->cached_service != NULL && device->cached_service != service;

	device->link = ble_link_new(&device->config.link, &link_callbacks, device);
	update_presence(device);
	ble_iface_set(device->iface, "Connected", g_variant_new_boolean(TRUE));
	export_gatt(device, stale ? device->cached_service : service);
	device->cached_service = service;
	if (stale)
		device->rediscover_timer = g_timeout_add(REDISCOVER_MS, on_rediscover, device);
	if (device->config.smp.verbose)
		g_printerr("%s: connected\n", device->log_prefix);
}

static gboolean
on_connect_done(gpointer data)
{
	BleDevice *device = data;
	GDBusMethodInvocation *invocation = g_steal_pointer(&device->connect_invocation);

	device->connect_timer = 0;
	ble_adapter_end_connect(device->adapter);
	if (!device->on_air) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.Failed",
		                                           "le-connection-abort-by-local");
		return G_SOURCE_REMOVE;
	}
	establish(device);
	g_dbus_method_invocation_return_value(invocation, NULL);
	return G_SOURCE_REMOVE;
}

static void
handle_connect(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleDevice *device = user_data;

	if (device->link != NULL) {
		g_dbus_method_invocation_return_value(invocation, NULL);
		return;
	}
	if (device->connect_timer != 0 || !ble_adapter_begin_connect(device->adapter)) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.InProgress",
		                                           "In Progress");
		return;
	}
	device->connect_invocation = invocation;
	device->connect_timer = g_timeout_add(
	        device->on_air ? device->config.connect_ms : BLE_CONNECT_ABORT_MS, on_connect_done, device);
}

static void
cancel_connect(BleDevice *device)
{
	if (device->connect_timer == 0)
		return;
	g_clear_handle_id(&device->connect_timer, g_source_remove);
	ble_adapter_end_connect(device->adapter);
	g_dbus_method_invocation_return_dbus_error(g_steal_pointer(&device->connect_invocation),
	                                           "org.bluez.Error.Failed", "Operation was cancelled");
}

static void
handle_disconnect(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleDevice *device = user_data;

	if (device->link == NULL && device->connect_timer == 0) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.NotConnected",
		                                           "Not Connected");
		return;
	}
	cancel_connect(device);
	drop_link(device);
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
complete_pairing(BleDevice *device)
{
	device->paired = TRUE;
	ble_iface_set(device->iface, "Paired", g_variant_new_boolean(TRUE));
	g_dbus_method_invocation_return_value(g_steal_pointer(&device->pair_invocation), NULL);
}

static void
handle_pair(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	BleDevice *device = user_data;

	if (device->paired) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.AlreadyExists",
		                                           "Already Exists");
		return;
	}
	if (device->pair_invocation != NULL) {
		g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.InProgress",
		                                           "In Progress");
		return;
	}
	device->pair_invocation = invocation;
	/* pairing runs over the link: writes already in it reach the device first */
	if (device->link == NULL || ble_link_write_pending(device->link) == 0)
		complete_pairing(device);
}

static void
handle_cancel_pairing(GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
	g_dbus_method_invocation_return_dbus_error(invocation, "org.bluez.Error.DoesNotExist",
	                                           "Does Not Exist");
}

static const BleMethod device_methods[] = {
        {"Connect", handle_connect},
        {"Disconnect", handle_disconnect},
        {"Pair", handle_pair},
        {"CancelPairing", handle_cancel_pairing},
        {NULL, NULL},
};

/* dev_C4_12_34_56_78_9A; FALSE unless address is six uppercase hex pairs with colons */
static gboolean
address_to_suffix(const char *address, char **path_part, char **file_part)
{
	g_auto(GStrv) parts = g_strsplit(address, ":", -1);

	if (g_strv_length(parts) != 6)
		return FALSE;
	for (guint i = 0; i < 6; i++) {
		if (strlen(parts[i]) != 2 || !g_ascii_isxdigit(parts[i][0]) ||
		    !g_ascii_isxdigit(parts[i][1]) || g_ascii_islower(parts[i][0]) ||
		    g_ascii_islower(parts[i][1]))
			return FALSE;
	}
	*path_part = g_strjoinv("_", parts);
	*file_part = g_strjoinv("", parts);
	return TRUE;
}

static void
fill_properties(BleDevice *device, const char *service_uuid)
{
	const char *uuids[] = {service_uuid, NULL};

	ble_iface_set(device->iface, "Address", g_variant_new_string(device->address));
	ble_iface_set(device->iface, "AddressType", g_variant_new_string("random"));
	ble_iface_set(device->iface, "Name", g_variant_new_string("dfu-sim"));
	ble_iface_set(device->iface, "Alias", g_variant_new_string("dfu-sim"));
	ble_iface_set(device->iface, "Adapter",
	              g_variant_new_object_path(ble_adapter_get_path(device->adapter)));
	ble_iface_set(device->iface, "Paired", g_variant_new_boolean(device->paired));
	ble_iface_set(device->iface, "Trusted", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "Blocked", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "LegacyPairing", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "Connected", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "ServicesResolved", g_variant_new_boolean(FALSE));
	ble_iface_set(device->iface, "UUIDs", g_variant_new_strv(uuids, -1));
}

/* what every device has: address, path, state file, faults, the Device1 object */
static BleDevice *
device_new(BleAdapter *adapter, const char *address, const BleDeviceConfig *config, GError **error)
{
	g_autoptr(BleDevice) device = g_new0(BleDevice, 1);
	g_autofree char *path_part = NULL;
	g_autofree char *file_part = NULL;

	device->config = *config;
	device->adapter = adapter;
	device->address = g_strdup(address);
	device->log_prefix = g_strdup_printf("dfu-sim-ble: %s", address);
	device->on_air = TRUE;
	device->paired = config->bonded;
	device->faults = sim_fault_plan_new();
	g_queue_init(&device->answer_fragments);
	if (!address_to_suffix(address, &path_part, &file_part)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "bad device address \"%s\" (want C4:12:34:56:78:9A)", address);
		return NULL;
	}
	device->path = g_strdup_printf("%s/dev_%s", ble_adapter_get_path(adapter), path_part);
	if (config->state_dir != NULL)
		device->state_file = g_strdup_printf("%s/%s.json", config->state_dir, file_part);
	for (const char *const *f = config->faults; f != NULL && *f != NULL; f++) {
		if (!sim_fault_plan_add(device->faults, *f, error))
			return NULL;
	}
	device->iface = ble_iface_new(device_xml, "org.bluez.Device1", device_methods, device);
	return g_steal_pointer(&device);
}

BleDevice *
ble_device_new(BleAdapter *adapter, const char *address, const BleDeviceConfig *config, GError **error)
{
	g_autoptr(BleDevice) device = device_new(adapter, address, config, error);

	if (device == NULL)
		return NULL;
	device->model = sim_mcuboot_new(&config->model, error);
	if (device->model == NULL)
		return NULL;
	device->config.smp.state_file = device->state_file;
	device->config.smp.log_prefix = device->log_prefix;
	device->smp = sim_smp_device_new(&device->config.smp, device->model, device->faults, &smp_callbacks,
	                                 device);
	device->reassembly = ble_smp_reassembly_new(config->smp.buf_size, config->reassembly);
	fill_properties(device, BLE_SMP_SERVICE_UUID);
	if (!sim_smp_device_write_state(device->smp, error))
		return NULL;
	if (!config->hidden)
		export_device(device);
	return g_steal_pointer(&device);
}

BleDevice *
ble_device_new_with_role(BleAdapter *adapter, const char *address, const BleDeviceConfig *config,
                         gboolean on_air, const BleDeviceRole *role, gpointer role_data, GError **error)
{
	g_autoptr(BleDevice) device = device_new(adapter, address, config, error);

	if (device == NULL)
		return NULL;
	device->role = role;
	device->role_data = role_data;
	device->on_air = on_air;
	fill_properties(device, role->service(device, role_data)->uuid);
	if (!config->hidden && on_air)
		export_device(device);
	return g_steal_pointer(&device);
}

void
ble_device_set_uuids(BleDevice *device, const char *const *uuids)
{
	ble_iface_set(device->iface, "UUIDs", g_variant_new_strv(uuids, -1));
}

void
ble_device_free(BleDevice *device)
{
	if (device == NULL)
		return;
	g_clear_handle_id(&device->boot_timer, g_source_remove);
	if (device->iface != NULL) {
		cancel_connect(device);
		drop_link(device);
		g_clear_handle_id(&device->seen_timer, g_source_remove);
		unexport_device(device);
		g_object_unref(device->iface);
	}
	sim_smp_device_free(device->smp);
	ble_smp_reassembly_free(device->reassembly);
	sim_mcuboot_free(device->model);
	sim_fault_plan_free(device->faults);
	g_free(device->address);
	g_free(device->path);
	g_free(device->state_file);
	g_free(device->log_prefix);
	g_free(device);
}

const char *
ble_device_get_path(BleDevice *device)
{
	return device->path;
}

gboolean
ble_device_is_known(BleDevice *device)
{
	return device->known;
}

void
ble_device_discovery_changed(BleDevice *device)
{
	update_presence(device);
}

void
ble_device_remove(BleDevice *device)
{
	cancel_connect(device);
	drop_link(device);
	unexport_device(device);
	/* forgotten: only discovery finds it again */
	g_clear_handle_id(&device->seen_timer, g_source_remove);
	if (device->seen) {
		device->seen = FALSE;
		ble_iface_unset(device->iface, "RSSI");
	}
	update_presence(device);
}

gboolean
ble_device_write_state(BleDevice *device, GError **error)
{
	/* a role keeps its own state */
	return device->smp == NULL || sim_smp_device_write_state(device->smp, error);
}

void
ble_device_notify(BleDevice *device, guint chr, const guint8 *value, gsize len)
{
	if (device->link != NULL)
		ble_link_notify(device->link, chr, value, len);
}

void
ble_device_reboot(BleDevice *device, gboolean come_back)
{
	device->stay_off = !come_back;
	/* what the device said last goes out before the link drops */
	if (device->link != NULL && ble_link_notify_pending(device->link) > 0) {
		device->reset_pending = TRUE;
		return;
	}
	go_off_air(device);
}

void
ble_device_disconnect(BleDevice *device)
{
	drop_link(device);
}

void
ble_device_boot(BleDevice *device)
{
	device->stay_off = FALSE;
	g_clear_handle_id(&device->boot_timer, g_source_remove);
	device->boot_timer = g_timeout_add(device->config.boot_ms, on_boot_done, device);
}

gboolean
ble_device_is_paired(BleDevice *device)
{
	return device->paired;
}

const char *
ble_device_get_address(BleDevice *device)
{
	return device->address;
}

gboolean
ble_device_is_verbose(BleDevice *device)
{
	return device->config.smp.verbose;
}
