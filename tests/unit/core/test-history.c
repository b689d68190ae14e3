/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "test-util.h"
#include "dfu-error.h"
#include "dfu-history.h"

static guint warnings;

/* a damaged history is reported with a warning, which must not abort the test */
static GLogWriterOutput
count_warnings(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	if ((level & G_LOG_LEVEL_WARNING) == 0)
		return g_log_writer_default(level, fields, n_fields, user_data);
	warnings++;
	return G_LOG_WRITER_HANDLED;
}

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-history-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "history", NULL);
	warnings = 0;
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->path);
}

static void
add_job(DfuHistory *history, guint64 id, guint code, const char *device)
{
	static const DfuJobOptions options = {.confirm = TRUE};
	g_autoptr(DfuJob) job = dfu_job_new(id, "serial:/dev/ttyACM0", "app.bin", NULL, &options);
	g_autoptr(GError) error = NULL;

	dfu_job_set_attempt(job, 2);
	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	dfu_job_set_result(job, code, "line one\nline \"two\"", NULL);
	dfu_job_set_state(job, code == DFU_STATUS_SUCCESS ? DFU_JOB_STATE_SUCCEEDED : DFU_JOB_STATE_FAILED);
	g_assert_true(dfu_history_add_job(history, job, device, &error));
	g_assert_no_error(error);
}

static guint64
entry_id(DfuHistory *history, guint i)
{
	return ((DfuHistoryEntry *)g_ptr_array_index(dfu_history_get_entries(history), i))->id;
}

static guint
file_lines(const char *path)
{
	g_autofree char *contents = NULL;
	guint lines = 0;

	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	for (const char *p = contents; *p != '\0'; p++)
		lines += *p == '\n';
	return lines;
}

static ino_t
file_inode(const char *path)
{
	struct stat st;

	g_assert_cmpint(g_stat(path, &st), ==, 0);
	return st.st_ino;
}

static void
test_reopen(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuHistory) history = dfu_history_open(f->dir, 10, NULL);
	g_autoptr(GError) error = NULL;
	DfuHistoryEntry *e;

	g_assert_nonnull(history);
	add_job(history, 4, DFU_STATUS_SUCCESS, "kitchen-node");
	add_job(history, 2, DFU_STATUS_LINK_LOST, NULL);
	g_clear_pointer(&history, dfu_history_free);

	history = dfu_history_open(f->dir, 10, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 2);
	/* in the order the jobs finished, not by number */
	g_assert_cmpuint(entry_id(history, 0), ==, 4);
	g_assert_cmpuint(entry_id(history, 1), ==, 2);
	e = g_ptr_array_index(dfu_history_get_entries(history), 0);
	g_assert_cmpstr(e->device, ==, "kitchen-node");
	g_assert_cmpstr(e->target, ==, "serial:/dev/ttyACM0");
	g_assert_cmpstr(e->source, ==, "app.bin");
	g_assert_cmpint(e->state, ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_cmpuint(e->status_code, ==, DFU_STATUS_SUCCESS);
	g_assert_cmpstr(e->message, ==, "line one\nline \"two\"");
	g_assert_cmpuint(e->attempts, ==, 2);
	g_assert_cmpint(e->created, >, 0);
	g_assert_cmpint(e->started, >=, e->created);
	g_assert_cmpint(e->finished, >=, e->started);
	e = g_ptr_array_index(dfu_history_get_entries(history), 1);
	g_assert_null(e->device);
	g_assert_cmpint(e->state, ==, DFU_JOB_STATE_FAILED);
	g_assert_true(dfu_history_contains(history, 2));
	g_assert_false(dfu_history_contains(history, 3));
	g_assert_cmpuint(warnings, ==, 0);
}

/* the oldest go first, in memory and on disk, and the file is rewritten only now and then */
static void
test_bound(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuHistory) history = dfu_history_open(f->dir, 3, NULL);
	ino_t inode;

	for (guint64 id = 1; id <= 3; id++)
		add_job(history, id, DFU_STATUS_SUCCESS, NULL);
	inode = file_inode(f->path);
	add_job(history, 4, DFU_STATUS_SUCCESS, NULL);
	add_job(history, 5, DFU_STATUS_SUCCESS, NULL);
	/* appended to the same file: no job pays for the whole history */
	g_assert_cmpuint(file_inode(f->path), ==, inode);
	g_assert_cmpuint(file_lines(f->path), ==, 5);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 3);
	g_assert_cmpuint(entry_id(history, 0), ==, 3);
	g_assert_cmpint(dfu_history_get_horizon(history), >, 0);

	/* the sixth line would make it twice the bound: the file starts over with what is kept */
	add_job(history, 6, DFU_STATUS_SUCCESS, NULL);
	g_assert_cmpuint(file_lines(f->path), ==, 3);
	for (guint64 id = 7; id <= 40; id++) {
		add_job(history, id, DFU_STATUS_SUCCESS, NULL);
		g_assert_cmpuint(file_lines(f->path), <, 6);
	}
	g_clear_pointer(&history, dfu_history_free);

	history = dfu_history_open(f->dir, 3, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 3);
	g_assert_cmpuint(entry_id(history, 0), ==, 38);
	g_assert_cmpuint(entry_id(history, 2), ==, 40);

	dfu_history_set_max_entries(history, 1);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 1);
	g_assert_cmpuint(entry_id(history, 0), ==, 40);
	g_clear_pointer(&history, dfu_history_free);

	/* a smaller bound at the next start rewrites the file */
	history = dfu_history_open(f->dir, 2, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 2);
	g_assert_cmpuint(file_lines(f->path), ==, 2);
}

static void
test_no_history(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuHistory) history = dfu_history_open(f->dir, 0, NULL);

	add_job(history, 1, DFU_STATUS_SUCCESS, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 0);
	g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS) && file_lines(f->path) > 0);
}

/* a line cut short by a crash and a damaged line are dropped; the rest stays */
static void
test_damaged(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuHistory) history = dfu_history_open(f->dir, 10, NULL);
	g_autofree char *contents = NULL;
	g_autofree char *damaged = NULL;
	g_autoptr(GError) error = NULL;

	add_job(history, 1, DFU_STATUS_SUCCESS, NULL);
	add_job(history, 2, DFU_STATUS_SUCCESS, NULL);
	g_clear_pointer(&history, dfu_history_free);
	g_assert_true(g_file_get_contents(f->path, &contents, NULL, NULL));
	damaged = g_strconcat("{\"id\": \"x\"}\nnot json\n", contents, "{\"id\": 3, \"tar", NULL);
	g_assert_true(g_file_set_contents(f->path, damaged, -1, NULL));

	history = dfu_history_open(f->dir, 10, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(warnings, ==, 1);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 2);
	/* rewritten whole, so the next line is not glued to the partial one */
	g_assert_cmpuint(file_lines(f->path), ==, 2);
	add_job(history, 3, DFU_STATUS_SUCCESS, NULL);
	g_clear_pointer(&history, dfu_history_free);
	history = dfu_history_open(f->dir, 10, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 3);
	g_assert_cmpuint(warnings, ==, 1);
}

/* a job recorded twice keeps its last record only */
static void
test_recorded_twice(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuHistory) history = dfu_history_open(f->dir, 10, NULL);

	add_job(history, 1, DFU_STATUS_LINK_LOST, NULL);
	add_job(history, 2, DFU_STATUS_SUCCESS, NULL);
	add_job(history, 1, DFU_STATUS_SUCCESS, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 2);
	g_assert_cmpuint(entry_id(history, 1), ==, 1);
	g_clear_pointer(&history, dfu_history_free);
	history = dfu_history_open(f->dir, 10, NULL);
	g_assert_cmpuint(dfu_history_get_entries(history)->len, ==, 2);
	g_assert_cmpuint(entry_id(history, 0), ==, 2);
	g_assert_cmpuint(
	        ((DfuHistoryEntry *)g_ptr_array_index(dfu_history_get_entries(history), 1))->status_code, ==,
	        DFU_STATUS_SUCCESS);
}

static void
test_unwritable(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuHistory) history = NULL;

	g_assert_cmpint(g_mkdir(f->path, 0700), ==, 0);
	history = dfu_history_open(f->dir, 10, &error);
	g_assert_null(history);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_writer_func(count_warnings, NULL, NULL);
	g_test_add("/history/reopen", Fixture, NULL, fixture_set_up, test_reopen, fixture_tear_down);
	g_test_add("/history/bound", Fixture, NULL, fixture_set_up, test_bound, fixture_tear_down);
	g_test_add("/history/none", Fixture, NULL, fixture_set_up, test_no_history, fixture_tear_down);
	g_test_add("/history/damaged", Fixture, NULL, fixture_set_up, test_damaged, fixture_tear_down);
	g_test_add("/history/recorded-twice", Fixture, NULL, fixture_set_up, test_recorded_twice,
	           fixture_tear_down);
	g_test_add("/history/unwritable", Fixture, NULL, fixture_set_up, test_unwritable, fixture_tear_down);
	return g_test_run();
}
