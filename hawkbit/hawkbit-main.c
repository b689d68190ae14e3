/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>

#include "config.h"
#include "hawkbit-agent.h"

static gboolean
quit_cb(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_CONTINUE;
}

int
main(int argc, char **argv)
{
	gboolean verbose = FALSE;
	gboolean version = FALSE;
	g_autofree char *config_path = NULL;
	g_autofree char *state_dir = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(HbConfig) config = NULL;
	g_autoptr(HbAgent) agent = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	const GOptionEntry entries[] = {
	        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "PATH"},
	        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Where the actions' state is kept",
	         "DIR"},
	        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
	        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
	        G_OPTION_ENTRY_NULL,
	};
	guint sigterm, sigint;

	setlocale(LC_ALL, "");
	context = g_option_context_new(NULL);
	g_option_context_set_summary(context,
	                             "Eclipse hawkBit DDI client for the nodes behind a dfud gateway");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc > 1) {
		g_printerr("dfud-hawkbit: %s\n", error != NULL ? error->message : "unexpected argument");
		return 2;
	}
	if (version) {
		g_print("dfud-hawkbit %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (verbose)
		g_log_set_debug_enabled(TRUE);
	if (state_dir == NULL) {
		const char *from_systemd = g_getenv("STATE_DIRECTORY");

		state_dir = g_strdup(from_systemd != NULL ? from_systemd : DFUD_STATE_DIR "-hawkbit");
	}
	config = hb_config_load(config_path != NULL ? config_path : DFUD_SYSCONFDIR "/hawkbit.conf", &error);
	if (config == NULL) {
		g_printerr("dfud-hawkbit: %s\n", error->message);
		return 6;
	}
	loop = g_main_loop_new(NULL, FALSE);
	agent = hb_agent_new(config, state_dir, loop, &error);
	if (agent == NULL) {
		g_printerr("dfud-hawkbit: %s\n", error->message);
		return EXIT_FAILURE;
	}
	g_message("representing %u nodes at %s as gateway %s", config->nodes->len, config->url,
	          config->gateway_id);
	sigterm = g_unix_signal_add(SIGTERM, quit_cb, loop);
	sigint = g_unix_signal_add(SIGINT, quit_cb, loop);
	hb_agent_start(agent);
	g_main_loop_run(loop);
	g_source_remove(sigterm);
	g_source_remove(sigint);
	return EXIT_SUCCESS;
}
