/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-job.h"

G_BEGIN_DECLS

/* what the history keeps of one finished job */
typedef struct {
	guint64 id;
	char *target;
	char *device; /* the devices.d name the target had when the job finished, NULL when none */
	char *source;
	DfuJobState state;
	guint status_code;
	char *message;
	guint attempts;
	gint64 created;
	gint64 started;
	gint64 finished;
} DfuHistoryEntry;

/*
 * The finished jobs, kept in <state_dir>/history after the jobs themselves
 * expire: one JSON line each, appended and synced when a job finishes, at most
 * max_entries of them (the oldest are dropped first). The file is rewritten
 * only when it holds twice as many lines as kept, so that each job costs one
 * appended line however long the history is. A line cut short by a crash, or
 * one that does not parse, is dropped when the file is read.
 */
typedef struct _DfuHistory DfuHistory;

DfuHistory *dfu_history_open(const char *state_dir, guint max_entries, GError **error);
void dfu_history_free(DfuHistory *self);
/* device: the job's devices.d name, or NULL */
gboolean dfu_history_add_job(DfuHistory *self, DfuJob *job, const char *device, GError **error);
gboolean dfu_history_contains(DfuHistory *self, guint64 id);
/* the finish time of the oldest entry kept, 0 when there is room for more */
gint64 dfu_history_get_horizon(DfuHistory *self);
/* a new bound; entries beyond it are dropped at once, from the file at its next rewrite */
void dfu_history_set_max_entries(DfuHistory *self, guint max_entries);
/* the entries, oldest first; the array and the entries are borrowed until the next change */
GPtrArray *dfu_history_get_entries(DfuHistory *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuHistory, dfu_history_free)

G_END_DECLS
