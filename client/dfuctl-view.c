/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dfuctl-json.h"
#include "dfuctl-view.h"

typedef struct {
	DfuctlJob *job;
	DfuctlProgress progress; /* for plain output */
	char *state;             /* what the last redraw showed, to redraw changes at once */
	char *phase;
} ViewRow;

struct _DfuctlView {
	DfuctlOutputMode mode;
	FILE *out;
	GPtrArray *rows;  /* ViewRow, sorted by device and job */
	guint drawn;      /* lines of the last redraw */
	gint64 last_draw; /* monotonic µs */
};

static void
row_free(ViewRow *row)
{
	dfuctl_progress_clear(&row->progress);
	g_free(row->state);
	g_free(row->phase);
	g_free(row);
}

DfuctlView *
dfuctl_view_new(DfuctlOutputMode mode, FILE *out)
{
	DfuctlView *view = g_new0(DfuctlView, 1);

	view->mode = mode;
	view->out = out;
	view->rows = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
	return view;
}

void
dfuctl_view_free(DfuctlView *view)
{
	if (view == NULL)
		return;
	g_ptr_array_unref(view->rows);
	g_free(view);
}

guint
dfuctl_view_columns(FILE *out)
{
	struct winsize ws = {0};
	guint64 columns = 0;
	const char *env = g_getenv("COLUMNS");

	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, 10000, &columns, NULL))
		return (guint)columns;
	return 80;
}

static gint
row_compare(gconstpointer a, gconstpointer b)
{
	const DfuctlJob *ja = (*(ViewRow *const *)a)->job;
	const DfuctlJob *jb = (*(ViewRow *const *)b)->job;
	int by_device = g_strcmp0(dfuctl_job_device(ja), dfuctl_job_device(jb));

	if (by_device != 0)
		return by_device;
	return ja->id < jb->id ? -1 : ja->id > jb->id;
}

static ViewRow *
view_find(DfuctlView *view, const DfuctlJob *job, guint *index)
{
	for (guint i = 0; i < view->rows->len; i++) {
		ViewRow *row = g_ptr_array_index(view->rows, i);

		if (row->job == job) {
			if (index != NULL)
				*index = i;
			return row;
		}
	}
	return NULL;
}

static void
redraw(DfuctlView *view)
{
	guint columns = dfuctl_view_columns(view->out);
	gint64 now = g_get_real_time();
	guint id_width = 1;
	guint device_width = 1;

	for (guint i = 0; i < view->rows->len; i++) {
		ViewRow *row = g_ptr_array_index(view->rows, i);
		g_autofree char *id = g_strdup_printf("%" G_GUINT64_FORMAT, row->job->id);

		id_width = MAX(id_width, (guint)strlen(id));
		device_width = MAX(device_width, (guint)g_utf8_strlen(dfuctl_job_device(row->job), -1));
	}
	/* back to the start of the first line; the cursor rests at the end of the last one */
	fputc('\r', view->out);
	if (view->drawn > 1)
		fprintf(view->out, "\033[%uA", view->drawn - 1);
	for (guint i = 0; i < view->rows->len; i++) {
		ViewRow *row = g_ptr_array_index(view->rows, i);
		g_autofree char *line = dfuctl_progress_line(row->job, id_width, device_width, columns, now);

		fprintf(view->out, "%s\033[K%s", i > 0 ? "\n" : "", line);
		g_free(row->state);
		row->state = g_strdup(row->job->state);
		g_free(row->phase);
		row->phase = g_strdup(row->job->phase);
	}
	/* lines that a removed job left below */
	for (guint i = view->rows->len; i < view->drawn; i++)
		fputs("\n\033[K", view->out);
	if (view->drawn > view->rows->len && view->rows->len > 0)
		fprintf(view->out, "\033[%uA", view->drawn - view->rows->len);
	view->drawn = MAX(view->drawn, view->rows->len);
	view->last_draw = g_get_monotonic_time();
	fflush(view->out);
}

static void
show_plain(DfuctlView *view, ViewRow *row)
{
	g_autofree char *line = dfuctl_progress_plain_line(&row->progress, row->job, g_get_real_time());

	if (line != NULL)
		fprintf(view->out, "%s\n", line);
}

/* more lines than the terminal has cannot be redrawn in place: from then on, plain lines */
static void
fall_back_when_too_tall(DfuctlView *view)
{
	struct winsize ws = {0};

	if (view->mode != DFUCTL_OUTPUT_TTY || ioctl(fileno(view->out), TIOCGWINSZ, &ws) != 0 ||
	    ws.ws_row == 0 || view->rows->len < ws.ws_row)
		return;
	if (view->drawn > 0)
		fputc('\n', view->out);
	view->drawn = 0;
	view->mode = DFUCTL_OUTPUT_PLAIN;
}

static void
show(DfuctlView *view, ViewRow *row, const char *event)
{
	gboolean urgent;

	fall_back_when_too_tall(view);
	switch (view->mode) {
	case DFUCTL_OUTPUT_TTY:
		urgent = g_strcmp0(row->state, row->job->state) != 0 ||
		         g_strcmp0(row->phase, row->job->phase) != 0;
		if (urgent || g_get_monotonic_time() - view->last_draw >= DFUCTL_VIEW_REDRAW_US)
			redraw(view);
		break;
	case DFUCTL_OUTPUT_PLAIN:
		show_plain(view, row);
		break;
	case DFUCTL_OUTPUT_JSON:
		dfuctl_json_print_job(view->out, row->job, event);
		break;
	}
	fflush(view->out);
}

void
dfuctl_view_add(DfuctlView *view, DfuctlJob *job, const char *event)
{
	ViewRow *row = g_new0(ViewRow, 1);

	row->job = job;
	dfuctl_progress_init(&row->progress);
	g_ptr_array_add(view->rows, row);
	g_ptr_array_sort(view->rows, row_compare);
	show(view, row, event);
}

void
dfuctl_view_remove(DfuctlView *view, DfuctlJob *job)
{
	guint index = 0;

	if (view_find(view, job, &index) == NULL)
		return;
	g_ptr_array_remove_index(view->rows, index);
	if (view->mode == DFUCTL_OUTPUT_TTY)
		redraw(view);
}

void
dfuctl_view_changed(DfuctlView *view, DfuctlJob *job, const char *event)
{
	ViewRow *row = view_find(view, job, NULL);

	if (row != NULL)
		show(view, row, event);
}

void
dfuctl_view_tick(DfuctlView *view)
{
	if (view->mode == DFUCTL_OUTPUT_TTY && view->rows->len > 0)
		redraw(view);
}

void
dfuctl_view_finish(DfuctlView *view)
{
	if (view->mode != DFUCTL_OUTPUT_TTY || view->drawn == 0)
		return;
	redraw(view);
	fputc('\n', view->out);
	fflush(view->out);
	view->drawn = 0;
}
