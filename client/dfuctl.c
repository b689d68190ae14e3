/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "dfuctl-args.h"
#include "dfuctl-commands.h"

/* which options a command takes */
typedef enum {
	OPT_JSON = 1 << 0,
	OPT_VERBOSE = 1 << 1,
	OPT_NO_WAIT = 1 << 2,
	OPT_ALL = 1 << 3,
	OPT_OPTION = 1 << 4,
	OPT_KEYS = 1 << 5,
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

static const DfuctlCommand commands[] = {
        {"start", "<target> <file-or-url>", "Update a device from a bundle file or URL and follow the job",
         OPT_JSON | OPT_NO_WAIT | OPT_OPTION, 2, 2, dfuctl_cmd_start},
        {"update", "<target> <file-or-url>", "The same as start", OPT_JSON | OPT_NO_WAIT | OPT_OPTION, 2, 2,
         dfuctl_cmd_start},
        {"status", "[<job>]", "Show the daemon or one job (a number or an object path)",
         OPT_JSON | OPT_VERBOSE, 0, 1, dfuctl_cmd_status},
        {"list", "", "List the unfinished jobs", OPT_JSON | OPT_ALL, 0, 0, dfuctl_cmd_list},
        {"abort", "<job>", "Cancel a job", 0, 1, 1, dfuctl_cmd_abort},
        {"history", "[<device>]", "List the finished jobs, of one device (a name or a target) or all",
         OPT_JSON, 0, 1, dfuctl_cmd_history},
        {"watch", "", "Follow all jobs until interrupted", OPT_JSON, 0, 0, dfuctl_cmd_watch},
        {"codes", "", "Print the status codes with hints", OPT_JSON, 0, 0, dfuctl_cmd_codes},
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

	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *call = g_strdup_printf("%s %s", commands[i].name, commands[i].parameters);
		g_string_append_printf(text, "  %-24s %s\n", call, commands[i].summary);
	}
	g_string_append(
	        text,
	        "\nExit status: 0 success or staged, 1 failure, 2 nothing to do, 3 no such job or file.");
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
	          "Job option: confirm, force, allow-downgrade (true/false or images: 1,net), "
	          "max-attempts (number), source-name; for atfota targets fota-op, sec-tag, pdn (numbers), "
	          "expected-version",
	          "KEY=VALUE"}},
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
		g_strfreev(args.options);
		g_free(args.keys);
		return DFUCTL_EXIT_FAILURE;
	}
	/* argv[0] is the command itself */
	n_args = (guint)argc - 1;
	if (n_args < cmd->min_args || n_args > cmd->max_args) {
		g_printerr("usage: dfuctl %s %s\n", cmd->name, cmd->parameters);
		g_strfreev(args.options);
		g_free(args.keys);
		return DFUCTL_EXIT_FAILURE;
	}
	args.positional = argv + 1;
	exit_code = cmd->run(&args);
	g_strfreev(args.options);
	g_free(args.keys);
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
	        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
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
	if (version) {
		g_print("dfuctl %s\n", PACKAGE_VERSION);
		return DFUCTL_EXIT_SUCCESS;
	}
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
