/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <unistd.h>

#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-bus.h"
#include "dfuctl-commands.h"
#include "dfuctl-follow.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"

int
dfuctl_fail(const GError *error)
{
	g_printerr("dfuctl: %s\n", error->message);
	return dfuctl_exit_code_for_error(error);
}

gboolean
dfuctl_use_session_bus(const DfuctlArgs *args)
{
	return args->session || g_strcmp0(g_getenv("DFUD_BUS"), "session") == 0;
}

DfuctlOutputMode
dfuctl_output_mode(const DfuctlArgs *args)
{
	if (args->json)
		return DFUCTL_OUTPUT_JSON;
	return isatty(STDOUT_FILENO) ? DFUCTL_OUTPUT_TTY : DFUCTL_OUTPUT_PLAIN;
}

static int
status_of_daemon(sd_bus *bus, const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) manager = dfuctl_bus_get_manager(bus, &error);
	const char *version = "";
	guint32 queued = 0;
	guint32 active = 0;
	gboolean loading = FALSE;

	if (manager == NULL)
		return dfuctl_fail(error);
	if (args->json) {
		g_autofree char *line = dfuctl_json_from_variant(manager);
		g_print("%s\n", line);
		return DFUCTL_EXIT_SUCCESS;
	}
	g_variant_lookup(manager, "Version", "&s", &version);
	g_variant_lookup(manager, "QueueLength", "u", &queued);
	g_variant_lookup(manager, "ActiveJobs", "u", &active);
	g_variant_lookup(manager, "Loading", "b", &loading);
	g_print("dfud %s: %u running, %u queued%s\n", version, active, queued,
	        loading ? "; loading the stored jobs" : "");
	return dfuctl_cmd_list(args);
}

int
dfuctl_cmd_status(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = NULL;
	g_autoptr(DfuctlJob) job = NULL;
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GVariant) log = NULL;

	if (args->positional[0] != NULL) {
		path = dfuctl_job_path_from_arg(args->positional[0], &error);
		if (path == NULL)
			return dfuctl_fail(error);
	}
	bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	if (bus == NULL)
		return dfuctl_fail(error);
	if (path == NULL)
		return status_of_daemon(bus, args);

	job = dfuctl_bus_get_job(bus, path, NULL, &error);
	if (job == NULL)
		return dfuctl_fail(error);
	if (args->verbose) {
		log = dfuctl_bus_get_log(bus, path, &error);
		if (log == NULL)
			return dfuctl_fail(error);
	}
	if (args->json) {
		g_autofree char *line = dfuctl_json_job(job, NULL, log);
		g_print("%s\n", line);
		return DFUCTL_EXIT_SUCCESS;
	}
	text = dfuctl_format_job_details(job, args->verbose);
	g_print("%s", text);
	if (log != NULL) {
		g_autofree char *lines = dfuctl_format_log(log);
		g_print("%s", lines);
	}
	return DFUCTL_EXIT_SUCCESS;
}

/* how many jobs one QueryJobs call returns: a page is one reply held at a time */
#define LIST_PAGE_SIZE 2000

static guint32
list_page_size(void)
{
#if DFUD_TEST_HOOKS
	/* small pages, so that tests cross page boundaries with a few jobs */
	const char *env = g_getenv("DFUCTL_TEST_PAGE_SIZE");

	if (env != NULL)
		return (guint32)g_ascii_strtoull(env, NULL, 10);
#endif
	return LIST_PAGE_SIZE;
}

int
dfuctl_cmd_list(const DfuctlArgs *args)
{
	static const char *const unfinished[] = {"queued", "running", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(GPtrArray) jobs = NULL;
	g_autofree char *table = NULL;
	const char *const *states = (const char *const *)args->states;

	if (states == NULL && !args->all)
		states = unfinished;
	if (bus != NULL)
		jobs = dfuctl_bus_query_jobs(bus, states, args->device, list_page_size(), &error);
	if (jobs == NULL)
		return dfuctl_fail(error);
	if (args->json) {
		for (guint i = 0; i < jobs->len; i++)
			dfuctl_json_print_job(stdout, g_ptr_array_index(jobs, i), NULL);
		return DFUCTL_EXIT_SUCCESS;
	}
	table = dfuctl_format_job_table(jobs);
	g_print("%s", table != NULL ? table : states == unfinished ? "no unfinished jobs\n" : "no jobs\n");
	return DFUCTL_EXIT_SUCCESS;
}

static gboolean
history_matches(GVariant *entry, const char *device)
{
	const char *target = NULL;

	if (device == NULL || g_strcmp0(dfuctl_history_device(entry), device) == 0)
		return TRUE;
	return g_variant_lookup(entry, "Target", "&s", &target) && g_strcmp0(target, device) == 0;
}

int
dfuctl_cmd_history(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(GVariant) history = NULL;
	g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	g_autofree char *header = NULL;
	const char *device = args->positional[0];
	guint width = strlen("DEVICE");
	GVariantIter iter;
	GVariant *entry;

	if (bus != NULL)
		history = dfuctl_bus_get_history(bus, &error);
	if (history == NULL)
		return dfuctl_fail(error);
	g_variant_iter_init(&iter, history);
	while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
		if (!history_matches(entry, device)) {
			g_variant_unref(entry);
			continue;
		}
		width = MAX(width, (guint)g_utf8_strlen(dfuctl_history_device(entry), -1));
		g_ptr_array_add(entries, entry);
	}
	for (guint i = 0; i < entries->len; i++) {
		g_autofree char *line = NULL;

		if (args->json)
			line = dfuctl_json_from_variant(g_ptr_array_index(entries, i));
		else
			line = dfuctl_format_history_row(g_ptr_array_index(entries, i), width);
		if (i == 0 && !args->json) {
			header = dfuctl_format_history_header(width);
			g_print("%s\n", header);
		}
		g_print("%s\n", line);
	}
	if (entries->len == 0 && !args->json)
		g_print("no finished jobs%s%s\n", device != NULL ? " of " : "", device != NULL ? device : "");
	return DFUCTL_EXIT_SUCCESS;
}

int
dfuctl_cmd_abort(const DfuctlArgs *args)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = NULL;
	g_autofree char *path = dfuctl_job_path_from_arg(args->positional[0], &error);
	int r;

	if (path == NULL)
		return dfuctl_fail(error);
	bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	if (bus == NULL)
		return dfuctl_fail(error);
	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, path, DFUCTL_JOB_INTERFACE, "Cancel", &bus_error, NULL,
	                       NULL);
	if (!dfuctl_bus_check(r, &bus_error, &error))
		return dfuctl_fail(error);
	return DFUCTL_EXIT_SUCCESS;
}

int
dfuctl_cmd_watch(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	g_autoptr(DfuctlFollow) follow = NULL;

	if (bus != NULL)
		follow = dfuctl_follow_new(bus, dfuctl_output_mode(args), &error);
	if (follow == NULL ||
	    !dfuctl_follow_watch(follow, (const char *const *)args->positional, args->until_idle, &error))
		return dfuctl_fail(error);
	return DFUCTL_EXIT_SUCCESS;
}

int
dfuctl_cmd_codes(const DfuctlArgs *args)
{
	gsize n = 0;
	const DfuStatusInfo *table = dfu_status_table(&n);

	for (gsize i = 0; i < n; i++) {
		g_autofree char *line =
		        args->json ? dfuctl_json_status(&table[i]) : dfuctl_format_status(&table[i]);
		g_print("%s\n", line);
	}
	return DFUCTL_EXIT_SUCCESS;
}

int
dfuctl_cmd_version(gboolean session)
{
	DfuctlArgs args = {.session = session};
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(dfuctl_use_session_bus(&args), &error);
	g_autoptr(GVariant) manager = bus != NULL ? dfuctl_bus_get_manager(bus, &error) : NULL;
	const char *version = NULL;

	g_print("dfuctl %s\n", PACKAGE_VERSION);
	if (manager != NULL && g_variant_lookup(manager, "Version", "&s", &version))
		g_print("dfud %s\n", version);
	else
		g_print("dfud: %s\n", error != NULL ? error->message : "no version");
	return DFUCTL_EXIT_SUCCESS;
}
