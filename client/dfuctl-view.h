/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "dfuctl-job.h"
#include "dfuctl-progress.h"

G_BEGIN_DECLS

/*
 * The progress of several jobs in one view: on a terminal a line per job,
 * sorted by device, redrawn in place and never wider than the terminal;
 * otherwise a plain line per change, or a JSON object per change.
 */
typedef struct _DfuctlView DfuctlView;

/* how often the lines on a terminal may be redrawn */
#define DFUCTL_VIEW_REDRAW_US (G_USEC_PER_SEC / 4)

DfuctlView *dfuctl_view_new(DfuctlOutputMode mode, FILE *out);
void dfuctl_view_free(DfuctlView *view);
/* shows job from now on; the view borrows it, and it must outlive the view or be removed */
void dfuctl_view_add(DfuctlView *view, DfuctlJob *job, const char *event);
void dfuctl_view_remove(DfuctlView *view, DfuctlJob *job);
/* job has changed; event names the change in JSON */
void dfuctl_view_changed(DfuctlView *view, DfuctlJob *job, const char *event);
/* redraws a terminal view whose countdowns have moved on */
void dfuctl_view_tick(DfuctlView *view);
/* draws the last state and leaves the cursor on a line of its own */
void dfuctl_view_finish(DfuctlView *view);
/* the terminal's width in columns: the terminal's own, else $COLUMNS, else 80 */
guint dfuctl_view_columns(FILE *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlView, dfuctl_view_free)

G_END_DECLS
