/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "test-util.h"
#include "dfu-inventory.h"

static GPtrArray *warnings;

typedef struct {
	char *dir;
	char *file;
	DfuConfig *config;
	GString *events; /* "+name -name ~name " as the signals came */
} Fixture;

static void
on_event(DfuInventory *inventory, gpointer device, gpointer user_data)
{
	const char *kind = user_data;
	Fixture *f = g_object_get_data(G_OBJECT(inventory), "fixture");

	g_string_append_printf(f->events, "%s%s ", kind, ((DfuDevice *)device)->name);
}

static DfuInventory *
open_inventory(Fixture *f)
{
	DfuInventory *inventory = dfu_inventory_new(f->dir);
	g_autoptr(GError) error = NULL;

	g_object_set_data(G_OBJECT(inventory), "fixture", f);
	g_signal_connect(inventory, "device-added", G_CALLBACK(on_event), "+");
	g_signal_connect(inventory, "device-removed", G_CALLBACK(on_event), "-");
	g_signal_connect(inventory, "device-changed", G_CALLBACK(on_event), "~");
	g_string_truncate(f->events, 0);
	g_assert_true(dfu_inventory_load(inventory, f->config, &error));
	g_assert_no_error(error);
	return inventory;
}

static void
name_device(Fixture *f, const char *name, const char *uri, const char *board)
{
	g_hash_table_insert(f->config->devices, g_strdup(name), g_strdup(uri));
	if (board != NULL)
		g_hash_table_insert(f->config->device_boards, g_strdup(uri), g_strdup(board));
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-inventory-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->file = g_build_filename(f->dir, "devices.json", NULL);
	f->config = dfu_config_new_default();
	f->events = g_string_new(NULL);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->file);
	dfu_config_free(f->config);
	g_string_free(f->events, TRUE);
}

/* one image slot as an engine reports it */
static GVariant *
image(guint slot, const char *version, const char *flags)
{
	g_auto(GStrv) names = g_strsplit(flags, " ", -1);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "image", g_variant_new_uint32(0));
	g_variant_builder_add(&b, "{sv}", "slot", g_variant_new_uint32(slot));
	g_variant_builder_add(&b, "{sv}", "version", g_variant_new_string(version));
	g_variant_builder_add(&b, "{sv}", "hash", g_variant_new_string("00ff"));
	g_variant_builder_add(&b, "{sv}", "flags", g_variant_new_strv((const char *const *)names, -1));
	return g_variant_builder_end(&b);
}

/* a finished job for target that read the device's images */
static DfuJob *
finished_job(guint64 id, const char *target, guint status, GVariant *images)
{
	DfuJob *job = dfu_job_new(id, target, "app.bin", NULL, NULL);
	GVariantBuilder report;

	if (images != NULL) {
		g_variant_builder_init(&report, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&report, "{sv}", "images", images);
		g_variant_builder_add(&report, "{sv}", "bootloader", g_variant_new_string("MCUboot"));
		dfu_job_merge_device_report(job, g_variant_builder_end(&report));
	}
	dfu_job_set_result(job, status, NULL, NULL);
	dfu_job_set_state(job, DFU_JOB_STATE_SUCCEEDED);
	return job;
}

static const char *
running_version(DfuDevice *device)
{
	for (gsize i = 0; i < g_variant_n_children(device->images); i++) {
		g_autoptr(GVariant) entry = g_variant_get_child_value(device->images, i);
		g_autofree const char **flags = NULL;
		const char *version = NULL;

		if (g_variant_lookup(entry, "flags", "^a&s", &flags) && g_strv_contains(flags, "active") &&
		    g_variant_lookup(entry, "version", "&s", &version))
			return version;
	}
	return NULL;
}

static void
test_inventory_config_and_jobs(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuInventory) inventory = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(DfuJob) staged = NULL;
	GVariant *images[] = {image(0, "1.2.0", "active confirmed"), image(1, "1.0.0", "")};
	DfuDevice *device;

	name_device(f, "kitchen", "serial:/dev/ttyACM0", "nrf52840dk");
	name_device(f, "shed", "ble:C4:12:34:56:78:9A", NULL);
	inventory = open_inventory(f);
	g_assert_nonnull(strstr(f->events->str, "+kitchen "));
	g_assert_nonnull(strstr(f->events->str, "+shed "));
	list = dfu_inventory_list(inventory);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpstr(((DfuDevice *)g_ptr_array_index(list, 0))->name, ==, "kitchen");
	device = dfu_inventory_lookup(inventory, "kitchen");
	g_assert_cmpstr(device->board, ==, "nrf52840dk");
	g_assert_cmpstr(device->protocol, ==, "smp");
	g_assert_cmpuint(device->last_job, ==, 0);
	g_assert_false(dfu_device_is_staged(device));

	/* the same tty spelled with options is the same device */
	job = finished_job(4, "serial:/dev/ttyACM0?baud=9600", 1,
	                   g_variant_new_array(NULL, images, G_N_ELEMENTS(images)));
	dfu_inventory_job_added(inventory, job);
	g_assert_cmpuint(device->last_status, ==, 1);
	dfu_inventory_job_finished(inventory, job);
	g_assert_cmpuint(device->last_job, ==, 4);
	g_assert_cmpstr(running_version(device), ==, "1.2.0");
	g_assert_cmpstr(device->bootloader, ==, "MCUboot");
	g_assert_cmpstr(device->target, ==, "serial:/dev/ttyACM0");
	g_assert_cmpint(device->last_seen, ==, dfu_job_get_finished(job));
	g_assert_false(dfu_device_is_staged(device));

	/* an older job reloaded later does not take the device back */
	staged = finished_job(2, "serial:/dev/ttyACM0", 2, NULL);
	dfu_inventory_job_added(inventory, staged);
	g_assert_cmpuint(device->last_job, ==, 4);
	g_assert_cmpuint(device->last_status, ==, 1);

	/* a target no device names becomes a device of its own */
	g_clear_object(&staged);
	staged = finished_job(5, "udp:192.0.2.1:1337", 2, NULL);
	dfu_inventory_job_added(inventory, staged);
	dfu_inventory_job_finished(inventory, staged);
	device = dfu_inventory_lookup(inventory, "udp:192.0.2.1:1337");
	g_assert_nonnull(device);
	g_assert_true(dfu_device_is_staged(device));
	g_assert_nonnull(strstr(f->events->str, "+udp:192.0.2.1:1337"));
}

static void
test_inventory_persists(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuInventory) inventory = NULL;
	g_autoptr(DfuJob) job = NULL;
	GVariant *images[] = {image(0, "1.2.0", "active confirmed"), image(1, "1.3.0", "pending")};
	DfuDevice *device;
	gint64 seen;

	name_device(f, "kitchen", "serial:/dev/ttyACM0", NULL);
	inventory = open_inventory(f);
	job = finished_job(7, "serial:/dev/ttyACM0", 1, g_variant_new_array(NULL, images, 2));
	dfu_inventory_job_finished(inventory, job);
	dfu_inventory_ble_seen(inventory, "ble:C4:12:34:56:78:9A", 1234);
	seen = dfu_inventory_lookup(inventory, "kitchen")->last_seen;
	g_clear_object(&inventory);
	g_assert_true(g_file_test(f->file, G_FILE_TEST_EXISTS));

	inventory = open_inventory(f);
	device = dfu_inventory_lookup(inventory, "kitchen");
	g_assert_nonnull(device);
	g_assert_cmpuint(device->last_job, ==, 7);
	g_assert_cmpint(device->last_seen, ==, seen);
	g_assert_cmpstr(running_version(device), ==, "1.2.0");
	g_assert_true(dfu_device_is_staged(device));
	/* a device BlueZ alone knew comes back when BlueZ lists it again */
	g_assert_null(dfu_inventory_lookup(inventory, "ble:C4:12:34:56:78:9A"));
	dfu_inventory_ble_seen(inventory, "ble:C4:12:34:56:78:9A", 1234);
	device = dfu_inventory_lookup(inventory, "ble:C4:12:34:56:78:9A");
	g_assert_nonnull(device);
	g_assert_cmpint(device->last_seen, ==, 1234);
	/* advertisements count once a minute */
	dfu_inventory_ble_seen(inventory, "ble:C4:12:34:56:78:9A", 1234 + G_USEC_PER_SEC);
	g_assert_cmpint(device->last_seen, ==, 1234);
	dfu_inventory_ble_seen(inventory, "ble:C4:12:34:56:78:9A", 1234 + 61 * G_USEC_PER_SEC);
	g_assert_cmpint(device->last_seen, ==, 1234 + 61 * G_USEC_PER_SEC);

	/* gone from BlueZ with nothing else to keep it: gone from the inventory */
	dfu_inventory_ble_gone(inventory, "ble:C4:12:34:56:78:9A");
	g_assert_null(dfu_inventory_lookup(inventory, "ble:C4:12:34:56:78:9A"));
	g_assert_nonnull(strstr(f->events->str, "-ble:C4:12:34:56:78:9A"));

	/* one that also ran a job stays */
	g_clear_object(&job);
	job = finished_job(8, "ble:C4:12:34:56:78:9B", 1, NULL);
	dfu_inventory_ble_seen(inventory, "ble:C4:12:34:56:78:9B", 1234);
	dfu_inventory_job_finished(inventory, job);
	dfu_inventory_ble_gone(inventory, "ble:C4:12:34:56:78:9B");
	g_assert_nonnull(dfu_inventory_lookup(inventory, "ble:C4:12:34:56:78:9B"));
}

static void
test_inventory_renames(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuInventory) inventory = open_inventory(f);
	g_autoptr(DfuJob) job = NULL;
	GVariant *images[] = {image(0, "2.0.0", "active confirmed")};
	DfuDevice *device;

	job = finished_job(3, "serial:/dev/ttyUSB0", 1, g_variant_new_array(NULL, images, 1));
	dfu_inventory_job_finished(inventory, job);
	g_assert_nonnull(dfu_inventory_lookup(inventory, "serial:/dev/ttyUSB0"));

	/* devices.d names the device: it takes the name and keeps what was learnt */
	name_device(f, "pump", "serial:/dev/ttyUSB0?baud=9600", "pump-board");
	dfu_inventory_sync_config(inventory, f->config);
	g_assert_null(dfu_inventory_lookup(inventory, "serial:/dev/ttyUSB0"));
	device = dfu_inventory_lookup(inventory, "pump");
	g_assert_nonnull(device);
	g_assert_cmpstr(running_version(device), ==, "2.0.0");
	g_assert_cmpuint(device->last_job, ==, 3);
	g_assert_cmpstr(device->board, ==, "pump-board");

	/* and loses it again, living on under its URI */
	g_hash_table_remove_all(f->config->devices);
	dfu_inventory_sync_config(inventory, f->config);
	g_assert_null(dfu_inventory_lookup(inventory, "pump"));
	device = dfu_inventory_lookup(inventory, "serial:/dev/ttyUSB0?baud=9600");
	g_assert_nonnull(device);
	g_assert_cmpstr(running_version(device), ==, "2.0.0");

	/* a named device without jobs just goes */
	name_device(f, "idle", "serial:/dev/ttyS1", NULL);
	dfu_inventory_sync_config(inventory, f->config);
	g_assert_nonnull(dfu_inventory_lookup(inventory, "idle"));
	g_hash_table_remove_all(f->config->devices);
	dfu_inventory_sync_config(inventory, f->config);
	g_assert_null(dfu_inventory_lookup(inventory, "idle"));
}

static void
test_inventory_corrupt_file(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuInventory) inventory = NULL;
	g_autofree char *aside = g_strconcat(f->file, ".corrupt", NULL);
	const char *bad[] = {
	        "{\"devices\": [",
	        "{\"devices\": [{\"name\": \"a\", \"target\": \"nonsense\", \"images\": \"@aa{sv} []\"}]}",
	        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]",
	};

	name_device(f, "kitchen", "serial:/dev/ttyACM0", NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_unlink(aside);
		g_assert_true(g_file_set_contents(f->file, bad[i], -1, NULL));
		g_ptr_array_set_size(warnings, 0);
		inventory = open_inventory(f);
		g_assert_cmpuint(warnings->len, ==, 1);
		g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0), "devices.json is unusable"));
		g_assert_true(g_file_test(aside, G_FILE_TEST_EXISTS));
		g_assert_nonnull(dfu_inventory_lookup(inventory, "kitchen"));
		g_clear_object(&inventory);
	}
}

int
main(int argc, char **argv)
{
	int result;

	g_test_init(&argc, &argv, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	dfu_test_capture_warnings(warnings);
	g_test_add("/core/inventory/config-and-jobs", Fixture, NULL, fixture_set_up,
	           test_inventory_config_and_jobs, fixture_tear_down);
	g_test_add("/core/inventory/persists", Fixture, NULL, fixture_set_up, test_inventory_persists,
	           fixture_tear_down);
	g_test_add("/core/inventory/renames", Fixture, NULL, fixture_set_up, test_inventory_renames,
	           fixture_tear_down);
	g_test_add("/core/inventory/corrupt-file", Fixture, NULL, fixture_set_up, test_inventory_corrupt_file,
	           fixture_tear_down);
	result = g_test_run();
	g_ptr_array_unref(warnings);
	return result;
}
