/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The orders the queue needs, kept as jobs change so that no event walks
 * every job: the queued jobs of each device by id, the devices that share a
 * link (an adapter with a connection limit) by their oldest queued job, so
 * that a full link is passed over whole, the finished jobs by the
 * time they finished (for expiry), and the bundles that live jobs hold, as a
 * count per path (for the cache). Items are the caller's; each has a node
 * here for as long as it is added.
 */
typedef struct _DfuJobIndex DfuJobIndex;
typedef struct _DfuJobIndexNode DfuJobIndexNode;

/* the bundle slots a job may hold: its cached bundle and a download not yet handed to it */
enum {
	DFU_JOB_INDEX_HOLD_BUNDLE,
	DFU_JOB_INDEX_HOLD_FETCHED,
	DFU_JOB_INDEX_HOLD_SLOTS,
};

DfuJobIndex *dfu_job_index_new(void);
void dfu_job_index_free(DfuJobIndex *index);

/*
 * device_key: two jobs with one key are queued one after the other; link_key:
 * the link the device shares with others, NULL for none (the device's first
 * job names it for all of them)
 */
DfuJobIndexNode *dfu_job_index_add(DfuJobIndex *index, gpointer item, guint64 id, const char *device_key,
                                   const char *link_key);
/* whether a job of the device is in the index, so that its link is known already */
gboolean dfu_job_index_has_device(DfuJobIndex *index, const char *device_key);
/* forgets the node and everything it held */
void dfu_job_index_remove(DfuJobIndex *index, DfuJobIndexNode *node);

void dfu_job_index_set_queued(DfuJobIndex *index, DfuJobIndexNode *node, gboolean queued);
/* finished: realtime µs when the job finished, 0 while it has not */
void dfu_job_index_set_finished(DfuJobIndex *index, DfuJobIndexNode *node, gint64 finished);
/* path: the bundle the job holds in slot, NULL for none */
void dfu_job_index_hold(DfuJobIndex *index, DfuJobIndexNode *node, guint slot, const char *path);

const char *dfu_job_index_device_key(DfuJobIndexNode *node);
/* NULL when the device shares no link */
const char *dfu_job_index_link_key(DfuJobIndexNode *node);

/* the set of bundle paths some job holds (keys of a table owned by the index) */
GHashTable *dfu_job_index_live_bundles(DfuJobIndex *index);
typedef enum {
	DFU_JOB_INDEX_NEXT,      /* go on to the next head */
	DFU_JOB_INDEX_SKIP_LINK, /* pass over the rest of this head's link */
	DFU_JOB_INDEX_STOP,
} DfuJobIndexVisitResult;

typedef DfuJobIndexVisitResult (*DfuJobIndexVisit)(gpointer item, gpointer user_data);

/*
 * The oldest queued item of each device, ordered by id, as long as visit asks
 * for more. Visit may change the index: a head it takes out of the queue is not
 * offered again, a head that a later job becomes is offered in its turn.
 */
void dfu_job_index_visit_heads(DfuJobIndex *index, DfuJobIndexVisit visit, gpointer user_data);
/* the item that finished first (the lowest id among equals), NULL when none did */
gpointer dfu_job_index_first_finished(DfuJobIndex *index, gint64 *finished);
guint dfu_job_index_n_finished(DfuJobIndex *index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuJobIndex, dfu_job_index_free)

G_END_DECLS
