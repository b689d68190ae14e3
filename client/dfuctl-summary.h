/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfuctl-job.h"

G_BEGIN_DECLS

/* The outcome of an update of several devices: a row per device and what it means for the exit status. */
typedef struct _DfuctlSummary DfuctlSummary;

DfuctlSummary *dfuctl_summary_new(void);
void dfuctl_summary_free(DfuctlSummary *summary);
/* a finished job */
void dfuctl_summary_add_job(DfuctlSummary *summary, const DfuctlJob *job);
/* a device for which the daemon refused the job */
void dfuctl_summary_add_refused(DfuctlSummary *summary, const char *device, const GError *error);
/* the table, sorted by device, and a line that counts the outcomes */
char *dfuctl_summary_format(const DfuctlSummary *summary);
/* 1 when a device failed or was refused, else 2 when every device was up to date, else 0 */
int dfuctl_summary_exit_code(const DfuctlSummary *summary);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlSummary, dfuctl_summary_free)

G_END_DECLS
