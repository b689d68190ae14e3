/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-inventory.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "dfu-error.h"
#include "dfu-nesting.h"
#include "dfu-store.h"
#include "dfu-target.h"

#define INVENTORY_FILE "devices.json"
#define CORRUPT_SUFFIX ".corrupt"
/* a few thousand devices with a handful of images each */
#define INVENTORY_FILE_MAX_SIZE (16 * 1024 * 1024)
#define INVENTORY_FILE_MAX_DEPTH 8
#define BLE_SEEN_RESOLUTION_US (60 * G_USEC_PER_SEC)

struct _DfuInventory {
	GObject parent_instance;
	char *path;
	GHashTable *devices; /* name -> DfuDevice */
	guint save_id;
};

G_DEFINE_TYPE(DfuInventory, dfu_inventory, G_TYPE_OBJECT)

enum {
	SIGNAL_DEVICE_ADDED,
	SIGNAL_DEVICE_REMOVED,
	SIGNAL_DEVICE_CHANGED,
	SIGNAL_LAST,
};
static guint signals[SIGNAL_LAST];

static const struct {
	guint bit;
	const char *name;
} origin_names[] = {
        {DFU_DEVICE_FROM_CONFIG, "config"},
        {DFU_DEVICE_FROM_JOBS, "jobs"},
        {DFU_DEVICE_FROM_BLE, "ble"},
};

static void
device_free(DfuDevice *device)
{
	g_free(device->name);
	g_free(device->target);
	g_free(device->key);
	g_free(device->protocol);
	g_free(device->board);
	g_free(device->bootloader);
	g_free(device->bootloader_mode);
	g_variant_unref(device->images);
	g_free(device);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuDevice, device_free)

static void
device_set_target(DfuDevice *device, const DfuTarget *target)
{
	g_free(device->target);
	device->target = g_strdup(target->uri);
	g_free(device->key);
	device->key = g_strdup(dfu_target_device_key(target));
	g_free(device->protocol);
	device->protocol = g_strdup(dfu_protocol_to_string(target->protocol));
}

static DfuDevice *
device_new(const char *name, const DfuTarget *target)
{
	DfuDevice *device = g_new0(DfuDevice, 1);

	device->name = g_strdup(name);
	device_set_target(device, target);
	device->board = g_strdup("");
	device->bootloader = g_strdup("");
	device->bootloader_mode = g_strdup("");
	device->images = g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE_VARDICT, NULL, 0));
	return device;
}

/* what a device learnt, handed to the device that takes its place under another name */
static void
device_take_state(DfuDevice *to, DfuDevice *from)
{
	g_free(to->bootloader);
	to->bootloader = g_strdup(from->bootloader);
	g_free(to->bootloader_mode);
	to->bootloader_mode = g_strdup(from->bootloader_mode);
	g_variant_unref(to->images);
	to->images = g_variant_ref(from->images);
	to->last_seen = MAX(to->last_seen, from->last_seen);
	if (from->last_job > to->last_job) {
		to->last_job = from->last_job;
		to->last_status = from->last_status;
	}
	to->origins |= from->origins & ~DFU_DEVICE_FROM_CONFIG;
}

static gboolean
image_has_flag(GVariant *image, const char *flag)
{
	g_autofree const char **flags = NULL;

	return g_variant_lookup(image, "flags", "^a&s", &flags) && g_strv_contains(flags, flag);
}

gboolean
dfu_device_is_staged(const DfuDevice *device)
{
	if (device->last_status == DFU_STATUS_STAGED)
		return TRUE;
	for (gsize i = 0; i < g_variant_n_children(device->images); i++) {
		g_autoptr(GVariant) image = g_variant_get_child_value(device->images, i);

		/* pending: waits for its reset; running unconfirmed: for its confirmation */
		if (image_has_flag(image, "pending") ||
		    (image_has_flag(image, "active") && !image_has_flag(image, "confirmed") &&
		     !image_has_flag(image, "permanent")))
			return TRUE;
	}
	return FALSE;
}

/* ---- persistence ---- */

static void
json_add_string(JsonBuilder *builder, const char *name, const char *value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_string_value(builder, value);
}

static void
json_add_int(JsonBuilder *builder, const char *name, gint64 value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_int_value(builder, value);
}

static void
device_to_json(JsonBuilder *builder, const DfuDevice *device)
{
	g_autofree char *images = g_variant_print(device->images, TRUE);

	json_builder_begin_object(builder);
	json_add_string(builder, "name", device->name);
	json_add_string(builder, "target", device->target);
	json_add_string(builder, "board", device->board);
	json_add_string(builder, "bootloader", device->bootloader);
	json_add_string(builder, "bootloader-mode", device->bootloader_mode);
	json_add_string(builder, "images", images);
	json_add_int(builder, "last-seen", device->last_seen);
	json_add_int(builder, "last-job", (gint64)device->last_job);
	json_add_int(builder, "last-status", device->last_status);
	json_builder_set_member_name(builder, "origins");
	json_builder_begin_array(builder);
	for (gsize i = 0; i < G_N_ELEMENTS(origin_names); i++) {
		if (device->origins & origin_names[i].bit)
			json_builder_add_string_value(builder, origin_names[i].name);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0((*(DfuDevice *const *)a)->name, (*(DfuDevice *const *)b)->name);
}

GPtrArray *
dfu_inventory_list(DfuInventory *self)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter iter;
	gpointer device;

	g_return_val_if_fail(DFU_IS_INVENTORY(self), NULL);
	g_hash_table_iter_init(&iter, self->devices);
	while (g_hash_table_iter_next(&iter, NULL, &device))
		g_ptr_array_add(list, device);
	g_ptr_array_sort(list, compare_names);
	return list;
}

static gboolean
inventory_save(DfuInventory *self, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GPtrArray) devices = dfu_inventory_list(self);
	g_autofree char *text = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "devices");
	json_builder_begin_array(builder);
	for (guint i = 0; i < devices->len; i++)
		device_to_json(builder, g_ptr_array_index(devices, i));
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	text = json_generator_to_data(generator, NULL);
	/* a crash leaves the old or the new file, never half of one */
	return dfu_store_write_file(self->path, text, error);
}

static gboolean
inventory_save_cb(gpointer user_data)
{
	DfuInventory *self = user_data;

	self->save_id = 0;
	dfu_inventory_flush(self);
	return G_SOURCE_REMOVE;
}

void
dfu_inventory_flush(DfuInventory *self)
{
	g_autoptr(GError) error = NULL;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	if (self->save_id != 0)
		g_clear_handle_id(&self->save_id, g_source_remove);
	if (!inventory_save(self, &error))
		g_warning("cannot save the device inventory: %s", error->message);
}

/* the changes of one turn of the loop go to disk in one write */
static void
inventory_changed(DfuInventory *self, DfuDevice *device, guint signal)
{
	if (self->save_id == 0)
		self->save_id = g_idle_add(inventory_save_cb, self);
	g_signal_emit(self, signals[signal], 0, device);
}

static void
inventory_add(DfuInventory *self, DfuDevice *device)
{
	g_hash_table_insert(self->devices, device->name, device);
	inventory_changed(self, device, SIGNAL_DEVICE_ADDED);
}

static void
inventory_remove(DfuInventory *self, DfuDevice *device)
{
	g_hash_table_steal(self->devices, device->name);
	inventory_changed(self, device, SIGNAL_DEVICE_REMOVED);
	device_free(device);
}

static gboolean
json_get_string(JsonObject *obj, const char *name, char **value)
{
	JsonNode *node = json_object_get_member(obj, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return FALSE;
	g_free(*value);
	*value = g_strdup(json_node_get_string(node));
	return TRUE;
}

static gboolean
json_get_int(JsonObject *obj, const char *name, gint64 min, gint64 max, gint64 *value)
{
	JsonNode *node = json_object_get_member(obj, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
		return FALSE;
	*value = json_node_get_int(node);
	return *value >= min && *value <= max;
}

static gboolean
json_get_origins(JsonObject *obj, guint *origins)
{
	JsonNode *node = json_object_get_member(obj, "origins");
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return FALSE;
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		const char *name = json_array_get_string_element(array, i);

		for (gsize j = 0; name != NULL && j < G_N_ELEMENTS(origin_names); j++) {
			if (g_strcmp0(origin_names[j].name, name) == 0)
				*origins |= origin_names[j].bit;
		}
	}
	return TRUE;
}

static DfuDevice *
device_from_json(JsonNode *node, GError **error)
{
	g_autofree char *name = NULL;
	g_autofree char *uri = NULL;
	g_autofree char *images = NULL;
	g_autoptr(DfuTarget) target = NULL;
	g_autoptr(DfuDevice) device = NULL;
	JsonObject *obj;
	gint64 last_seen = 0, last_job = 0, last_status = 0;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "a device is not an object");
		return NULL;
	}
	obj = json_node_get_object(node);
	if (!json_get_string(obj, "name", &name) || !json_get_string(obj, "target", &uri) ||
	    !json_get_string(obj, "images", &images)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "a device lacks its name, target or images");
		return NULL;
	}
	target = dfu_target_parse(uri, error);
	if (target == NULL)
		return NULL;
	device = device_new(name, target);
	g_variant_unref(device->images);
	device->images = g_variant_parse(G_VARIANT_TYPE("aa{sv}"), images, NULL, NULL, error);
	if (device->images == NULL) {
		device->images = g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE_VARDICT, NULL, 0));
		return NULL;
	}
	if (!json_get_string(obj, "board", &device->board) ||
	    !json_get_string(obj, "bootloader", &device->bootloader) ||
	    !json_get_string(obj, "bootloader-mode", &device->bootloader_mode) ||
	    !json_get_int(obj, "last-seen", 0, G_MAXINT64, &last_seen) ||
	    !json_get_int(obj, "last-job", 0, G_MAXINT64, &last_job) ||
	    !json_get_int(obj, "last-status", 0, G_MAXUINT32, &last_status) ||
	    !json_get_origins(obj, &device->origins)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "device '%s' has a bad member",
		            name);
		return NULL;
	}
	device->last_seen = last_seen;
	device->last_job = (guint64)last_job;
	device->last_status = (guint)last_status;
	return g_steal_pointer(&device);
}

static const DfuNestingLimits inventory_limits = {
        .what = INVENTORY_FILE,
        .max_size = INVENTORY_FILE_MAX_SIZE,
        .max_depth = INVENTORY_FILE_MAX_DEPTH,
        .code = DFU_STATUS_INVALID_ARGUMENT,
};

/* every device of the file, or none: a file that fails anywhere is not half taken */
static GPtrArray *
inventory_parse(const char *text, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify)device_free);
	JsonNode *root;
	JsonNode *list;
	JsonArray *array;

	if (!dfu_json_check_limits(text, len, &inventory_limits, error) ||
	    !json_parser_load_from_data(parser, text, (gssize)len, error))
		return NULL;
	root = json_parser_get_root(parser);
	list = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
	               ? json_object_get_member(json_node_get_object(root), "devices")
	               : NULL;
	if (list == NULL || !JSON_NODE_HOLDS_ARRAY(list)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "no devices array");
		return NULL;
	}
	array = json_node_get_array(list);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		DfuDevice *device = device_from_json(json_array_get_element(array, i), error);

		if (device == NULL)
			return NULL;
		g_ptr_array_add(devices, device);
	}
	return g_steal_pointer(&devices);
}

static void
inventory_set_aside(DfuInventory *self, const char *reason)
{
	g_autofree char *aside = g_strconcat(self->path, CORRUPT_SUFFIX, NULL);

	if (g_rename(self->path, aside) != 0)
		g_warning("%s is unusable (%s) and could not be renamed: %s", self->path, reason,
		          g_strerror(errno));
	else
		g_warning("%s is unusable (%s); kept as %s", self->path, reason, aside);
}

gboolean
dfu_inventory_load(DfuInventory *self, DfuConfig *config, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) devices = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;

	g_return_val_if_fail(DFU_IS_INVENTORY(self), FALSE);
	dir = g_path_get_dirname(self->path);
	if (g_mkdir_with_parents(dir, 0750) != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "cannot create %s: %s", dir,
		            g_strerror(errno));
		return FALSE;
	}
	if (g_file_get_contents(self->path, &text, &len, &error_local))
		devices = inventory_parse(text, len, &error_local);
	if (devices == NULL && !g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		inventory_set_aside(self, error_local->message);
	while (devices != NULL && devices->len > 0) {
		g_autoptr(DfuDevice) device = g_ptr_array_steal_index(devices, 0);

		/* what BlueZ lists is known again only once it lists it again */
		device->origins &= ~DFU_DEVICE_FROM_BLE;
		if (device->origins != 0 && !g_hash_table_contains(self->devices, device->name))
			inventory_add(self, g_steal_pointer(&device));
	}
	dfu_inventory_sync_config(self, config);
	return TRUE;
}

/* ---- what the inventory learns ---- */

DfuDevice *
dfu_inventory_lookup(DfuInventory *self, const char *name)
{
	g_return_val_if_fail(DFU_IS_INVENTORY(self), NULL);
	return name != NULL ? g_hash_table_lookup(self->devices, name) : NULL;
}

/* the device at key, preferring one that devices.d names */
static DfuDevice *
inventory_find_key(DfuInventory *self, const char *key)
{
	DfuDevice *found = NULL;
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->devices);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		DfuDevice *device = value;

		if (g_strcmp0(device->key, key) != 0)
			continue;
		if (found == NULL || (device->origins & DFU_DEVICE_FROM_CONFIG) != 0)
			found = device;
	}
	return found;
}

/* the device a target URI reaches, made under that URI when the inventory has none yet */
static DfuDevice *
inventory_ensure(DfuInventory *self, const char *uri, guint origin)
{
	g_autoptr(DfuTarget) target = dfu_target_parse(uri, NULL);
	DfuDevice *device;

	if (target == NULL)
		return NULL;
	device = inventory_find_key(self, dfu_target_device_key(target));
	if (device != NULL) {
		/* a device known by its URI follows the spelling of its latest use */
		if ((device->origins & DFU_DEVICE_FROM_CONFIG) == 0 && origin == DFU_DEVICE_FROM_JOBS)
			device_set_target(device, target);
		device->origins |= origin;
		return device;
	}
	if (g_hash_table_contains(self->devices, target->uri))
		return NULL;
	device = device_new(target->uri, target);
	device->origins = origin;
	inventory_add(self, device);
	return device;
}

/* a named device no longer named by devices.d lives on under its URI while it has other origins */
static void
inventory_unname(DfuInventory *self, DfuDevice *device)
{
	g_autoptr(DfuTarget) target = dfu_target_parse(device->target, NULL);
	DfuDevice *renamed;

	device->origins &= ~DFU_DEVICE_FROM_CONFIG;
	if (device->origins != 0 && target != NULL && !g_hash_table_contains(self->devices, target->uri)) {
		renamed = device_new(target->uri, target);
		device_take_state(renamed, device);
		inventory_remove(self, device);
		inventory_add(self, renamed);
		return;
	}
	inventory_remove(self, device);
}

static void
inventory_sync_named(DfuInventory *self, DfuConfig *config, const char *name, const DfuTarget *target)
{
	const char *board = dfu_config_get_board(config, target->uri);
	DfuDevice *device = dfu_inventory_lookup(self, name);
	DfuDevice *known;

	if (board == NULL)
		board = "";
	if (device != NULL) {
		if (g_strcmp0(device->target, target->uri) == 0 && g_strcmp0(device->board, board) == 0 &&
		    (device->origins & DFU_DEVICE_FROM_CONFIG) != 0)
			return;
		device_set_target(device, target);
		g_free(device->board);
		device->board = g_strdup(board);
		device->origins |= DFU_DEVICE_FROM_CONFIG;
		inventory_changed(self, device, SIGNAL_DEVICE_CHANGED);
		return;
	}
	device = device_new(name, target);
	device->origins = DFU_DEVICE_FROM_CONFIG;
	g_free(device->board);
	device->board = g_strdup(board);
	/* a device known by its URI until now takes its name */
	known = inventory_find_key(self, device->key);
	if (known != NULL && (known->origins & DFU_DEVICE_FROM_CONFIG) == 0) {
		device_take_state(device, known);
		inventory_remove(self, known);
	}
	inventory_add(self, device);
}

void
dfu_inventory_sync_config(DfuInventory *self, DfuConfig *config)
{
	g_autoptr(GPtrArray) devices = NULL;
	GHashTableIter iter;
	gpointer name, uri;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	devices = dfu_inventory_list(self);
	for (guint i = 0; i < devices->len; i++) {
		DfuDevice *device = g_ptr_array_index(devices, i);

		if ((device->origins & DFU_DEVICE_FROM_CONFIG) != 0 &&
		    !g_hash_table_contains(config->devices, device->name))
			inventory_unname(self, device);
	}
	g_hash_table_iter_init(&iter, config->devices);
	while (g_hash_table_iter_next(&iter, &name, &uri)) {
		g_autoptr(DfuTarget) target = dfu_target_parse(uri, NULL);

		if (target != NULL)
			inventory_sync_named(self, config, name, target);
	}
}

void
dfu_inventory_job_added(DfuInventory *self, DfuJob *job)
{
	DfuDevice *device;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	device = inventory_ensure(self, dfu_job_get_target(job), DFU_DEVICE_FROM_JOBS);
	/* reloaded jobs come back in any order: only a later job takes the device */
	if (device == NULL || dfu_job_get_id(job) < device->last_job)
		return;
	device->last_job = dfu_job_get_id(job);
	device->last_status = dfu_job_is_finished(job) ? dfu_job_get_status_code(job) : DFU_STATUS_NONE;
	inventory_changed(self, device, SIGNAL_DEVICE_CHANGED);
}

static void
device_take_report(DfuDevice *device, GVariant *report)
{
	g_autoptr(GVariant) images = g_variant_lookup_value(report, "images", G_VARIANT_TYPE("aa{sv}"));
	const char *text;

	if (images != NULL) {
		g_variant_unref(device->images);
		device->images = g_steal_pointer(&images);
	}
	if (g_variant_lookup(report, "bootloader", "&s", &text)) {
		g_free(device->bootloader);
		device->bootloader = g_strdup(text);
	}
	if (g_variant_lookup(report, "bootloader-mode", "&s", &text)) {
		g_free(device->bootloader_mode);
		device->bootloader_mode = g_strdup(text);
	}
}

void
dfu_inventory_job_finished(DfuInventory *self, DfuJob *job)
{
	GVariant *report = dfu_job_get_device_report(job);
	DfuDevice *device;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	device = inventory_ensure(self, dfu_job_get_target(job), DFU_DEVICE_FROM_JOBS);
	if (device == NULL)
		return;
	if (dfu_job_get_id(job) >= device->last_job) {
		device->last_job = dfu_job_get_id(job);
		device->last_status = dfu_job_get_status_code(job);
	}
	/* what a job read of the device is the latest news of it, whatever the job's outcome */
	if (report != NULL) {
		device_take_report(device, report);
		device->last_seen = MAX(device->last_seen, dfu_job_get_finished(job));
	}
	inventory_changed(self, device, SIGNAL_DEVICE_CHANGED);
}

void
dfu_inventory_ble_seen(DfuInventory *self, const char *target, gint64 when)
{
	DfuDevice *device;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	device = inventory_ensure(self, target, DFU_DEVICE_FROM_BLE);
	/* a device advertises many times a second: its sightings reach the disk and the bus once a minute */
	if (device == NULL || (device->last_seen > 0 && when - device->last_seen < BLE_SEEN_RESOLUTION_US))
		return;
	device->last_seen = when;
	inventory_changed(self, device, SIGNAL_DEVICE_CHANGED);
}

void
dfu_inventory_ble_gone(DfuInventory *self, const char *target)
{
	g_autoptr(DfuTarget) parsed = dfu_target_parse(target, NULL);
	DfuDevice *device = parsed != NULL ? inventory_find_key(self, dfu_target_device_key(parsed)) : NULL;

	g_return_if_fail(DFU_IS_INVENTORY(self));
	if (device == NULL || (device->origins & DFU_DEVICE_FROM_BLE) == 0)
		return;
	device->origins &= ~DFU_DEVICE_FROM_BLE;
	if (device->origins == 0)
		inventory_remove(self, device);
	else
		inventory_changed(self, device, SIGNAL_DEVICE_CHANGED);
}

/* ---- object ---- */

static void
dfu_inventory_finalize(GObject *object)
{
	DfuInventory *self = DFU_INVENTORY(object);

	if (self->save_id != 0)
		dfu_inventory_flush(self);
	g_hash_table_unref(self->devices);
	g_free(self->path);
	G_OBJECT_CLASS(dfu_inventory_parent_class)->finalize(object);
}

static void
dfu_inventory_class_init(DfuInventoryClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	const char *names[SIGNAL_LAST] = {"device-added", "device-removed", "device-changed"};

	object_class->finalize = dfu_inventory_finalize;
	for (guint i = 0; i < SIGNAL_LAST; i++)
		signals[i] = g_signal_new(names[i], G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
		                          NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
dfu_inventory_init(DfuInventory *self)
{
	self->devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)device_free);
}

DfuInventory *
dfu_inventory_new(const char *state_dir)
{
	DfuInventory *self = g_object_new(DFU_TYPE_INVENTORY, NULL);

	self->path = g_build_filename(state_dir, INVENTORY_FILE, NULL);
	return self;
}
