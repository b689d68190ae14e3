/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "dfu-config.h"
#include "dfu-fetch.h"
#include "dfu-history.h"
#include "dfu-job.h"
#include "dfu-runner.h"

G_BEGIN_DECLS

/*
 * The job set: creation, persistence in the state directory, the queue and
 * its scheduler (one job per device, MaxParallelJobs at once, retries with
 * back-off for recoverable codes), expiry of finished jobs. Knows nothing of
 * D-Bus; the bus layer listens to its signals.
 *
 * Signals:
 *   "job-added"    (DfuJob *job)      a new or reloaded job exists
 *   "job-removed"  (DfuJob *job)      a finished job expired
 *   "job-finished" (DfuJob *job)      a job reached succeeded/failed/cancelled
 *   "job-changed"  (DfuJob *job, guint DfuJobChanged mask)
 *                                     one of its jobs emitted "changed"
 *   "counts-changed" ()               QueueLength or ActiveJobs changed
 *   "loaded"       ()                 every stored job is loaded (Loading went false)
 */
#define DFU_TYPE_MANAGER (dfu_manager_get_type())
G_DECLARE_FINAL_TYPE(DfuManager, dfu_manager, DFU, MANAGER, GObject)

/* runner is borrowed and must outlive the manager */
DfuManager *dfu_manager_new(DfuConfig *config, DfuRunner *runner);
/*
 * Reloads the jobs persisted in the state directory (emitting job-added for
 * each) and starts scheduling. Returns once the job files are listed: they
 * load in chunks from the main loop, so that callers are answered meanwhile,
 * and "loaded" is emitted when all are in. Jobs may be submitted while they
 * load; nothing is scheduled, expired or trimmed from the cache until then.
 * Jobs that were running when the daemon stopped are queued again and resume
 * from what the device reports; a job that changes nothing is not rewritten.
 */
gboolean dfu_manager_start(DfuManager *self, GError **error);
/* TRUE from dfu_manager_start until every stored job is loaded */
gboolean dfu_manager_is_loading(DfuManager *self);

/*
 * Creates a job for target (a URI or a configured device name) from an open
 * bundle file descriptor (borrowed; the manager dups what it needs). Returns at
 * once: the bundle is copied to the cache in a worker and the job is queued
 * when the copy is complete (and its SHA-256 checked against expected-sha256).
 * Bad targets and options fail here with DFU_STATUS_INVALID_ARGUMENT; a full
 * disk with DFU_STATUS_STORAGE_ERROR.
 */
DfuJob *dfu_manager_submit_fd(DfuManager *self, const char *target, int fd, const DfuJobOptions *options,
                              GError **error);

/*
 * Creates a job whose bundle is downloaded from url (https, or http when
 * AllowPlainHttp) into the cache. Returns at once with the job queued in the
 * fetching phase; it may run once the bundle (and its detached signature,
 * unless [verify] Signature=off) is in. A bundle already cached for this URL
 * or for the expected-sha256 option is not fetched again. Fails with
 * NOT_SUPPORTED when no fetcher was set.
 */
DfuJob *dfu_manager_submit_url(DfuManager *self, const char *target, const char *url,
                               const DfuJobOptions *options, GError **error);
/*
 * Creates a job of kind (refresh, confirm, reset) for target, which needs no
 * bundle and queues at once: like an update it runs alone on its device.
 * A target whose protocol cannot run the kind fails here with NOT_SUPPORTED.
 */
DfuJob *dfu_manager_submit_action(DfuManager *self, const char *target, DfuJobKind kind, GError **error);
/* the downloader for submit_url; borrowed, set before start, and must outlive the manager */
void dfu_manager_set_fetcher(DfuManager *self, DfuFetcher *fetcher);

DfuJob *dfu_manager_lookup(DfuManager *self, guint64 id);
/* all jobs, ordered by id; caller owns the array (with refs) */
GPtrArray *dfu_manager_list_jobs(DfuManager *self);
guint dfu_manager_get_queue_length(DfuManager *self);
guint dfu_manager_get_active_jobs(DfuManager *self);
/* a queued job ends cancelled at once; a running one when its attempt stops */
gboolean dfu_manager_cancel(DfuManager *self, guint64 id, GError **error);
/* stops running attempts without finishing their jobs: they stay persisted as running and resume next start
 */
void dfu_manager_shutdown(DfuManager *self);
DfuConfig *dfu_manager_get_config(DfuManager *self);
/*
 * Reads the configuration and devices.d again (dfu_config_reload) and applies
 * it: limits, timeouts and devices hold for what starts from now on, running
 * attempts and transfers go on as they are. On error nothing changes.
 */
gboolean dfu_manager_reload(DfuManager *self, GError **error);
/* the finished jobs, also those that expired; NULL until started */
DfuHistory *dfu_manager_get_history(DfuManager *self);

G_END_DECLS
