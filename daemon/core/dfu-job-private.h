/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-job.h"

G_BEGIN_DECLS

/* the cache copy is only known once the import has hashed the bundle */
void dfu_job_set_bundle_path(DfuJob *self, const char *bundle_path);
/* set once, when a job that is no update is created */
void dfu_job_set_kind(DfuJob *self, DfuJobKind kind);
/* set once, when a job is created from a URL */
void dfu_job_set_url(DfuJob *self, const char *url);
void dfu_job_set_signature_path(DfuJob *self, const char *signature_path);
/* dfu_job_set_progress with an explicit monotonic time, so the rate is testable */
void dfu_job_set_progress_at(DfuJob *self, guint64 bytes_done, guint64 bytes_total, gint64 now_us);

/* set while a running attempt is stopped by the daemon's shutdown; a job still running on disk
 * without it was cut short by the daemon's death */
gboolean dfu_job_get_stopped_cleanly(DfuJob *self);
void dfu_job_set_stopped_cleanly(DfuJob *self, gboolean stopped_cleanly);
/* how many of the job's attempts ended with the daemon's death */
guint dfu_job_get_crashes(DfuJob *self);
void dfu_job_set_crashes(DfuJob *self, guint crashes);
/* the most telling failure among the job's attempts so far, which its final result names */
guint dfu_job_get_cause_code(DfuJob *self);
const char *dfu_job_get_cause_message(DfuJob *self);
void dfu_job_set_cause(DfuJob *self, guint code, const char *message);

G_END_DECLS
