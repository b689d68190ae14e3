/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"
#include "dfu-error.h"
#include "dfu-store.h"

static GPtrArray *warnings;

static gboolean
warned_about(const char *text)
{
	for (guint i = 0; i < warnings->len; i++) {
		if (strstr(g_ptr_array_index(warnings, i), text) != NULL)
			return TRUE;
	}
	return FALSE;
}

typedef struct {
	char *dir;
	char *jobs_dir;
} Fixture;

/* every usable job, as the manager loads them: the list of names, then each file */
static GPtrArray *
load_all(DfuStore *store, GError **error)
{
	g_autoptr(GArray) ids = dfu_store_list_jobs(store, error);
	GPtrArray *jobs;

	if (ids == NULL)
		return NULL;
	jobs = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < ids->len; i++) {
		DfuJob *job = dfu_store_load_job(store, g_array_index(ids, guint64, i));

		if (job != NULL)
			g_ptr_array_add(jobs, job);
	}
	return jobs;
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-store-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->jobs_dir = g_build_filename(f->dir, "jobs", NULL);
	g_ptr_array_set_size(warnings, 0);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	g_chmod(f->jobs_dir, 0700);
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->jobs_dir);
}

static DfuJob *
make_job(guint64 id)
{
	g_autoptr(DfuJob) job = dfu_job_new(id, "serial:/dev/ttyACM0", "app.bin", "/c/a.bundle", NULL);

	dfu_job_set_progress(job, 10, 20);
	dfu_job_log(job, "made %" G_GUINT64_FORMAT, id);
	return g_steal_pointer(&job);
}

static void
test_store_round_trip(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = dfu_store_new(f->dir, &error);
	g_autoptr(GPtrArray) jobs = NULL;
	g_autofree char *ignored = g_build_filename(f->jobs_dir, "notes.txt", NULL);

	g_assert_no_error(error);
	g_assert_cmpuint(dfu_store_load_next_id(store, &error), ==, 1);
	for (guint64 id = 12; id >= 10; id--) {
		g_autoptr(DfuJob) job = make_job(id);
		g_assert_true(dfu_store_save_job(store, job, &error));
		g_assert_no_error(error);
	}
	g_assert_true(g_file_set_contents(ignored, "x", -1, NULL));
	g_assert_true(dfu_store_save_next_id(store, 13, &error));
	g_assert_true(dfu_store_delete_job(store, 11, &error));
	g_assert_true(dfu_store_delete_job(store, 99, &error));
	g_assert_no_error(error);

	jobs = load_all(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(jobs->len, ==, 2);
	g_assert_cmpuint(dfu_job_get_id(g_ptr_array_index(jobs, 0)), ==, 10);
	g_assert_cmpuint(dfu_job_get_id(g_ptr_array_index(jobs, 1)), ==, 12);
	g_assert_cmpuint(dfu_job_get_bytes_done(g_ptr_array_index(jobs, 1)), ==, 10);
	g_assert_cmpuint(dfu_store_load_next_id(store, &error), ==, 13);
	g_assert_true(g_file_test(ignored, G_FILE_TEST_EXISTS));
}

static void
test_store_corrupt_kept(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = dfu_store_new(f->dir, &error);
	g_autoptr(DfuJob) job = make_job(1);
	g_autoptr(DfuJob) other = make_job(3);
	g_autoptr(GPtrArray) jobs = NULL;
	g_autofree char *corrupt = g_build_filename(f->jobs_dir, "2.json", NULL);
	g_autofree char *wrong_id = g_build_filename(f->jobs_dir, "4.json", NULL);
	g_autofree char *other_json = dfu_job_to_json(other);
	g_autofree char *kept = NULL;

	g_assert_true(dfu_store_save_job(store, job, &error));
	g_assert_true(g_file_set_contents(corrupt, "{\"id\": 2, \"target\": ", -1, NULL));
	g_assert_true(g_file_set_contents(wrong_id, other_json, -1, NULL));

	jobs = load_all(store, &error);
	g_assert_true(warned_about("2.json"));
	g_assert_true(warned_about("4.json"));
	g_assert_cmpuint(warnings->len, ==, 2);
	g_assert_no_error(error);
	g_assert_cmpuint(jobs->len, ==, 1);
	g_assert_false(g_file_test(corrupt, G_FILE_TEST_EXISTS));
	kept = g_strconcat(corrupt, ".corrupt", NULL);
	g_assert_true(g_file_test(kept, G_FILE_TEST_IS_REGULAR));

	/* set aside once: a second load is quiet */
	g_ptr_array_unref(g_steal_pointer(&jobs));
	jobs = load_all(store, &error);
	g_assert_cmpuint(jobs->len, ==, 1);
	g_assert_cmpuint(warnings->len, ==, 2);
}

static void
test_store_damaged_next_id(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = dfu_store_new(f->dir, &error);
	g_autofree char *path = g_build_filename(f->dir, "next-id", NULL);

	g_assert_true(g_file_set_contents(path, "banana", -1, NULL));
	g_assert_cmpuint(dfu_store_load_next_id(store, &error), ==, 1);
	g_assert_true(warned_about("damaged"));
	g_assert_no_error(error);
}

static void
test_store_write_error(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuStore) store = dfu_store_new(f->dir, &error);
	g_autoptr(DfuJob) job = make_job(5);

	/* root ignores directory permissions */
	if (geteuid() == 0) {
		g_test_skip("permissions do not apply to root");
		return;
	}
	g_assert_cmpint(g_chmod(f->jobs_dir, 0500), ==, 0);
	g_assert_false(dfu_store_save_job(store, job, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR);
	g_assert_nonnull(strstr(error->message, f->jobs_dir));
}

static void
test_store_bad_dir(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *file = g_build_filename(f->dir, "plain", NULL);
	g_autoptr(DfuStore) store = NULL;

	g_assert_true(g_file_set_contents(file, "", -1, NULL));
	store = dfu_store_new(file, &error);
	g_assert_null(store);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR);
	g_assert_nonnull(strstr(error->message, file));
}

int
main(int argc, char **argv)
{
	int result;

	g_test_init(&argc, &argv, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	dfu_test_capture_warnings(warnings);
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add("/core/store/round-trip", Fixture, NULL, fixture_set_up, test_store_round_trip,
	           fixture_tear_down);
	g_test_add("/core/store/corrupt-kept", Fixture, NULL, fixture_set_up, test_store_corrupt_kept,
	           fixture_tear_down);
	g_test_add("/core/store/damaged-next-id", Fixture, NULL, fixture_set_up, test_store_damaged_next_id,
	           fixture_tear_down);
	g_test_add("/core/store/write-error", Fixture, NULL, fixture_set_up, test_store_write_error,
	           fixture_tear_down);
	g_test_add("/core/store/bad-dir", Fixture, NULL, fixture_set_up, test_store_bad_dir,
	           fixture_tear_down);
	result = g_test_run();
	g_ptr_array_unref(warnings);
	return result;
}
