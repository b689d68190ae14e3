/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "dfu-job-index.h"

static void
assert_heads(DfuJobIndex *index, const char *expected)
{
	g_autoptr(GPtrArray) heads = dfu_job_index_queue_heads(index);
	g_autoptr(GString) got = g_string_new(NULL);

	for (guint i = 0; i < heads->len; i++)
		g_string_append_printf(got, "%s%s", i > 0 ? " " : "",
		                       (const char *)g_ptr_array_index(heads, i));
	g_assert_cmpstr(got->str, ==, expected);
}

/* each device offers its oldest queued job; the devices come in the order of those jobs */
static void
test_index_queue_heads(void)
{
	g_autoptr(DfuJobIndex) index = dfu_job_index_new();
	DfuJobIndexNode *a1 = dfu_job_index_add(index, "a1", 1, "A");
	DfuJobIndexNode *b2 = dfu_job_index_add(index, "b2", 2, "B");
	DfuJobIndexNode *a3 = dfu_job_index_add(index, "a3", 3, "A");
	DfuJobIndexNode *c4 = dfu_job_index_add(index, "c4", 4, "C");

	assert_heads(index, "");
	dfu_job_index_set_queued(index, a3, TRUE);
	dfu_job_index_set_queued(index, c4, TRUE);
	dfu_job_index_set_queued(index, b2, TRUE);
	assert_heads(index, "b2 a3 c4");
	/* a retried job goes back to the head of its device's queue, by its id */
	dfu_job_index_set_queued(index, a1, TRUE);
	assert_heads(index, "a1 b2 c4");
	dfu_job_index_set_queued(index, a1, FALSE);
	dfu_job_index_set_queued(index, b2, FALSE);
	assert_heads(index, "a3 c4");
	g_assert_cmpstr(dfu_job_index_device_key(a3), ==, "A");
	dfu_job_index_remove(index, a3);
	assert_heads(index, "c4");
	dfu_job_index_remove(index, a1);
	dfu_job_index_remove(index, b2);
	dfu_job_index_remove(index, c4);
	assert_heads(index, "");
}

/* the expiry order is by finishing time, ties by id, and follows a job that runs again */
static void
test_index_finished_order(void)
{
	g_autoptr(DfuJobIndex) index = dfu_job_index_new();
	DfuJobIndexNode *n1 = dfu_job_index_add(index, "n1", 1, "A");
	DfuJobIndexNode *n2 = dfu_job_index_add(index, "n2", 2, "A");
	DfuJobIndexNode *n3 = dfu_job_index_add(index, "n3", 3, "B");
	gint64 finished = 0;

	g_assert_null(dfu_job_index_first_finished(index, &finished));
	dfu_job_index_set_finished(index, n1, 300);
	dfu_job_index_set_finished(index, n3, 100);
	dfu_job_index_set_finished(index, n2, 100);
	g_assert_cmpuint(dfu_job_index_n_finished(index), ==, 3);
	g_assert_cmpstr(dfu_job_index_first_finished(index, &finished), ==, "n2");
	g_assert_cmpint(finished, ==, 100);
	dfu_job_index_set_finished(index, n2, 0);
	g_assert_cmpstr(dfu_job_index_first_finished(index, &finished), ==, "n3");
	dfu_job_index_set_finished(index, n3, 400);
	g_assert_cmpstr(dfu_job_index_first_finished(index, &finished), ==, "n1");
	dfu_job_index_remove(index, n1);
	g_assert_cmpstr(dfu_job_index_first_finished(index, &finished), ==, "n3");
	g_assert_cmpuint(dfu_job_index_n_finished(index), ==, 1);
	dfu_job_index_remove(index, n2);
	dfu_job_index_remove(index, n3);
	g_assert_cmpuint(dfu_job_index_n_finished(index), ==, 0);
}

/* a bundle stays live while any job holds it in any slot */
static void
test_index_bundle_holds(void)
{
	g_autoptr(DfuJobIndex) index = dfu_job_index_new();
	GHashTable *live = dfu_job_index_live_bundles(index);
	DfuJobIndexNode *n1 = dfu_job_index_add(index, "n1", 1, "A");
	DfuJobIndexNode *n2 = dfu_job_index_add(index, "n2", 2, "B");

	dfu_job_index_hold(index, n1, DFU_JOB_INDEX_HOLD_BUNDLE, "/c/x.bundle");
	dfu_job_index_hold(index, n2, DFU_JOB_INDEX_HOLD_FETCHED, "/c/x.bundle");
	dfu_job_index_hold(index, n2, DFU_JOB_INDEX_HOLD_BUNDLE, "/c/y.bundle");
	g_assert_cmpuint(g_hash_table_size(live), ==, 2);
	dfu_job_index_hold(index, n1, DFU_JOB_INDEX_HOLD_BUNDLE, NULL);
	g_assert_true(g_hash_table_contains(live, "/c/x.bundle"));
	dfu_job_index_hold(index, n2, DFU_JOB_INDEX_HOLD_FETCHED, NULL);
	g_assert_false(g_hash_table_contains(live, "/c/x.bundle"));
	/* holding the same path again changes nothing */
	dfu_job_index_hold(index, n2, DFU_JOB_INDEX_HOLD_BUNDLE, "/c/y.bundle");
	dfu_job_index_remove(index, n2);
	g_assert_cmpuint(g_hash_table_size(live), ==, 0);
	dfu_job_index_remove(index, n1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/job-index/queue-heads", test_index_queue_heads);
	g_test_add_func("/job-index/finished-order", test_index_finished_order);
	g_test_add_func("/job-index/bundle-holds", test_index_bundle_holds);
	return g_test_run();
}
