/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-bus.h"
#include "dfuctl-commands.h"
#include "dfuctl-follow.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"

static int
fail(const GError *error)
{
	g_printerr("dfuctl: %s\n", error->message);
	return dfuctl_exit_code_for_error(error);
}

static gboolean
use_session_bus(const DfuctlArgs *args)
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

/* Ctrl-C would leave the redrawn progress line open: end it, then die of the signal as usual */
static void
on_interrupt(int signo)
{
	if (write(STDOUT_FILENO, "\n", 1) < 0)
		_exit(128 + signo);
	signal(signo, SIG_DFL);
	raise(signo);
}

static int
bundle_error(GError **error, const char *file, int errsv)
{
	g_set_error(error, DFU_ERROR, errsv == ENOENT ? DFU_STATUS_NOT_FOUND : DFU_STATUS_BUNDLE_UNREADABLE,
	            "%s: %s", file, g_strerror(errsv));
	return -1;
}

/*
 * The daemon takes only files whose size is known and cannot change: what
 * comes through a pipe (stdin, <(...)) is read here into a sealed memfd.
 * Closes src.
 */
static int
bundle_to_memfd(int src, const char *file, GError **error)
{
	g_autofree guint8 *buf = g_malloc(64 * 1024);
	int memfd = memfd_create("dfuctl-bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	guint64 total = 0;
	ssize_t n;

	if (memfd < 0) {
		close(src);
		return bundle_error(error, file, errno);
	}
	while ((n = read(src, buf, 64 * 1024)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && total + (guint64)n > DFU_BUNDLE_IMPORT_MAX_SIZE) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: larger than %u MiB",
			            file, DFU_BUNDLE_IMPORT_MAX_SIZE / (1024 * 1024));
			break;
		}
		if (n < 0 || write(memfd, buf, (size_t)n) != n) {
			bundle_error(error, file, errno);
			break;
		}
		total += (guint64)n;
	}
	close(src);
	if (n == 0 &&
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		return memfd;
	if (n == 0)
		bundle_error(error, file, errno);
	close(memfd);
	return -1;
}

static int
open_bundle(const char *file, GError **error)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return bundle_error(error, file, errno);
	if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)))
		return bundle_to_memfd(fd, file, error);
	return fd;
}

/* an argument like https://host/app.zip names a bundle for the daemon to fetch */
static gboolean
is_url(const char *arg)
{
	return g_uri_peek_scheme(arg) != NULL && strstr(arg, "://") != NULL;
}

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
	if (is_url(bundle))
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
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	r = sd_bus_message_read(reply, "o", &path);
	if (!dfuctl_bus_check(r, NULL, error))
		return NULL;
	return g_strdup(path);
}

static int
report_result(const DfuctlJob *job, gboolean json)
{
	int exit_code = dfuctl_exit_code_for_status(job->status_code);
	g_autofree char *result = dfuctl_format_result(job);

	if (exit_code == DFUCTL_EXIT_FAILURE)
		g_printerr("%s\n", result);
	else if (!json)
		g_print("%s\n", result);
	return exit_code;
}

int
dfuctl_cmd_start(const DfuctlArgs *args)
{
	const char *target = args->positional[0];
	const char *bundle = args->positional[1];
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(sd_bus) bus = NULL;
	g_autoptr(DfuctlFollow) follow = NULL;
	g_autofree char *path = NULL;
	int fd = -1;

	options = submit_options(args, bundle, &error);
	if (options == NULL)
		return fail(error);
	if (!is_url(bundle)) {
		fd = open_bundle(bundle, &error);
		if (fd < 0)
			return fail(error);
	}
	bus = dfuctl_bus_open(use_session_bus(args), &error);
	/* subscribe before submitting so that the first changes are seen */
	if (bus != NULL && !args->no_wait)
		follow = dfuctl_follow_new(bus, dfuctl_output_mode(args), &error);
	if (bus != NULL && (args->no_wait || follow != NULL))
		path = submit(bus, target, fd, bundle, options, &error);
	if (fd >= 0)
		close(fd);
	if (path == NULL)
		return fail(error);
	return dfuctl_finish_job(args, follow, path);
}

int
dfuctl_finish_job(const DfuctlArgs *args, DfuctlFollow *follow, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuctlJob) job = NULL;

	if (args->no_wait) {
		if (args->json)
			g_print("{\"Path\":\"%s\",\"Id\":%" G_GUINT64_FORMAT "}\n", path,
			        dfuctl_job_id_from_path(path));
		else
			g_print("%s\n", path);
		return DFUCTL_EXIT_SUCCESS;
	}
	if (dfuctl_output_mode(args) == DFUCTL_OUTPUT_TTY)
		signal(SIGINT, on_interrupt);
	job = dfuctl_follow_job(follow, path, &error);
	if (job == NULL)
		return fail(error);
	return report_result(job, args->json);
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
		return fail(error);
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
			return fail(error);
	}
	bus = dfuctl_bus_open(use_session_bus(args), &error);
	if (bus == NULL)
		return fail(error);
	if (path == NULL)
		return status_of_daemon(bus, args);

	job = dfuctl_bus_get_job(bus, path, NULL, &error);
	if (job == NULL)
		return fail(error);
	if (args->verbose) {
		log = dfuctl_bus_get_log(bus, path, &error);
		if (log == NULL)
			return fail(error);
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

int
dfuctl_cmd_list(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(use_session_bus(args), &error);
	g_autoptr(GPtrArray) jobs = NULL;
	gboolean header = FALSE;

	if (bus != NULL)
		jobs = dfuctl_bus_get_jobs(bus, &error);
	if (jobs == NULL)
		return fail(error);
	for (guint i = 0; i < jobs->len; i++) {
		DfuctlJob *job = g_ptr_array_index(jobs, i);
		g_autofree char *row = NULL;

		if (!args->all && dfuctl_job_is_finished(job))
			continue;
		if (args->json) {
			dfuctl_json_print_job(stdout, job, NULL);
			continue;
		}
		if (!header) {
			g_print("%s\n", dfuctl_format_job_header());
			header = TRUE;
		}
		row = dfuctl_format_job_row(job);
		g_print("%s\n", row);
	}
	if (!header && !args->json)
		g_print("%s\n", args->all ? "no jobs" : "no unfinished jobs");
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
	g_autoptr(sd_bus) bus = dfuctl_bus_open(use_session_bus(args), &error);
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
		return fail(error);
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
		return fail(error);
	bus = dfuctl_bus_open(use_session_bus(args), &error);
	if (bus == NULL)
		return fail(error);
	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, path, DFUCTL_JOB_INTERFACE, "Cancel", &bus_error, NULL,
	                       NULL);
	if (!dfuctl_bus_check(r, &bus_error, &error))
		return fail(error);
	return DFUCTL_EXIT_SUCCESS;
}

int
dfuctl_cmd_watch(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(sd_bus) bus = dfuctl_bus_open(use_session_bus(args), &error);
	g_autoptr(DfuctlFollow) follow = NULL;

	if (bus != NULL)
		follow = dfuctl_follow_new(bus, dfuctl_output_mode(args), &error);
	if (follow == NULL || !dfuctl_follow_all(follow, &error))
		return fail(error);
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
