/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfuctl-devices.h"

#include "dfu-error.h"
#include "dfu-status.h"
#include "dfuctl-args.h"
#include "dfuctl-bus.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"
#include "dfuctl-table.h"

static const char *
device_string(GVariant *device, const char *key)
{
	const char *value = NULL;

	return g_variant_lookup(device, key, "&s", &value) && value[0] != '\0' ? value : "-";
}

static gboolean
image_flag(GVariant *image, const char *flag)
{
	g_autofree const char **flags = NULL;

	return g_variant_lookup(image, "flags", "^a&s", &flags) && g_strv_contains(flags, flag);
}

/* the running version of each image, then each pending one: "1.2.0, 2.0.0 pending" */
static char *
device_versions(GVariant *device)
{
	g_autoptr(GVariant) images = g_variant_lookup_value(device, "Images", G_VARIANT_TYPE("aa{sv}"));
	g_autoptr(GString) text = g_string_new(NULL);
	gsize n = images != NULL ? g_variant_n_children(images) : 0;

	for (int pass = 0; pass < 2; pass++) {
		for (gsize i = 0; i < n; i++) {
			g_autoptr(GVariant) image = g_variant_get_child_value(images, i);
			const char *version = "?";
			gboolean pending = image_flag(image, "pending");

			if ((pass == 0 && !image_flag(image, "active")) || (pass == 1 && !pending))
				continue;
			g_variant_lookup(image, "version", "&s", &version);
			g_string_append_printf(text, "%s%s%s", text->len > 0 ? ", " : "", version,
			                       pass == 1 ? " pending" : "");
		}
	}
	return text->len > 0 ? g_string_free(g_steal_pointer(&text), FALSE) : g_strdup("-");
}

/* "success (job 3)", "-" before any job */
static char *
device_last_result(GVariant *device)
{
	const char *job = "/";
	const char *status = "";
	guint32 code = 0;
	guint64 id;

	g_variant_lookup(device, "LastJob", "&o", &job);
	g_variant_lookup(device, "LastStatusCode", "u", &code);
	g_variant_lookup(device, "LastStatusName", "&s", &status);
	id = dfuctl_job_id_from_path(job);
	if (code == DFU_STATUS_NONE && id == 0)
		return g_strdup("-");
	if (code == DFU_STATUS_NONE)
		return g_strdup_printf("running (job %" G_GUINT64_FORMAT ")", id);
	if (id == 0)
		return g_strdup(status);
	return g_strdup_printf("%s (job %" G_GUINT64_FORMAT ")", status, id);
}

static gboolean
device_staged(GVariant *device)
{
	gboolean staged = FALSE;

	g_variant_lookup(device, "Staged", "b", &staged);
	return staged;
}

static void
print_json(GVariant *device)
{
	g_autofree char *line = dfuctl_json_from_variant(device);

	g_print("%s\n", line);
}

static void
print_table(GPtrArray *devices)
{
	const char *const headers[] = {"NAME", "TARGET", "VERSIONS", "LAST RESULT", NULL};
	g_autoptr(DfuctlTable) table = dfuctl_table_new(headers);
	g_autofree char *text = NULL;

	for (guint i = 0; i < devices->len; i++) {
		GVariant *device = g_ptr_array_index(devices, i);
		g_autofree char *versions = device_versions(device);
		g_autofree char *shown = device_staged(device) && !g_str_has_suffix(versions, "pending")
		                                 ? g_strconcat(versions, ", staged", NULL)
		                                 : g_strdup(versions);
		g_autofree char *result = device_last_result(device);
		const char *const row[] = {device_string(device, "Name"), device_string(device, "Target"),
		                           shown, result};

		dfuctl_table_add_row(table, row);
	}
	text = dfuctl_table_format(table);
	g_print("%s", text);
}

int
dfuctl_cmd_devices(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(GPtrArray) devices = NULL;

	if (bus != NULL)
		devices = dfuctl_bus_get_devices(bus, &error);
	if (devices == NULL)
		return dfuctl_fail(error);
	if (args->json) {
		for (guint i = 0; i < devices->len; i++)
			print_json(g_ptr_array_index(devices, i));
		return DFUCTL_EXIT_SUCCESS;
	}
	if (devices->len == 0) {
		g_print("no devices\n");
		return DFUCTL_EXIT_SUCCESS;
	}
	print_table(devices);
	return DFUCTL_EXIT_SUCCESS;
}

/* a device by its name, else by its target */
static GVariant *
find_device(sd_bus *bus, const char *name, GError **error)
{
	g_autoptr(GPtrArray) devices = dfuctl_bus_get_devices(bus, error);
	const char *keys[] = {"Name", "Target"};

	if (devices == NULL)
		return NULL;
	for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
		for (guint i = 0; i < devices->len; i++) {
			GVariant *device = g_ptr_array_index(devices, i);

			if (g_strcmp0(device_string(device, keys[k]), name) == 0)
				return g_variant_ref(device);
		}
	}
	g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "no device '%s' (see dfuctl devices)", name);
	return NULL;
}

static void
print_images(GVariant *device)
{
	g_autoptr(GVariant) images = g_variant_lookup_value(device, "Images", G_VARIANT_TYPE("aa{sv}"));
	gsize n = images != NULL ? g_variant_n_children(images) : 0;

	if (n == 0) {
		g_print("Images:          -\n");
		return;
	}
	g_print("Images:\n");
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) image = g_variant_get_child_value(images, i);
		g_autofree const char **flags = NULL;
		g_autofree char *flag_text = NULL;
		const char *version = "?";
		const char *hash = "";
		const char *id = NULL;
		guint32 index = 0, slot = 0;

		g_variant_lookup(image, "image", "u", &index);
		g_variant_lookup(image, "slot", "u", &slot);
		g_variant_lookup(image, "version", "&s", &version);
		g_variant_lookup(image, "hash", "&s", &hash);
		g_variant_lookup(image, "flags", "^a&s", &flags);
		flag_text = flags != NULL ? g_strjoinv(" ", (char **)flags) : g_strdup("");
		g_print("  image %u slot %u: %s%s%s\n    hash %s\n", index, slot, version,
		        flag_text[0] != '\0' ? " " : "", flag_text, hash[0] != '\0' ? hash : "-");
		/* what a mesh node's firmware is, beside its version */
		if (g_variant_lookup(image, "firmware-id", "&s", &id))
			g_print("    firmware id %s\n", id);
	}
}

static void
print_device(GVariant *device)
{
	g_autofree char *result = device_last_result(device);
	g_autofree char *seen = NULL;
	guint64 last_seen = 0;

	g_variant_lookup(device, "LastSeen", "t", &last_seen);
	seen = dfuctl_format_time((gint64)last_seen);
	g_print("%s\n", device_string(device, "Name"));
	g_print("Target:          %s\n", device_string(device, "Target"));
	g_print("Protocol:        %s\n", device_string(device, "Protocol"));
	g_print("Board:           %s\n", device_string(device, "Board"));
	g_print("Bootloader:      %s\n", device_string(device, "Bootloader"));
	g_print("Bootloader mode: %s\n", device_string(device, "BootloaderMode"));
	print_images(device);
	g_print("Staged:          %s\n", device_staged(device) ? "yes" : "no");
	g_print("Last seen:       %s\n", seen);
	g_print("Last result:     %s\n", result);
}

/* calls method (Refresh, Confirm, Reset) of the device at path and follows the job it queues */
static int
run_device_job(const DfuctlArgs *args, sd_bus *bus, const char *path, const char *method)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuctlFollow) follow = NULL;
	const char *job = NULL;
	int r;

	/* subscribed before the job exists, so that no change is missed */
	if (!args->no_wait) {
		follow = dfuctl_follow_new(bus, dfuctl_output_mode(args), &error);
		if (follow == NULL)
			return dfuctl_fail(error);
	}
	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, path, DFUCTL_DEVICE_INTERFACE, method, &bus_error,
	                       &reply, NULL);
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &job);
	if (!dfuctl_bus_check(r, &bus_error, &error))
		return dfuctl_fail(error);
	return dfuctl_finish_job(args, follow, job);
}

static const char *
device_path(GVariant *device)
{
	const char *path = "/";

	g_variant_lookup(device, "Path", "&o", &path);
	return path;
}

int
dfuctl_cmd_info(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(GVariant) device = NULL;
	int exit_code = DFUCTL_EXIT_SUCCESS;

	if (bus != NULL)
		device = find_device(bus, args->positional[0], &error);
	if (device == NULL)
		return dfuctl_fail(error);
	if (args->refresh) {
		exit_code = run_device_job(args, bus, device_path(device), "Refresh");
		g_clear_pointer(&device, g_variant_unref);
		device = find_device(bus, args->positional[0], &error);
		if (device == NULL)
			return dfuctl_fail(error);
	}
	if (args->json)
		print_json(device);
	else
		print_device(device);
	return exit_code;
}

static int
device_job(const DfuctlArgs *args, const char *method)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(GVariant) device = NULL;

	if (bus != NULL)
		device = find_device(bus, args->positional[0], &error);
	if (device == NULL)
		return dfuctl_fail(error);
	return run_device_job(args, bus, device_path(device), method);
}

int
dfuctl_cmd_confirm(const DfuctlArgs *args)
{
	return device_job(args, "Confirm");
}

int
dfuctl_cmd_reset(const DfuctlArgs *args)
{
	return device_job(args, "Reset");
}
