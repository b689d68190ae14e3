/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfuctl-json.h"
#include "dfuctl-progress.h"

void
dfuctl_progress_init(DfuctlProgress *progress, DfuctlOutputMode mode)
{
	*progress = (DfuctlProgress){.mode = mode, .decile = -1};
}

void
dfuctl_progress_clear(DfuctlProgress *progress)
{
	g_clear_pointer(&progress->state, g_free);
	g_clear_pointer(&progress->phase, g_free);
}

char *
dfuctl_format_eta(guint64 bytes_left, guint64 bytes_per_second)
{
	guint64 seconds;

	if (bytes_per_second == 0)
		return g_strdup("--:--");
	seconds = (bytes_left + bytes_per_second - 1) / bytes_per_second;
	if (seconds >= 3600)
		return g_strdup_printf("%" G_GUINT64_FORMAT ":%02u:%02u", seconds / 3600,
		                       (guint)(seconds / 60 % 60), (guint)(seconds % 60));
	return g_strdup_printf("%u:%02u", (guint)(seconds / 60), (guint)(seconds % 60));
}

char *
dfuctl_progress_bar(const DfuctlJob *job, guint width)
{
	guint percentage = MIN(job->percentage, 100);
	guint filled = width * percentage / 100;
	g_autoptr(GString) line = g_string_new("[");
	g_autofree char *rate = NULL;
	g_autofree char *eta = NULL;

	for (guint i = 0; i < width; i++)
		g_string_append_c(line, i < filled ? '#' : '-');
	g_string_append_printf(line, "] %3u%% %s", percentage, job->phase);
	if (job->bytes_per_second > 0 && job->bytes_total > job->bytes_done) {
		rate = g_format_size_full(job->bytes_per_second, G_FORMAT_SIZE_IEC_UNITS);
		eta = dfuctl_format_eta(job->bytes_total - job->bytes_done, job->bytes_per_second);
		g_string_append_printf(line, "  %s/s  ETA %s", rate, eta);
	}
	return g_string_free(g_steal_pointer(&line), FALSE);
}

char *
dfuctl_progress_plain_line(DfuctlProgress *progress, const DfuctlJob *job)
{
	gint decile = (gint)MIN(job->percentage, 100) / 10;
	gboolean state_changed = g_strcmp0(progress->state, job->state) != 0;
	gboolean phase_changed = g_strcmp0(progress->phase, job->phase) != 0;

	if (!state_changed && !phase_changed && decile <= progress->decile)
		return NULL;
	g_free(progress->state);
	progress->state = g_strdup(job->state);
	g_free(progress->phase);
	progress->phase = g_strdup(job->phase);
	progress->decile = decile;
	if (dfuctl_job_is_finished(job))
		return g_strdup_printf("job %" G_GUINT64_FORMAT ": %s", job->id, job->state);
	return g_strdup_printf("job %" G_GUINT64_FORMAT ": %s %s %u%%", job->id, job->state, job->phase,
	                       MIN(job->percentage, 100));
}

static void
show_tty(DfuctlProgress *progress, const DfuctlJob *job, gint64 now, FILE *out)
{
	gboolean changed =
	        g_strcmp0(progress->state, job->state) != 0 || g_strcmp0(progress->phase, job->phase) != 0;
	g_autofree char *bar = NULL;

	if (!changed && progress->line_open && now - progress->last_draw < DFUCTL_PROGRESS_REDRAW_US)
		return;
	g_free(progress->state);
	progress->state = g_strdup(job->state);
	g_free(progress->phase);
	progress->phase = g_strdup(job->phase);
	progress->last_draw = now;
	bar = dfuctl_progress_bar(job, DFUCTL_PROGRESS_BAR_WIDTH);
	/* carriage return and erase-line redraw in place */
	fprintf(out, "\r\033[K%s", bar);
	fflush(out);
	progress->line_open = TRUE;
}

void
dfuctl_progress_show(DfuctlProgress *progress, const DfuctlJob *job, gint64 now, FILE *out)
{
	g_autofree char *line = NULL;

	switch (progress->mode) {
	case DFUCTL_OUTPUT_TTY:
		show_tty(progress, job, now, out);
		break;
	case DFUCTL_OUTPUT_PLAIN:
		line = dfuctl_progress_plain_line(progress, job);
		if (line != NULL)
			fprintf(out, "%s\n", line);
		break;
	case DFUCTL_OUTPUT_JSON:
		dfuctl_json_print_job(out, job, NULL);
		break;
	}
	fflush(out);
}

void
dfuctl_progress_finish(DfuctlProgress *progress, FILE *out)
{
	if (!progress->line_open)
		return;
	fputc('\n', out);
	fflush(out);
	progress->line_open = FALSE;
}
