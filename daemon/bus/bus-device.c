/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-autoptr.h"
#include "bus-device.h"
#include "bus-errors.h"
#include "bus-job.h"
#include "bus-variant.h"
#include "dfu-error.h"

struct _DfuBusDevices {
	sd_bus *bus;
	DfuInventory *inventory;
	DfuManager *manager;
	DfuBusAuth auth;
	GHashTable *objects; /* path -> DfuBusDevice */
	sd_bus_slot *vtable_slot;
	sd_bus_slot *enumerator_slot;
	gulong handlers[4];
};

typedef struct {
	DfuBusDevices *owner;
	char *name;
	char *path;
} DfuBusDevice;

static void
bus_device_free(DfuBusDevice *obj)
{
	g_free(obj->name);
	g_free(obj->path);
	g_free(obj);
}

char *
dfu_bus_device_path(const char *name)
{
	GString *path = g_string_new(DFU_BUS_DEVICE_PATH_PREFIX "/");

	for (const char *p = name; *p != '\0'; p++) {
		if (g_ascii_isalnum(*p) || *p == '_')
			g_string_append_c(path, *p);
		else
			g_string_append_printf(path, "_%02x", (guint8)*p);
	}
	return g_string_free(path, FALSE);
}

static DfuDevice *
bus_device_get(DfuBusDevice *obj)
{
	return dfu_inventory_lookup(obj->owner->inventory, obj->name);
}

/* '/' when the device has no job, or its job has expired */
static char *
last_job_path(DfuBusDevices *self, const DfuDevice *device)
{
	if (device->last_job == 0 || dfu_manager_lookup(self->manager, device->last_job) == NULL)
		return g_strdup("/");
	return dfu_bus_job_path(device->last_job);
}

static int
append_string(sd_bus_message *reply, const char *value)
{
	return sd_bus_message_append_basic(reply, 's', value != NULL ? value : "");
}

static int
device_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	DfuBusDevice *obj = userdata;
	DfuDevice *device = bus_device_get(obj);
	g_autofree char *job_path = NULL;
	const struct {
		const char *name;
		const char *value;
	} strings[] = {
	        {"Name", device != NULL ? device->name : NULL},
	        {"Target", device != NULL ? device->target : NULL},
	        {"Protocol", device != NULL ? device->protocol : NULL},
	        {"Board", device != NULL ? device->board : NULL},
	        {"Bootloader", device != NULL ? device->bootloader : NULL},
	        {"BootloaderMode", device != NULL ? device->bootloader_mode : NULL},
	        {"LastStatusName", device != NULL ? dfu_status_to_name(device->last_status) : NULL},
	};
	guint64 seen;
	guint32 code;
	int staged;

	if (device == NULL)
		return -ENOENT;
	for (gsize i = 0; i < G_N_ELEMENTS(strings); i++) {
		if (g_strcmp0(property, strings[i].name) == 0)
			return append_string(reply, strings[i].value);
	}
	if (g_strcmp0(property, "Images") == 0)
		return dfu_bus_append_gvariant(reply, device->images);
	if (g_strcmp0(property, "LastSeen") == 0) {
		seen = (guint64)device->last_seen;
		return sd_bus_message_append_basic(reply, 't', &seen);
	}
	if (g_strcmp0(property, "LastJob") == 0) {
		job_path = last_job_path(obj->owner, device);
		return sd_bus_message_append_basic(reply, 'o', job_path);
	}
	if (g_strcmp0(property, "LastStatusCode") == 0) {
		code = device->last_status;
		return sd_bus_message_append_basic(reply, 'u', &code);
	}
	staged = dfu_device_is_staged(device);
	return sd_bus_message_append_basic(reply, 'b', &staged);
}

/* a Refresh, Confirm, Reset or RefreshDevices waiting for its authorization */
typedef struct {
	DfuManager *manager;
	DfuInventory *inventory;
	char *name; /* NULL: every device that can be refreshed */
	DfuJobKind kind;
} DeviceRequest;

static void
device_request_free(gpointer data)
{
	DeviceRequest *req = data;

	g_object_unref(req->manager);
	g_object_unref(req->inventory);
	g_free(req->name);
	g_free(req);
}

/* a job of the request's kind for the device, through the queue like any other; the caller owns it */
static DfuJob *
device_request_submit(DeviceRequest *req, sd_bus_message *m, const char *name, GError **error)
{
	DfuJob *job = dfu_manager_submit_action(req->manager, name, req->kind, error);
	uid_t uid = (uid_t)-1;

	/* the owner may cancel the job under org.dfud1.cancel-own */
	if (job != NULL && dfu_bus_auth_sender_uid(m, &uid, NULL) >= 0)
		dfu_job_set_owner_uid(job, uid);
	return job;
}

static void
device_job_allowed(sd_bus_message *m, gpointer user_data)
{
	DeviceRequest *req = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autofree char *path = NULL;

	if (dfu_inventory_lookup(req->inventory, req->name) == NULL) {
		sd_bus_reply_method_errorf(m, SD_BUS_ERROR_UNKNOWN_OBJECT, "the device %s is gone",
		                           req->name);
		return;
	}
	job = device_request_submit(req, m, req->name, &error);
	if (job == NULL) {
		dfu_bus_reply_error(m, error);
		return;
	}
	path = dfu_bus_job_path(dfu_job_get_id(job));
	sd_bus_reply_method_return(m, "o", path);
}

/* a refresh job for every device whose protocol can be refreshed */
static void
refresh_all_allowed(sd_bus_message *m, gpointer user_data)
{
	DeviceRequest *req = user_data;
	g_autoptr(GPtrArray) devices = dfu_inventory_list(req->inventory);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	for (guint i = 0; i < devices->len; i++) {
		DfuDevice *device = g_ptr_array_index(devices, i);
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuJob) job = device_request_submit(req, m, device->name, &error);

		if (job != NULL)
			g_ptr_array_add(paths, dfu_bus_job_path(dfu_job_get_id(job)));
		else if (!g_error_matches(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED)) {
			dfu_bus_reply_error(m, error);
			return;
		}
	}
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "o");
	for (guint i = 0; r >= 0 && i < paths->len; i++)
		r = sd_bus_message_append_basic(reply, 'o', g_ptr_array_index(paths, i));
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0)
		g_warning("cannot reply to RefreshDevices: %s", g_strerror(-r));
}

/* asks whether the caller may manage devices (org.dfud1.manage-devices), then runs the request */
static int
device_authorize(DfuBusDevices *self, sd_bus_message *m, const char *name, DfuJobKind kind,
                 sd_bus_error *ret_error)
{
	DeviceRequest *req = g_new0(DeviceRequest, 1);
	const char *details[] = {"device", name != NULL ? name : "", "kind", dfu_job_kind_to_string(kind),
	                         NULL};

	req->manager = g_object_ref(self->manager);
	req->inventory = g_object_ref(self->inventory);
	req->name = g_strdup(name);
	req->kind = kind;
	return dfu_bus_auth_check_async(&self->auth, m, DFU_BUS_ACTION_MANAGE_DEVICES, details,
	                                name != NULL ? device_job_allowed : refresh_all_allowed, req,
	                                device_request_free, ret_error);
}

int
dfu_bus_devices_refresh_all(DfuBusDevices *self, sd_bus_message *m, sd_bus_error *ret_error)
{
	return device_authorize(self, m, NULL, DFU_JOB_KIND_REFRESH, ret_error);
}

static int
device_submit(sd_bus_message *m, DfuBusDevice *obj, DfuJobKind kind, sd_bus_error *ret_error)
{
	return device_authorize(obj->owner, m, obj->name, kind, ret_error);
}

static int
device_method_refresh(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	return device_submit(m, userdata, DFU_JOB_KIND_REFRESH, ret_error);
}

static int
device_method_confirm(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	return device_submit(m, userdata, DFU_JOB_KIND_CONFIRM, ret_error);
}

static int
device_method_reset(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	return device_submit(m, userdata, DFU_JOB_KIND_RESET, ret_error);
}

#define DEVICE_PROPERTY(name, sig, flags) SD_BUS_PROPERTY(name, sig, device_property_get, 0, flags)
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Refresh", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", job), device_method_refresh,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Confirm", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", job), device_method_confirm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reset", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", job), device_method_reset,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        DEVICE_PROPERTY("Name", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        DEVICE_PROPERTY("Target", "s", EMITS),
        DEVICE_PROPERTY("Protocol", "s", EMITS),
        DEVICE_PROPERTY("Board", "s", EMITS),
        DEVICE_PROPERTY("Bootloader", "s", EMITS),
        DEVICE_PROPERTY("BootloaderMode", "s", EMITS),
        DEVICE_PROPERTY("Images", "aa{sv}", EMITS),
        DEVICE_PROPERTY("LastSeen", "t", EMITS),
        DEVICE_PROPERTY("LastJob", "o", EMITS),
        DEVICE_PROPERTY("LastStatusCode", "u", EMITS),
        DEVICE_PROPERTY("LastStatusName", "s", EMITS),
        DEVICE_PROPERTY("Staged", "b", EMITS),
        SD_BUS_VTABLE_END,
};

/* every property that may change, in one PropertiesChanged */
static const char *const changing_properties[] = {
        "Target",   "Protocol", "Board",          "Bootloader",     "BootloaderMode", "Images",
        "LastSeen", "LastJob",  "LastStatusCode", "LastStatusName", "Staged",         NULL,
};

static int
device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
            sd_bus_error *ret_error)
{
	DfuBusDevices *self = userdata;
	DfuBusDevice *obj = g_hash_table_lookup(self->objects, path);

	if (obj == NULL)
		return 0;
	*ret_found = obj;
	return 1;
}

static int
device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *ret_error)
{
	DfuBusDevices *self = userdata;
	guint n = 0;
	g_autofree gpointer *paths = g_hash_table_get_keys_as_array(self->objects, &n);
	char **nodes = g_new0(char *, n + 1);

	/* sd-bus frees the list with free(), which is g_free() since GLib 2.46 */
	for (guint i = 0; i < n; i++)
		nodes[i] = g_strdup(paths[i]);
	*ret_nodes = nodes;
	return 1;
}

static void
devices_add(DfuBusDevices *self, const DfuDevice *device)
{
	DfuBusDevice *obj = g_new0(DfuBusDevice, 1);
	int r;

	obj->owner = self;
	obj->name = g_strdup(device->name);
	obj->path = dfu_bus_device_path(device->name);
	if (g_hash_table_contains(self->objects, obj->path)) {
		/* "a-b" and "a_2db" escape alike: the second is not shown rather than shown as the first */
		g_warning("device %s has the object path of another device, %s; rename one in devices.d",
		          device->name, obj->path);
		bus_device_free(obj);
		return;
	}
	g_hash_table_insert(self->objects, obj->path, obj);
	r = sd_bus_emit_object_added(self->bus, obj->path);
	if (r < 0)
		g_warning("cannot announce device %s: %s", device->name, g_strerror(-r));
}

static void
on_device_added(DfuInventory *inventory, gpointer device, gpointer user_data)
{
	devices_add(user_data, device);
}

static void
on_device_removed(DfuInventory *inventory, gpointer device, gpointer user_data)
{
	DfuBusDevices *self = user_data;
	g_autofree char *path = dfu_bus_device_path(((DfuDevice *)device)->name);
	int r;

	if (!g_hash_table_contains(self->objects, path))
		return;
	/* sd-bus looks the object up to list its interfaces, so announce before dropping it */
	r = sd_bus_emit_object_removed(self->bus, path);
	if (r < 0)
		g_warning("cannot announce the removal of device %s: %s", ((DfuDevice *)device)->name,
		          g_strerror(-r));
	g_hash_table_remove(self->objects, path);
}

static void
emit_changed(DfuBusDevices *self, const DfuDevice *device)
{
	g_autofree char *path = dfu_bus_device_path(device->name);
	int r;

	if (!g_hash_table_contains(self->objects, path))
		return;
	r = sd_bus_emit_properties_changed_strv(self->bus, path, DFU_BUS_DEVICE_INTERFACE,
	                                        (char **)changing_properties);
	if (r < 0)
		g_warning("cannot emit the changes of device %s: %s", device->name, g_strerror(-r));
}

static void
on_device_changed(DfuInventory *inventory, gpointer device, gpointer user_data)
{
	emit_changed(user_data, device);
}

/* a device whose last job expires shows no job */
static void
on_job_removed(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	DfuBusDevices *self = user_data;
	g_autoptr(GPtrArray) devices = dfu_inventory_list(self->inventory);

	for (guint i = 0; i < devices->len; i++) {
		DfuDevice *device = g_ptr_array_index(devices, i);

		if (device->last_job == dfu_job_get_id(job))
			emit_changed(self, device);
	}
}

DfuBusDevices *
dfu_bus_devices_new(sd_bus *bus, DfuInventory *inventory, DfuManager *manager, const DfuBusAuth *auth,
                    GError **error)
{
	g_autoptr(DfuBusDevices) self = g_new0(DfuBusDevices, 1);
	g_autoptr(GPtrArray) devices = dfu_inventory_list(inventory);
	int r;

	self->bus = sd_bus_ref(bus);
	self->inventory = g_object_ref(inventory);
	self->manager = g_object_ref(manager);
	self->auth = *auth;
	self->objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)bus_device_free);

	r = sd_bus_add_fallback_vtable(bus, &self->vtable_slot, DFU_BUS_DEVICE_PATH_PREFIX,
	                               DFU_BUS_DEVICE_INTERFACE, device_vtable, device_find, self);
	if (r >= 0)
		r = sd_bus_add_node_enumerator(bus, &self->enumerator_slot, DFU_BUS_DEVICE_PATH_PREFIX,
		                               device_enumerate, self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR,
		            "Cannot export the device objects: %s", g_strerror(-r));
		return NULL;
	}
	for (guint i = 0; i < devices->len; i++)
		devices_add(self, g_ptr_array_index(devices, i));
	self->handlers[0] = g_signal_connect(inventory, "device-added", G_CALLBACK(on_device_added), self);
	self->handlers[1] =
	        g_signal_connect(inventory, "device-removed", G_CALLBACK(on_device_removed), self);
	self->handlers[2] =
	        g_signal_connect(inventory, "device-changed", G_CALLBACK(on_device_changed), self);
	self->handlers[3] = g_signal_connect(manager, "job-removed", G_CALLBACK(on_job_removed), self);
	return g_steal_pointer(&self);
}

void
dfu_bus_devices_free(DfuBusDevices *self)
{
	if (self == NULL)
		return;
	for (gsize i = 0; i < 3; i++)
		g_clear_signal_handler(&self->handlers[i], self->inventory);
	g_clear_signal_handler(&self->handlers[3], self->manager);
	g_clear_pointer(&self->enumerator_slot, sd_bus_slot_unref);
	g_clear_pointer(&self->vtable_slot, sd_bus_slot_unref);
	g_clear_pointer(&self->objects, g_hash_table_unref);
	g_clear_object(&self->inventory);
	g_clear_object(&self->manager);
	g_clear_pointer(&self->bus, sd_bus_unref);
	g_free(self);
}
