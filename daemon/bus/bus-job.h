/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "bus-job-row.h"
#include "dfu-manager.h"

G_BEGIN_DECLS

#define DFU_BUS_JOB_INTERFACE "org.dfud1.Job"
#define DFU_BUS_JOB_PATH_PREFIX "/org/dfud1/job"

/*
 * The org.dfud1.Job objects, one per job of the manager, served by one
 * fallback vtable under DFU_BUS_JOB_PATH_PREFIX. Property changes of a job are
 * batched into one PropertiesChanged: state, phase and result changes go out
 * on the next main loop iteration, progress-only changes at most every
 * DFU_BUS_JOB_PROGRESS_INTERVAL_MS, with the first change after it; the
 * last change before a pause goes out DFU_BUS_JOB_PROGRESS_LATEST_MS after it.
 */
#define DFU_BUS_JOB_PROGRESS_INTERVAL_MS 1000
#define DFU_BUS_JOB_PROGRESS_LATEST_MS 1000

typedef struct _DfuBusJobs DfuBusJobs;

/* auth is copied; the objects live until dfu_bus_jobs_free */
DfuBusJobs *dfu_bus_jobs_new(sd_bus *bus, DfuManager *manager, const DfuBusAuth *auth, GError **error);
void dfu_bus_jobs_free(DfuBusJobs *self);

/* exports job and announces it through the ObjectManager */
void dfu_bus_jobs_add(DfuBusJobs *self, DfuJob *job);
/* announces the removal and drops the object */
void dfu_bus_jobs_remove(DfuBusJobs *self, DfuJob *job);
/* sends the batched changes of one job, or of all jobs, now */
void dfu_bus_jobs_flush_job(DfuBusJobs *self, DfuJob *job);
void dfu_bus_jobs_flush(DfuBusJobs *self);

char *dfu_bus_job_path(guint64 id);
/* appends job as a DFU_BUS_JOB_ROW */
int dfu_bus_job_append_row(sd_bus_message *reply, DfuJob *job, const char *device);
/* the id in a job object path; FALSE for anything else */
gboolean dfu_bus_job_path_parse(const char *path, guint64 *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuBusJobs, dfu_bus_jobs_free)

G_END_DECLS
