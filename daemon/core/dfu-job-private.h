/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-job.h"

G_BEGIN_DECLS

/* the cache copy is only known once the import has hashed the bundle */
void dfu_job_set_bundle_path(DfuJob *self, const char *bundle_path);
/* set once, when a job is created from a URL */
void dfu_job_set_url(DfuJob *self, const char *url);
void dfu_job_set_signature_path(DfuJob *self, const char *signature_path);
/* dfu_job_set_progress with an explicit monotonic time, so the rate is testable */
void dfu_job_set_progress_at(DfuJob *self, guint64 bytes_done, guint64 bytes_total, gint64 now_us);

G_END_DECLS
