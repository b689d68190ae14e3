/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#if HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#include "dfu-bundle-import.h"
#include "dfu-cache.h"
#include "dfu-config-fetcher.h"
#include "dfu-downgrade.h"
#include "dfu-error.h"
#include "dfu-history.h"
#include "dfu-job-index.h"
#include "dfu-job-private.h"
#include "dfu-journal.h"
#include "dfu-manager.h"
#include "dfu-retry.h"
#include "dfu-sha256.h"
#include "dfu-store.h"
#include "dfu-target.h"

/* progress alone is written at most this often, everything else at once: a resumed upload
 * starts from what the device holds, so the file's count only shows how far a job got */
#define PROGRESS_PERSIST_INTERVAL_MS 10000
/* long expiry deadlines are re-armed in steps so the timer never overflows */
#define EXPIRY_MAX_DELAY_MS (3600u * 1000)
/* after this many expired jobs, their memory goes back to the system */
#define TRIM_AFTER_EXPIRED 64
/* stored jobs loaded in one go from the loop; callers are answered between two */
#define LOAD_CHUNK 200
#define LOAD_GATE_POLL_MS 50

/* a finished outcome and the state the job ends in */
typedef struct {
	guint code;
	DfuJobState state;
} OutcomeState;

static const OutcomeState outcome_states[] = {
        {DFU_STATUS_SUCCESS, DFU_JOB_STATE_SUCCEEDED},
        {DFU_STATUS_STAGED, DFU_JOB_STATE_SUCCEEDED},
        {DFU_STATUS_UP_TO_DATE, DFU_JOB_STATE_SUCCEEDED},
        {DFU_STATUS_CANCELLED, DFU_JOB_STATE_CANCELLED},
};

/* handed to the runner and to the import, so late callbacks survive the manager */
typedef struct {
	GWeakRef manager;
	guint64 id;
} CallbackCtx;

typedef struct {
	DfuManager *manager;
	DfuJob *job;
	guint64 id; /* the job's, the key of the manager's table */
	DfuJobIndexNode *node;
	GCancellable *import_cancellable; /* set while the bundle is being copied */
	DfuFetch *fetch;                  /* set while the bundle is being downloaded */
	DfuFetch *signature_fetch;        /* set while its detached signature is */
	char *fetched_path;               /* the bundle is here, the signature still on its way */
	guint fetch_failures;
	guint fetch_retry_id;
	CallbackCtx *attempt_ctx; /* set while an attempt runs */
	gpointer attempt;
	char *device_key;
	char *link_key;
	guint retry_id;
	guint persist_id;
	gint64 last_persist_us;
	guint batch;
	/* one word for the flags: every stored job has an entry */
	guint dirty : 1;
	guint cancel_requested : 1;
	guint counted : 1;       /* counted_state is in the manager's counts */
	guint counted_state : 8; /* a DfuJobState */
} ManagerEntry;

struct _DfuManager {
	GObject parent_instance;
	DfuConfig *config;
	DfuRunner *runner;
	DfuStore *store;
	DfuHistory *history;
	DfuCache *cache;
	DfuFetcher *fetcher;
	GHashTable *entries;   /* guint64* id -> ManagerEntry */
	GHashTable *busy_keys; /* device keys of running attempts */
	GHashTable *link_use;  /* shared link key -> running attempts on it */
	DfuJobIndex *index;
	guint suspects_running;
	guint64 next_id;
	guint schedule_id;
	guint expire_id;
	guint queue_length;
	guint active_jobs;
	GArray *load_ids; /* the stored jobs, while they load */
	guint loaded;     /* how many of them */
	guint load_id;
	guint expired_untrimmed; /* jobs expired since the heap was last trimmed */
	gulong job_changed_hook; /* one for all jobs: a handler on each would cost every job memory */
	gboolean loading;
	gboolean started;
	gboolean stopping;
};

G_DEFINE_TYPE(DfuManager, dfu_manager, G_TYPE_OBJECT)

enum {
	SIGNAL_JOB_ADDED,
	SIGNAL_JOB_REMOVED,
	SIGNAL_JOB_FINISHED,
	SIGNAL_JOB_CHANGED,
	SIGNAL_COUNTS_CHANGED,
	SIGNAL_LOADED,
	SIGNAL_LAST,
};
static guint signals[SIGNAL_LAST];

static void manager_schedule(DfuManager *self);
static void manager_fail_quarantined(DfuManager *self, ManagerEntry *entry);
static void manager_arm_expiry(DfuManager *self, guint delay_ms);

static CallbackCtx *
callback_ctx_new(DfuManager *self, guint64 id)
{
	CallbackCtx *ctx = g_new0(CallbackCtx, 1);

	g_weak_ref_init(&ctx->manager, self);
	ctx->id = id;
	return ctx;
}

static void
callback_ctx_free(CallbackCtx *ctx)
{
	g_weak_ref_clear(&ctx->manager);
	g_free(ctx);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CallbackCtx, callback_ctx_free)

/* an event for the operator's log, with the device named as devices.d names it */
static void
manager_journal(DfuManager *self, DfuJournalEvent event, DfuJob *job, const DfuJournalDetail *detail)
{
	DfuJournalDetail named = detail != NULL ? *detail : (DfuJournalDetail){0};

	named.device = dfu_config_get_device_name(self->config, dfu_job_get_target(job));
	dfu_journal_job_event(event, job, &named);
}

/* a finished job goes into the history, which outlives it */
static void
manager_record(DfuManager *self, DfuJob *job)
{
	g_autoptr(GError) error = NULL;

	if (!dfu_history_add_job(self->history, job,
	                         dfu_config_get_device_name(self->config, dfu_job_get_target(job)), &error))
		g_warning("job %" G_GUINT64_FORMAT ": not in the history: %s", dfu_job_get_id(job),
		          error->message);
}

/* a finished job that the history lacks (the daemon died between the two writes) is added;
 * one that finished no later than the oldest kept entry was trimmed, not lost */
static void
manager_record_missing(DfuManager *self, DfuJob *job)
{
	if (dfu_job_is_finished(job) && !dfu_history_contains(self->history, dfu_job_get_id(job)) &&
	    dfu_job_get_finished(job) > dfu_history_get_horizon(self->history))
		manager_record(self, job);
}

static ManagerEntry *
manager_lookup_entry(DfuManager *self, guint64 id)
{
	return g_hash_table_lookup(self->entries, &id);
}

static void
entry_persist(ManagerEntry *entry)
{
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&entry->persist_id, g_source_remove);
	entry->dirty = FALSE;
	entry->last_persist_us = g_get_monotonic_time();
	if (!dfu_store_save_job(entry->manager->store, entry->job, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", dfu_job_get_id(entry->job), error->message);
}

static gboolean
entry_persist_cb(gpointer user_data)
{
	ManagerEntry *entry = user_data;

	entry->persist_id = 0;
	entry_persist(entry);
	return G_SOURCE_REMOVE;
}

/* groups the setters of one transition into one write */
static void
entry_begin(ManagerEntry *entry)
{
	entry->batch++;
}

static void
entry_end(ManagerEntry *entry)
{
	if (--entry->batch == 0 && entry->dirty)
		entry_persist(entry);
}

static void
manager_count(DfuManager *self, DfuJobState state, gint delta)
{
	if (state == DFU_JOB_STATE_QUEUED)
		self->queue_length += delta;
	else if (state == DFU_JOB_STATE_RUNNING)
		self->active_jobs += delta;
}

/* keeps the counts by what changed, so that no state change walks every job */
static void
manager_count_entry(DfuManager *self, ManagerEntry *entry, gboolean present)
{
	guint queued = self->queue_length;
	guint active = self->active_jobs;

	if (entry->counted)
		manager_count(self, entry->counted_state, -1);
	entry->counted = present;
	entry->counted_state = dfu_job_get_state(entry->job);
	if (present)
		manager_count(self, entry->counted_state, +1);
	if (self->started && !self->loading && (queued != self->queue_length || active != self->active_jobs))
		g_signal_emit(self, signals[SIGNAL_COUNTS_CHANGED], 0);
}

/* tells the index where the job now belongs: its device's queue, the expiry order, the bundles it holds */
static void
entry_index_sync(ManagerEntry *entry)
{
	DfuJobIndex *index = entry->manager->index;
	DfuJob *job = entry->job;
	gboolean finished = dfu_job_is_finished(job);

	dfu_job_index_set_queued(index, entry->node, dfu_job_get_state(job) == DFU_JOB_STATE_QUEUED);
	dfu_job_index_set_finished(index, entry->node, finished ? dfu_job_get_finished(job) : 0);
	dfu_job_index_hold(index, entry->node, DFU_JOB_INDEX_HOLD_BUNDLE,
	                   finished ? NULL : dfu_job_get_bundle_path(job));
	dfu_job_index_hold(index, entry->node, DFU_JOB_INDEX_HOLD_FETCHED, entry->fetched_path);
}

/*
 * Test builds only: the daemon dies on purpose when a job (of the given
 * source, or any) enters the phase that DFUD_TEST_CRASH_PHASE names, after
 * the phase is on disk, as a crash in that phase would leave it.
 */
static void
entry_test_crash_hook(ManagerEntry *entry)
{
#if DFUD_TEST_HOOKS
	const char *phase = g_getenv("DFUD_TEST_CRASH_PHASE");
	const char *source = g_getenv("DFUD_TEST_CRASH_SOURCE");
	DfuJob *job = entry->job;

	if (phase == NULL || g_strcmp0(phase, dfu_job_phase_to_string(dfu_job_get_phase(job))) != 0)
		return;
	if (source != NULL && g_strcmp0(source, dfu_job_get_source(job)) != 0)
		return;
	if (entry->dirty)
		entry_persist(entry);
	g_message("job %" G_GUINT64_FORMAT ": crashing on purpose in phase %s", dfu_job_get_id(job), phase);
	abort();
#endif
}

static void
entry_job_changed_cb(DfuJob *job, guint mask, gpointer user_data)
{
	ManagerEntry *entry = user_data;
	gint64 elapsed_ms;

	if (mask & DFU_JOB_CHANGED_STATE)
		manager_count_entry(entry->manager, entry, TRUE);
	/* progress and the device's reports are worth a write every few seconds; the rest at once */
	if ((mask & ~(DFU_JOB_CHANGED_PROGRESS | DFU_JOB_CHANGED_REPORT)) != 0) {
		entry_index_sync(entry);
		if (entry->batch > 0)
			entry->dirty = TRUE;
		else
			entry_persist(entry);
		if (mask & DFU_JOB_CHANGED_PHASE)
			entry_test_crash_hook(entry);
		return;
	}
	if (entry->batch > 0 || entry->persist_id != 0)
		return;
	elapsed_ms = (g_get_monotonic_time() - entry->last_persist_us) / 1000;
	if (elapsed_ms >= PROGRESS_PERSIST_INTERVAL_MS)
		entry_persist(entry);
	else
		entry->persist_id =
		        g_timeout_add(PROGRESS_PERSIST_INTERVAL_MS - elapsed_ms, entry_persist_cb, entry);
}

/* every job's "changed", the manager's own and others' alike: only its own are its business */
static gboolean
manager_job_changed_hook(GSignalInvocationHint *hint, guint n_values, const GValue *values,
                         gpointer user_data)
{
	DfuManager *self = user_data;
	DfuJob *job = g_value_get_object(&values[0]);
	guint mask = g_value_get_uint(&values[1]);
	guint64 id = dfu_job_get_id(job);
	ManagerEntry *entry = g_hash_table_lookup(self->entries, &id);

	if (entry != NULL && entry->job == job) {
		entry_job_changed_cb(job, mask, entry);
		g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job, mask);
	}
	return TRUE;
}

static guint
entry_max_attempts(DfuManager *self, ManagerEntry *entry)
{
	guint max = dfu_job_get_options(entry->job)->max_attempts;
	return max != 0 ? max : self->config->max_attempts;
}

static char *manager_device_key(DfuManager *self, DfuJob *job);
static char *manager_shared_link(DfuManager *self, DfuJob *job, guint *limit);

static ManagerEntry *
entry_new(DfuManager *self, DfuJob *job)
{
	ManagerEntry *entry = g_new0(ManagerEntry, 1);
	g_autofree char *device_key = manager_device_key(self, job);
	/* the device's first job names its link: parsed once a device, not once a job */
	g_autofree char *link_key = dfu_job_index_has_device(self->index, device_key)
	                                    ? NULL
	                                    : manager_shared_link(self, job, NULL);

	entry->manager = self;
	entry->job = g_object_ref(job);
	entry->id = dfu_job_get_id(job);
	entry->node = dfu_job_index_add(self->index, entry, entry->id, device_key, link_key);
	entry->last_persist_us = g_get_monotonic_time();
	dfu_job_set_retry(job, 0, entry_max_attempts(self, entry));
	return entry;
}

/* drops the downloads of a job; partial files stay for a later resume */
static void
entry_stop_fetch(ManagerEntry *entry)
{
	g_clear_pointer(&entry->fetch, dfu_fetch_cancel);
	g_clear_pointer(&entry->signature_fetch, dfu_fetch_cancel);
	g_clear_handle_id(&entry->fetch_retry_id, g_source_remove);
	g_clear_pointer(&entry->fetched_path, g_free);
	entry_index_sync(entry);
}

static gboolean
entry_is_fetching(ManagerEntry *entry)
{
	return entry->fetch != NULL || entry->signature_fetch != NULL || entry->fetch_retry_id != 0 ||
	       entry->fetched_path != NULL;
}

static void
entry_free(ManagerEntry *entry)
{
	entry_stop_fetch(entry);
	g_clear_handle_id(&entry->retry_id, g_source_remove);
	g_clear_handle_id(&entry->persist_id, g_source_remove);
	if (entry->import_cancellable != NULL)
		g_cancellable_cancel(entry->import_cancellable);
	g_clear_object(&entry->import_cancellable);
	g_free(entry->device_key);
	g_free(entry->link_key);
	dfu_job_index_remove(entry->manager->index, entry->node);
	g_object_unref(entry->job);
	g_free(entry);
}

static void
manager_insert_entry(DfuManager *self, ManagerEntry *entry)
{
	/* replace: the key lives in the entry */
	g_hash_table_replace(self->entries, &entry->id, entry);
	manager_count_entry(self, entry, TRUE);
	entry_index_sync(entry);
}

static DfuJobState
outcome_to_state(guint code)
{
	for (guint i = 0; i < G_N_ELEMENTS(outcome_states); i++) {
		if (outcome_states[i].code == code)
			return outcome_states[i].state;
	}
	return DFU_JOB_STATE_FAILED;
}

/* a bundle that took the daemon (or its checking process) down is never handed to a job again */
static void
manager_quarantine(DfuManager *self, ManagerEntry *entry)
{
	const char *path = dfu_job_get_bundle_path(entry->job);
	g_autoptr(GError) error = NULL;

	if (path == NULL || dfu_cache_is_quarantined(self->cache, path))
		return;
	if (!dfu_cache_quarantine(self->cache, path, &error))
		dfu_job_log(entry->job, "%s", error->message);
	else
		dfu_job_log(entry->job, "bundle moved to the quarantine folder of the cache");
}

static void
manager_finish(DfuManager *self, ManagerEntry *entry, guint code, const char *message, GVariant *device_error)
{
	const DfuStatusInfo *info = dfu_status_lookup(code);
	DfuJob *job = entry->job;

	if (message == NULL || message[0] == '\0')
		message = info != NULL ? info->summary : "";
	g_clear_handle_id(&entry->retry_id, g_source_remove);
	entry_begin(entry);
	if (code == DFU_STATUS_CRASH_LOOP)
		manager_quarantine(self, entry);
	dfu_job_log(job, "finished: %s: %s", dfu_status_to_name(code), message);
	dfu_job_set_result(job, code, message, device_error);
	dfu_job_set_phase(job, DFU_JOB_PHASE_DONE);
	dfu_job_set_state(job, outcome_to_state(code));
	entry_end(entry);
	manager_record(self, job);
	manager_journal(self, DFU_JOURNAL_FINISHED, job,
	                &(DfuJournalDetail){.status_code = code, .message = message});
	g_signal_emit(self, signals[SIGNAL_JOB_FINISHED], 0, job);
	manager_arm_expiry(self, 0);
}

static gboolean
entry_retry_cb(gpointer user_data)
{
	ManagerEntry *entry = user_data;

	entry->retry_id = 0;
	manager_schedule(entry->manager);
	return G_SOURCE_REMOVE;
}

static guint
manager_link_use(DfuManager *self, const char *link_key)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(self->link_use, link_key));
}

static void
manager_link_release(DfuManager *self, ManagerEntry *entry)
{
	g_autofree char *key = g_steal_pointer(&entry->link_key);
	guint use;

	if (key == NULL)
		return;
	use = manager_link_use(self, key);
	if (use > 1)
		g_hash_table_insert(self->link_use, g_strdup(key), GUINT_TO_POINTER(use - 1));
	else
		g_hash_table_remove(self->link_use, key);
}

/* the link the job's device shares with others and how many attempts it carries at once; NULL for none */
static char *
manager_shared_link(DfuManager *self, DfuJob *job, guint *limit)
{
	guint ignored = 0;

	if (self->runner->ops->link_key == NULL)
		return NULL;
	return self->runner->ops->link_key(self->runner, job, limit != NULL ? limit : &ignored);
}

/* FALSE when the job's device shares no link or its link has room */
static gboolean
manager_link_full(DfuManager *self, DfuJob *job, char **link_key)
{
	guint limit = 0;

	*link_key = manager_shared_link(self, job, &limit);
	return *link_key != NULL && limit > 0 && manager_link_use(self, *link_key) >= limit;
}

/*
 * When retries run out, the job names the most telling of its attempts'
 * causes: a device that never came back after its reset stays that, though a
 * later attempt only timed out on it. Later entries tell more.
 */
static const guint telling_order[] = {
        DFU_STATUS_RESPONSE_TIMEOUT, DFU_STATUS_LINK_NOT_FOUND,   DFU_STATUS_CONNECT_FAILED,
        DFU_STATUS_LINK_LOST,        DFU_STATUS_FETCH_FAILED,     DFU_STATUS_DEVICE_BUSY,
        DFU_STATUS_PROTOCOL_ERROR,   DFU_STATUS_UPLOAD_CORRUPTED, DFU_STATUS_DEVICE_NOT_BACK,
};

static guint
telling_rank(guint code)
{
	for (guint i = 0; i < G_N_ELEMENTS(telling_order); i++) {
		if (telling_order[i] == code)
			return i + 1;
	}
	return 0;
}

/*
 * A device that already runs the image is up to date only when no attempt of
 * this job put it there: an earlier attempt that marked it for test, cut short
 * by a lost link or the daemon's death, still installed it.
 */
static guint
manager_true_outcome(ManagerEntry *entry, guint result_code)
{
	DfuJob *job = entry->job;

	if (result_code == DFU_STATUS_NONE)
		return DFU_STATUS_SUCCESS;
	if (result_code != DFU_STATUS_UP_TO_DATE || !dfu_job_get_device_changed(job))
		return result_code;
	dfu_job_log(job, "the device runs the image that an earlier attempt of this job installed");
	return dfu_job_get_options(job)->confirm ? DFU_STATUS_SUCCESS : DFU_STATUS_STAGED;
}

/*
 * A job that was running when the daemon died runs alone from then on, so
 * that the next death is pinned on the job that caused it rather than counted
 * against every job that happened to run beside it.
 */
static gboolean
entry_is_suspect(ManagerEntry *entry)
{
	return dfu_job_get_crashes(entry->job) > 0;
}

static void
manager_attempt_done(DfuJob *job, guint result_code, const GError *error, GVariant *device_error,
                     gpointer user_data)
{
	g_autoptr(CallbackCtx) ctx = user_data;
	g_autoptr(DfuManager) self = g_weak_ref_get(&ctx->manager);
	g_autoptr(GVariant) dev_error = device_error != NULL ? g_variant_ref_sink(device_error) : NULL;
	ManagerEntry *entry = self != NULL ? manager_lookup_entry(self, ctx->id) : NULL;
	const char *message = error != NULL ? error->message : NULL;
	/* an error may carry a success's own message */
	gboolean failed = error != NULL && dfu_status_is_failure(dfu_error_get_status(error));
	guint attempt;
	guint code;

	if (entry == NULL || entry->attempt_ctx != ctx)
		return;
	entry->attempt_ctx = NULL;
	entry->attempt = NULL;
	g_hash_table_remove(self->busy_keys, entry->device_key);
	g_clear_pointer(&entry->device_key, g_free);
	manager_link_release(self, entry);
	if (entry_is_suspect(entry))
		self->suspects_running--;

	if (failed)
		code = entry->cancel_requested ? DFU_STATUS_CANCELLED : dfu_error_get_status(error);
	else
		code = manager_true_outcome(entry, result_code);
	/* an attempt stopped by shutdown stays running on disk and resumes next start */
	if (self->stopping && (code == DFU_STATUS_CANCELLED || dfu_status_is_recoverable(code))) {
		entry_begin(entry);
		dfu_job_log(job, "attempt %u stopped by the daemon shutting down", dfu_job_get_attempt(job));
		dfu_job_set_stopped_cleanly(job, TRUE);
		entry->dirty = TRUE;
		entry_end(entry);
		return;
	}

	attempt = dfu_job_get_attempt(job);
	if (dfu_status_is_recoverable(code) &&
	    telling_rank(code) >= telling_rank(dfu_job_get_cause_code(job)))
		dfu_job_set_cause(job, code, message);
	if (dfu_status_is_recoverable(code) && attempt < entry_max_attempts(self, entry)) {
		guint delay_ms = dfu_retry_delay_ms(self->config->retry_delay_ms, attempt);

		entry_begin(entry);
		dfu_job_log(job, "attempt %u failed: %s: %s; retrying in %u ms", attempt,
		            dfu_status_to_name(code), message != NULL ? message : "", delay_ms);
		dfu_job_set_phase(job, DFU_JOB_PHASE_WAITING);
		dfu_job_set_state(job, DFU_JOB_STATE_QUEUED);
		dfu_job_set_retry(job, g_get_real_time() + (gint64)delay_ms * 1000,
		                  entry_max_attempts(self, entry));
		entry_end(entry);
		manager_journal(self, DFU_JOURNAL_RETRY, job,
		                &(DfuJournalDetail){
		                        .status_code = code, .message = message, .retry_delay_ms = delay_ms});
		entry->retry_id = g_timeout_add(delay_ms, entry_retry_cb, entry);
	} else if (dfu_status_is_recoverable(code) && dfu_job_get_cause_code(job) != code) {
		g_autofree char *told =
		        g_strdup_printf("%s (the last attempt: %s: %s)", dfu_job_get_cause_message(job),
		                        dfu_status_to_name(code), message != NULL ? message : "");
		manager_finish(self, entry, dfu_job_get_cause_code(job), told, NULL);
	} else {
		manager_finish(self, entry, code, message, dev_error);
	}
	manager_schedule(self);
}

static void
manager_start_attempt(DfuManager *self, ManagerEntry *entry, char *device_key, char *link_key)
{
	DfuJob *job = entry->job;
	guint attempt = dfu_job_get_attempt(job) + 1;
	DfuJournalEvent event = dfu_job_get_started(job) == 0 ? DFU_JOURNAL_STARTED : DFU_JOURNAL_ATTEMPT;

	entry->device_key = device_key;
	g_hash_table_add(self->busy_keys, g_strdup(device_key));
	entry->link_key = link_key;
	if (link_key != NULL)
		g_hash_table_insert(self->link_use, g_strdup(link_key),
		                    GUINT_TO_POINTER(manager_link_use(self, link_key) + 1));
	entry->cancel_requested = FALSE;
	entry->attempt_ctx = callback_ctx_new(self, dfu_job_get_id(job));
	if (entry_is_suspect(entry))
		self->suspects_running++;
	entry_begin(entry);
	dfu_job_log(job, "attempt %u started", attempt);
	dfu_job_set_attempt(job, attempt);
	dfu_job_set_retry(job, 0, entry_max_attempts(self, entry));
	dfu_job_set_stopped_cleanly(job, FALSE);
	dfu_job_set_phase(job, DFU_JOB_PHASE_NONE);
	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	entry_end(entry);
	manager_journal(self, event, job, NULL);
	entry->attempt =
	        self->runner->ops->start(self->runner, job, manager_attempt_done, entry->attempt_ctx);
}

static gboolean
entry_fetches_itself(ManagerEntry *entry)
{
	DfuRunner *runner = entry->manager->runner;

	return dfu_job_get_url(entry->job) != NULL && runner->ops->fetches_itself != NULL &&
	       runner->ops->fetches_itself(runner, entry->job);
}

static gboolean
entry_is_ready(ManagerEntry *entry)
{
	return dfu_job_get_state(entry->job) == DFU_JOB_STATE_QUEUED && entry->import_cancellable == NULL &&
	       !entry_is_fetching(entry) && entry->retry_id == 0 &&
	       (dfu_job_get_bundle_path(entry->job) != NULL || entry_fetches_itself(entry) ||
	        dfu_job_get_kind(entry->job) != DFU_JOB_KIND_UPDATE);
}

static gint
entry_compare_id(gconstpointer a, gconstpointer b)
{
	guint64 ia = dfu_job_get_id((*(ManagerEntry **)a)->job);
	guint64 ib = dfu_job_get_id((*(ManagerEntry **)b)->job);
	return ia < ib ? -1 : ia > ib;
}

static GPtrArray *
manager_sorted_entries(DfuManager *self)
{
	GPtrArray *entries = g_ptr_array_sized_new(g_hash_table_size(self->entries));
	GHashTableIter iter;
	gpointer entry;

	g_hash_table_iter_init(&iter, self->entries);
	while (g_hash_table_iter_next(&iter, NULL, &entry))
		g_ptr_array_add(entries, entry);
	g_ptr_array_sort(entries, entry_compare_id);
	return entries;
}

static char *
manager_device_key(DfuManager *self, DfuJob *job)
{
	char *key = self->runner->ops->device_key(self->runner, job);
	return key != NULL ? key : g_strdup(dfu_job_get_target(job));
}

/* one queued head offered by the index: start it, pass it, or pass its whole full link */
static DfuJobIndexVisitResult
manager_schedule_head(gpointer item, gpointer user_data)
{
	ManagerEntry *entry = item;
	DfuManager *self = user_data;
	const char *key = dfu_job_index_device_key(entry->node);
	g_autofree char *link_key = NULL;

	if (g_hash_table_size(self->busy_keys) >= self->config->max_parallel_jobs)
		return DFU_JOB_INDEX_STOP;
	if (!entry_is_ready(entry) || g_hash_table_contains(self->busy_keys, key))
		return DFU_JOB_INDEX_NEXT;
	if (manager_link_full(self, entry->job, &link_key))
		return g_strcmp0(link_key, dfu_job_index_link_key(entry->node)) == 0 ? DFU_JOB_INDEX_SKIP_LINK
		                                                                     : DFU_JOB_INDEX_NEXT;
	/* nothing more starts until the others are done and it can run alone */
	if (entry_is_suspect(entry) && g_hash_table_size(self->busy_keys) > 0)
		return DFU_JOB_INDEX_STOP;
	manager_start_attempt(self, entry, g_strdup(key), g_steal_pointer(&link_key));
	return entry_is_suspect(entry) ? DFU_JOB_INDEX_STOP : DFU_JOB_INDEX_NEXT;
}

/*
 * Only the oldest queued job of each device may start: when it is still
 * importing or backing off, the device's later jobs wait their turn. The
 * devices are taken in the order of those jobs' ids, a link that is full
 * passed over with all its devices.
 */
static gboolean
manager_schedule_cb(gpointer user_data)
{
	DfuManager *self = user_data;

	self->schedule_id = 0;
	if (self->suspects_running > 0)
		return G_SOURCE_REMOVE;
	dfu_job_index_visit_heads(self->index, manager_schedule_head, self);
	return G_SOURCE_REMOVE;
}

static void
manager_schedule(DfuManager *self)
{
	if (self->schedule_id == 0 && self->started && !self->stopping && !self->loading)
		self->schedule_id = g_idle_add(manager_schedule_cb, self);
}

static void
manager_remove_entry(DfuManager *self, ManagerEntry *entry)
{
	g_autoptr(DfuJob) job = g_object_ref(entry->job);
	g_autoptr(GError) error = NULL;
	guint64 id = dfu_job_get_id(job);

	manager_count_entry(self, entry, FALSE);
	g_hash_table_remove(self->entries, &id);
	if (!dfu_store_delete_job(self->store, id, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", id, error->message);
	/* the bundle stays in the cache for later jobs; the signature was this job's alone */
	if (dfu_job_get_signature_path(job) != NULL && g_unlink(dfu_job_get_signature_path(job)) != 0 &&
	    errno != ENOENT)
		g_warning("job %" G_GUINT64_FORMAT ": cannot delete %s: %s", id,
		          dfu_job_get_signature_path(job), g_strerror(errno));
	g_signal_emit(self, signals[SIGNAL_JOB_REMOVED], 0, job);
}

/* the oldest finished jobs go first: those past MaxFinishedJobs, then those past KeepFinishedSec */
static gboolean
manager_expire_cb(gpointer user_data)
{
	DfuManager *self = user_data;
	gint64 keep_us = (gint64)self->config->keep_finished_sec * G_USEC_PER_SEC;
	gint64 now = g_get_real_time();
	gint64 finished = 0;
	ManagerEntry *entry;

	self->expire_id = 0;
	while ((entry = dfu_job_index_first_finished(self->index, &finished)) != NULL) {
		if (dfu_job_index_n_finished(self->index) <= self->config->max_finished_jobs &&
		    finished + keep_us > now) {
			manager_arm_expiry(
			        self, (guint)MIN((finished + keep_us - now) / 1000 + 1, EXPIRY_MAX_DELAY_MS));
			break;
		}
		manager_remove_entry(self, entry);
		self->expired_untrimmed++;
	}
#if HAVE_MALLOC_TRIM
	/* the heap would otherwise keep the freed jobs' pages for good */
	if (self->expired_untrimmed >= TRIM_AFTER_EXPIRED) {
		malloc_trim(0);
		self->expired_untrimmed = 0;
	}
#endif
	return G_SOURCE_REMOVE;
}

static void
manager_arm_expiry(DfuManager *self, guint delay_ms)
{
	if (self->stopping || self->loading)
		return;
	g_clear_handle_id(&self->expire_id, g_source_remove);
	self->expire_id = g_timeout_add(delay_ms, manager_expire_cb, self);
}

static void
manager_trim_cache(DfuManager *self)
{
	if (self->loading)
		return;
	/* the bundles that queued and running jobs hold */
	dfu_cache_trim(self->cache, dfu_job_index_live_bundles(self->index));
}

/* the bundle is in the cache: the job may run */
static void
manager_bundle_ready(DfuManager *self, ManagerEntry *entry, const char *path)
{
	if (dfu_cache_is_quarantined(self->cache, path)) {
		dfu_job_set_bundle_path(entry->job, path);
		manager_fail_quarantined(self, entry);
		manager_schedule(self);
		return;
	}
	dfu_cache_touch(self->cache, path);
	entry_begin(entry);
	dfu_job_set_bundle_path(entry->job, path);
	entry_index_sync(entry);
	dfu_job_log(entry->job, "bundle stored as %s", path);
	entry->dirty = TRUE;
	if (dfu_job_get_options(entry->job)->fetch_only) {
		entry_end(entry);
		manager_finish(self, entry, DFU_STATUS_SUCCESS,
		               "bundle downloaded into the cache; nothing installed (fetch-only)", NULL);
		manager_schedule(self);
		return;
	}
	dfu_job_set_phase(entry->job, DFU_JOB_PHASE_WAITING);
	entry_end(entry);
	manager_trim_cache(self);
	manager_schedule(self);
}

static gboolean
digest_matches(const char *path, const char *expected)
{
	g_autofree char *digest = dfu_cache_path_digest(path);

	return digest != NULL && g_ascii_strcasecmp(digest, expected) == 0;
}

static void
manager_import_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(CallbackCtx) ctx = user_data;
	g_autoptr(DfuManager) self = g_weak_ref_get(&ctx->manager);
	g_autoptr(GError) error = NULL;
	g_autofree char *path = dfu_bundle_import_finish(result, &error);
	const char *expected;
	ManagerEntry *entry;

	if (self == NULL)
		return;
	entry = manager_lookup_entry(self, ctx->id);
	if (entry != NULL)
		g_clear_object(&entry->import_cancellable);
	if (entry == NULL || dfu_job_is_finished(entry->job) || self->stopping)
		return;
	if (path == NULL) {
		manager_finish(self, entry, dfu_error_get_status(error), error->message, NULL);
		return;
	}
	expected = dfu_job_get_options(entry->job)->expected_sha256;
	if (expected != NULL && !digest_matches(path, expected)) {
		g_autofree char *digest = dfu_cache_path_digest(path);
		g_autofree char *message =
		        g_strdup_printf("the bundle has SHA-256 %s, expected %s", digest, expected);

		/* while jobs are loading, another may still turn out to hold it: the trim decides later */
		if (!self->loading && !g_hash_table_contains(dfu_job_index_live_bundles(self->index), path))
			g_unlink(path);
		manager_finish(self, entry, DFU_STATUS_CHECKSUM_MISMATCH, message, NULL);
		return;
	}
	manager_bundle_ready(self, entry, path);
}

static void
manager_start_import(DfuManager *self, ManagerEntry *entry, int fd)
{
	entry->import_cancellable = g_cancellable_new();
	dfu_bundle_import_async(self->config->cache_dir, fd, entry->import_cancellable,
	                        manager_import_done_cb, callback_ctx_new(self, dfu_job_get_id(entry->job)));
}

static void manager_start_fetch(DfuManager *self, ManagerEntry *entry);

static gboolean
entry_fetch_retry_cb(gpointer user_data)
{
	ManagerEntry *entry = user_data;

	entry->fetch_retry_id = 0;
	manager_start_fetch(entry->manager, entry);
	return G_SOURCE_REMOVE;
}

/* a download failed: retry what may pass, give up on the rest */
static void
manager_fetch_failed(DfuManager *self, ManagerEntry *entry, const GError *error, GVariant *device_error)
{
	guint code = dfu_error_get_status(error);

	entry_stop_fetch(entry);
	entry->fetch_failures++;
	if (dfu_status_is_recoverable(code) && entry->fetch_failures < entry_max_attempts(self, entry)) {
		guint delay_ms = dfu_retry_delay_ms(self->config->retry_delay_ms, entry->fetch_failures);

		dfu_job_log(entry->job, "download %u failed: %s: %s; retrying in %u ms",
		            entry->fetch_failures, dfu_status_to_name(code), error->message, delay_ms);
		manager_journal(self, DFU_JOURNAL_RETRY, entry->job,
		                &(DfuJournalDetail){.status_code = code,
		                                    .message = error->message,
		                                    .retry_delay_ms = delay_ms,
		                                    .download = entry->fetch_failures});
		entry->fetch_retry_id = g_timeout_add(delay_ms, entry_fetch_retry_cb, entry);
		return;
	}
	manager_finish(self, entry, code, error->message, device_error);
	manager_schedule(self);
}

/* both downloads are over: hands the bundle to the job */
static void
manager_fetch_check_done(DfuManager *self, ManagerEntry *entry)
{
	g_autofree char *path = NULL;

	if (entry->fetch != NULL || entry->signature_fetch != NULL || entry->fetched_path == NULL)
		return;
	path = g_steal_pointer(&entry->fetched_path);
	manager_bundle_ready(self, entry, path);
}

static void
manager_fetch_progress_cb(DfuFetch *fetch, guint64 done, guint64 total, gpointer user_data)
{
	ManagerEntry *entry = user_data;

	dfu_job_set_progress(entry->job, done, total);
}

static void
manager_fetch_done_cb(DfuFetch *fetch, const char *path, const char *sha256, const GError *error,
                      GVariant *device_error, gpointer user_data)
{
	ManagerEntry *entry = user_data;
	DfuManager *self = entry->manager;

	entry->fetch = NULL;
	if (error != NULL) {
		manager_fetch_failed(self, entry, error, device_error);
		return;
	}
	dfu_cache_remember_url(self->cache, dfu_job_get_url(entry->job), sha256);
	dfu_job_log(entry->job, "downloaded %s", dfu_job_get_url(entry->job));
	entry->fetched_path = g_strdup(path);
	entry_index_sync(entry);
	manager_fetch_check_done(self, entry);
}

static gboolean
delete_file_cb(gpointer user_data)
{
	g_unlink(user_data);
	return G_SOURCE_REMOVE;
}

static gboolean
manager_keep_signature(DfuManager *self, ManagerEntry *entry, const char *path, GError **error)
{
	g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, error);
	g_autoptr(GBytes) bytes = NULL;
	g_autofree char *stored = NULL;

	if (file == NULL)
		return FALSE;
	if (g_mapped_file_get_length(file) > DFU_CACHE_SIGNATURE_MAX_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		            "the signature is larger than %u KiB", DFU_CACHE_SIGNATURE_MAX_SIZE / 1024);
		return FALSE;
	}
	bytes = g_mapped_file_get_bytes(file);
	stored = dfu_cache_store_signature(self->cache, dfu_job_get_id(entry->job), bytes, error);
	if (stored == NULL)
		return FALSE;
	entry_begin(entry);
	dfu_job_set_signature_path(entry->job, stored);
	dfu_job_log(entry->job, "signature stored as %s", stored);
	entry->dirty = TRUE;
	entry_end(entry);
	return TRUE;
}

static void
manager_signature_done_cb(DfuFetch *fetch, const char *path, const char *sha256, const GError *error,
                          GVariant *device_error, gpointer user_data)
{
	ManagerEntry *entry = user_data;
	DfuManager *self = entry->manager;
	g_autoptr(GError) keep_error = NULL;
	guint32 http_status = 0;

	entry->signature_fetch = NULL;
	/* whether a bundle without a signature may run is the verify policy's call */
	if (error != NULL && device_error != NULL &&
	    g_variant_lookup(device_error, "http-status", "u", &http_status) && http_status == 404) {
		dfu_job_log(entry->job, "no detached signature: %s", error->message);
	} else if (error != NULL) {
		manager_fetch_failed(self, entry, error, device_error);
		return;
	} else {
		/* every job that waited for this file gets it before it goes */
		g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, delete_file_cb, g_strdup(path), g_free);
		if (!manager_keep_signature(self, entry, path, &keep_error)) {
			entry_stop_fetch(entry);
			manager_finish(self, entry, dfu_error_get_status(keep_error), keep_error->message,
			               NULL);
			manager_schedule(self);
			return;
		}
	}
	manager_fetch_check_done(self, entry);
}

static gboolean
manager_wants_signature(DfuManager *self, DfuJob *job)
{
	return self->config->signature_policy != DFU_SIGNATURE_POLICY_OFF &&
	       dfu_job_get_signature_path(job) == NULL;
}

/* a bundle already in the cache for this job: same digest, or same URL */
static char *
manager_cached_bundle(DfuManager *self, DfuJob *job)
{
	const char *expected = dfu_job_get_options(job)->expected_sha256;

	if (expected != NULL)
		return dfu_cache_lookup_sha256(self->cache, expected);
	return dfu_cache_lookup_url(self->cache, dfu_job_get_url(job), NULL);
}

static void
manager_start_fetch(DfuManager *self, ManagerEntry *entry)
{
	DfuJob *job = entry->job;
	const DfuJobOptions *options = dfu_job_get_options(job);
	g_autofree char *cached = manager_cached_bundle(self, job);
	g_autofree char *sig_dir = NULL;
	g_autofree char *sig_url = NULL;
	g_autoptr(GError) error = NULL;

	if (entry_fetches_itself(entry)) {
		dfu_job_set_phase(job, DFU_JOB_PHASE_WAITING);
		manager_schedule(self);
		return;
	}
	if (self->fetcher == NULL) {
		manager_finish(self, entry, DFU_STATUS_FETCH_FAILED,
		               "this daemon does not fetch bundles from a URL", NULL);
		return;
	}
	dfu_job_set_phase(job, DFU_JOB_PHASE_FETCHING);
	if (cached != NULL) {
		dfu_job_log(job, "bundle found in the cache");
		entry->fetched_path = g_steal_pointer(&cached);
		entry_index_sync(entry);
	} else {
		entry->fetch =
		        dfu_fetcher_fetch(self->fetcher, dfu_job_get_url(job), options->expected_sha256,
		                          self->config->cache_dir, manager_fetch_progress_cb,
		                          manager_fetch_done_cb, entry, &error);
	}
	if (error == NULL && manager_wants_signature(self, job)) {
		sig_url = options->signature_url != NULL ? g_strdup(options->signature_url)
		                                         : g_strconcat(dfu_job_get_url(job), ".sig", NULL);
		sig_dir = dfu_cache_signature_fetch_dir(self->cache);
		entry->signature_fetch = dfu_fetcher_fetch(self->fetcher, sig_url, NULL, sig_dir, NULL,
		                                           manager_signature_done_cb, entry, &error);
	}
	if (error != NULL) {
		entry_stop_fetch(entry);
		manager_finish(self, entry, dfu_error_get_status(error), error->message, NULL);
		return;
	}
	manager_fetch_check_done(self, entry);
}

static gboolean
check_sha256(const char *value, GError **error)
{
	if (value == NULL || dfu_sha256_is_hex(value))
		return TRUE;
	/* a long value is not echoed back */
	if (strlen(value) > DFU_SHA256_HEX_LEN)
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "expected-sha256 must be 64 hexadecimal digits, not %zu characters",
		            strlen(value));
	else
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "expected-sha256 must be 64 hexadecimal digits, not '%s'", value);
	return FALSE;
}

static gboolean
check_source_name(const char *name, GError **error)
{
	if (name == NULL)
		return TRUE;
	if (strlen(name) > DFU_JOB_SOURCE_NAME_MAX) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "source-name has %zu bytes, more than the %u allowed", strlen(name),
		            DFU_JOB_SOURCE_NAME_MAX);
		return FALSE;
	}
	if (!g_utf8_validate(name, -1, NULL)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "source-name is not valid UTF-8");
		return FALSE;
	}
	for (const char *p = name; *p != '\0'; p = g_utf8_next_char(p)) {
		if (g_unichar_iscntrl(g_utf8_get_char(p))) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			                    "source-name contains a control character");
			return FALSE;
		}
	}
	return TRUE;
}

/* the options that a caller could make large enough to burden the queue or every reader */
static gboolean
check_bounds(const DfuJobOptions *options, GError **error)
{
	if (options->max_attempts > DFU_JOB_MAX_ATTEMPTS) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "max-attempts is %u, more than the %u allowed", options->max_attempts,
		            DFU_JOB_MAX_ATTEMPTS);
		return FALSE;
	}
	if (options->signature_url != NULL && strlen(options->signature_url) > DFU_JOB_URL_MAX) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "signature-url has %zu bytes, more than the %u allowed",
		            strlen(options->signature_url), DFU_JOB_URL_MAX);
		return FALSE;
	}
	return check_source_name(options->name, error);
}

static gboolean
check_signature(const DfuJobOptions *options, GError **error)
{
	if (options->signature == NULL ||
	    g_bytes_get_size(options->signature) <= DFU_CACHE_SIGNATURE_MAX_SIZE)
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "the signature is larger than %u KiB",
	            DFU_CACHE_SIGNATURE_MAX_SIZE / 1024);
	return FALSE;
}

static gboolean
manager_check_url(DfuManager *self, const char *url, GError **error)
{
	const char *scheme = url != NULL ? g_uri_peek_scheme(url) : NULL;

	if (self->fetcher == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		                    "this daemon does not fetch bundles from a URL");
		return FALSE;
	}
	/* the URL is the job's Source unless it is named: as bounded as a name */
	if (url != NULL && strlen(url) > DFU_JOB_URL_MAX) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "the URL has %zu bytes, more than the %u allowed", strlen(url), DFU_JOB_URL_MAX);
		return FALSE;
	}
	if (g_strcmp0(scheme, "https") == 0 ||
	    (g_strcmp0(scheme, "http") == 0 && self->config->http_allow_plain))
		return TRUE;
	if (g_strcmp0(scheme, "http") == 0)
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "plain http is not allowed (AllowPlainHttp=false): %s", url);
	else
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "'%s' is not an https URL",
		            url != NULL ? url : "");
	return FALSE;
}

/* the checks and the bookkeeping shared by both ways of submitting */
static ManagerEntry *
manager_add_job(DfuManager *self, const char *target, DfuJobKind kind, const char *url,
                const DfuJobOptions *options, GError **error)
{
	static const DfuJobOptions no_options = {.confirm = TRUE};
	g_autoptr(DfuTarget) parsed = NULL;
	g_autoptr(DfuJob) job = NULL;
	ManagerEntry *entry;
	const char *uri;
	const char *source;

	if (!self->started || self->stopping) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_DAEMON_STOPPED,
		                    "the job queue is not running");
		return NULL;
	}
	uri = dfu_config_resolve_target(self->config, target);
	if (uri == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "'%s' is neither a configured device nor a target URI",
		            target != NULL ? target : "");
		return NULL;
	}
	parsed = dfu_target_parse(uri, error);
	if (parsed == NULL)
		return NULL;
	if (kind != DFU_JOB_KIND_UPDATE &&
	    (self->runner->ops->supports_kind == NULL ||
	     !self->runner->ops->supports_kind(self->runner, parsed->uri, kind))) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "%s: %s is not supported on %s targets", target, dfu_job_kind_to_string(kind),
		            dfu_protocol_to_string(parsed->protocol));
		return NULL;
	}
	if (options == NULL)
		options = &no_options;
	/* a job without a bundle has no options that go with one */
	if (!check_sha256(options->expected_sha256, error) || !check_signature(options, error) ||
	    !check_bounds(options, error) ||
	    !dfu_downgrade_names_check(options->allow_downgrade_images, error) ||
	    (kind == DFU_JOB_KIND_UPDATE &&
	     !dfu_job_options_check_protocol(options, parsed->protocol, url, error)))
		return NULL;
	/* the counter is on disk before the id is handed out, so no id is ever reused */
	if (!dfu_store_save_next_id(self->store, self->next_id + 1, error))
		return NULL;
	/* a job without a bundle shows what it does */
	source = options->name != NULL         ? options->name
	         : url != NULL                 ? url
	         : kind != DFU_JOB_KIND_UPDATE ? dfu_job_kind_to_string(kind)
	                                       : "";
	job = dfu_job_new(self->next_id++, parsed->uri, source, NULL, options);
	dfu_job_set_kind(job, kind);
	dfu_job_set_url(job, url);
	if (g_strcmp0(uri, target) != 0)
		dfu_job_log(job, "device '%s' is %s", target, parsed->uri);
	dfu_job_log(job, "submitted");
	dfu_job_set_phase(job, kind == DFU_JOB_KIND_UPDATE ? DFU_JOB_PHASE_FETCHING : DFU_JOB_PHASE_WAITING);
	if (options->signature != NULL) {
		g_autofree char *sig_path = dfu_cache_store_signature(self->cache, dfu_job_get_id(job),
		                                                      options->signature, error);

		if (sig_path == NULL)
			return NULL;
		dfu_job_set_signature_path(job, sig_path);
	}
	if (!dfu_store_save_job(self->store, job, error)) {
		if (dfu_job_get_signature_path(job) != NULL)
			g_unlink(dfu_job_get_signature_path(job));
		return NULL;
	}

	entry = entry_new(self, job);
	manager_insert_entry(self, entry);
	manager_journal(self, DFU_JOURNAL_SUBMITTED, job, NULL);
	g_signal_emit(self, signals[SIGNAL_JOB_ADDED], 0, job);
	return entry;
}

DfuJob *
dfu_manager_submit_fd(DfuManager *self, const char *target, int fd, const DfuJobOptions *options,
                      GError **error)
{
	ManagerEntry *entry;

	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	if (options != NULL && options->signature_url != NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "signature-url only goes with a bundle URL; pass the signature itself");
		return NULL;
	}
	if (fd < 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "no bundle file descriptor");
		return NULL;
	}
	/* a descriptor that may never reach its end is refused before it becomes a job */
	if (!dfu_bundle_import_check_fd(fd, NULL, error))
		return NULL;
	entry = manager_add_job(self, target, DFU_JOB_KIND_UPDATE, NULL, options, error);
	if (entry == NULL)
		return NULL;
	manager_start_import(self, entry, fd);
	return g_object_ref(entry->job);
}

DfuJob *
dfu_manager_submit_url(DfuManager *self, const char *target, const char *url, const DfuJobOptions *options,
                       GError **error)
{
	ManagerEntry *entry;

	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	if (!manager_check_url(self, url, error))
		return NULL;
	entry = manager_add_job(self, target, DFU_JOB_KIND_UPDATE, url, options, error);
	if (entry == NULL)
		return NULL;
	manager_start_fetch(self, entry);
	return g_object_ref(entry->job);
}

DfuJob *
dfu_manager_submit_action(DfuManager *self, const char *target, DfuJobKind kind, GError **error)
{
	ManagerEntry *entry;

	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	entry = manager_add_job(self, target, kind, NULL, NULL, error);
	if (entry == NULL)
		return NULL;
	manager_schedule(self);
	return g_object_ref(entry->job);
}

void
dfu_manager_set_fetcher(DfuManager *self, DfuFetcher *fetcher)
{
	g_return_if_fail(DFU_IS_MANAGER(self));
	self->fetcher = fetcher;
}

/*
 * An attempt that was running when the daemon died counts as an attempt: a
 * job that keeps taking the daemon down with it is failed, and its bundle put
 * where no later job takes it, instead of being resumed into the next crash.
 */
static gboolean
manager_recover_crash(DfuManager *self, ManagerEntry *entry)
{
	DfuJob *job = entry->job;
	guint attempt = dfu_job_get_attempt(job);
	guint crashes = dfu_job_get_crashes(job) + 1;
	g_autofree char *message = NULL;

	dfu_job_set_crashes(job, crashes);
	dfu_job_log(job, "attempt %u ended with the daemon's death while %s", attempt,
	            dfu_job_phase_to_string(dfu_job_get_phase(job)));
	if (attempt < entry_max_attempts(self, entry))
		return FALSE;
	message = g_strdup_printf("the daemon died in %u of the job's %u attempts; the job is not "
	                          "started again and its bundle is quarantined",
	                          crashes, attempt);
	g_message("job %" G_GUINT64_FORMAT ": %s", dfu_job_get_id(job), message);
	manager_finish(self, entry, DFU_STATUS_CRASH_LOOP, message, NULL);
	return TRUE;
}

/* what a job left behind by the previous run needs before it can go on */
static void
manager_recover_entry(DfuManager *self, ManagerEntry *entry)
{
	DfuJob *job = entry->job;

	if (dfu_job_is_finished(job))
		return;
	if (dfu_job_get_bundle_path(job) == NULL && dfu_job_get_url(job) != NULL &&
	    !entry_fetches_itself(entry)) {
		dfu_job_log(job, "the daemon stopped during the download; fetching again");
		entry_begin(entry);
		dfu_job_set_state(job, DFU_JOB_STATE_QUEUED);
		manager_start_fetch(self, entry);
		entry->dirty = TRUE;
		entry_end(entry);
		return;
	}
	if (dfu_job_get_bundle_path(job) == NULL && !entry_fetches_itself(entry) &&
	    dfu_job_get_kind(job) == DFU_JOB_KIND_UPDATE) {
		manager_finish(self, entry, DFU_STATUS_BUNDLE_UNREADABLE,
		               "the daemon stopped before the bundle was stored; submit the job again", NULL);
		return;
	}
	entry_begin(entry);
	if (dfu_job_get_state(job) == DFU_JOB_STATE_RUNNING && dfu_job_get_stopped_cleanly(job)) {
		/* a shutdown is no fault of the job's: the attempt goes on under its number */
		dfu_job_log(job, "the daemon stopped during attempt %u; it resumes",
		            dfu_job_get_attempt(job));
		dfu_job_set_attempt(job, MAX(dfu_job_get_attempt(job), 1u) - 1);
		dfu_job_set_stopped_cleanly(job, FALSE);
	} else if (dfu_job_get_state(job) == DFU_JOB_STATE_RUNNING && manager_recover_crash(self, entry)) {
		entry_end(entry);
		return;
	}
	/* a job already waiting in the queue changes nothing here and is not written again */
	dfu_job_set_phase(job, DFU_JOB_PHASE_WAITING);
	dfu_job_set_state(job, DFU_JOB_STATE_QUEUED);
	entry_end(entry);
}

/* jobs that share a quarantined bundle never run it */
static void
manager_fail_quarantined(DfuManager *self, ManagerEntry *entry)
{
	const char *path = dfu_job_get_bundle_path(entry->job);

	if (dfu_job_is_finished(entry->job) || path == NULL || !dfu_cache_is_quarantined(self->cache, path))
		return;
	manager_finish(self, entry, DFU_STATUS_CRASH_LOOP,
	               "the bundle is quarantined: the daemon died each time another job ran it", NULL);
}

static void
manager_load_job(DfuManager *self, guint64 id)
{
	g_autoptr(DfuJob) job = dfu_store_load_job(self->store, id);
	ManagerEntry *entry;

	if (job == NULL)
		return;
	entry = entry_new(self, job);
	manager_insert_entry(self, entry);
	g_signal_emit(self, signals[SIGNAL_JOB_ADDED], 0, job);
	manager_record_missing(self, job);
	manager_recover_entry(self, entry);
	manager_fail_quarantined(self, entry);
}

/*
 * Test builds only: loading stops after its first chunk while the file that
 * DFUD_TEST_LOAD_GATE names exists, so that a test can call the daemon while
 * it is still loading.
 */
static gboolean
manager_load_gated(DfuManager *self)
{
#if DFUD_TEST_HOOKS
	const char *gate = g_getenv("DFUD_TEST_LOAD_GATE");

	return self->loaded > 0 && gate != NULL && g_file_test(gate, G_FILE_TEST_EXISTS);
#else
	return FALSE;
#endif
}

static gboolean
manager_load_cb(gpointer user_data)
{
	DfuManager *self = user_data;
	guint end = MIN(self->loaded + LOAD_CHUNK, self->load_ids->len);

	self->load_id = 0;
	if (manager_load_gated(self)) {
		self->load_id = g_timeout_add(LOAD_GATE_POLL_MS, manager_load_cb, self);
		return G_SOURCE_REMOVE;
	}
	for (; self->loaded < end; self->loaded++)
		manager_load_job(self, g_array_index(self->load_ids, guint64, self->loaded));
	if (self->loaded < self->load_ids->len) {
		self->load_id = g_idle_add(manager_load_cb, self);
		return G_SOURCE_REMOVE;
	}
	g_info("loaded %u stored jobs", g_hash_table_size(self->entries));
	g_clear_pointer(&self->load_ids, g_array_unref);
	self->loading = FALSE;
	/* what live jobs hold is known only now */
	manager_trim_cache(self);
	g_signal_emit(self, signals[SIGNAL_LOADED], 0);
	g_signal_emit(self, signals[SIGNAL_COUNTS_CHANGED], 0);
	manager_arm_expiry(self, 0);
	manager_schedule(self);
	return G_SOURCE_REMOVE;
}

gboolean
dfu_manager_start(DfuManager *self, GError **error)
{
	guint64 next_id;

	g_return_val_if_fail(DFU_IS_MANAGER(self), FALSE);
	g_return_val_if_fail(!self->started, FALSE);
	self->store = dfu_store_new(self->config->state_dir, error);
	if (self->store == NULL)
		return FALSE;
	next_id = dfu_store_load_next_id(self->store, error);
	if (next_id == 0)
		return FALSE;
	self->load_ids = dfu_store_list_jobs(self->store, error);
	if (self->load_ids == NULL)
		return FALSE;
	self->history = dfu_history_open(self->config->state_dir, self->config->history_size, error);
	if (self->history == NULL)
		return FALSE;
	/* the names alone give the highest id, so a job submitted while loading never reuses one */
	if (self->load_ids->len > 0)
		next_id = MAX(next_id, g_array_index(self->load_ids, guint64, self->load_ids->len - 1) + 1);
	self->next_id = next_id;
	self->started = TRUE;
	self->loading = TRUE;
	/* in chunks from the loop, so that callers are answered while many jobs load */
	self->load_id = g_idle_add(manager_load_cb, self);
	return TRUE;
}

gboolean
dfu_manager_is_loading(DfuManager *self)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), FALSE);
	return self->loading;
}

DfuJob *
dfu_manager_lookup(DfuManager *self, guint64 id)
{
	ManagerEntry *entry;

	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	entry = manager_lookup_entry(self, id);
	return entry != NULL ? entry->job : NULL;
}

GPtrArray *
dfu_manager_list_jobs(DfuManager *self)
{
	g_autoptr(GPtrArray) entries = NULL;
	GPtrArray *jobs;

	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	entries = manager_sorted_entries(self);
	jobs = g_ptr_array_new_full(entries->len, g_object_unref);
	for (guint i = 0; i < entries->len; i++)
		g_ptr_array_add(jobs, g_object_ref(((ManagerEntry *)g_ptr_array_index(entries, i))->job));
	return jobs;
}

guint
dfu_manager_get_queue_length(DfuManager *self)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), 0);
	return self->queue_length;
}

guint
dfu_manager_get_active_jobs(DfuManager *self)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), 0);
	return self->active_jobs;
}

gboolean
dfu_manager_cancel(DfuManager *self, guint64 id, GError **error)
{
	ManagerEntry *entry;

	g_return_val_if_fail(DFU_IS_MANAGER(self), FALSE);
	entry = manager_lookup_entry(self, id);
	if (entry == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "no job %" G_GUINT64_FORMAT, id);
		return FALSE;
	}
	if (dfu_job_is_finished(entry->job)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "job %" G_GUINT64_FORMAT " has already finished", id);
		return FALSE;
	}
	if (entry->attempt_ctx != NULL) {
		if (!entry->cancel_requested) {
			entry->cancel_requested = TRUE;
			dfu_job_log(entry->job, "cancel requested");
			self->runner->ops->cancel(self->runner, entry->attempt);
		}
		return TRUE;
	}
	if (entry->import_cancellable != NULL)
		g_cancellable_cancel(entry->import_cancellable);
	/* the transfer goes on when other jobs wait for the same URL */
	entry_stop_fetch(entry);
	manager_finish(self, entry, DFU_STATUS_CANCELLED, "cancelled before it ran", NULL);
	manager_schedule(self);
	return TRUE;
}

void
dfu_manager_shutdown(DfuManager *self)
{
	g_autoptr(GPtrArray) entries = NULL;

	g_return_if_fail(DFU_IS_MANAGER(self));
	if (self->stopping)
		return;
	self->stopping = TRUE;
	/* jobs not loaded yet stay on disk as they are */
	g_clear_handle_id(&self->load_id, g_source_remove);
	g_clear_handle_id(&self->schedule_id, g_source_remove);
	g_clear_handle_id(&self->expire_id, g_source_remove);
	entries = manager_sorted_entries(self);
	for (guint i = 0; i < entries->len; i++) {
		ManagerEntry *entry = g_ptr_array_index(entries, i);

		g_clear_handle_id(&entry->retry_id, g_source_remove);
		entry_stop_fetch(entry);
		if (entry->import_cancellable != NULL)
			g_cancellable_cancel(entry->import_cancellable);
		if (entry->attempt_ctx != NULL) {
			/* on disk before the attempt winds down, in case the daemon dies on the way out */
			dfu_job_set_stopped_cleanly(entry->job, TRUE);
			self->runner->ops->cancel(self->runner, entry->attempt);
		}
		/* pending progress reaches the disk before the daemon exits */
		if (entry->persist_id != 0 || entry->dirty)
			entry_persist(entry);
	}
}

gboolean
dfu_manager_reload(DfuManager *self, GError **error)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), FALSE);
	if (!dfu_config_reload(self->config, error))
		return FALSE;
	dfu_cache_set_max_bytes(self->cache, self->config->cache_max_bytes);
	if (self->fetcher != NULL)
		dfu_fetcher_apply_config(self->fetcher, self->config);
	if (self->history != NULL)
		dfu_history_set_max_entries(self->history, self->config->history_size);
	if (self->started && !self->stopping) {
		manager_trim_cache(self);
		manager_arm_expiry(self, 0);
		manager_schedule(self);
	}
	return TRUE;
}

DfuHistory *
dfu_manager_get_history(DfuManager *self)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	return self->history;
}

DfuConfig *
dfu_manager_get_config(DfuManager *self)
{
	g_return_val_if_fail(DFU_IS_MANAGER(self), NULL);
	return self->config;
}

static void
dfu_manager_dispose(GObject *object)
{
	DfuManager *self = DFU_MANAGER(object);

	if (self->started)
		dfu_manager_shutdown(self);
	g_hash_table_remove_all(self->entries);
	G_OBJECT_CLASS(dfu_manager_parent_class)->dispose(object);
}

static void
dfu_manager_finalize(GObject *object)
{
	DfuManager *self = DFU_MANAGER(object);

	g_signal_remove_emission_hook(g_signal_lookup("changed", DFU_TYPE_JOB), self->job_changed_hook);
	g_hash_table_unref(self->entries);
	g_clear_pointer(&self->load_ids, g_array_unref);
	g_hash_table_unref(self->busy_keys);
	g_hash_table_unref(self->link_use);
	dfu_job_index_free(self->index);
	dfu_cache_free(self->cache);
	g_clear_pointer(&self->store, dfu_store_free);
	g_clear_pointer(&self->history, dfu_history_free);
	G_OBJECT_CLASS(dfu_manager_parent_class)->finalize(object);
}

static void
dfu_manager_class_init(DfuManagerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = dfu_manager_dispose;
	object_class->finalize = dfu_manager_finalize;
	signals[SIGNAL_JOB_ADDED] = g_signal_new("job-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                                         NULL, NULL, NULL, G_TYPE_NONE, 1, DFU_TYPE_JOB);
	signals[SIGNAL_JOB_REMOVED] = g_signal_new("job-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
	                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, DFU_TYPE_JOB);
	signals[SIGNAL_JOB_FINISHED] =
	        g_signal_new("job-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	                     G_TYPE_NONE, 1, DFU_TYPE_JOB);
	/* the "changed" signal that the manager's emission hook follows exists from here on */
	g_type_class_ref(DFU_TYPE_JOB);
	signals[SIGNAL_JOB_CHANGED] =
	        g_signal_new("job-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	                     G_TYPE_NONE, 2, DFU_TYPE_JOB, G_TYPE_UINT);
	signals[SIGNAL_COUNTS_CHANGED] = g_signal_new("counts-changed", G_TYPE_FROM_CLASS(klass),
	                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_LOADED] = g_signal_new("loaded", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                                      NULL, NULL, G_TYPE_NONE, 0);
}

static void
dfu_manager_init(DfuManager *self)
{
	self->entries = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, (GDestroyNotify)entry_free);
	self->busy_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->link_use = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->index = dfu_job_index_new();
	self->next_id = 1;
	self->job_changed_hook = g_signal_add_emission_hook(g_signal_lookup("changed", DFU_TYPE_JOB), 0,
	                                                    manager_job_changed_hook, self, NULL);
}

DfuManager *
dfu_manager_new(DfuConfig *config, DfuRunner *runner)
{
	DfuManager *self;

	g_return_val_if_fail(config != NULL, NULL);
	g_return_val_if_fail(runner != NULL && runner->ops != NULL, NULL);
	self = g_object_new(DFU_TYPE_MANAGER, NULL);
	self->config = config;
	self->runner = runner;
	self->cache = dfu_cache_new(config->cache_dir, config->cache_max_bytes);
	return self;
}
