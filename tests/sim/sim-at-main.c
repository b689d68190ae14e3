/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "sim-atmodem.h"
#include "sim-link.h"
#include "sim-serve.h"
#include "sim-state-file.h"

/* dfu-sim-at: an nRF91 module with Nordic's AT firmware behind a pty, for AT#XFOTA updates */

typedef struct {
	SimAtModem *modem;
	SimLink *link;
	char *state_file;
} Sim;

static void
save_state(Sim *sim)
{
	g_autofree char *json = sim_atmodem_state_json(sim->modem);
	g_autoptr(GError) error = NULL;

	if (sim->state_file != NULL && !sim_state_file_replace(sim->state_file, json, &error))
		g_printerr("dfu-sim-at: %s\n", error->message);
}

static void
on_output(const guint8 *data, gsize len, gpointer user_data)
{
	Sim *sim = user_data;

	sim_link_write(sim->link, data, len);
	save_state(sim);
}

static void
on_input(const guint8 *data, gsize len, gpointer user_data)
{
	Sim *sim = user_data;
	sim_atmodem_input(sim->modem, data, len);
}

static void
on_link_idle(gpointer user_data)
{
}

static const struct {
	const char *name;
	const char *bytes;
} terminators[] = {{"cr", "\r"}, {"lf", "\n"}, {"crlf", "\r\n"}};

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GOptionContext) context = g_option_context_new("- nRF91 AT#XFOTA module simulator");
	g_autofree char *link_path = NULL;
	g_autofree char *lineage = NULL;
	g_autofree char *terminator = NULL;
	g_autofree char *version = NULL;
	g_autofree char *new_version = NULL;
	gint64 activation_error = 0, confirm_error = 0;
	gint baud = 115200, boot_ms = 200, step_ms = 50, step_percent = 10, stall_at = 0, download_error = 0;
	gboolean revert = FALSE, init_error = FALSE, no_modem_reset = FALSE, dtr_inactive = FALSE;
	gint dtr_active_ms = 0, dfu_write_ms = 0, dfu_write_error = 0, datamode_timeout_ms = 1000;
	gboolean http = FALSE, no_dfu = FALSE;
	g_autofree char *ca_file = NULL;
	SimAtModemConfig config = {0};
	Sim sim = {0};
	const GOptionEntry entries[] = {
	        {"link", 0, 0, G_OPTION_ARG_FILENAME, &link_path, "Symlink to create for the pty", "PATH"},
	        {"baud", 0, 0, G_OPTION_ARG_INT, &baud, "Line speed, 0 = unthrottled", "BAUD"},
	        {"state-file", 0, 0, G_OPTION_ARG_FILENAME, &sim.state_file,
	         "JSON file with the module's state", "PATH"},
	        {"lineage", 0, 0, G_OPTION_ARG_STRING, &lineage, "Firmware: slm (default) or sm", "LINEAGE"},
	        {"terminator", 0, 0, G_OPTION_ARG_STRING, &terminator, "Command terminator: cr, lf, crlf",
	         "TERM"},
	        {"running-version", 0, 0, G_OPTION_ARG_STRING, &version, "Version before the update", "V"},
	        {"new-version", 0, 0, G_OPTION_ARG_STRING, &new_version, "Version once an update took", "V"},
	        {"boot-ms", 0, 0, G_OPTION_ARG_INT, &boot_ms, "From reset to Ready", "MS"},
	        {"step-ms", 0, 0, G_OPTION_ARG_INT, &step_ms, "Between progress notifications", "MS"},
	        {"step-percent", 0, 0, G_OPTION_ARG_INT, &step_percent, "Download progress per step", "PCT"},
	        {"stall-at", 0, 0, G_OPTION_ARG_INT, &stall_at, "The download hangs once at this percent",
	         "PCT"},
	        {"download-error", 0, 0, G_OPTION_ARG_INT, &download_error,
	         "The download fails half way with this cause (1-4)", "CAUSE"},
	        {"activation-error", 0, 0, G_OPTION_ARG_INT64, &activation_error,
	         "The update fails after the reset with this info", "INFO"},
	        {"revert", 0, 0, G_OPTION_ARG_NONE, &revert, "Report a revert (5,3) after the reset", NULL},
	        {"init-error", 0, 0, G_OPTION_ARG_NONE, &init_error, "Boot into INIT ERROR instead of Ready",
	         NULL},
	        {"confirm-error", 0, 0, G_OPTION_ARG_INT64, &confirm_error,
	         "The new version runs but the result after the reset is 5,1 with this info", "INFO"},
	        {"no-modem-reset", 0, 0, G_OPTION_ARG_NONE, &no_modem_reset,
	         "Answer ERROR to AT#XMODEMRESET, as early SLM", NULL},
	        {"dtr-active-ms", 0, 0, G_OPTION_ARG_INT, &dtr_active_ms,
	         "Serial Modem's DTR input goes active this long after start: the UART is off until then",
	         "MS"},
	        {"http", 0, 0, G_OPTION_ARG_NONE, &http,
	         "Download the URL for real; the image's kind and version count", NULL},
	        {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "CA for https URLs (with --http)", "PEM"},
	        {"dfu-write-ms", 0, 0, G_OPTION_ARG_INT, &dfu_write_ms,
	         "Serial Modem reports each pushed chunk (AT#XDFUWRITE) this long after its data", "MS"},
	        {"dfu-write-error", 0, 0, G_OPTION_ARG_INT, &dfu_write_error,
	         "The Nth AT#XDFUWRITE fails once with #XDFU: <type>,1,-1", "N"},
	        {"datamode-timeout-ms", 0, 0, G_OPTION_ARG_INT, &datamode_timeout_ms,
	         "A pushed chunk whose bytes stop this long is dropped and data mode ends", "MS"},
	        {"no-dfu", 0, 0, G_OPTION_ARG_NONE, &no_dfu,
	         "A Serial Modem without host-pushed DFU: AT#XDFUINIT=? answers ERROR", NULL},
	        {"dtr-inactive", 0, 0, G_OPTION_ARG_NONE, &dtr_inactive,
	         "DTR never goes active: the module neither hears nor speaks", NULL},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("dfu-sim-at: %s\n", error->message);
		return 2;
	}
	config.terminator = terminator == NULL ? "\r" : NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(terminators); i++) {
		if (g_strcmp0(terminator, terminators[i].name) == 0)
			config.terminator = terminators[i].bytes;
	}
	if (link_path == NULL || config.terminator == NULL || baud < 0 || boot_ms < 0 || step_ms < 1 ||
	    step_percent < 1 || stall_at < 0 || download_error < 0 || dtr_active_ms < 0 || dfu_write_ms < 0 ||
	    dfu_write_error < 0 || datamode_timeout_ms < 1 ||
	    (lineage != NULL && g_strcmp0(lineage, "sm") != 0 && g_strcmp0(lineage, "slm") != 0)) {
		g_printerr("dfu-sim-at: --link is required; an option is out of range\n");
		return 2;
	}
	config.serial_modem = g_strcmp0(lineage, "sm") == 0;
	config.version = version;
	config.new_version = new_version;
	config.boot_ms = boot_ms;
	config.step_ms = step_ms;
	config.step_percent = step_percent;
	config.stall_at = stall_at;
	config.download_error = download_error;
	config.activation_error = activation_error;
	config.revert = revert;
	config.init_error = init_error;
	config.confirm_error = confirm_error;
	config.no_modem_reset = no_modem_reset;
	config.dtr_active_ms = dtr_inactive ? G_MAXUINT : (guint)dtr_active_ms;
	config.http = http;
	config.ca_file = ca_file;
	config.dfu_write_ms = dfu_write_ms;
	config.dfu_write_error = dfu_write_error;
	config.datamode_timeout_ms = datamode_timeout_ms;
	config.no_dfu = no_dfu;

	sim.modem = sim_atmodem_new(&config, on_output, &sim);
	sim.link = sim_link_new(link_path, (guint)baud, on_input, on_link_idle, &sim, &error);
	if (sim.link == NULL) {
		g_printerr("dfu-sim-at: %s\n", error->message);
		return 1;
	}
	save_state(&sim);
	sim_atmodem_boot(sim.modem);

	sim_serve(loop, link_path);

	g_clear_pointer(&sim.link, sim_link_free);
	save_state(&sim);
	sim_atmodem_free(sim.modem);
	g_free(sim.state_file);
	return 0;
}
