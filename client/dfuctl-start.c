/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-bundle.h"
#include "dfuctl-bus.h"
#include "dfuctl-commands.h"
#include "dfuctl-fleet.h"
#include "dfuctl-follow.h"
#include "dfuctl-output.h"
#include "dfuctl-summary.h"

/* a detached signature beside a local bundle travels with it */
static gboolean
add_signature_beside(GVariantDict *dict, const char *file, GError **error)
{
	g_autofree char *sig_file = g_strconcat(file, ".sig", NULL);
	g_autofree char *contents = NULL;
	gsize len = 0;

	if (g_variant_dict_contains(dict, "signature") || !g_file_test(sig_file, G_FILE_TEST_IS_REGULAR))
		return TRUE;
	if (!g_file_get_contents(sig_file, &contents, &len, NULL)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: cannot read", sig_file);
		return FALSE;
	}
	g_variant_dict_insert_value(dict, "signature",
	                            g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, contents, len, 1));
	return TRUE;
}

/* the Submit options: for a file, its name as the source unless given, and its signature */
static GVariant *
submit_options(const DfuctlArgs *args, const char *bundle, GError **error)
{
	g_autoptr(GVariant) parsed = dfuctl_options_parse((const char *const *)args->options, error);
	g_autofree char *name = NULL;
	g_autoptr(GVariantDict) dict = NULL;

	if (parsed == NULL)
		return NULL;
	g_variant_ref_sink(parsed);
	dict = g_variant_dict_new(parsed);
	if (dfuctl_bundle_is_url(bundle))
		return g_variant_ref_sink(g_variant_dict_end(dict));
	if (g_variant_dict_contains(dict, "signature-url")) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "signature-url goes with a bundle URL; beside a file, put the "
		                    "signature in <file>.sig");
		return NULL;
	}
	if (!g_variant_dict_contains(dict, "source-name")) {
		name = g_path_get_basename(bundle);
		g_variant_dict_insert(dict, "source-name", "s", name);
	}
	if (!add_signature_beside(dict, bundle, error))
		return NULL;
	return g_variant_ref_sink(g_variant_dict_end(dict));
}

static int
append_option(sd_bus_message *call, const char *key, GVariant *value)
{
	const char *type = g_variant_get_type_string(value);
	gsize len = 0;
	const void *bytes;
	int r;

	if (g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN))
		return sd_bus_message_append(call, "{sv}", key, type, (int)g_variant_get_boolean(value));
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32))
		return sd_bus_message_append(call, "{sv}", key, type, g_variant_get_uint32(value));
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
		return sd_bus_message_append(call, "{sv}", key, type, g_variant_get_string(value, NULL));
	bytes = g_variant_get_fixed_array(value, &len, 1);
	r = sd_bus_message_open_container(call, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append_basic(call, 's', key);
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(call, 'y', bytes, len);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	return r;
}

/* "did you mean" for a serial port given without its scheme */
static void
add_target_hint(GError *error, const char *target)
{
	g_autofree char *message = NULL;

	if (dfu_error_get_status(error) != DFU_STATUS_INVALID_ARGUMENT || target[0] != '/' ||
	    strchr(target, ':') != NULL)
		return;
	message = g_strdup_printf("%s; did you mean 'serial:%s'?", error->message, target);
	g_free(error->message);
	error->message = g_steal_pointer(&message);
}

/* Submit with a descriptor when fd >= 0, else SubmitUrl */
static char *
submit(sd_bus *bus, const char *target, int fd, const char *url, GVariant *options, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) call = NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	const char *path = NULL;
	GVariantIter iter;
	const char *key;
	GVariant *value;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH,
	                                   DFUCTL_MANAGER_INTERFACE, fd >= 0 ? "Submit" : "SubmitUrl");
	if (r >= 0)
		r = fd >= 0 ? sd_bus_message_append(call, "sh", target, fd)
		            : sd_bus_message_append(call, "ss", target, url);
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "{sv}");
	g_variant_iter_init(&iter, options);
	while (r >= 0 && g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		r = append_option(call, key, value);
		g_variant_unref(value);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (!dfuctl_bus_check(r, NULL, error))
		return NULL;
	r = sd_bus_call(bus, call, 0, &bus_error, &reply);
	if (!dfuctl_bus_check(r, &bus_error, error)) {
		add_target_hint(*error, target);
		return NULL;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (!dfuctl_bus_check(r, NULL, error))
		return NULL;
	return g_strdup(path);
}

/* the devices of start --all: the daemon's, by name, filtered */
static GStrv
devices_of_fleet(sd_bus *bus, const DfuctlArgs *args, GError **error)
{
	g_autoptr(DfuctlFleet) fleet = dfuctl_fleet_read(bus, error);
	g_auto(GStrv) names = NULL;

	if (fleet == NULL)
		return NULL;
	names = dfuctl_fleet_select(fleet, args->match, args->board);
	if (names[0] == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "no device%s%s%s%s known to dfud",
		            args->match != NULL ? " named like " : "", args->match != NULL ? args->match : "",
		            args->board != NULL ? " with board " : "",
		            args->board != NULL ? args->board : "");
		return NULL;
	}
	return g_steal_pointer(&names);
}

/* the devices named on the command line: all arguments but the last, each once */
static GStrv
devices_of_args(const DfuctlArgs *args, guint n_args, GError **error)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	for (guint i = 0; i + 1 < n_args; i++) {
		for (guint j = 0; j < i; j++) {
			if (g_strcmp0(args->positional[i], args->positional[j]) == 0) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
				            "'%s' is named twice", args->positional[i]);
				return NULL;
			}
		}
		g_strv_builder_add(builder, args->positional[i]);
	}
	return g_strv_builder_end(builder);
}

static gboolean
check_usage(const DfuctlArgs *args, guint n_args, GError **error)
{
	const char *wrong = NULL;

	if (args->all && n_args != 1)
		wrong = "with --all, give only the bundle";
	else if (!args->all && n_args < 2)
		wrong = "give one or more devices and then the bundle";
	else if (!args->all && (args->match != NULL || args->board != NULL))
		wrong = "--match and --board go with --all";
	if (wrong == NULL)
		return TRUE;
	g_set_error(
	        error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
	        "%s: dfuctl start DEVICE... FILE or dfuctl start --all [--match GLOB] [--board BOARD] FILE",
	        wrong);
	return FALSE;
}

/* what Ctrl-C prints; made before the signal comes, which may only write(2) it */
static char *interrupt_message;

static void
on_interrupt(int signo)
{
	if (interrupt_message != NULL &&
	    write(STDERR_FILENO, interrupt_message, strlen(interrupt_message)) < 0)
		_exit(128 + signo);
	signal(signo, SIG_DFL);
	raise(signo);
}

static void
catch_interrupt(GPtrArray *paths)
{
	g_autoptr(GString) ids = g_string_new(NULL);

	for (guint i = 0; i < paths->len; i++)
		g_string_append_printf(ids, " %" G_GUINT64_FORMAT,
		                       dfuctl_job_id_from_path(g_ptr_array_index(paths, i)));
	g_free(interrupt_message);
	interrupt_message = g_strdup_printf("\ndfuctl: stopped following; the %s on in dfud.\n"
	                                    "Follow with: dfuctl watch%s    Stop with: dfuctl abort%s\n",
	                                    paths->len > 1 ? "jobs go" : "job goes", ids->str,
	                                    paths->len > 1 ? " JOB" : ids->str);
	signal(SIGINT, on_interrupt);
}

static void
print_submitted(const DfuctlArgs *args, GPtrArray *paths, GPtrArray *devices)
{
	for (guint i = 0; i < paths->len; i++) {
		const char *path = g_ptr_array_index(paths, i);

		if (args->json && devices != NULL)
			g_print("{\"Path\":\"%s\",\"Id\":%" G_GUINT64_FORMAT ",\"Device\":\"%s\"}\n", path,
			        dfuctl_job_id_from_path(path), (const char *)g_ptr_array_index(devices, i));
		else if (args->json)
			g_print("{\"Path\":\"%s\",\"Id\":%" G_GUINT64_FORMAT "}\n", path,
			        dfuctl_job_id_from_path(path));
		else
			g_print("%s\n", path);
	}
}

/* one job: its result as before; several: a table, the failures and an exit status for all */
static int
report(const DfuctlArgs *args, GPtrArray *jobs, DfuctlSummary *summary, gboolean several)
{
	g_autofree char *table = NULL;

	for (guint i = 0; i < jobs->len; i++) {
		const DfuctlJob *job = g_ptr_array_index(jobs, i);
		int exit_code = dfuctl_exit_code_for_status(job->status_code);
		g_autofree char *result = dfuctl_format_result(job);

		dfuctl_summary_add_job(summary, job);
		if (exit_code == DFUCTL_EXIT_FAILURE)
			g_printerr("%s\n", result);
		else if (!args->json && !several)
			g_print("%s\n", result);
	}
	if (several && !args->json) {
		table = dfuctl_summary_format(summary);
		g_print("%s", table);
	}
	return dfuctl_summary_exit_code(summary);
}

/*
 * Prints the submitted jobs with --no-wait, else follows them and reports;
 * devices (NULL: the daemon's names) are the jobs' devices as the user named
 * them, summary holds the refusals so far.
 */
static int
finish_jobs(const DfuctlArgs *args, DfuctlFollow *follow, GPtrArray *paths, GPtrArray *devices,
            DfuctlSummary *summary, gboolean several)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) jobs = NULL;

	if (args->no_wait) {
		print_submitted(args, paths, devices);
		return dfuctl_summary_exit_code(summary) == DFUCTL_EXIT_FAILURE ? DFUCTL_EXIT_FAILURE
		                                                                : DFUCTL_EXIT_SUCCESS;
	}
	if (paths->len > 0) {
		catch_interrupt(paths);
		jobs = dfuctl_follow_jobs(follow, (const char *const *)paths->pdata,
		                          devices != NULL ? (const char *const *)devices->pdata : NULL,
		                          &error);
		signal(SIGINT, SIG_DFL);
		if (jobs == NULL)
			return dfuctl_fail(error);
	} else {
		jobs = g_ptr_array_new();
	}
	return report(args, jobs, summary, several);
}

int
dfuctl_finish_job(const DfuctlArgs *args, DfuctlFollow *follow, const char *path)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_null_terminated(1, g_free, TRUE);
	g_autoptr(DfuctlSummary) summary = dfuctl_summary_new();

	g_ptr_array_add(paths, g_strdup(path));
	return finish_jobs(args, follow, paths, NULL, summary, FALSE);
}

int
dfuctl_cmd_start(const DfuctlArgs *args)
{
	guint n_args = g_strv_length(args->positional);
	const char *bundle = n_args > 0 ? args->positional[n_args - 1] : NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(sd_bus) bus = NULL;
	g_autoptr(DfuctlFollow) follow = NULL;
	g_autoptr(DfuctlSummary) summary = dfuctl_summary_new();
	g_autoptr(GPtrArray) paths = g_ptr_array_new_null_terminated(0, g_free, TRUE);
	g_autoptr(GPtrArray) devices = g_ptr_array_new_null_terminated(0, g_free, TRUE);
	g_auto(GStrv) targets = NULL;
	int fd = -1;

	if (dfuctl_options_want_help((const char *const *)args->options)) {
		g_autofree char *help = dfuctl_options_help();
		g_print("%s", help);
		return DFUCTL_EXIT_SUCCESS;
	}
	if (!check_usage(args, n_args, &error))
		return dfuctl_fail(error);
	options = submit_options(args, bundle, &error);
	if (options == NULL)
		return dfuctl_fail(error);
	if (!dfuctl_bundle_is_url(bundle)) {
		fd = dfuctl_bundle_open(bundle, &error);
		if (fd < 0)
			return dfuctl_fail(error);
	}
	bus = dfuctl_bus_open(dfuctl_use_session_bus(args), &error);
	if (bus != NULL)
		targets = args->all ? devices_of_fleet(bus, args, &error)
		                    : devices_of_args(args, n_args, &error);
	/* subscribe before submitting so that the first changes are seen */
	if (targets != NULL && !args->no_wait)
		follow = dfuctl_follow_new(bus, dfuctl_output_mode(args), &error);
	if (targets == NULL || (!args->no_wait && follow == NULL)) {
		if (fd >= 0)
			close(fd);
		return dfuctl_fail(error);
	}
	for (guint i = 0; targets[i] != NULL; i++) {
		/* the daemon imports from the descriptor with pread: every job may share it */
		char *path = submit(bus, targets[i], fd, bundle, options, &error);

		if (path == NULL && targets[1] == NULL)
			break;
		if (path == NULL) {
			g_printerr("dfuctl: %s: %s\n", targets[i], error->message);
			dfuctl_summary_add_refused(summary, targets[i], error);
			g_clear_error(&error);
			continue;
		}
		g_ptr_array_add(paths, path);
		g_ptr_array_add(devices, g_strdup(targets[i]));
	}
	if (fd >= 0)
		close(fd);
	if (error != NULL)
		return dfuctl_fail(error);
	return finish_jobs(args, follow, paths, devices, summary, targets[1] != NULL);
}
