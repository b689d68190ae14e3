/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the client's copy of an org.dfud1.Job's properties */
typedef struct {
	char *path;
	guint64 id;
	char *kind; /* update, refresh, confirm, reset */
	char *target;
	char *source;
	char *state;
	char *phase;
	guint32 percentage;
	guint64 bytes_done;
	guint64 bytes_total;
	guint64 bytes_per_second;
	guint32 status_code;
	char *status_name;
	char *message;
	GVariant *device_error; /* a{sv}, never NULL */
	guint32 attempt;
	gint64 created;
	gint64 started;
	gint64 finished;
	guint32 max_attempts; /* 0: the daemon does not say */
	gint64 retry_at;      /* µs since the epoch when the next attempt starts, 0: none planned */
	char *device;         /* not a property: the device's name where known, else NULL */
} DfuctlJob;

DfuctlJob *dfuctl_job_new(const char *path);
void dfuctl_job_free(DfuctlJob *job);
/* applies an a{sv} of property values; unknown names and mismatched types are skipped */
void dfuctl_job_update(DfuctlJob *job, GVariant *properties);
gboolean dfuctl_job_is_finished(const DfuctlJob *job);
/* the job's device as the user knows it: its name, else the target */
const char *dfuctl_job_device(const DfuctlJob *job);
void dfuctl_job_set_device(DfuctlJob *job, const char *device);
/* the properties as an a{sv} with their D-Bus names, and Device (floating) */
GVariant *dfuctl_job_to_variant(const DfuctlJob *job);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlJob, dfuctl_job_free)

G_END_DECLS
