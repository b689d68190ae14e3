/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "dfuctl-args.h"
#include "dfuctl-commands.h"
#include "dfuctl-devices.h"

/* which options a command takes */
typedef enum {
	OPT_JSON = 1 << 0,
	OPT_VERBOSE = 1 << 1,
	OPT_NO_WAIT = 1 << 2,
	OPT_ALL = 1 << 3,
	OPT_OPTION = 1 << 4,
	OPT_KEYS = 1 << 5,
	OPT_ALL_DEVICES = 1 << 6,
	OPT_UNTIL_IDLE = 1 << 7,
	OPT_REFRESH = 1 << 8,
	OPT_FILTER = 1 << 9,
} DfuctlOptionFlags;

typedef struct {
	const char *name;
	const char *parameters;
	const char *summary;
	guint options;
	guint min_args;
	guint max_args;
	int (*run)(const DfuctlArgs *args);
} DfuctlCommand;

#define START_OPTIONS (OPT_JSON | OPT_NO_WAIT | OPT_OPTION | OPT_ALL_DEVICES)

static const DfuctlCommand commands[] = {
        {"start", "<device>... <file-or-url>",
         "Update devices from a bundle file or URL and follow the jobs (--all: every device)", START_OPTIONS,
         0, G_MAXUINT, dfuctl_cmd_start},
        {"update", "<device>... <file-or-url>", "The same as start", START_OPTIONS, 0, G_MAXUINT,
         dfuctl_cmd_start},
        {"status", "[<job>]", "Show the daemon or one job (a number or an object path)",
         OPT_JSON | OPT_VERBOSE, 0, 1, dfuctl_cmd_status},
        {"list", "", "List the unfinished jobs (--all: every job; --state, --device: those)",
         OPT_JSON | OPT_ALL | OPT_FILTER, 0, 0, dfuctl_cmd_list},
        {"abort", "<job>", "Cancel a job", 0, 1, 1, dfuctl_cmd_abort},
        {"history", "[<device>]", "List the finished jobs, of one device (a name or a target) or all",
         OPT_JSON, 0, 1, dfuctl_cmd_history},
        {"watch", "[<job>|<device>...]", "Follow jobs until interrupted (--until-idle: until none runs)",
         OPT_JSON | OPT_UNTIL_IDLE, 0, G_MAXUINT, dfuctl_cmd_watch},
        {"codes", "", "Print the status codes with hints", OPT_JSON, 0, 0, dfuctl_cmd_codes},
        {"devices", "", "List the devices the daemon knows, their versions and last results", OPT_JSON, 0, 0,
         dfuctl_cmd_devices},
        {"info", "<device>", "Show one device in full (a name or a target)",
         OPT_JSON | OPT_REFRESH | OPT_NO_WAIT, 1, 1, dfuctl_cmd_info},
        {"confirm", "<device>", "Confirm the device's staged update (reset into it first if needed)",
         OPT_JSON | OPT_NO_WAIT, 1, 1, dfuctl_cmd_confirm},
        {"reset", "<device>", "Reset a device with a staged update so that it boots it for a test",
         OPT_JSON | OPT_NO_WAIT, 1, 1, dfuctl_cmd_reset},
        {"inspect", "<file-or-url>", "Check a bundle and its signature and show its images",
         OPT_JSON | OPT_KEYS, 1, 1, dfuctl_cmd_inspect},
};

static const DfuctlCommand *
command_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_strcmp0(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static char *
usage_summary(void)
{
	g_autoptr(GString) text = g_string_new("Commands:\n");
	int width = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		width = MAX(width, (int)(strlen(commands[i].name) + 1 + strlen(commands[i].parameters)));
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *call = g_strdup_printf("%s %s", commands[i].name, commands[i].parameters);
		g_string_append_printf(text, "  %-*s  %s\n", width, call, commands[i].summary);
	}
	g_string_append(
	        text,
	        "\nExit status: 0 success or staged, 1 failure, 2 nothing to do, 3 no such job, device or "
	        "readable file.\nJob options: dfuctl start -o help.");
	return g_string_free(g_steal_pointer(&text), FALSE);
}

/* the command's own option entries, each pointing into args */
static GArray *
command_entries(const DfuctlCommand *cmd, DfuctlArgs *args)
{
	const struct {
		guint flag;
		GOptionEntry entry;
	} all_entries[] = {
	        {0, {"session", 0, 0, G_OPTION_ARG_NONE, &args->session, "Use the session bus", NULL}},
	        {OPT_JSON, {"json", 0, 0, G_OPTION_ARG_NONE, &args->json, "Print JSON lines", NULL}},
	        {OPT_VERBOSE,
	         {"verbose", 'v', 0, G_OPTION_ARG_NONE, &args->verbose, "Show every detail", NULL}},
	        {OPT_NO_WAIT,
	         {"no-wait", 0, 0, G_OPTION_ARG_NONE, &args->no_wait, "Print the job and return", NULL}},
	        {OPT_ALL, {"all", 'a', 0, G_OPTION_ARG_NONE, &args->all, "Include finished jobs", NULL}},
	        {OPT_OPTION,
	         {"option", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &args->options,
	          "Job option (-o help lists them)", "KEY=VALUE"}},
	        {OPT_ALL_DEVICES,
	         {"all", 0, 0, G_OPTION_ARG_NONE, &args->all, "Update every device the daemon knows", NULL}},
	        {OPT_ALL_DEVICES,
	         {"match", 0, 0, G_OPTION_ARG_STRING, &args->match, "With --all: devices whose name matches",
	          "GLOB"}},
	        {OPT_ALL_DEVICES,
	         {"board", 0, 0, G_OPTION_ARG_STRING, &args->board, "With --all: devices of this board",
	          "BOARD"}},
	        {OPT_UNTIL_IDLE,
	         {"until-idle", 0, 0, G_OPTION_ARG_NONE, &args->until_idle,
	          "Return once none of the jobs watched is queued or running", NULL}},
	        {OPT_FILTER,
	         {"state", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->states,
	          "Jobs in this state (queued, running, succeeded, failed, cancelled; repeatable)", "STATE"}},
	        {OPT_FILTER,
	         {"device", 0, 0, G_OPTION_ARG_STRING, &args->device,
	          "Jobs of this device (a name or a target)", "DEVICE"}},
	        {OPT_REFRESH,
	         {"refresh", 0, 0, G_OPTION_ARG_NONE, &args->refresh,
	          "Read the device's state first (a job through the queue)", NULL}},
	        {OPT_KEYS,
	         {"keys", 0, 0, G_OPTION_ARG_FILENAME, &args->keys,
	          "Trusted public keys (default: the configured KeyDirectory)", "DIR"}},
	};
	GArray *entries = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));

	for (gsize i = 0; i < G_N_ELEMENTS(all_entries); i++) {
		if (all_entries[i].flag == 0 || (cmd->options & all_entries[i].flag) != 0)
			g_array_append_val(entries, all_entries[i].entry);
	}
	return entries;
}

static void
dfuctl_args_clear(DfuctlArgs *args)
{
	g_strfreev(args->options);
	g_free(args->keys);
	g_free(args->match);
	g_free(args->board);
	g_strfreev(args->states);
	g_free(args->device);
}

static int
run_command(const DfuctlCommand *cmd, int argc, char **argv, gboolean session)
{
	DfuctlArgs args = {.session = session};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GArray) entries = command_entries(cmd, &args);
	g_autoptr(GError) error = NULL;
	g_autofree char *title = g_strdup_printf("%s %s", cmd->name, cmd->parameters);
	guint n_args;
	int exit_code;

	context = g_option_context_new(title);
	g_option_context_set_summary(context, cmd->summary);
	g_option_context_add_main_entries(context, (const GOptionEntry *)entries->data, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("dfuctl %s: %s\n", cmd->name, error->message);
		dfuctl_args_clear(&args);
		return DFUCTL_EXIT_FAILURE;
	}
	/* argv[0] is the command itself */
	n_args = (guint)argc - 1;
	if (n_args < cmd->min_args || n_args > cmd->max_args) {
		g_printerr("usage: dfuctl %s %s\n", cmd->name, cmd->parameters);
		dfuctl_args_clear(&args);
		return DFUCTL_EXIT_FAILURE;
	}
	args.positional = argv + 1;
	exit_code = cmd->run(&args);
	dfuctl_args_clear(&args);
	return exit_code;
}

/* parses argv[0..*first) only, then closes the gap that the taken options left */
static gboolean
parse_global(GOptionContext *context, int *argc, char **argv, int *first, GError **error)
{
	int global_argc = *first;

	if (!g_option_context_parse(context, &global_argc, &argv, error))
		return FALSE;
	memmove(argv + global_argc, argv + *first, (gsize)(*argc - *first + 1) * sizeof(char *));
	*argc -= *first - global_argc;
	*first = global_argc;
	return TRUE;
}

int
main(int argc, char **argv)
{
	gboolean session = FALSE;
	gboolean version = FALSE;
	const GOptionEntry entries[] = {
	        {"session", 0, 0, G_OPTION_ARG_NONE, &session, "Use the session bus (also DFUD_BUS=session)",
	         NULL},
	        {"version", 0, 0, G_OPTION_ARG_NONE, &version,
	         "Print the versions of dfuctl and dfud and exit", NULL},
	        G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *description = usage_summary();
	const DfuctlCommand *cmd;
	int first = 1;

	setlocale(LC_ALL, "");
	/* options before the command are dfuctl's own; the rest belong to the command */
	while (first < argc && argv[first][0] == '-')
		first++;
	context = g_option_context_new("COMMAND [ARGS...]");
	g_option_context_set_summary(context, "Control dfud, the device firmware update daemon");
	g_option_context_set_description(context, description);
	g_option_context_add_main_entries(context, entries, NULL);
	if (!parse_global(context, &argc, argv, &first, &error)) {
		g_printerr("dfuctl: %s\n", error->message);
		return DFUCTL_EXIT_FAILURE;
	}
	if (version)
		return dfuctl_cmd_version(session);
	if (first >= argc) {
		g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);
		g_printerr("%s", help);
		return DFUCTL_EXIT_FAILURE;
	}
	cmd = command_lookup(argv[first]);
	if (cmd == NULL) {
		g_printerr("dfuctl: unknown command '%s' (see dfuctl --help)\n", argv[first]);
		return DFUCTL_EXIT_FAILURE;
	}
	return run_command(cmd, argc - first, argv + first, session);
}
