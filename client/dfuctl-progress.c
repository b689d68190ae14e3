/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfuctl-args.h"
#include "dfuctl-progress.h"

void
dfuctl_progress_init(DfuctlProgress *progress)
{
	*progress = (DfuctlProgress){.decile = -1};
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
	guint filled = width * MIN(job->percentage, 100) / 100;
	GString *bar = g_string_sized_new(width + 2);

	g_string_append_c(bar, '[');
	for (guint i = 0; i < width; i++)
		g_string_append_c(bar, i < filled ? '#' : '-');
	g_string_append_c(bar, ']');
	return g_string_free(bar, FALSE);
}

static gboolean
is_state(const DfuctlJob *job, const char *state)
{
	return g_strcmp0(job->state, state) == 0;
}

static gboolean
is_phase(const DfuctlJob *job, const char *phase)
{
	return g_strcmp0(job->phase, phase) == 0;
}

/* " of 3" when the daemon says how many attempts there may be */
static char *
attempts_of(const DfuctlJob *job)
{
	return job->max_attempts > 0 ? g_strdup_printf(" of %u", job->max_attempts) : g_strdup("");
}

static char *
status_finished(const DfuctlJob *job)
{
	if (is_state(job, "cancelled") || job->status_name[0] == '\0')
		return g_strdup(job->state);
	return g_strdup_printf("%s: %s", job->state, job->status_name);
}

static char *
status_retry(const DfuctlJob *job, gint64 now)
{
	gint64 left = MAX(job->retry_at - now, 0);
	g_autofree char *of = attempts_of(job);

	/* rounded up: "in 0 s" would be wrong until the attempt starts */
	return g_strdup_printf("retry %u%s in %" G_GINT64_FORMAT " s", job->attempt + 1, of,
	                       (left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

static char *
status_moving(const DfuctlJob *job, gboolean with_rate)
{
	GString *text = g_string_new(NULL);

	/* padded on a redrawn line, so that the phase stays in place */
	g_string_append_printf(text, with_rate ? "%3u%% %s" : "%u%% %s", MIN(job->percentage, 100),
	                       job->phase);
	if (with_rate && job->bytes_per_second > 0 && job->bytes_total > job->bytes_done) {
		g_autofree char *rate = g_format_size_full(job->bytes_per_second, G_FORMAT_SIZE_IEC_UNITS);
		g_autofree char *eta =
		        dfuctl_format_eta(job->bytes_total - job->bytes_done, job->bytes_per_second);

		g_string_append_printf(text, "  %s/s  ETA %s", rate, eta);
	}
	return g_string_free(text, FALSE);
}

char *
dfuctl_progress_status(const DfuctlJob *job, gint64 now, gboolean with_rate)
{
	g_autofree char *of = NULL;

	if (dfuctl_job_is_finished(job))
		return status_finished(job);
	if (is_state(job, "queued") && job->retry_at > 0)
		return status_retry(job, now);
	if (is_state(job, "queued") && !is_phase(job, "fetching"))
		return g_strdup("queued");
	if (is_phase(job, "resetting"))
		return g_strdup("device resetting");
	if (is_phase(job, "connecting") && job->attempt > 1) {
		of = attempts_of(job);
		return g_strdup_printf("reconnecting, attempt %u%s", job->attempt, of);
	}
	if (job->phase[0] == '\0')
		return g_strdup("starting");
	return status_moving(job, with_rate);
}

/* the first max_chars characters of text */
static char *
clip(const char *text, glong max_chars)
{
	if (!g_utf8_validate(text, -1, NULL) || g_utf8_strlen(text, -1) <= max_chars)
		return g_strdup(text);
	return g_utf8_substring(text, 0, MAX(max_chars, 0));
}

/* columns left for the bar in a line of head and status, 0 when too few for one */
static guint
bar_room(const char *head, const char *status, guint columns)
{
	/* the last column stays empty: a line that fills it wraps on some terminals */
	glong room = (glong)columns - 1 - g_utf8_strlen(head, -1) - g_utf8_strlen(status, -1) - 1 - 2;

	return room >= DFUCTL_PROGRESS_BAR_MIN_WIDTH ? (guint)MIN(room, DFUCTL_PROGRESS_BAR_WIDTH) : 0;
}

char *
dfuctl_progress_line(const DfuctlJob *job, guint id_width, guint device_width, guint columns, gint64 now)
{
	g_autofree char *status = dfuctl_progress_status(job, now, TRUE);
	g_autofree char *head = g_strdup_printf("job %-*" G_GUINT64_FORMAT "  %-*s  ", (int)id_width, job->id,
	                                        (int)device_width, dfuctl_job_device(job));
	g_autofree char *bar = NULL;
	g_autofree char *line = NULL;
	guint width = bar_room(head, status, columns);

	/* on a narrow terminal the bar says more than the rate and the time left */
	if (width == 0) {
		g_free(status);
		status = dfuctl_progress_status(job, now, FALSE);
		width = bar_room(head, status, columns);
	}
	if (is_state(job, "running") && width > 0) {
		bar = dfuctl_progress_bar(job, width);
		line = g_strdup_printf("%s%s %s", head, bar, status);
	} else {
		line = g_strdup_printf("%s%s", head, status);
	}
	return clip(line, (glong)columns - 1);
}

char *
dfuctl_progress_plain_line(DfuctlProgress *progress, const DfuctlJob *job, gint64 now)
{
	gint decile = (gint)MIN(job->percentage, 100) / 10;
	gboolean state_changed = g_strcmp0(progress->state, job->state) != 0;
	gboolean phase_changed = g_strcmp0(progress->phase, job->phase) != 0;
	g_autofree char *status = NULL;

	if (!state_changed && !phase_changed && decile <= progress->decile)
		return NULL;
	g_free(progress->state);
	progress->state = g_strdup(job->state);
	g_free(progress->phase);
	progress->phase = g_strdup(job->phase);
	progress->decile = decile;
	status = dfuctl_progress_status(job, now, FALSE);
	return g_strdup_printf("job %" G_GUINT64_FORMAT " %s: %s", job->id, dfuctl_job_device(job), status);
}
