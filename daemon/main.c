/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "ble-scan.h"
#include "bus-autoptr.h"
#include "bus-connect.h"
#include "bus-glib.h"
#include "bus-manager.h"
#include "dfu-config-fetcher.h"
#include "dfu-error.h"
#include "dfu-inventory.h"
#include "dfu-job-runner.h"
#include "dfu-manager.h"

/* exit codes from systemd.exec(5) */
enum {
	EXIT_INVALID_ARGUMENT = 2,
	EXIT_NOT_CONFIGURED = 6,
};

typedef struct {
	GMainLoop *loop;
	DfuConfig *config;
	DfuManager *manager;
	DfuInventory *inventory;
	BleScan *ble_scan;
	guint bus_source;
	int exit_code;
	gboolean ready; /* READY=1 was sent: the name is ours and the jobs are loading */
} DfuDaemon;

static void
daemon_quit(DfuDaemon *self, int exit_code)
{
	if (self->exit_code == EXIT_SUCCESS)
		self->exit_code = exit_code;
	g_main_loop_quit(self->loop);
}

static void
daemon_notify_status(DfuDaemon *self)
{
	sd_notifyf(0, "STATUS=%u job(s) running, %u queued", dfu_manager_get_active_jobs(self->manager),
	           dfu_manager_get_queue_length(self->manager));
}

static void
daemon_counts_changed_cb(DfuManager *manager, gpointer user_data)
{
	daemon_notify_status(user_data);
}

static gboolean
daemon_signal_cb(gpointer user_data)
{
	DfuDaemon *self = user_data;

	g_info("stopping");
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	daemon_quit(self, EXIT_SUCCESS);
	return G_SOURCE_CONTINUE;
}

/* SIGHUP, systemctl reload: configuration and devices.d again, running jobs untouched */
static gboolean
daemon_reload_cb(gpointer user_data)
{
	DfuDaemon *self = user_data;
	g_autoptr(GError) error = NULL;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT "\nSTATUS=Reloading the configuration",
	           g_get_monotonic_time());
	if (dfu_manager_reload(self->manager, &error)) {
		dfu_inventory_sync_config(self->inventory, self->config);
		g_message("configuration reloaded");
	} else
		g_warning("configuration not reloaded, the previous one stays: %s", error->message);
	/* a reload before start-up is complete must not announce it */
	if (self->ready)
		sd_notify(0, "READY=1");
	daemon_notify_status(self);
	return G_SOURCE_CONTINUE;
}

/* from the main loop, so that a loop that hangs stops the pings and systemd restarts the daemon */
static gboolean
daemon_watchdog_cb(gpointer user_data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* pings at half the interval that WatchdogSec= asks for; 0 when there is none */
static guint
daemon_watchdog_start(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(FALSE, &usec) <= 0 || usec == 0)
		return 0;
	return g_timeout_add(MAX(usec / 2000, 1), daemon_watchdog_cb, NULL);
}

static gboolean
daemon_bus_lost_cb(gpointer user_data)
{
	DfuDaemon *self = user_data;

	g_warning("lost the connection to the bus");
	self->bus_source = 0;
	daemon_quit(self, EXIT_FAILURE);
	return G_SOURCE_REMOVE;
}

static void
daemon_ble_seen_cb(const char *target, gint64 when, gpointer user_data)
{
	dfu_inventory_ble_seen(user_data, target, when);
}

static void
daemon_ble_gone_cb(const char *target, gpointer user_data)
{
	dfu_inventory_ble_gone(user_data, target);
}

static const BleScanCallbacks ble_scan_callbacks = {
        .seen = daemon_ble_seen_cb,
        .gone = daemon_ble_gone_cb,
};

static int
daemon_name_reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuDaemon *self = userdata;
	const sd_bus_error *error = sd_bus_message_get_error(m);
	g_autoptr(GError) start_error = NULL;
	guint32 result = 0;

	if (error != NULL) {
		g_printerr("dfud: cannot request the name %s: %s\n", DFU_BUS_NAME, error->message);
		daemon_quit(self, EXIT_FAILURE);
		return 0;
	}
	/* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER */
	if (sd_bus_message_read(m, "u", &result) < 0 || result != 1) {
		g_printerr("dfud: the name %s is already taken\n", DFU_BUS_NAME);
		daemon_quit(self, EXIT_FAILURE);
		return 0;
	}
	/* jobs are reloaded only once the name is ours, so two daemons never drive one device; the
	 * inventory first, so that it sees every reloaded job */
	if (!dfu_inventory_load(self->inventory, self->config, &start_error) ||
	    !dfu_manager_start(self->manager, &start_error)) {
		g_printerr("dfud: %s\n", start_error->message);
		daemon_quit(self, EXIT_FAILURE);
		return 0;
	}
	self->ble_scan = ble_scan_new(self->config->ble_adapter, &ble_scan_callbacks, self->inventory);
	g_info("ready on %s", DFU_BUS_NAME);
	sd_notify(0, "READY=1");
	self->ready = TRUE;
	daemon_notify_status(self);
	return 0;
}

static void
daemon_job_added_cb(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	dfu_inventory_job_added(user_data, job);
}

static void
daemon_job_finished_cb(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	dfu_inventory_job_finished(user_data, job);
}

static int
daemon_run(DfuConfig *config, gboolean session)
{
	DfuDaemon self = {.exit_code = EXIT_SUCCESS};
	DfuBusAuth auth = {.session_bus = session, .own_uid = geteuid()};
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = NULL;
	g_autoptr(DfuFetcher) fetcher = NULL;
	g_autoptr(DfuManager) manager = NULL;
	g_autoptr(DfuInventory) inventory = NULL;
	g_autoptr(DfuBusManager) bus_manager = NULL;
	g_autoptr(sd_bus_slot) name_slot = NULL;
	DfuRunner *runner;
	guint sigterm;
	guint sigint;
	guint sighup;
	guint watchdog;
	gulong handlers[3];
	int r;

	bus = dfu_bus_connect(session, &error);
	if (bus == NULL) {
		g_printerr("dfud: %s\n", error->message);
		return EXIT_FAILURE;
	}

	runner = dfu_job_runner_new(config);
	fetcher = dfu_fetcher_new_for_config(config);
	manager = dfu_manager_new(config, runner);
	dfu_manager_set_fetcher(manager, fetcher);
	dfu_job_runner_set_fetcher(runner, fetcher);
	inventory = dfu_inventory_new(config->state_dir);
	bus_manager = dfu_bus_manager_new(bus, manager, inventory, &auth, &error);
	if (bus_manager == NULL) {
		g_printerr("dfud: %s\n", error->message);
		g_clear_object(&manager);
		dfu_job_runner_free(runner);
		return EXIT_FAILURE;
	}
	self.loop = loop;
	self.config = config;
	self.manager = manager;
	self.inventory = inventory;
	handlers[0] =
	        g_signal_connect(manager, "counts-changed", G_CALLBACK(daemon_counts_changed_cb), &self);
	handlers[1] = g_signal_connect(manager, "job-added", G_CALLBACK(daemon_job_added_cb), inventory);
	handlers[2] =
	        g_signal_connect(manager, "job-finished", G_CALLBACK(daemon_job_finished_cb), inventory);

	r = sd_bus_request_name_async(bus, &name_slot, DFU_BUS_NAME, 0, daemon_name_reply_cb, &self);
	if (r < 0) {
		g_printerr("dfud: cannot request the name %s: %s\n", DFU_BUS_NAME, g_strerror(-r));
		self.exit_code = EXIT_FAILURE;
	}

	if (self.exit_code == EXIT_SUCCESS) {
		self.bus_source = dfu_bus_attach_glib(bus, NULL, daemon_bus_lost_cb, &self);
		sigterm = g_unix_signal_add(SIGTERM, daemon_signal_cb, &self);
		sigint = g_unix_signal_add(SIGINT, daemon_signal_cb, &self);
		sighup = g_unix_signal_add(SIGHUP, daemon_reload_cb, &self);
		watchdog = daemon_watchdog_start();
		g_main_loop_run(loop);
		g_clear_handle_id(&watchdog, g_source_remove);
		g_source_remove(sighup);
		g_source_remove(sigint);
		g_source_remove(sigterm);
		g_clear_handle_id(&self.bus_source, g_source_remove);
	}

	/* running attempts stop without finishing their jobs; they resume on the next start */
	dfu_manager_shutdown(manager);
	dfu_bus_manager_flush(bus_manager);
	g_clear_pointer(&self.ble_scan, ble_scan_free);
	dfu_inventory_flush(inventory);
	for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++)
		g_clear_signal_handler(&handlers[i], manager);
	g_clear_pointer(&name_slot, sd_bus_slot_unref);
	g_clear_pointer(&bus_manager, dfu_bus_manager_free);
	g_clear_object(&inventory);
	g_clear_object(&manager);
	dfu_job_runner_free(runner);
	g_clear_pointer(&bus, sd_bus_flush_close_unref);
	return self.exit_code;
}

static void
print_version(void)
{
	g_print("dfud %s\n", PACKAGE_VERSION);
}

int
main(int argc, char **argv)
{
	gboolean session = FALSE;
	gboolean verbose = FALSE;
	gboolean version = FALSE;
	g_autofree char *config_path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;
	g_autoptr(GOptionContext) context = NULL;
	const GOptionEntry entries[] = {
	        {"session", 0, 0, G_OPTION_ARG_NONE, &session, "Use the session bus (also DFUD_BUS=session)",
	         NULL},
	        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "PATH"},
	        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
	        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
	        G_OPTION_ENTRY_NULL,
	};

	setlocale(LC_ALL, "");
	/* the daemon's own helper process, never a user's command line */
	if (argc == 4 && g_strcmp0(argv[1], DFU_CHECK_BUNDLE_OPTION) == 0)
		return dfu_job_runner_check_bundle(argv[2], argv[3]);
	context = g_option_context_new(NULL);
	g_option_context_set_summary(context, "Firmware update daemon for attached devices");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("dfud: %s\n", error->message);
		return EXIT_INVALID_ARGUMENT;
	}
	if (argc > 1) {
		g_printerr("dfud: unexpected argument '%s'\n", argv[1]);
		return EXIT_INVALID_ARGUMENT;
	}
	if (version) {
		print_version();
		return EXIT_SUCCESS;
	}
	if (verbose)
		g_log_set_debug_enabled(TRUE);
	if (g_strcmp0(g_getenv("DFUD_BUS"), "session") == 0)
		session = TRUE;

	config = dfu_config_load(config_path, &error);
	if (config == NULL) {
		g_printerr("dfud: %s\n", error->message);
		return EXIT_NOT_CONFIGURED;
	}
	return daemon_run(config, session);
}
