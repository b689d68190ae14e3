/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "dfu-status.h"
#include "dfuctl-job.h"

G_BEGIN_DECLS

/* one line of JSON for a value (an a{sv} becomes an object) */
char *dfuctl_json_from_variant(GVariant *value);
/* the job's properties as one JSON line; event (optional) is added as "Event" */
/* history: the job's log as GetLog returns it (a(xs)), or NULL to leave it out */
char *dfuctl_json_job(const DfuctlJob *job, const char *event, GVariant *history);
void dfuctl_json_print_job(FILE *out, const DfuctlJob *job, const char *event);
/* one entry of the status table */
char *dfuctl_json_status(const DfuStatusInfo *info);

G_END_DECLS
