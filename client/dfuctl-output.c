/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfuctl-args.h"
#include "dfuctl-output.h"
#include "dfuctl-table.h"

char *
dfuctl_format_device_error(GVariant *device_error)
{
	g_autoptr(GString) text = NULL;
	GVariantIter iter;
	const char *key;
	GVariant *value;

	if (device_error == NULL || !g_variant_is_of_type(device_error, G_VARIANT_TYPE_VARDICT) ||
	    g_variant_n_children(device_error) == 0)
		return NULL;
	text = g_string_new(NULL);
	g_variant_iter_init(&iter, device_error);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autofree char *printed = g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)
		                                   ? g_strdup(g_variant_get_string(value, NULL))
		                                   : g_variant_print(value, FALSE);
		g_string_append_printf(text, "%s%s=%s", text->len > 0 ? ", " : "", key, printed);
		g_variant_unref(value);
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static const char *
status_hint(guint code)
{
	const DfuStatusInfo *info = dfu_status_lookup(code);

	return info != NULL && info->hint[0] != '\0' ? info->hint : NULL;
}

char *
dfuctl_format_result(const DfuctlJob *job)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *device_error = NULL;
	const char *hint;

	if (dfuctl_exit_code_for_status(job->status_code) != DFUCTL_EXIT_FAILURE) {
		g_string_append_printf(text, "job %" G_GUINT64_FORMAT " %s %s: %s (%u)", job->id,
		                       dfuctl_job_device(job), job->state, job->status_name,
		                       job->status_code);
		if (job->message[0] != '\0')
			g_string_append_printf(text, ": %s", job->message);
		return g_string_free(g_steal_pointer(&text), FALSE);
	}

	g_string_append_printf(text, "dfuctl: job %" G_GUINT64_FORMAT " %s failed: %s (%u): %s", job->id,
	                       dfuctl_job_device(job), job->status_name, job->status_code,
	                       job->message[0] != '\0' ? job->message : dfu_status_to_name(job->status_code));
	device_error = dfuctl_format_device_error(job->device_error);
	if (device_error != NULL)
		g_string_append_printf(text, "\ndevice error: %s", device_error);
	hint = status_hint(job->status_code);
	if (hint != NULL)
		g_string_append_printf(text, "\nhint: %s", hint);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

char *
dfuctl_format_time(gint64 usec)
{
	g_autoptr(GDateTime) dt = NULL;

	if (usec <= 0)
		return g_strdup("-");
	dt = g_date_time_new_from_unix_local(usec / G_USEC_PER_SEC);
	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : g_strdup("-");
}

char *
dfuctl_format_job_details(const DfuctlJob *job, gboolean verbose)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *done = g_format_size_full(job->bytes_done, G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *total = g_format_size_full(job->bytes_total, G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *rate = g_format_size_full(job->bytes_per_second, G_FORMAT_SIZE_IEC_UNITS);

	g_string_append_printf(text, "Job %" G_GUINT64_FORMAT " (%s)\n", job->id, job->path);
	g_string_append_printf(text, "  Target:   %s\n", job->target);
	g_string_append_printf(text, "  Source:   %s\n", job->source[0] != '\0' ? job->source : "-");
	g_string_append_printf(text, "  State:    %s (%s, %u%%)\n", job->state, job->phase, job->percentage);
	g_string_append_printf(text, "  Progress: %s of %s at %s/s\n", done, total, rate);
	g_string_append_printf(text, "  Status:   %s (%u)\n", job->status_name, job->status_code);
	if (job->message[0] != '\0')
		g_string_append_printf(text, "  Message:  %s\n", job->message);
	if (verbose) {
		g_autofree char *device_error = dfuctl_format_device_error(job->device_error);
		g_autofree char *created = dfuctl_format_time(job->created);
		g_autofree char *started = dfuctl_format_time(job->started);
		g_autofree char *finished = dfuctl_format_time(job->finished);
		const char *hint = dfuctl_job_is_finished(job) ? status_hint(job->status_code) : NULL;

		g_string_append_printf(text, "  Attempt:  %u\n", job->attempt);
		g_string_append_printf(text, "  Device:   %s\n", device_error != NULL ? device_error : "-");
		g_string_append_printf(text, "  Created:  %s\n", created);
		g_string_append_printf(text, "  Started:  %s\n", started);
		g_string_append_printf(text, "  Finished: %s\n", finished);
		if (hint != NULL && dfuctl_exit_code_for_status(job->status_code) == DFUCTL_EXIT_FAILURE)
			g_string_append_printf(text, "  Hint:     %s\n", hint);
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

char *
dfuctl_format_log(GVariant *entries)
{
	g_autoptr(GString) text = g_string_new("  History:\n");
	GVariantIter iter;
	const char *message;
	gint64 when;

	if (!g_variant_is_of_type(entries, G_VARIANT_TYPE("a(xs)")))
		return g_string_free(g_steal_pointer(&text), FALSE);
	g_variant_iter_init(&iter, entries);
	while (g_variant_iter_next(&iter, "(x&s)", &when, &message)) {
		g_autofree char *stamp = dfuctl_format_time(when);
		g_string_append_printf(text, "    %s  %s\n", stamp, message);
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

char *
dfuctl_format_job_table(GPtrArray *jobs)
{
	const char *const headers[] = {">ID", "STATE", "PHASE", ">PCT", "STATUS", "DEVICE", "SOURCE", NULL};
	g_autoptr(DfuctlTable) table = dfuctl_table_new(headers);

	for (guint i = 0; i < jobs->len; i++) {
		DfuctlJob *job = g_ptr_array_index(jobs, i);
		g_autofree char *id = g_strdup_printf("%" G_GUINT64_FORMAT, job->id);
		g_autofree char *pct = g_strdup_printf("%u%%", job->percentage);
		const char *const row[] = {id,         job->state,       job->phase,
		                           pct,        job->status_name, dfuctl_job_device(job),
		                           job->source};

		dfuctl_table_add_row(table, row);
	}
	return dfuctl_table_n_rows(table) > 0 ? dfuctl_table_format(table) : NULL;
}

static const char *
entry_string(GVariant *entry, const char *key)
{
	const char *value = NULL;

	return g_variant_lookup(entry, key, "&s", &value) ? value : "";
}

const char *
dfuctl_history_device(GVariant *entry)
{
	const char *device = entry_string(entry, "Device");

	return device[0] != '\0' ? device : entry_string(entry, "Target");
}

char *
dfuctl_format_history_header(guint device_width)
{
	return g_strdup_printf("%-19s  %-6s %-*s %-18s %-8s %s", "FINISHED", "JOB", (int)device_width,
	                       "DEVICE", "STATUS", "ATTEMPTS", "SOURCE");
}

char *
dfuctl_format_history_row(GVariant *entry, guint device_width)
{
	guint64 id = 0;
	guint32 attempts = 0;
	gint64 finished = 0;
	const char *source = entry_string(entry, "Source");
	g_autofree char *when = NULL;
	g_autoptr(GString) text = g_string_new(NULL);

	g_variant_lookup(entry, "Id", "t", &id);
	g_variant_lookup(entry, "Attempts", "u", &attempts);
	g_variant_lookup(entry, "Finished", "x", &finished);
	when = dfuctl_format_time(finished);
	g_string_append_printf(text, "%-19s  %-6" G_GUINT64_FORMAT " %-*s %-18s %-8u %s", when, id,
	                       (int)device_width, dfuctl_history_device(entry),
	                       entry_string(entry, "StatusName"), attempts, source[0] != '\0' ? source : "-");
	/* why a job failed is the first question about it */
	if (g_strcmp0(entry_string(entry, "State"), "succeeded") != 0 &&
	    entry_string(entry, "Message")[0] != '\0')
		g_string_append_printf(text, "\n    %s", entry_string(entry, "Message"));
	return g_string_free(g_steal_pointer(&text), FALSE);
}

char *
dfuctl_format_status(const DfuStatusInfo *info)
{
	g_autoptr(GString) text = g_string_new(NULL);

	g_string_append_printf(text, "%3u %-26s %-12s %s", info->code, info->name,
	                       dfu_status_kind_to_string(dfu_status_kind(info->code)), info->summary);
	if (info->hint[0] != '\0')
		g_string_append_printf(text, "\n    hint: %s", info->hint);
	return g_string_free(g_steal_pointer(&text), FALSE);
}
