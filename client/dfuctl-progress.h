/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "dfuctl-job.h"

G_BEGIN_DECLS

typedef enum {
	DFUCTL_OUTPUT_TTY,   /* a progress line per job, redrawn in place */
	DFUCTL_OUTPUT_PLAIN, /* a line per change of state or phase and every 10 % */
	DFUCTL_OUTPUT_JSON,  /* a JSON object per change */
} DfuctlOutputMode;

#define DFUCTL_PROGRESS_BAR_WIDTH 24
/* a narrower bar says too little: the line goes without one */
#define DFUCTL_PROGRESS_BAR_MIN_WIDTH 8

/* what plain output showed last for one job */
typedef struct {
	char *state;
	char *phase;
	gint decile; /* -1: no percentage shown yet */
} DfuctlProgress;

void dfuctl_progress_init(DfuctlProgress *progress);
void dfuctl_progress_clear(DfuctlProgress *progress);

/* "0:07", "1:02:03"; "--:--" when unknown (rate 0) */
char *dfuctl_format_eta(guint64 bytes_left, guint64 bytes_per_second);
/* "[######------]" */
char *dfuctl_progress_bar(const DfuctlJob *job, guint width);
/*
 * What the job does or waits for: " 45% uploading  12.0 KiB/s  ETA 0:07" (rate
 * and time left with_rate only), "retry 2 of 3 in 4 s", "device resetting",
 * "reconnecting, attempt 2 of 3", "queued", "failed: link-lost"; now is the
 * realtime in µs, for the time to a retry.
 */
char *dfuctl_progress_status(const DfuctlJob *job, gint64 now, gboolean with_rate);
/*
 * The redrawn line of one job, at most columns - 1 characters wide so that the
 * terminal never wraps it: "job 7  kitchen-node  [####----]  45% uploading ...";
 * the job number and the device padded to id_width and device_width.
 */
char *dfuctl_progress_line(const DfuctlJob *job, guint id_width, guint device_width, guint columns,
                           gint64 now);
/* "job 7 kitchen-node: 10% uploading" when there is something new to say, else NULL */
char *dfuctl_progress_plain_line(DfuctlProgress *progress, const DfuctlJob *job, gint64 now);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DfuctlProgress, dfuctl_progress_clear)

G_END_DECLS
