/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-job.h"

G_BEGIN_DECLS

/*
 * Jobs on disk: <state_dir>/jobs/<id>.json, one file per job, each written
 * atomically and durably, plus <state_dir>/next-id. Every failure is
 * DFU_STATUS_STORAGE_ERROR naming the path and the system's reason.
 */
typedef struct _DfuStore DfuStore;

/* creates the folders when missing */
DfuStore *dfu_store_new(const char *state_dir, GError **error);
void dfu_store_free(DfuStore *store);

gboolean dfu_store_save_job(DfuStore *store, DfuJob *job, GError **error);
gboolean dfu_store_delete_job(DfuStore *store, guint64 id, GError **error);
/* the ids of the job files, ascending: their names alone, no file is read */
GArray *dfu_store_list_jobs(DfuStore *store, GError **error);
/*
 * One job file. A file that cannot be read or parsed is renamed to
 * <name>.corrupt and logged, so it is kept for inspection and not retried,
 * and NULL returned.
 */
DfuJob *dfu_store_load_job(DfuStore *store, guint64 id);

/* 1 when nothing was saved yet */
guint64 dfu_store_load_next_id(DfuStore *store, GError **error);
gboolean dfu_store_save_next_id(DfuStore *store, guint64 next_id, GError **error);

/* writes a whole file of the state directory atomically and durably (write, fsync, rename) */
gboolean dfu_store_write_file(const char *path, const char *contents, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuStore, dfu_store_free)

G_END_DECLS
