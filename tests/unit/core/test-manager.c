/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test-util.h"
#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfu-job-private.h"
#include "dfu-manager.h"
#include "dfu-retry.h"
#include "dfu-store.h"

/* script answer for an attempt that runs until the test releases or cancels it */
#define HOLD G_MAXUINT

typedef guint (*ScriptFunc)(DfuJob *job, guint attempt);

typedef struct {
	DfuRunner parent;
	ScriptFunc script;
	GPtrArray *live; /* TestAttempt */
	guint started;
	guint same_device_overlaps;
	gboolean runs_kinds;         /* refresh, confirm and reset jobs too */
	const char *success_message; /* a success's own message, as the mesh engine tells one */
} TestRunner;

typedef struct {
	TestRunner *runner;
	DfuJob *job;
	DfuRunnerDoneFunc done;
	gpointer user_data;
	guint code;
	guint source_id;
} TestAttempt;

static gboolean
attempt_finish_cb(gpointer user_data)
{
	TestAttempt *attempt = user_data;
	g_autoptr(GError) error = NULL;
	GVariant *device_error = NULL;

	attempt->source_id = 0;
	g_ptr_array_remove(attempt->runner->live, attempt);
	if (attempt->code >= 10) {
		g_set_error(&error, DFU_ERROR, attempt->code, "scripted %s",
		            dfu_status_to_name(attempt->code));
		device_error = g_variant_new_parsed("{'rc': <int32 7>}");
	} else if (attempt->runner->success_message != NULL) {
		g_set_error_literal(&error, DFU_ERROR, attempt->code, attempt->runner->success_message);
	}
	attempt->done(attempt->job, attempt->code >= 10 ? DFU_STATUS_NONE : attempt->code, error,
	              device_error, attempt->user_data);
	g_object_unref(attempt->job);
	g_free(attempt);
	return G_SOURCE_REMOVE;
}

static gpointer
test_runner_start(DfuRunner *runner, DfuJob *job, DfuRunnerDoneFunc done, gpointer user_data)
{
	TestRunner *self = (TestRunner *)runner;
	TestAttempt *attempt = g_new0(TestAttempt, 1);

	for (guint i = 0; i < self->live->len; i++) {
		TestAttempt *other = g_ptr_array_index(self->live, i);
		if (g_strcmp0(dfu_job_get_target(other->job), dfu_job_get_target(job)) == 0)
			self->same_device_overlaps++;
	}
	attempt->runner = self;
	attempt->job = g_object_ref(job);
	attempt->done = done;
	attempt->user_data = user_data;
	attempt->code = self->script(job, dfu_job_get_attempt(job));
	g_ptr_array_add(self->live, attempt);
	self->started++;
	dfu_job_set_phase(job, DFU_JOB_PHASE_UPLOADING);
	if (attempt->code != HOLD)
		attempt->source_id = g_idle_add(attempt_finish_cb, attempt);
	return attempt;
}

static void
test_runner_cancel(DfuRunner *runner, gpointer handle)
{
	TestAttempt *attempt = handle;

	/* an attempt already finishing ends as it would have: the cancel came too late */
	if (attempt->source_id != 0)
		return;
	attempt->code = DFU_STATUS_CANCELLED;
	attempt->source_id = g_idle_add(attempt_finish_cb, attempt);
}

static char *
test_runner_device_key(DfuRunner *runner, DfuJob *job)
{
	return g_strdup(dfu_job_get_target(job));
}

/* BLE targets share one link that carries two jobs at once */
static char *
test_runner_link_key(DfuRunner *runner, DfuJob *job, guint *limit)
{
	if (!g_str_has_prefix(dfu_job_get_target(job), "ble:"))
		return NULL;
	*limit = 2;
	return g_strdup("adapter0");
}

/* with runs_kinds, serial devices can be refreshed, confirmed and reset; others only updated */
static gboolean
test_runner_supports_kind(DfuRunner *runner, const char *target, DfuJobKind kind)
{
	return ((TestRunner *)runner)->runs_kinds && g_str_has_prefix(target, "serial:");
}

static const DfuRunnerOps test_runner_ops = {
        .start = test_runner_start,
        .cancel = test_runner_cancel,
        .device_key = test_runner_device_key,
        .link_key = test_runner_link_key,
        .supports_kind = test_runner_supports_kind,
};

/* finishes the held attempt of job id with code */
static void
test_runner_release(TestRunner *self, guint64 id, guint code)
{
	for (guint i = 0; i < self->live->len; i++) {
		TestAttempt *attempt = g_ptr_array_index(self->live, i);
		if (dfu_job_get_id(attempt->job) == id && attempt->source_id == 0) {
			attempt->code = code;
			attempt->source_id = g_idle_add(attempt_finish_cb, attempt);
			return;
		}
	}
	g_assert_not_reached();
}

static guint
script_hold(DfuJob *job, guint attempt)
{
	return HOLD;
}

static guint
script_success(DfuJob *job, guint attempt)
{
	return DFU_STATUS_SUCCESS;
}

static guint
script_lost_twice(DfuJob *job, guint attempt)
{
	return attempt < 3 ? DFU_STATUS_LINK_LOST : DFU_STATUS_STAGED;
}

static guint
script_always_lost(DfuJob *job, guint attempt)
{
	return DFU_STATUS_LINK_LOST;
}

static guint
script_up_to_date(DfuJob *job, guint attempt)
{
	return DFU_STATUS_UP_TO_DATE;
}

static guint
script_rejected(DfuJob *job, guint attempt)
{
	return DFU_STATUS_IMAGE_REJECTED;
}

typedef struct {
	char *dir;
	DfuConfig *config;
	TestRunner runner;
	DfuManager *manager;
	DfuFetcher *fetcher;
	GPtrArray *finished;
	GPtrArray *removed;
} Fixture;

static void
on_job_finished(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	Fixture *f = user_data;
	g_ptr_array_add(f->finished, g_object_ref(job));
}

static void
on_job_removed(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	Fixture *f = user_data;
	g_ptr_array_add(f->removed, g_object_ref(job));
}

static void
fixture_new_manager(Fixture *f, ScriptFunc script)
{
	g_autoptr(GError) error = NULL;

	f->runner.script = script;
	f->manager = dfu_manager_new(f->config, &f->runner.parent);
	if (f->fetcher != NULL)
		dfu_manager_set_fetcher(f->manager, f->fetcher);
	g_signal_connect(f->manager, "job-finished", G_CALLBACK(on_job_finished), f);
	g_signal_connect(f->manager, "job-removed", G_CALLBACK(on_job_removed), f);
	g_assert_true(dfu_manager_start(f->manager, &error));
	g_assert_no_error(error);
	/* the stored jobs load from the loop */
	while (dfu_manager_is_loading(f->manager))
		g_main_context_iteration(NULL, TRUE);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-manager-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->config = dfu_config_new_default();
	g_free(f->config->state_dir);
	g_free(f->config->cache_dir);
	f->config->state_dir = g_build_filename(f->dir, "state", NULL);
	f->config->cache_dir = g_build_filename(f->dir, "cache", NULL);
	f->config->retry_delay_ms = 1;
	f->runner.parent.ops = &test_runner_ops;
	f->runner.live = g_ptr_array_new();
	f->finished = g_ptr_array_new_with_free_func(g_object_unref);
	f->removed = g_ptr_array_new_with_free_func(g_object_unref);
}

static void
drain_main_context(void)
{
	/* let imports in worker threads land, then run what they scheduled */
	for (guint i = 0; i < 20; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(1000);
	}
}

static void
fixture_stop_manager(Fixture *f)
{
	if (f->manager == NULL)
		return;
	dfu_manager_shutdown(f->manager);
	g_clear_object(&f->manager);
	/* held attempts answer the cancel on idle */
	while (f->runner.live->len > 0)
		g_main_context_iteration(NULL, TRUE);
	drain_main_context();
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	fixture_stop_manager(f);
	g_clear_pointer(&f->fetcher, dfu_fetcher_free);
	g_ptr_array_unref(f->runner.live);
	g_ptr_array_unref(f->finished);
	g_ptr_array_unref(f->removed);
	dfu_config_free(f->config);
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
}

static gboolean
timeout_cb(gpointer user_data)
{
	gboolean *expired = user_data;
	*expired = TRUE;
	return G_SOURCE_REMOVE;
}

/* a safety net for a broken scheduler, not a measure of speed */
#define WAIT_UNTIL(cond)                                                                                     \
	G_STMT_START                                                                                         \
	{                                                                                                    \
		gboolean expired_ = FALSE;                                                                   \
		guint id_ = g_timeout_add(5000, timeout_cb, &expired_);                                      \
		while (!(cond) && !expired_)                                                                 \
			g_main_context_iteration(NULL, TRUE);                                                \
		if (!expired_)                                                                               \
			g_source_remove(id_);                                                                \
		g_assert_true(cond);                                                                         \
	}                                                                                                    \
	G_STMT_END

static int
memfd_with(const char *contents)
{
	int fd = memfd_create("bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, contents, strlen(contents)), ==, (ssize_t)strlen(contents));
	g_assert_cmpint(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), ==, 0);
	return fd;
}

static DfuJob *
submit(Fixture *f, const char *target, const char *contents)
{
	g_autoptr(GError) error = NULL;
	int fd = memfd_with(contents);
	DfuJob *job = dfu_manager_submit_fd(f->manager, target, fd, NULL, &error);

	close(fd);
	g_assert_no_error(error);
	g_assert_nonnull(job);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_QUEUED);
	return job;
}

static gboolean
history_contains(DfuJob *job, const char *text)
{
	g_autoptr(GPtrArray) history = dfu_job_list_history(job);

	for (guint i = 0; i < history->len; i++) {
		if (strstr(g_ptr_array_index(history, i), text) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void
test_manager_retry_delay(void)
{
	g_assert_cmpuint(dfu_retry_delay_ms(2000, 1), ==, 2000);
	g_assert_cmpuint(dfu_retry_delay_ms(2000, 2), ==, 4000);
	g_assert_cmpuint(dfu_retry_delay_ms(2000, 4), ==, 16000);
	g_assert_cmpuint(dfu_retry_delay_ms(2000, 6), ==, 60000);
	g_assert_cmpuint(dfu_retry_delay_ms(2000, 4000000), ==, 60000);
	g_assert_cmpuint(dfu_retry_delay_ms(G_MAXUINT, 3), ==, 60000);
	g_assert_cmpuint(dfu_retry_delay_ms(0, 9), ==, 0);
}

static void
test_manager_success(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(GPtrArray) jobs = NULL;

	fixture_new_manager(f, script_success);
	job = submit(f, "serial:/dev/ttyACM0?baud=115200", "image");
	g_assert_cmpint(dfu_job_get_phase(job), ==, DFU_JOB_PHASE_FETCHING);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 1);
	g_assert_true(dfu_manager_lookup(f->manager, dfu_job_get_id(job)) == job);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpint(dfu_job_get_phase(job), ==, DFU_JOB_PHASE_DONE);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 1);
	g_assert_cmpint(dfu_job_get_finished(job), >=, dfu_job_get_started(job));
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 0);
	g_assert_cmpuint(dfu_manager_get_active_jobs(f->manager), ==, 0);
	jobs = dfu_manager_list_jobs(f->manager);
	g_assert_cmpuint(jobs->len, ==, 1);
}

static void
test_manager_bad_submit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	int fd = memfd_with("image");

	fixture_new_manager(f, script_success);
	job = dfu_manager_submit_fd(f->manager, "serial:/dev/x?bad=1", fd, NULL, &error);
	g_assert_null(job);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "'bad'"));
	g_clear_error(&error);
	job = dfu_manager_submit_fd(f->manager, "kitchen", fd, NULL, &error);
	close(fd);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "'kitchen'"));
	g_clear_error(&error);
	job = dfu_manager_submit_fd(f->manager, "serial:/dev/x", -1, NULL, &error);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 0);
}

static void
test_manager_named_device(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;

	g_hash_table_insert(f->config->devices, g_strdup("kitchen"), g_strdup("ble:C4:12:34:56:78:9A"));
	fixture_new_manager(f, script_success);
	job = submit(f, "kitchen", "image");
	g_assert_cmpstr(dfu_job_get_target(job), ==, "ble:C4:12:34:56:78:9A");
	g_assert_true(history_contains(job, "kitchen"));
	WAIT_UNTIL(f->finished->len == 1);
}

static void
test_manager_one_per_device(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) a1 = NULL;
	g_autoptr(DfuJob) a2 = NULL;
	g_autoptr(DfuJob) b1 = NULL;

	fixture_new_manager(f, script_hold);
	a1 = submit(f, "serial:/dev/ttyA", "one");
	a2 = submit(f, "serial:/dev/ttyA", "two");
	b1 = submit(f, "serial:/dev/ttyB", "three");
	WAIT_UNTIL(f->runner.started == 2 && dfu_job_get_bundle_path(a2) != NULL);
	drain_main_context();
	g_assert_cmpuint(f->runner.started, ==, 2);
	g_assert_cmpint(dfu_job_get_state(a1), ==, DFU_JOB_STATE_RUNNING);
	g_assert_cmpint(dfu_job_get_state(a2), ==, DFU_JOB_STATE_QUEUED);
	g_assert_cmpint(dfu_job_get_phase(a2), ==, DFU_JOB_PHASE_WAITING);
	g_assert_cmpint(dfu_job_get_state(b1), ==, DFU_JOB_STATE_RUNNING);
	g_assert_cmpuint(dfu_manager_get_active_jobs(f->manager), ==, 2);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 1);

	test_runner_release(&f->runner, dfu_job_get_id(a1), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 3);
	g_assert_cmpint(dfu_job_get_state(a1), ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpint(dfu_job_get_state(a2), ==, DFU_JOB_STATE_RUNNING);
	test_runner_release(&f->runner, dfu_job_get_id(a2), DFU_STATUS_UP_TO_DATE);
	test_runner_release(&f->runner, dfu_job_get_id(b1), DFU_STATUS_STAGED);
	WAIT_UNTIL(f->finished->len == 3);
	g_assert_cmpuint(f->runner.same_device_overlaps, ==, 0);
	g_assert_cmpint(dfu_job_get_state(a2), ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpuint(dfu_job_get_status_code(b1), ==, DFU_STATUS_STAGED);
}

static gboolean
all_imported(GPtrArray *jobs)
{
	for (guint i = 0; i < jobs->len; i++) {
		if (dfu_job_get_bundle_path(g_ptr_array_index(jobs, i)) == NULL)
			return FALSE;
	}
	return TRUE;
}

static guint
count_in_state(GPtrArray *jobs, DfuJobState state)
{
	guint n = 0;

	for (guint i = 0; i < jobs->len; i++)
		n += dfu_job_get_state(g_ptr_array_index(jobs, i)) == state;
	return n;
}

static DfuJob *
first_in_state(GPtrArray *jobs, DfuJobState state)
{
	for (guint i = 0; i < jobs->len; i++) {
		if (dfu_job_get_state(g_ptr_array_index(jobs, i)) == state)
			return g_ptr_array_index(jobs, i);
	}
	g_assert_not_reached();
}

static void
test_manager_parallel_limit(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(g_object_unref);

	f->config->max_parallel_jobs = 2;
	fixture_new_manager(f, script_hold);
	for (guint i = 0; i < 4; i++) {
		g_autofree char *target = g_strdup_printf("serial:/dev/tty%u", i);
		g_autofree char *contents = g_strdup_printf("image %u", i);
		g_ptr_array_add(jobs, submit(f, target, contents));
	}
	WAIT_UNTIL(f->runner.started == 2 && all_imported(jobs));
	drain_main_context();
	g_assert_cmpuint(f->runner.started, ==, 2);
	g_assert_cmpuint(dfu_manager_get_active_jobs(f->manager), ==, 2);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 2);
	/* which two run depends on which imports finished first: count, do not name */
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_RUNNING), ==, 2);

	test_runner_release(&f->runner, dfu_job_get_id(first_in_state(jobs, DFU_JOB_STATE_RUNNING)),
	                    DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 3);
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_RUNNING), ==, 2);
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_QUEUED), ==, 1);
}

static void
test_manager_link_limit(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(g_object_unref);
	g_autoptr(DfuJob) other = NULL;

	f->config->max_parallel_jobs = 8;
	fixture_new_manager(f, script_hold);
	for (guint i = 0; i < 4; i++) {
		g_autofree char *target = g_strdup_printf("ble:C4:12:34:56:78:9%u", i);
		g_autofree char *contents = g_strdup_printf("image %u", i);
		g_ptr_array_add(jobs, submit(f, target, contents));
	}
	other = submit(f, "serial:/dev/ttyX", "other image");
	WAIT_UNTIL(f->runner.started == 3 && all_imported(jobs));
	drain_main_context();
	/* two on the shared link, and the device elsewhere is not held up by it */
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_RUNNING), ==, 2);
	g_assert_cmpint(dfu_job_get_state(other), ==, DFU_JOB_STATE_RUNNING);

	test_runner_release(&f->runner, dfu_job_get_id(first_in_state(jobs, DFU_JOB_STATE_RUNNING)),
	                    DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 4);
	drain_main_context();
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_RUNNING), ==, 2);
	g_assert_cmpuint(count_in_state(jobs, DFU_JOB_STATE_QUEUED), ==, 1);
}

static void
test_manager_retry(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;

	fixture_new_manager(f, script_lost_twice);
	job = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_STAGED);
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 3);
	g_assert_cmpuint(f->runner.started, ==, 3);
	g_assert_true(history_contains(job, "attempt 2 failed: link-lost"));
}

static void
test_manager_retry_exhausted(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(DfuJob) other = NULL;
	gint32 rc = 0;
	g_autoptr(GError) error = NULL;
	DfuJobOptions options = {.max_attempts = 2};
	int fd;

	fixture_new_manager(f, script_always_lost);
	job = submit(f, "serial:/dev/ttyA", "image");
	fd = memfd_with("other");
	other = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyB", fd, &options, &error);
	close(fd);
	g_assert_no_error(error);
	WAIT_UNTIL(f->finished->len == 2);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_LINK_LOST);
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 3);
	g_assert_cmpstr(dfu_job_get_message(job), ==, "scripted link-lost");
	g_assert_true(g_variant_lookup(dfu_job_get_device_error(job), "rc", "i", &rc));
	g_assert_cmpint(rc, ==, 7);
	g_assert_cmpuint(dfu_job_get_attempt(other), ==, 2);
}

static void
test_manager_not_recoverable(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;

	fixture_new_manager(f, script_rejected);
	job = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_IMAGE_REJECTED);
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 1);
}

static void
test_manager_cancel(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) running = NULL;
	g_autoptr(DfuJob) queued = NULL;

	f->config->max_parallel_jobs = 1;
	fixture_new_manager(f, script_hold);
	running = submit(f, "serial:/dev/ttyA", "one");
	queued = submit(f, "serial:/dev/ttyB", "two");
	WAIT_UNTIL(f->runner.started == 1 && dfu_job_get_bundle_path(running) != NULL &&
	           dfu_job_get_bundle_path(queued) != NULL);
	/* imports finish in any order, and two devices do not wait for each other's import */
	if (dfu_job_get_state(running) != DFU_JOB_STATE_RUNNING) {
		DfuJob *tmp = running;
		running = queued;
		queued = tmp;
	}
	g_assert_cmpint(dfu_job_get_state(running), ==, DFU_JOB_STATE_RUNNING);

	g_assert_true(dfu_manager_cancel(f->manager, dfu_job_get_id(queued), &error));
	g_assert_no_error(error);
	g_assert_cmpint(dfu_job_get_state(queued), ==, DFU_JOB_STATE_CANCELLED);
	g_assert_cmpuint(dfu_job_get_status_code(queued), ==, DFU_STATUS_CANCELLED);
	g_assert_cmpuint(f->finished->len, ==, 1);

	g_assert_true(dfu_manager_cancel(f->manager, dfu_job_get_id(running), &error));
	g_assert_cmpint(dfu_job_get_state(running), ==, DFU_JOB_STATE_RUNNING);
	WAIT_UNTIL(f->finished->len == 2);
	g_assert_cmpint(dfu_job_get_state(running), ==, DFU_JOB_STATE_CANCELLED);
	g_assert_cmpuint(f->runner.started, ==, 1);

	g_assert_false(dfu_manager_cancel(f->manager, dfu_job_get_id(running), &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(dfu_manager_cancel(f->manager, 999, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND);
}

/* a device that succeeded as the cancel came: the job succeeded, with the engine's own words */
static void
test_manager_cancel_too_late(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;

	fixture_new_manager(f, script_hold);
	f->runner.success_message = "2 images sent; the nodes do not confirm";
	job = submit(f, "serial:/dev/ttyA", "one");
	WAIT_UNTIL(f->runner.started == 1);
	test_runner_release(&f->runner, dfu_job_get_id(job), DFU_STATUS_SUCCESS);
	g_assert_true(dfu_manager_cancel(f->manager, dfu_job_get_id(job), &error));
	g_assert_no_error(error);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_SUCCESS);
	g_assert_cmpstr(dfu_job_get_message(job), ==, "2 images sent; the nodes do not confirm");
}

static void
test_manager_cancel_while_importing(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autofree char *file = g_build_filename(f->dir, "large.bin", NULL);
	g_autofree char *bundles = NULL;
	g_autoptr(GDir) dir = NULL;
	int fd;

	fixture_new_manager(f, script_success);
	/* large enough to be still copying when the cancel comes */
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	g_assert_cmpint(ftruncate(fd, DFU_BUNDLE_IMPORT_MAX_SIZE), ==, 0);
	job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, NULL, &error);
	close(fd);
	g_assert_no_error(error);
	g_assert_true(dfu_manager_cancel(f->manager, dfu_job_get_id(job), &error));
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_CANCELLED);
	drain_main_context();
	g_assert_cmpuint(f->runner.started, ==, 0);
	/* the partial copy is gone */
	bundles = dfu_bundle_import_dir(f->config->cache_dir);
	dir = g_dir_open(bundles, 0, NULL);
	g_assert_true(dir == NULL || g_dir_read_name(dir) == NULL);
}

static char *
job_file(Fixture *f, guint64 id)
{
	g_autofree char *name = g_strdup_printf("%" G_GUINT64_FORMAT ".json", id);
	return g_build_filename(f->config->state_dir, "jobs", name, NULL);
}

static void
test_manager_restart(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(DfuJob) reloaded = NULL;
	g_autoptr(DfuStore) store = NULL;
	g_autoptr(DfuJob) orphan = NULL;
	g_autofree char *path = NULL;
	g_autofree char *contents = NULL;
	g_autoptr(DfuJob) on_disk = NULL;
	guint64 id;
	DfuJob *unstored;

	fixture_new_manager(f, script_hold);
	job = submit(f, "serial:/dev/ttyA", "image");
	id = dfu_job_get_id(job);
	WAIT_UNTIL(f->runner.started == 1);
	dfu_job_set_progress(job, 100, 400);
	fixture_stop_manager(f);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_RUNNING);
	g_assert_cmpuint(f->finished->len, ==, 0);

	path = job_file(f, id);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	on_disk = dfu_job_new_from_json(contents, &error);
	g_assert_no_error(error);
	g_assert_cmpint(dfu_job_get_state(on_disk), ==, DFU_JOB_STATE_RUNNING);
	g_assert_cmpuint(dfu_job_get_bytes_done(on_disk), ==, 100);

	/* a job whose bundle never reached the cache */
	store = dfu_store_new(f->config->state_dir, &error);
	orphan = dfu_job_new(id + 1, "serial:/dev/ttyB", "", NULL, NULL);
	dfu_job_set_phase(orphan, DFU_JOB_PHASE_FETCHING);
	g_assert_true(dfu_store_save_job(store, orphan, &error));

	fixture_new_manager(f, script_success);
	reloaded = g_object_ref(dfu_manager_lookup(f->manager, id));
	g_assert_true(reloaded != job);
	WAIT_UNTIL(f->finished->len == 2);
	g_assert_cmpint(dfu_job_get_state(reloaded), ==, DFU_JOB_STATE_SUCCEEDED);
	/* a shutdown is no fault of the job's: the attempt resumes under its number */
	g_assert_cmpuint(dfu_job_get_attempt(reloaded), ==, 1);
	g_assert_true(history_contains(reloaded, "daemon stopped during attempt 1; it resumes"));
	unstored = dfu_manager_lookup(f->manager, id + 1);
	g_assert_cmpint(dfu_job_get_state(unstored), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(dfu_job_get_status_code(unstored), ==, DFU_STATUS_BUNDLE_UNREADABLE);
	g_assert_nonnull(strstr(dfu_job_get_message(unstored), "before the bundle was stored"));

	/* ids are never reused */
	g_clear_object(&job);
	job = submit(f, "serial:/dev/ttyA", "again");
	g_assert_cmpuint(dfu_job_get_id(job), ==, id + 2);
}

/* finished jobs the history trimmed are not put back at every start, even when they share
 * the oldest kept entry's finish time */
static void
test_manager_history_trimmed(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = NULL;
	g_autoptr(GRegex) finished = g_regex_new("\"finished\":[0-9]+", 0, 0, NULL);
	g_autofree char *when =
	        g_strdup_printf("\"finished\":%" G_GINT64_FORMAT, g_get_real_time() - G_USEC_PER_SEC);
	g_autofree char *history_path = g_build_filename(f->config->state_dir, "history", NULL);
	GStatBuf before, after;

	f->config->history_size = 2;
	store = dfu_store_new(f->config->state_dir, &error);
	g_assert_no_error(error);
	for (guint64 id = 1; id <= 5; id++) {
		g_autoptr(DfuJob) job = dfu_job_new(id, "serial:/dev/ttyA", "image", NULL, NULL);
		g_autofree char *path = job_file(f, id);
		g_autofree char *contents = NULL;
		g_autofree char *same_time = NULL;

		dfu_job_set_state(job, DFU_JOB_STATE_SUCCEEDED);
		g_assert_true(dfu_store_save_job(store, job, &error));
		g_assert_no_error(error);
		g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
		same_time = g_regex_replace_literal(finished, contents, -1, 0, when, 0, NULL);
		g_assert_true(g_file_set_contents(path, same_time, -1, NULL));
	}

	/* the first start records them all and the next one trims the file to what it keeps */
	for (guint i = 0; i < 2; i++) {
		fixture_new_manager(f, script_success);
		fixture_stop_manager(f);
	}
	g_assert_cmpint(g_stat(history_path, &before), ==, 0);
	fixture_new_manager(f, script_success);
	fixture_stop_manager(f);
	g_assert_cmpint(g_stat(history_path, &after), ==, 0);
	/* neither appended to nor rewritten */
	g_assert_cmpuint(after.st_ino, ==, before.st_ino);
	g_assert_cmpint(after.st_size, ==, before.st_size);
}

/* jobs without a bundle: they wait for their device like updates, and survive a restart */
static void
test_manager_device_jobs(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) update = NULL;
	g_autoptr(DfuJob) refresh = NULL;
	g_autoptr(DfuJob) reset = NULL;
	DfuJob *reloaded;
	guint64 reset_id;

	fixture_new_manager(f, script_hold);
	/* a runner that runs no other kinds runs updates only */
	g_assert_null(
	        dfu_manager_submit_action(f->manager, "serial:/dev/ttyA", DFU_JOB_KIND_REFRESH, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	fixture_stop_manager(f);
	g_clear_error(&error);

	f->runner.runs_kinds = TRUE;
	fixture_new_manager(f, script_hold);
	g_assert_null(
	        dfu_manager_submit_action(f->manager, "ble:C4:12:34:56:78:9A", DFU_JOB_KIND_RESET, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "reset is not supported on smp targets"));

	update = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(f->runner.started == 1);
	refresh = dfu_manager_submit_action(f->manager, "serial:/dev/ttyA", DFU_JOB_KIND_REFRESH, NULL);
	g_assert_nonnull(refresh);
	g_assert_cmpint(dfu_job_get_kind(refresh), ==, DFU_JOB_KIND_REFRESH);
	g_assert_cmpstr(dfu_job_get_source(refresh), ==, "refresh");
	drain_main_context();
	/* the update holds the device */
	g_assert_cmpuint(f->runner.started, ==, 1);
	g_assert_cmpint(dfu_job_get_state(refresh), ==, DFU_JOB_STATE_QUEUED);
	test_runner_release(&f->runner, dfu_job_get_id(update), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 2);
	g_assert_cmpint(dfu_job_get_state(update), ==, DFU_JOB_STATE_SUCCEEDED);
	test_runner_release(&f->runner, dfu_job_get_id(refresh), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(dfu_job_is_finished(refresh));
	g_assert_cmpuint(dfu_job_get_status_code(refresh), ==, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(f->runner.same_device_overlaps, ==, 0);

	/* a job without a bundle is no job whose bundle got lost: it runs again after a restart */
	reset = dfu_manager_submit_action(f->manager, "serial:/dev/ttyA", DFU_JOB_KIND_RESET, NULL);
	reset_id = dfu_job_get_id(reset);
	WAIT_UNTIL(f->runner.started == 3);
	fixture_stop_manager(f);
	fixture_new_manager(f, script_up_to_date);
	reloaded = dfu_manager_lookup(f->manager, reset_id);
	g_assert_nonnull(reloaded);
	g_assert_cmpint(dfu_job_get_kind(reloaded), ==, DFU_JOB_KIND_RESET);
	WAIT_UNTIL(dfu_job_is_finished(reloaded));
	g_assert_cmpint(dfu_job_get_state(reloaded), ==, DFU_JOB_STATE_SUCCEEDED);
}

static void
test_manager_expiry(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) first = NULL;
	g_autoptr(DfuJob) second = NULL;
	g_autoptr(DfuJob) third = NULL;
	g_autofree char *shared_bundle = NULL;
	g_autofree char *first_file = NULL;

	f->config->max_finished_jobs = 1;
	fixture_new_manager(f, script_success);
	first = submit(f, "serial:/dev/ttyA", "same image");
	WAIT_UNTIL(f->finished->len == 1);
	shared_bundle = g_strdup(dfu_job_get_bundle_path(first));
	first_file = job_file(f, dfu_job_get_id(first));
	g_assert_true(g_file_test(first_file, G_FILE_TEST_EXISTS));

	second = submit(f, "serial:/dev/ttyA", "same image");
	WAIT_UNTIL(f->removed->len == 1);
	g_assert_true(g_ptr_array_index(f->removed, 0) == first);
	g_assert_cmpstr(dfu_job_get_bundle_path(second), ==, shared_bundle);
	g_assert_false(g_file_test(first_file, G_FILE_TEST_EXISTS));
	g_assert_null(dfu_manager_lookup(f->manager, dfu_job_get_id(first)));
	/* the second job still uses the cached bundle */
	g_assert_true(g_file_test(shared_bundle, G_FILE_TEST_IS_REGULAR));

	third = submit(f, "serial:/dev/ttyA", "new image");
	WAIT_UNTIL(f->removed->len == 2);
	/* bundles outlive their jobs in the cache */
	g_assert_true(g_file_test(shared_bundle, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(dfu_job_get_bundle_path(third), G_FILE_TEST_IS_REGULAR));
}

static void
test_manager_expiry_age(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;

	f->config->keep_finished_sec = 0;
	fixture_new_manager(f, script_success);
	job = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(f->removed->len == 1);
	g_assert_cmpuint(f->finished->len, ==, 1);
	g_assert_true(g_file_test(dfu_job_get_bundle_path(job), G_FILE_TEST_IS_REGULAR));
}

static void
assert_bundle(DfuJob *job, const char *contents)
{
	g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, contents, -1);
	g_autofree char *name = g_strconcat(sha, ".bundle", NULL);
	g_autofree char *stored = NULL;

	g_assert_true(g_str_has_suffix(dfu_job_get_bundle_path(job), name));
	g_assert_true(g_file_get_contents(dfu_job_get_bundle_path(job), &stored, NULL, NULL));
	g_assert_cmpstr(stored, ==, contents);
}

static DfuJob *
submit_fd(Fixture *f, int fd)
{
	g_autoptr(GError) error = NULL;
	DfuJob *job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, NULL, &error);

	g_assert_no_error(error);
	return job;
}

static void
test_manager_import(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) from_memfd = NULL;
	g_autoptr(DfuJob) from_file = NULL;
	g_autofree char *file = g_build_filename(f->dir, "bundle.bin", NULL);
	int fd;

	fixture_new_manager(f, script_success);
	/* read from offset 0 even when the caller's offset is at the end */
	fd = memfd_with("memfd bundle");
	from_memfd = submit_fd(f, fd);
	close(fd);

	g_assert_true(g_file_set_contents(file, "file bundle", -1, NULL));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(lseek(fd, 5, SEEK_SET), ==, 5);
	from_file = submit_fd(f, fd);
	close(fd);

	WAIT_UNTIL(f->finished->len == 2);
	assert_bundle(from_memfd, "memfd bundle");
	assert_bundle(from_file, "file bundle");
}

/* refused with BUNDLE_UNREADABLE at Submit, before any job exists; closes fd */
static void
assert_submit_refused(Fixture *f, int fd, const char *what)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, NULL, &error);

	close(fd);
	g_assert_null(job);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE);
	g_assert_nonnull(strstr(error->message, what));
}

static void
test_manager_import_unreadable(Fixture *f, gconstpointer data)
{
	g_autofree char *file = g_build_filename(f->dir, "empty.bin", NULL);
	int fds[2];

	fixture_new_manager(f, script_success);
	assert_submit_refused(f, open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "a directory");
	g_assert_true(g_file_set_contents(file, "", -1, NULL));
	assert_submit_refused(f, open(file, O_WRONLY | O_CLOEXEC), "not open for reading");
	assert_submit_refused(f, open(file, O_RDONLY | O_CLOEXEC), "empty");
	/* a pipe whose writer never closes would keep an import reading forever */
	g_assert_cmpint(pipe(fds), ==, 0);
	assert_submit_refused(f, fds[0], "a pipe");
	close(fds[1]);
	drain_main_context();
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 0);
	g_assert_cmpuint(f->finished->len, ==, 0);
}

static void
test_manager_import_storage_error(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;
	int fd;

	/* the cache folder cannot be created below a plain file */
	g_assert_true(g_file_set_contents(f->config->cache_dir, "", -1, NULL));
	fixture_new_manager(f, script_success);
	fd = memfd_with("image");
	job = submit_fd(f, fd);
	close(fd);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_STORAGE_ERROR);
	g_assert_nonnull(strstr(dfu_job_get_message(job), f->config->cache_dir));
}

static DfuFetcher *
fixture_new_fetcher(Fixture *f)
{
	DfuFetchSettings settings = {.allow_http = f->config->http_allow_plain};

	if (f->fetcher == NULL)
		f->fetcher = dfu_fetcher_new(&settings);
	dfu_manager_set_fetcher(f->manager, f->fetcher);
	return f->fetcher;
}

static void
test_manager_url_refused(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	DfuJobOptions bad_digest = {.confirm = TRUE, .expected_sha256 = (char *)"abc"};
	DfuJobOptions sig_url = {.confirm = TRUE, .signature_url = (char *)"https://127.0.0.1/a.sig"};
	int fd;

	fixture_new_manager(f, script_success);
	g_assert_null(
	        dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", "https://127.0.0.1/a", NULL, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_clear_error(&error);

	fixture_new_fetcher(f);
	g_assert_null(
	        dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", "http://127.0.0.1/a", NULL, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "plain http"));
	g_clear_error(&error);
	g_assert_null(
	        dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", "ftp://127.0.0.1/a", NULL, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", "https://127.0.0.1/a",
	                                     &bad_digest, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "expected-sha256"));
	g_clear_error(&error);
	fd = memfd_with("image");
	g_assert_null(dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, &sig_url, &error));
	close(fd);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 0);
}

/* nothing listens on port 1: every download fails at once, and may pass later */
#define UNREACHABLE_URL "https://127.0.0.1:1/app.bin"

static void
test_manager_url_retries(Fixture *f, gconstpointer data)
{
	DfuJobOptions options = {.confirm = TRUE, .max_attempts = 2};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	guint32 curl_code = 0;

	fixture_new_manager(f, script_success);
	fixture_new_fetcher(f);
	job = dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", UNREACHABLE_URL, &options, &error);
	g_assert_no_error(error);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_QUEUED);
	g_assert_cmpint(dfu_job_get_phase(job), ==, DFU_JOB_PHASE_FETCHING);
	g_assert_cmpstr(dfu_job_get_source(job), ==, UNREACHABLE_URL);
	g_assert_cmpstr(dfu_job_get_url(job), ==, UNREACHABLE_URL);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_FETCH_FAILED);
	g_assert_true(g_variant_lookup(dfu_job_get_device_error(job), "curl-code", "u", &curl_code));
	g_assert_cmpuint(curl_code, ==, 7);
	g_assert_true(history_contains(job, "download 1 failed: fetch-failed"));
	g_assert_false(history_contains(job, "download 2 failed"));
	g_assert_cmpuint(f->runner.started, ==, 0);
}

static char *
sha256_of(const char *contents)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, contents, -1);
}

/* a digest already in the cache needs no download, whatever the URL */
static void
test_manager_url_cached(Fixture *f, gconstpointer data)
{
	g_autofree char *digest = sha256_of("cached image");
	DfuJobOptions options = {.confirm = TRUE, .expected_sha256 = digest};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) first = NULL;
	g_autoptr(DfuJob) job = NULL;

	f->config->signature_policy = DFU_SIGNATURE_POLICY_OFF;
	fixture_new_manager(f, script_success);
	fixture_new_fetcher(f);
	first = submit(f, "serial:/dev/ttyA", "cached image");
	WAIT_UNTIL(f->finished->len == 1);
	job = dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", UNREACHABLE_URL, &options, &error);
	g_assert_no_error(error);
	WAIT_UNTIL(f->finished->len == 2);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_SUCCESS);
	g_assert_cmpstr(dfu_job_get_bundle_path(job), ==, dfu_job_get_bundle_path(first));
	g_assert_true(history_contains(job, "found in the cache"));
	g_assert_null(dfu_job_get_signature_path(job));
}

/* a download cut by the daemon's stop is taken up again on the next start */
static void
test_manager_url_restart(Fixture *f, gconstpointer data)
{
	g_autofree char *digest = sha256_of("image");
	DfuJobOptions options = {.confirm = TRUE, .expected_sha256 = digest};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) seed = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(DfuStore) store = NULL;
	DfuJob *reloaded;

	f->config->signature_policy = DFU_SIGNATURE_POLICY_OFF;
	fixture_new_manager(f, script_success);
	seed = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(f->finished->len == 1);
	fixture_stop_manager(f);

	store = dfu_store_new(f->config->state_dir, &error);
	job = dfu_job_new(7, "serial:/dev/ttyB", UNREACHABLE_URL, NULL, &options);
	dfu_job_set_url(job, UNREACHABLE_URL);
	dfu_job_set_phase(job, DFU_JOB_PHASE_FETCHING);
	g_assert_true(dfu_store_save_job(store, job, &error));
	g_assert_no_error(error);

	g_ptr_array_set_size(f->finished, 0);
	f->fetcher = dfu_fetcher_new(&(DfuFetchSettings){0});
	fixture_new_manager(f, script_success);
	reloaded = dfu_manager_lookup(f->manager, 7);
	g_assert_nonnull(reloaded);
	g_assert_cmpstr(dfu_job_get_url(reloaded), ==, UNREACHABLE_URL);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpuint(dfu_job_get_status_code(reloaded), ==, DFU_STATUS_SUCCESS);
	g_assert_true(history_contains(reloaded, "fetching again"));
}

/* a server that takes the connection and never answers */
static GSocket *
silent_server(guint16 *port)
{
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	GSocket *sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);

	g_assert_true(g_socket_bind(sock, any, TRUE, NULL));
	g_assert_true(g_socket_listen(sock, NULL));
	bound = g_socket_get_local_address(sock, NULL);
	*port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	return sock;
}

static void
test_manager_url_cancel(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) server = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autofree char *url = NULL;
	guint16 port = 0;

	server = silent_server(&port);
	url = g_strdup_printf("http://127.0.0.1:%u/app.bin", port);
	f->config->http_allow_plain = TRUE;
	fixture_new_manager(f, script_success);
	fixture_new_fetcher(f);
	job = dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", url, NULL, &error);
	g_assert_no_error(error);
	drain_main_context();
	g_assert_cmpint(dfu_job_get_phase(job), ==, DFU_JOB_PHASE_FETCHING);
	g_assert_true(dfu_manager_cancel(f->manager, dfu_job_get_id(job), &error));
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_CANCELLED);
	drain_main_context();
	g_assert_cmpuint(f->finished->len, ==, 1);
	g_assert_cmpuint(f->runner.started, ==, 0);
}

static void
test_manager_signature_bytes(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) sig = g_bytes_new_static("detached signature", 18);
	DfuJobOptions options = {.confirm = TRUE, .signature = sig};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autofree char *stored = NULL;
	g_autofree char *path = NULL;
	int fd = memfd_with("image");

	fixture_new_manager(f, script_hold);
	job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, &options, &error);
	close(fd);
	g_assert_no_error(error);
	path = g_strdup(dfu_job_get_signature_path(job));
	g_assert_nonnull(path);
	g_assert_true(g_file_get_contents(path, &stored, NULL, NULL));
	g_assert_cmpstr(stored, ==, "detached signature");
	WAIT_UNTIL(f->runner.started == 1);
	f->config->keep_finished_sec = 0;
	test_runner_release(&f->runner, dfu_job_get_id(job), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->removed->len == 1);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void
test_manager_expected_sha256(Fixture *f, gconstpointer data)
{
	g_autofree char *right = sha256_of("image");
	g_autofree char *wrong = sha256_of("other");
	DfuJobOptions good = {.confirm = TRUE, .expected_sha256 = right};
	DfuJobOptions bad = {.confirm = TRUE, .expected_sha256 = wrong};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) ok = NULL;
	g_autoptr(DfuJob) mismatch = NULL;
	g_autofree char *changed_digest = NULL;
	g_autofree char *cached = NULL;
	int fd;

	fixture_new_manager(f, script_success);
	fd = memfd_with("image");
	ok = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, &good, &error);
	close(fd);
	g_assert_no_error(error);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_cmpuint(dfu_job_get_status_code(ok), ==, DFU_STATUS_SUCCESS);

	fd = memfd_with("image, changed");
	mismatch = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, &bad, &error);
	close(fd);
	g_assert_no_error(error);
	WAIT_UNTIL(f->finished->len == 2);
	g_assert_cmpuint(dfu_job_get_status_code(mismatch), ==, DFU_STATUS_CHECKSUM_MISMATCH);
	changed_digest = sha256_of("image, changed");
	cached = dfu_bundle_import_path(f->config->cache_dir, changed_digest);
	g_assert_false(g_file_test(cached, G_FILE_TEST_EXISTS));
}

static char *
cached_path(Fixture *f, const char *contents)
{
	g_autofree char *digest = sha256_of(contents);

	return dfu_bundle_import_path(f->config->cache_dir, digest);
}

/* over MaxSize the least recently used bundle goes, unless a live job holds it */
static void
test_manager_cache_trim(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) held = NULL;
	g_autoptr(DfuJob) done = NULL;
	g_autoptr(DfuJob) newest = NULL;
	g_autofree char *held_path = cached_path(f, "held 10 b");
	g_autofree char *done_path = cached_path(f, "done 10 b");
	g_autofree char *newest_path = cached_path(f, "last 10 b");

	f->config->cache_max_bytes = 25;
	fixture_new_manager(f, script_hold);
	held = submit(f, "serial:/dev/ttyA", "held 10 b");
	WAIT_UNTIL(f->runner.started == 1);
	done = submit(f, "serial:/dev/ttyB", "done 10 b");
	WAIT_UNTIL(f->runner.started == 2);
	test_runner_release(&f->runner, dfu_job_get_id(done), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->finished->len == 1);
	g_assert_true(g_file_test(done_path, G_FILE_TEST_IS_REGULAR));
	newest = submit(f, "serial:/dev/ttyC", "last 10 b");
	WAIT_UNTIL(dfu_job_get_bundle_path(newest) != NULL);
	g_assert_true(g_file_test(held_path, G_FILE_TEST_IS_REGULAR));
	g_assert_false(g_file_test(done_path, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(newest_path, G_FILE_TEST_IS_REGULAR));
}

/* leaves the running attempt of job id on disk as the daemon's death would: not stopped cleanly */
static void
fixture_crash_manager(Fixture *f, guint64 id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = NULL;
	g_autoptr(DfuJob) on_disk = NULL;
	g_autofree char *path = job_file(f, id);
	g_autofree char *contents = NULL;

	fixture_stop_manager(f);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	on_disk = dfu_job_new_from_json(contents, &error);
	g_assert_no_error(error);
	g_assert_true(dfu_job_get_stopped_cleanly(on_disk));
	dfu_job_set_stopped_cleanly(on_disk, FALSE);
	store = dfu_store_new(f->config->state_dir, &error);
	g_assert_true(dfu_store_save_job(store, on_disk, &error));
	g_assert_no_error(error);
}

static void
test_manager_crash_loop(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) first = NULL;
	g_autoptr(DfuJob) same = NULL;
	g_autoptr(DfuJob) other = NULL;
	g_autofree char *bundle = NULL;
	g_autofree char *digest = NULL;
	g_autofree char *quarantined = NULL;
	DfuJob *job;
	guint64 id;

	f->config->max_attempts = 2;
	fixture_new_manager(f, script_hold);
	first = submit(f, "serial:/dev/ttyA", "deadly image");
	id = dfu_job_get_id(first);
	WAIT_UNTIL(f->runner.started == 1);
	bundle = g_strdup(dfu_job_get_bundle_path(first));

	/* the first death costs an attempt, and the job goes on */
	fixture_crash_manager(f, id);
	fixture_new_manager(f, script_hold);
	job = dfu_manager_lookup(f->manager, id);
	WAIT_UNTIL(f->runner.started == 2);
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 2);
	g_assert_true(history_contains(job, "attempt 1 ended with the daemon's death while uploading"));

	/* the second reaches max-attempts: failed, not resumed, the bundle out of the cache */
	fixture_crash_manager(f, id);
	fixture_new_manager(f, script_success);
	job = dfu_manager_lookup(f->manager, id);
	g_assert_cmpint(dfu_job_get_state(job), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_CRASH_LOOP);
	g_assert_nonnull(strstr(dfu_job_get_message(job), "died in 2 of the job's 2 attempts"));
	g_assert_cmpuint(f->runner.started, ==, 2);
	g_assert_false(g_file_test(bundle, G_FILE_TEST_EXISTS));
	digest = g_path_get_basename(bundle);
	quarantined = g_build_filename(f->config->cache_dir, "quarantine", digest, NULL);
	g_assert_true(g_file_test(quarantined, G_FILE_TEST_IS_REGULAR));

	/* the same bytes again are refused without running; other jobs run as usual */
	same = submit(f, "serial:/dev/ttyB", "deadly image");
	other = submit(f, "serial:/dev/ttyB", "good image");
	WAIT_UNTIL(dfu_job_is_finished(same) && dfu_job_is_finished(other));
	g_assert_cmpuint(dfu_job_get_status_code(same), ==, DFU_STATUS_CRASH_LOOP);
	g_assert_cmpuint(dfu_job_get_status_code(other), ==, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(f->runner.started, ==, 3);
}

/* jobs that ran when the daemon died run one at a time, so that the next death names its job */
static void
test_manager_crash_suspects_alone(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) a = NULL;
	g_autoptr(DfuJob) b = NULL;
	g_autoptr(DfuJob) c = NULL;
	guint64 id_a;
	guint64 id_b;

	fixture_new_manager(f, script_hold);
	a = submit(f, "serial:/dev/ttyA", "image a");
	b = submit(f, "serial:/dev/ttyB", "image b");
	id_a = dfu_job_get_id(a);
	id_b = dfu_job_get_id(b);
	WAIT_UNTIL(f->runner.started == 2);
	fixture_crash_manager(f, id_a);
	fixture_crash_manager(f, id_b);

	fixture_new_manager(f, script_hold);
	c = submit(f, "serial:/dev/ttyC", "image c");
	WAIT_UNTIL(f->runner.started == 3);
	drain_main_context();
	g_assert_cmpuint(f->runner.started, ==, 3);
	g_assert_cmpint(dfu_job_get_state(dfu_manager_lookup(f->manager, id_b)), ==, DFU_JOB_STATE_QUEUED);
	g_assert_cmpint(dfu_job_get_state(c), ==, DFU_JOB_STATE_QUEUED);

	/* b runs alone once a is done, and c after it */
	test_runner_release(&f->runner, id_a, DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 4);
	drain_main_context();
	g_assert_cmpuint(f->runner.started, ==, 4);
	test_runner_release(&f->runner, id_b, DFU_STATUS_SUCCESS);
	WAIT_UNTIL(f->runner.started == 5);
	g_assert_cmpint(dfu_job_get_state(c), ==, DFU_JOB_STATE_RUNNING);
	test_runner_release(&f->runner, dfu_job_get_id(c), DFU_STATUS_SUCCESS);
	WAIT_UNTIL(dfu_job_is_finished(c));
}

static guint
script_not_back_then_silent(DfuJob *job, guint attempt)
{
	return attempt == 1 ? DFU_STATUS_DEVICE_NOT_BACK : DFU_STATUS_RESPONSE_TIMEOUT;
}

/* the final code is the most telling cause across the attempts, not the last one */
static void
test_manager_telling_cause(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = NULL;

	fixture_new_manager(f, script_not_back_then_silent);
	job = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(dfu_job_is_finished(job));
	g_assert_cmpuint(dfu_job_get_attempt(job), ==, 3);
	g_assert_cmpuint(dfu_job_get_status_code(job), ==, DFU_STATUS_DEVICE_NOT_BACK);
	g_assert_nonnull(strstr(dfu_job_get_message(job), "scripted device-not-back"));
	g_assert_nonnull(strstr(dfu_job_get_message(job), "the last attempt: response-timeout"));
}

/* the first attempt marks the image for test and loses the link; the retry finds it running */
static guint
script_installed_then_lost(DfuJob *job, guint attempt)
{
	if (attempt == 1) {
		dfu_job_set_phase(job, DFU_JOB_PHASE_TESTING);
		return DFU_STATUS_LINK_LOST;
	}
	return DFU_STATUS_UP_TO_DATE;
}

static void
test_manager_true_outcome(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) installed = NULL;
	g_autoptr(DfuJob) untouched = NULL;

	fixture_new_manager(f, script_installed_then_lost);
	installed = submit(f, "serial:/dev/ttyA", "image");
	WAIT_UNTIL(dfu_job_is_finished(installed));
	g_assert_cmpuint(dfu_job_get_status_code(installed), ==, DFU_STATUS_SUCCESS);
	g_assert_true(history_contains(installed, "an earlier attempt of this job installed"));
	fixture_stop_manager(f);

	/* a device that ran the image before the job touched it is up to date */
	fixture_new_manager(f, script_up_to_date);
	untouched = submit(f, "serial:/dev/ttyB", "other image");
	WAIT_UNTIL(dfu_job_is_finished(untouched));
	g_assert_cmpuint(dfu_job_get_status_code(untouched), ==, DFU_STATUS_UP_TO_DATE);
}

/* refused with INVALID_ARGUMENT and a message containing words, before any job exists */
static void
assert_options_refused(Fixture *f, const DfuJobOptions *options, const char *words)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	int fd = memfd_with("image");

	job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, options, &error);
	close(fd);
	g_assert_null(job);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	if (strstr(error->message, words) == NULL)
		g_error("'%s' does not say '%s'", error->message, words);
}

static void
test_manager_option_bounds(Fixture *f, gconstpointer data)
{
	g_autofree char *long_name = g_strnfill(DFU_JOB_SOURCE_NAME_MAX + 1, 'n');
	g_autofree char *longest_name = g_strnfill(DFU_JOB_SOURCE_NAME_MAX, 'n');
	g_autofree char *long_digest = g_strnfill(1024 * 1024, 'a');
	g_autofree char *long_url = g_strnfill(DFU_JOB_URL_MAX + 1, 'u');
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	DfuJobOptions options = {.confirm = TRUE, .max_attempts = DFU_JOB_MAX_ATTEMPTS + 1};
	int fd;

	fixture_new_manager(f, script_success);
	assert_options_refused(f, &options, "max-attempts is 101, more than the 100 allowed");
	options.max_attempts = G_MAXUINT32;
	assert_options_refused(f, &options, "max-attempts is 4294967295");
	options.max_attempts = 0;
	options.name = long_name;
	assert_options_refused(f, &options, "source-name has 256 bytes, more than the 255 allowed");
	options.name = "caf\xc3";
	assert_options_refused(f, &options, "source-name is not valid UTF-8");
	options.name = "app.bin\n[FAKE] job succeeded";
	assert_options_refused(f, &options, "source-name contains a control character");
	options.name = NULL;
	options.expected_sha256 = long_digest;
	assert_options_refused(f, &options, "not 1048576 characters");
	options.expected_sha256 = NULL;
	fixture_new_fetcher(f);
	g_assert_null(dfu_manager_submit_url(f->manager, "serial:/dev/ttyA", long_url, NULL, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(dfu_manager_get_queue_length(f->manager), ==, 0);

	/* the bounds themselves are allowed */
	options.max_attempts = DFU_JOB_MAX_ATTEMPTS;
	options.name = longest_name;
	fd = memfd_with("image");
	g_clear_error(&error);
	job = dfu_manager_submit_fd(f->manager, "serial:/dev/ttyA", fd, &options, &error);
	close(fd);
	g_assert_no_error(error);
	g_assert_cmpstr(dfu_job_get_source(job), ==, longest_name);
	WAIT_UNTIL(f->finished->len == 1);
}

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main(int argc, char **argv)
{
	/* every job write is fsynced; on tmpfs that costs nothing and the suite stays fast */
	if (g_getenv("TMPDIR") == NULL && g_access("/dev/shm", W_OK) == 0)
		g_setenv("TMPDIR", "/dev/shm", TRUE);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/core/manager/retry-delay", test_manager_retry_delay);
	ADD("/core/manager/success", test_manager_success);
	ADD("/core/manager/bad-submit", test_manager_bad_submit);
	ADD("/core/manager/device-jobs", test_manager_device_jobs);
	ADD("/core/manager/named-device", test_manager_named_device);
	ADD("/core/manager/one-per-device", test_manager_one_per_device);
	ADD("/core/manager/parallel-limit", test_manager_parallel_limit);
	ADD("/core/manager/link-limit", test_manager_link_limit);
	ADD("/core/manager/retry", test_manager_retry);
	ADD("/core/manager/retry-exhausted", test_manager_retry_exhausted);
	ADD("/core/manager/not-recoverable", test_manager_not_recoverable);
	ADD("/core/manager/cancel", test_manager_cancel);
	ADD("/core/manager/cancel-too-late", test_manager_cancel_too_late);
	ADD("/core/manager/cancel-while-importing", test_manager_cancel_while_importing);
	ADD("/core/manager/restart", test_manager_restart);
	ADD("/core/manager/history-trimmed", test_manager_history_trimmed);
	ADD("/core/manager/crash-loop", test_manager_crash_loop);
	ADD("/core/manager/crash-suspects-alone", test_manager_crash_suspects_alone);
	ADD("/core/manager/true-outcome", test_manager_true_outcome);
	ADD("/core/manager/telling-cause", test_manager_telling_cause);
	ADD("/core/manager/expiry", test_manager_expiry);
	ADD("/core/manager/expiry-age", test_manager_expiry_age);
	ADD("/core/manager/import", test_manager_import);
	ADD("/core/manager/option-bounds", test_manager_option_bounds);
	ADD("/core/manager/import-unreadable", test_manager_import_unreadable);
	ADD("/core/manager/import-storage-error", test_manager_import_storage_error);
	ADD("/core/manager/url-refused", test_manager_url_refused);
	ADD("/core/manager/url-retries", test_manager_url_retries);
	ADD("/core/manager/url-cached", test_manager_url_cached);
	ADD("/core/manager/url-restart", test_manager_url_restart);
	ADD("/core/manager/url-cancel", test_manager_url_cancel);
	ADD("/core/manager/signature-bytes", test_manager_signature_bytes);
	ADD("/core/manager/expected-sha256", test_manager_expected_sha256);
	ADD("/core/manager/cache-trim", test_manager_cache_trim);
	return g_test_run();
}
