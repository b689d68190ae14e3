/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "dfu-job-index.h"

typedef struct {
	GString *seen;
	const char *full_link; /* the link whose heads are passed over, NULL for none */
	DfuJobIndex *index;
	const char *take; /* a head that leaves the queue when it is offered */
	DfuJobIndexNode *take_node;
	guint stop_after; /* heads offered before the walk stops, 0 for all */
} Walk;

static DfuJobIndexVisitResult
record_head(gpointer item, gpointer user_data)
{
	Walk *walk = user_data;
	const char *name = item;

	g_string_append_printf(walk->seen, "%s%s", walk->seen->len > 0 ? " " : "", name);
	if (g_strcmp0(walk->take, name) == 0) {
		dfu_job_index_set_queued(walk->index, walk->take_node, FALSE);
		walk->take = NULL;
	}
	if (walk->stop_after > 0 && --walk->stop_after == 0)
		return DFU_JOB_INDEX_STOP;
	/* the link's name is the item's first letter, uppercased, after "L" */
	if (walk->full_link != NULL && name[0] == g_ascii_tolower(walk->full_link[1]))
		return DFU_JOB_INDEX_SKIP_LINK;
	return DFU_JOB_INDEX_NEXT;
}

static char *
walk_heads(DfuJobIndex *index, Walk *walk)
{
	walk->seen = g_string_new(NULL);
	walk->index = index;
	dfu_job_index_visit_heads(index, record_head, walk);
	return g_string_free(walk->seen, FALSE);
}

static void
assert_heads(DfuJobIndex *index, const char *expected)
{
	Walk walk = {0};
	g_autofree char *got = walk_heads(index, &walk);

	g_assert_cmpstr(got, ==, expected);
}

/* the item's own node: items here are its name */
static DfuJobIndexNode *
add_queued(DfuJobIndex *index, const char *name, guint64 id, const char *device, const char *link)
{
	DfuJobIndexNode *node = dfu_job_index_add(index, (gpointer)name, id, device, link);

	dfu_job_index_set_queued(index, node, TRUE);
	return node;
}

/*
 * Devices behind one link come in the order of their oldest jobs among all
 * devices; a full link is passed over whole after its first head, and the
 * heads that a walk changes are offered as they now stand.
 */
static void
test_index_link_queues(void)
{
	g_autoptr(DfuJobIndex) index = dfu_job_index_new();
	DfuJobIndexNode *nodes[8];
	g_autofree char *skipped = NULL;
	g_autofree char *taken = NULL;
	g_autofree char *stopped = NULL;
	Walk skip = {.full_link = "LB"};
	Walk take = {0};
	Walk stop = {.stop_after = 2};

	/* b: devices on link LB; u: devices on no shared link */
	nodes[0] = add_queued(index, "b1", 1, "B1", "LB");
	nodes[1] = add_queued(index, "u2", 2, "U2", NULL);
	nodes[2] = add_queued(index, "b3", 3, "B3", "LB");
	nodes[3] = add_queued(index, "u4", 4, "U4", NULL);
	nodes[4] = add_queued(index, "b5", 5, "B5", "LB");
	nodes[5] = add_queued(index, "b6", 6, "B1", "LB");
	nodes[6] = add_queued(index, "c7", 7, "C7", "LC");
	nodes[7] = add_queued(index, "u8", 8, "U8", NULL);
	g_assert_cmpstr(dfu_job_index_link_key(nodes[2]), ==, "LB");
	g_assert_true(dfu_job_index_has_device(index, "B1"));
	g_assert_false(dfu_job_index_has_device(index, "B2"));
	g_assert_null(dfu_job_index_link_key(nodes[1]));
	assert_heads(index, "b1 u2 b3 u4 b5 c7 u8");

	skipped = walk_heads(index, &skip);
	g_assert_cmpstr(skipped, ==, "b1 u2 u4 c7 u8");

	/* b1 starts as it is offered: its device's next job, b6, comes in its turn */
	take.take = "b1";
	take.take_node = nodes[0];
	taken = walk_heads(index, &take);
	g_assert_cmpstr(taken, ==, "b1 u2 b3 u4 b5 b6 c7 u8");
	assert_heads(index, "u2 b3 u4 b5 b6 c7 u8");

	stopped = walk_heads(index, &stop);
	g_assert_cmpstr(stopped, ==, "u2 b3");

	/* a link goes with its last device; a new device makes it again */
	for (guint i = 0; i < G_N_ELEMENTS(nodes); i++)
		dfu_job_index_remove(index, nodes[i]);
	assert_heads(index, "");
	g_assert_false(dfu_job_index_has_device(index, "B1"));
	nodes[0] = add_queued(index, "b9", 9, "B9", "LB");
	g_assert_cmpstr(dfu_job_index_link_key(nodes[0]), ==, "LB");
	assert_heads(index, "b9");
	dfu_job_index_remove(index, nodes[0]);
}

/* each device offers its oldest queued job; the devices come in the order of those jobs */
static void
test_index_queue_heads(void)
{
	g_autoptr(DfuJobIndex) index = dfu_job_index_new();
	DfuJobIndexNode *a1 = dfu_job_index_add(index, "a1", 1, "A", NULL);
	DfuJobIndexNode *b2 = dfu_job_index_add(index, "b2", 2, "B", NULL);
	DfuJobIndexNode *a3 = dfu_job_index_add(index, "a3", 3, "A", NULL);
	DfuJobIndexNode *c4 = dfu_job_index_add(index, "c4", 4, "C", NULL);

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
	DfuJobIndexNode *n1 = dfu_job_index_add(index, "n1", 1, "A", NULL);
	DfuJobIndexNode *n2 = dfu_job_index_add(index, "n2", 2, "A", NULL);
	DfuJobIndexNode *n3 = dfu_job_index_add(index, "n3", 3, "B", NULL);
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
	DfuJobIndexNode *n1 = dfu_job_index_add(index, "n1", 1, "A", NULL);
	DfuJobIndexNode *n2 = dfu_job_index_add(index, "n2", 2, "B", NULL);

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
	g_test_add_func("/job-index/link-queues", test_index_link_queues);
	g_test_add_func("/job-index/finished-order", test_index_finished_order);
	g_test_add_func("/job-index/bundle-holds", test_index_bundle_holds);
	return g_test_run();
}
