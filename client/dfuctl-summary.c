/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-summary.h"
#include "dfuctl-table.h"

typedef struct {
	char *device;
	guint64 job; /* 0: refused, no job */
	guint status_code;
	char *result;
	char *message;
} SummaryRow;

struct _DfuctlSummary {
	GPtrArray *rows;
};

static void
row_free(SummaryRow *row)
{
	g_free(row->device);
	g_free(row->result);
	g_free(row->message);
	g_free(row);
}

DfuctlSummary *
dfuctl_summary_new(void)
{
	DfuctlSummary *summary = g_new0(DfuctlSummary, 1);

	summary->rows = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
	return summary;
}

void
dfuctl_summary_free(DfuctlSummary *summary)
{
	if (summary == NULL)
		return;
	g_ptr_array_unref(summary->rows);
	g_free(summary);
}

static void
summary_add(DfuctlSummary *summary, const char *device, guint64 job, guint code, const char *result,
            const char *message)
{
	SummaryRow *row = g_new0(SummaryRow, 1);

	row->device = g_strdup(device);
	row->job = job;
	row->status_code = code;
	row->result = g_strdup(result);
	row->message = g_strdup(message);
	g_ptr_array_add(summary->rows, row);
}

void
dfuctl_summary_add_job(DfuctlSummary *summary, const DfuctlJob *job)
{
	/* a cancelled job has no status of its own to show */
	const char *result = job->status_name[0] != '\0' ? job->status_name : job->state;

	summary_add(summary, dfuctl_job_device(job), job->id, job->status_code, result, job->message);
}

void
dfuctl_summary_add_refused(DfuctlSummary *summary, const char *device, const GError *error)
{
	guint code = dfu_error_get_status(error);
	g_autofree char *result = g_strdup_printf("refused: %s", dfu_status_to_name(code));

	summary_add(summary, device, 0, code, result, error->message);
}

static gint
row_compare(gconstpointer a, gconstpointer b)
{
	const SummaryRow *ra = *(SummaryRow *const *)a;
	const SummaryRow *rb = *(SummaryRow *const *)b;
	int by_device = g_strcmp0(ra->device, rb->device);

	return by_device != 0 ? by_device : (ra->job < rb->job ? -1 : ra->job > rb->job);
}

static gboolean
row_failed(const SummaryRow *row)
{
	return row->job == 0 || dfuctl_exit_code_for_status(row->status_code) == DFUCTL_EXIT_FAILURE;
}

char *
dfuctl_summary_format(const DfuctlSummary *summary)
{
	const char *const headers[] = {"DEVICE", ">JOB", "RESULT", "MESSAGE", NULL};
	g_autoptr(DfuctlTable) table = dfuctl_table_new(headers);
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();
	g_autofree char *text = NULL;
	guint counts[3] = {0}; /* updated or staged, up to date, failed */

	g_ptr_array_extend(sorted, summary->rows, NULL, NULL);
	g_ptr_array_sort(sorted, row_compare);
	for (guint i = 0; i < sorted->len; i++) {
		const SummaryRow *row = g_ptr_array_index(sorted, i);
		g_autofree char *job = row->job != 0 ? g_strdup_printf("%" G_GUINT64_FORMAT, row->job) : NULL;
		const char *const cells[] = {row->device, job, row->result, row->message};

		dfuctl_table_add_row(table, cells);
		if (row_failed(row))
			counts[2]++;
		else if (row->status_code == DFU_STATUS_UP_TO_DATE)
			counts[1]++;
		else
			counts[0]++;
	}
	text = dfuctl_table_format(table);
	return g_strdup_printf("%s%u devices: %u updated, %u up to date, %u failed\n", text, sorted->len,
	                       counts[0], counts[1], counts[2]);
}

int
dfuctl_summary_exit_code(const DfuctlSummary *summary)
{
	gboolean all_up_to_date = summary->rows->len > 0;

	for (guint i = 0; i < summary->rows->len; i++) {
		const SummaryRow *row = g_ptr_array_index(summary->rows, i);

		if (row_failed(row))
			return DFUCTL_EXIT_FAILURE;
		if (row->status_code != DFU_STATUS_UP_TO_DATE)
			all_up_to_date = FALSE;
	}
	return all_up_to_date ? DFUCTL_EXIT_NOTHING_TO_DO : DFUCTL_EXIT_SUCCESS;
}
