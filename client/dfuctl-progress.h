/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "dfuctl-job.h"

G_BEGIN_DECLS

typedef enum {
	DFUCTL_OUTPUT_TTY,   /* one progress line, redrawn in place */
	DFUCTL_OUTPUT_PLAIN, /* a line per phase change and every 10 % */
	DFUCTL_OUTPUT_JSON,  /* a JSON object per change */
} DfuctlOutputMode;

/* how often the progress line may be redrawn */
#define DFUCTL_PROGRESS_REDRAW_US (G_USEC_PER_SEC / 4)
#define DFUCTL_PROGRESS_BAR_WIDTH 24

/* what was shown last for one job */
typedef struct {
	DfuctlOutputMode mode;
	char *state;
	char *phase;
	gint decile;        /* -1: no percentage shown yet */
	gint64 last_draw;   /* monotonic µs */
	gboolean line_open; /* a progress line waits for its newline */
} DfuctlProgress;

void dfuctl_progress_init(DfuctlProgress *progress, DfuctlOutputMode mode);
void dfuctl_progress_clear(DfuctlProgress *progress);

/* "0:07", "1:02:03"; "--:--" when unknown (rate 0) */
char *dfuctl_format_eta(guint64 bytes_left, guint64 bytes_per_second);
/* "[######------]  45% uploading  12.0 KiB/s  ETA 0:07" */
char *dfuctl_progress_bar(const DfuctlJob *job, guint width);
/* the line that plain output prints for this update, or NULL when there is nothing new to say */
char *dfuctl_progress_plain_line(DfuctlProgress *progress, const DfuctlJob *job);

/* shows job in progress's mode; now is monotonic µs */
void dfuctl_progress_show(DfuctlProgress *progress, const DfuctlJob *job, gint64 now, FILE *out);
/* ends an open progress line */
void dfuctl_progress_finish(DfuctlProgress *progress, FILE *out);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DfuctlProgress, dfuctl_progress_clear)

G_END_DECLS
