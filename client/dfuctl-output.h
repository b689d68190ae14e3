/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-status.h"
#include "dfuctl-job.h"

G_BEGIN_DECLS

/* "rc=3, group=1", or NULL for an empty a{sv} */
char *dfuctl_format_device_error(GVariant *device_error);
/* a finished job: one line for success, or the failure report with device error and hint */
char *dfuctl_format_result(const DfuctlJob *job);
/* the lines of `dfuctl status <job>` */
char *dfuctl_format_job_details(const DfuctlJob *job, gboolean verbose);
/* the lines of a job's history, a(xs) as GetLog returns it */
char *dfuctl_format_log(GVariant *entries);
/* the table of `dfuctl list`: one row per DfuctlJob; NULL when there are none */
char *dfuctl_format_job_table(GPtrArray *jobs);
/* local time of µs since the epoch, "-" for 0 */
char *dfuctl_format_time(gint64 usec);
/* an entry of GetHistory (a{sv}): the device's name, else its target */
const char *dfuctl_history_device(GVariant *entry);
/* the header and one entry of `dfuctl history`, the device column device_width wide */
char *dfuctl_format_history_header(guint device_width);
char *dfuctl_format_history_row(GVariant *entry, guint device_width);
/* one entry of `dfuctl codes` */
char *dfuctl_format_status(const DfuStatusInfo *info);

G_END_DECLS
