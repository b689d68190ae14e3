/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "test-util.h"
#include "dfu-job-private.h"
#include "dfu-journal.h"

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-journal-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "journal.export", NULL);
	g_setenv("DFUD_JOURNAL_EXPORT", f->path, TRUE);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->path);
}

/* the entries of an export file, each a table of its fields, read as journald's importer would */
static GPtrArray *
read_export(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	gsize pos = 0;
	GPtrArray *entries = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
	GHashTable *entry = NULL;

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		const char *eq;
		guint64 size;

		g_assert_nonnull(nl);
		pos = nl - data + 1;
		if (nl == line) {
			g_assert_nonnull(entry);
			g_ptr_array_add(entries, g_steal_pointer(&entry));
			continue;
		}
		if (entry == NULL)
			entry = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		eq = memchr(line, '=', nl - line);
		if (eq != NULL) {
			g_hash_table_insert(entry, g_strndup(line, eq - line),
			                    g_strndup(eq + 1, nl - eq - 1));
			continue;
		}
		g_assert_cmpuint(len - pos, >=, sizeof(size));
		memcpy(&size, data + pos, sizeof(size));
		size = GUINT64_FROM_LE(size);
		g_assert_cmpuint(len - pos - sizeof(size), >, size);
		g_assert_cmpint(data[pos + sizeof(size) + size], ==, '\n');
		g_hash_table_insert(entry, g_strndup(line, nl - line),
		                    g_strndup(data + pos + sizeof(size), size));
		pos += sizeof(size) + size + 1;
	}
	g_assert_null(entry);
	return entries;
}

static DfuJob *
make_job(guint64 id, const char *source)
{
	static const DfuJobOptions options = {.confirm = TRUE};

	return dfu_job_new(id, "serial:/dev/ttyACM0", source, NULL, &options);
}

static const char *
field(GPtrArray *entries, guint i, const char *name)
{
	return g_hash_table_lookup(g_ptr_array_index(entries, i), name);
}

static void
test_events(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = make_job(7, "app.bin");
	g_autoptr(GPtrArray) entries = NULL;
	const DfuJournalDetail named = {.device = "kitchen-node"};

	dfu_journal_job_event(DFU_JOURNAL_SUBMITTED, job, &named);
	dfu_job_set_attempt(job, 1);
	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	dfu_journal_job_event(DFU_JOURNAL_STARTED, job, &named);
	dfu_journal_job_event(DFU_JOURNAL_RETRY, job,
	                      &(DfuJournalDetail){.device = "kitchen-node",
	                                          .status_code = DFU_STATUS_LINK_LOST,
	                                          .message = "the port went away",
	                                          .retry_delay_ms = 2000});
	dfu_job_set_attempt(job, 2);
	dfu_journal_job_event(DFU_JOURNAL_ATTEMPT, job, &named);
	dfu_job_set_state(job, DFU_JOB_STATE_FAILED);
	dfu_journal_job_event(DFU_JOURNAL_FINISHED, job,
	                      &(DfuJournalDetail){.device = "kitchen-node",
	                                          .status_code = DFU_STATUS_IMAGE_REJECTED,
	                                          .message = "the device refused it"});

	entries = read_export(f->path);
	g_assert_cmpuint(entries->len, ==, 5);
	for (guint i = 0; i < entries->len; i++) {
		g_assert_cmpstr(field(entries, i, "DFUD_JOB"), ==, "7");
		g_assert_cmpstr(field(entries, i, "DFUD_TARGET"), ==, "serial:/dev/ttyACM0");
		g_assert_cmpstr(field(entries, i, "DFUD_DEVICE"), ==, "kitchen-node");
		g_assert_cmpstr(field(entries, i, "DFUD_SOURCE"), ==, "app.bin");
		g_assert_cmpstr(field(entries, i, "SYSLOG_IDENTIFIER"), ==, "dfud");
		g_assert_cmpstr(field(entries, i, "DFUD_KIND"), ==, "update");
		g_assert_nonnull(field(entries, i, "__REALTIME_TIMESTAMP"));
	}
	g_assert_cmpstr(field(entries, 0, "MESSAGE_ID"), ==, dfu_journal_message_id(DFU_JOURNAL_SUBMITTED));
	g_assert_cmpstr(field(entries, 0, "DFUD_EVENT"), ==, "submitted");
	g_assert_cmpstr(field(entries, 0, "MESSAGE"), ==,
	                "job 7 for kitchen-node: submitted, installs app.bin");
	g_assert_cmpstr(field(entries, 0, "PRIORITY"), ==, "6");
	g_assert_null(field(entries, 0, "DFUD_STATUS_CODE"));
	g_assert_cmpstr(field(entries, 1, "MESSAGE_ID"), ==, dfu_journal_message_id(DFU_JOURNAL_STARTED));
	g_assert_cmpstr(field(entries, 1, "DFUD_ATTEMPT"), ==, "1");
	g_assert_cmpstr(field(entries, 2, "MESSAGE_ID"), ==, dfu_journal_message_id(DFU_JOURNAL_RETRY));
	g_assert_cmpstr(field(entries, 2, "DFUD_STATUS_CODE"), ==, "13");
	g_assert_cmpstr(field(entries, 2, "DFUD_STATUS_NAME"), ==, "link-lost");
	g_assert_cmpstr(field(entries, 2, "MESSAGE"), ==,
	                "job 7 for kitchen-node: attempt 1 failed: link-lost: the port went away; "
	                "retrying in 2.0 s");
	g_assert_cmpstr(field(entries, 3, "MESSAGE_ID"), ==, dfu_journal_message_id(DFU_JOURNAL_ATTEMPT));
	g_assert_cmpstr(field(entries, 3, "DFUD_ATTEMPT"), ==, "2");
	g_assert_cmpstr(field(entries, 4, "MESSAGE_ID"), ==, dfu_journal_message_id(DFU_JOURNAL_FINISHED));
	g_assert_cmpstr(field(entries, 4, "DFUD_STATE"), ==, "failed");
	g_assert_cmpstr(field(entries, 4, "DFUD_STATUS_NAME"), ==, "image-rejected");
	g_assert_cmpstr(field(entries, 4, "PRIORITY"), ==, "4");
}

static void
test_unnamed_device(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = make_job(3, "");
	g_autoptr(GPtrArray) entries = NULL;

	dfu_job_set_state(job, DFU_JOB_STATE_SUCCEEDED);
	dfu_journal_job_event(DFU_JOURNAL_FINISHED, job,
	                      &(DfuJournalDetail){.status_code = DFU_STATUS_SUCCESS});
	entries = read_export(f->path);
	g_assert_cmpuint(entries->len, ==, 1);
	g_assert_cmpstr(field(entries, 0, "DFUD_DEVICE"), ==, "serial:/dev/ttyACM0");
	g_assert_null(field(entries, 0, "DFUD_SOURCE"));
	g_assert_cmpstr(field(entries, 0, "PRIORITY"), ==, "6");
	g_assert_cmpstr(field(entries, 0, "DFUD_STATUS_CODE"), ==, "1");
}

/* a message with a line break is a binary field, which must come back whole */
static void
test_multiline_message(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = make_job(4, "app.bin");
	g_autoptr(GPtrArray) entries = NULL;

	dfu_job_set_state(job, DFU_JOB_STATE_FAILED);
	dfu_journal_job_event(DFU_JOURNAL_FINISHED, job,
	                      &(DfuJournalDetail){.status_code = DFU_STATUS_DEVICE_ERROR,
	                                          .message = "first line\nsecond line"});
	dfu_journal_job_event(DFU_JOURNAL_SUBMITTED, job, NULL);
	entries = read_export(f->path);
	g_assert_cmpuint(entries->len, ==, 2);
	g_assert_cmpstr(field(entries, 0, "MESSAGE"), ==,
	                "job 4 for serial:/dev/ttyACM0: failed: device-error: first line\nsecond line");
	g_assert_cmpstr(field(entries, 1, "DFUD_EVENT"), ==, "submitted");
}

/* a job that reads or resets the device says what it does, not what it installs */
static void
test_device_job(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuJob) job = make_job(9, "refresh");
	g_autoptr(GPtrArray) entries = NULL;

	dfu_job_set_kind(job, DFU_JOB_KIND_REFRESH);
	dfu_journal_job_event(DFU_JOURNAL_SUBMITTED, job, &(DfuJournalDetail){.device = "kitchen-node"});
	entries = read_export(f->path);
	g_assert_cmpstr(field(entries, 0, "MESSAGE"), ==, "job 9 for kitchen-node: refresh submitted");
	g_assert_cmpstr(field(entries, 0, "DFUD_KIND"), ==, "refresh");
}

static void
test_message_ids(void)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint e = DFU_JOURNAL_SUBMITTED; e <= DFU_JOURNAL_FINISHED; e++) {
		const char *id = dfu_journal_message_id(e);

		g_assert_cmpuint(strlen(id), ==, 32);
		for (const char *p = id; *p != '\0'; p++)
			g_assert_true(g_ascii_isxdigit(*p) && !g_ascii_isupper(*p));
		g_assert_true(g_hash_table_add(seen, (gpointer)id));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/journal/events", Fixture, NULL, fixture_set_up, test_events, fixture_tear_down);
	g_test_add("/journal/unnamed-device", Fixture, NULL, fixture_set_up, test_unnamed_device,
	           fixture_tear_down);
	g_test_add("/journal/multiline-message", Fixture, NULL, fixture_set_up, test_multiline_message,
	           fixture_tear_down);
	g_test_add("/journal/device-job", Fixture, NULL, fixture_set_up, test_device_job, fixture_tear_down);
	g_test_add_func("/journal/message-ids", test_message_ids);
	return g_test_run();
}
