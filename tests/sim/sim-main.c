/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>

#include "sim-faults.h"
#include "sim-link.h"
#include "sim-mcuboot.h"
#include "sim-smp-server.h"

/* dfu-sim: an MCUmgr SMP device with an MCUboot slot model behind a pty */

typedef struct {
	char *link;
	gint baud;
	gint images;
	gint64 slot_size;
	char *running_version;
	gint buf_size;
	gint buf_count;
	gboolean no_params;
	char *errors;
	gboolean image_check;
	gint erase_ms;
	gint write_us_per_kb;
	gint reset_ms;
	gint boot_ms;
	gboolean reset_hangup;
	gboolean boot_rejects;
	gboolean refuse_test;
	char *state_file;
	char **faults;
	gboolean verbose;
} SimOptions;

static void
sim_options_clear(SimOptions *opts)
{
	g_free(opts->link);
	g_free(opts->running_version);
	g_free(opts->errors);
	g_free(opts->state_file);
	g_strfreev(opts->faults);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SimOptions, sim_options_clear)

static gboolean
parse_options(int *argc, char ***argv, SimOptions *opts, GError **error)
{
	const GOptionEntry entries[] = {
	        {"link", 0, 0, G_OPTION_ARG_FILENAME, &opts->link, "Symlink to create for the pty", "PATH"},
	        {"baud", 0, 0, G_OPTION_ARG_INT, &opts->baud, "Line speed, 0 = unthrottled", "BAUD"},
	        {"images", 0, 0, G_OPTION_ARG_INT, &opts->images, "Number of images", "N"},
	        {"slot-size", 0, 0, G_OPTION_ARG_INT64, &opts->slot_size, "Bytes per slot", "BYTES"},
	        {"running-version", 0, 0, G_OPTION_ARG_STRING, &opts->running_version,
	         "Version of the running image", "X.Y.Z"},
	        {"buf-size", 0, 0, G_OPTION_ARG_INT, &opts->buf_size, "SMP netbuf size", "BYTES"},
	        {"buf-count", 0, 0, G_OPTION_ARG_INT, &opts->buf_count, "SMP netbuf count", "N"},
	        {"no-params", 0, 0, G_OPTION_ARG_NONE, &opts->no_params, "Answer mcumgr params with ENOTSUP",
	         NULL},
	        {"errors", 0, 0, G_OPTION_ARG_STRING, &opts->errors, "Error style for v2 requests", "v1|v2"},
	        {"image-check", 0, 0, G_OPTION_ARG_NONE, &opts->image_check,
	         "Check uploads against their sha", NULL},
	        {"erase-ms", 0, 0, G_OPTION_ARG_INT, &opts->erase_ms, "Slot erase time", "MS"},
	        {"write-us-per-kb", 0, 0, G_OPTION_ARG_INT, &opts->write_us_per_kb, "Flash write time", "US"},
	        {"reset-ms", 0, 0, G_OPTION_ARG_INT, &opts->reset_ms, "Delay between reset reply and reboot",
	         "MS"},
	        {"boot-ms", 0, 0, G_OPTION_ARG_INT, &opts->boot_ms, "Silent time while booting", "MS"},
	        {"reset-hangup", 0, 0, G_OPTION_ARG_NONE, &opts->reset_hangup, "Hang up the link on reset",
	         NULL},
	        {"boot-rejects", 0, 0, G_OPTION_ARG_NONE, &opts->boot_rejects,
	         "Bootloader refuses new images", NULL},
	        {"refuse-test", 0, 0, G_OPTION_ARG_NONE, &opts->refuse_test, "State write test fails", NULL},
	        {"state-file", 0, 0, G_OPTION_ARG_FILENAME, &opts->state_file,
	         "JSON file with the device state", "PATH"},
	        {"fault", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->faults, "Inject a fault (repeatable)",
	         "SPEC"},
	        {"verbose", 0, 0, G_OPTION_ARG_NONE, &opts->verbose, "Log requests on stderr", NULL},
	        G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- MCUmgr SMP device simulator");

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	if (opts->link == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--link is required");
		return FALSE;
	}
	if (g_strcmp0(opts->errors, "v1") != 0 && g_strcmp0(opts->errors, "v2") != 0) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--errors must be v1 or v2");
		return FALSE;
	}
	if (opts->baud < 0 || opts->images < 1 || opts->images > 8 || opts->slot_size < 1024 ||
	    opts->slot_size > 64 * 1024 * 1024 || opts->buf_size < 16 || opts->buf_size > 65535 ||
	    opts->buf_count < 1 || opts->erase_ms < 0 || opts->write_us_per_kb < 0 || opts->reset_ms < 0 ||
	    opts->boot_ms < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "a numeric option is out of range");
		return FALSE;
	}
	return TRUE;
}

static gboolean
on_quit_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

int
main(int argc, char **argv)
{
	g_auto(SimOptions) opts = {.baud = 115200,
	                           .images = 1,
	                           .slot_size = 262144,
	                           .running_version = g_strdup("1.0.0"),
	                           .buf_size = 384,
	                           .buf_count = 4,
	                           .errors = g_strdup("v2"),
	                           .reset_ms = 50,
	                           .boot_ms = 200};
	g_autoptr(GError) error = NULL;
	g_autoptr(SimFaultPlan) faults = sim_fault_plan_new();
	g_autoptr(SimMcuboot) model = NULL;
	g_autoptr(SimSmpServer) server = NULL;
	g_autoptr(SimLink) link = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	SimMcubootConfig model_config = {0};
	SimServerConfig server_config = {0};

	if (!parse_options(&argc, &argv, &opts, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 2;
	}
	for (char **f = opts.faults; f != NULL && *f != NULL; f++) {
		if (!sim_fault_plan_add(faults, *f, &error)) {
			g_printerr("dfu-sim: %s\n", error->message);
			return 2;
		}
	}
	if (!mcuboot_version_parse(opts.running_version, &model_config.running_version)) {
		g_printerr("dfu-sim: bad --running-version %s\n", opts.running_version);
		return 2;
	}
	model_config.images = (guint)opts.images;
	model_config.slot_size = (gsize)opts.slot_size;
	model_config.image_check = opts.image_check;
	model_config.boot_rejects = opts.boot_rejects;
	model_config.refuse_test = opts.refuse_test;
	model_config.erase_ms = (guint)opts.erase_ms;
	model_config.write_us_per_kb = (guint)opts.write_us_per_kb;
	model = sim_mcuboot_new(&model_config, &error);
	if (model == NULL) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}

	server_config.buf_size = (guint)opts.buf_size;
	server_config.buf_count = (guint)opts.buf_count;
	server_config.params = !opts.no_params;
	server_config.errors_v2 = g_strcmp0(opts.errors, "v2") == 0;
	server_config.reset_ms = (guint)opts.reset_ms;
	server_config.boot_ms = (guint)opts.boot_ms;
	server_config.reset_hangup = opts.reset_hangup;
	server_config.state_file = opts.state_file;
	server_config.verbose = opts.verbose;
	server = sim_smp_server_new(&server_config, model, faults);

	link = sim_link_new(opts.link, (guint)opts.baud, sim_smp_server_input, sim_smp_server_output_idle,
	                    server, &error);
	if (link == NULL) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}
	sim_smp_server_set_link(server, link);
	if (!sim_smp_server_write_state(server, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}

	g_unix_signal_add(SIGTERM, on_quit_signal, loop);
	g_unix_signal_add(SIGINT, on_quit_signal, loop);
	printf("READY %s\n", opts.link);
	fflush(stdout);
	g_main_loop_run(loop);

	/* the link goes first so that the symlink is gone when the state file says we are done */
	g_clear_pointer(&link, sim_link_free);
	if (!sim_smp_server_write_state(server, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}
	return 0;
}
