/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A held watch on a pipe with data waiting: the hold keeps the callback away
 * until its end, and a loop woken for something else ends it early only once
 * its from time has passed.
 */
#include <unistd.h>

#include "test-util.h"
#include "dfu-fd-watch.h"

typedef struct {
	GMainLoop *loop;
	gint64 called_at; /* when the watch's callback ran; 0: not yet */
	GIOCondition condition;
} Watched;

static gboolean
on_fd(gint fd, GIOCondition condition, gpointer user_data)
{
	Watched *w = user_data;
	char c;

	w->called_at = g_get_monotonic_time();
	w->condition = condition;
	g_assert_cmpint(read(fd, &c, 1), ==, 1);
	g_main_loop_quit(w->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_other(gpointer user_data)
{
	return G_SOURCE_REMOVE;
}

/* runs a held watch over a pipe holding a byte; other_ms > 0 wakes the loop then for another
 * reason; returns how many ms after the hold began the callback ran */
static gint64
run_hold(gint64 from_ms, gint64 until_ms, guint other_ms)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Watched w = {.loop = loop};
	int fds[2];
	GSource *source;
	gint64 start;

	g_assert_cmpint(pipe(fds), ==, 0);
	g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
	source = dfu_held_watch_new(fds[0], G_IO_IN, on_fd, &w);
	g_source_attach(source, NULL);
	start = g_get_monotonic_time();
	dfu_held_watch_hold(source, start + from_ms * 1000, start + until_ms * 1000);
	if (other_ms > 0)
		g_timeout_add(other_ms, on_other, NULL);
	g_main_loop_run(loop);
	/* a hold's end reads what came; an unheld watch wakes on the data */
	g_assert_cmpint(w.condition, ==, 0);
	g_source_destroy(source);
	g_source_unref(source);
	close(fds[0]);
	close(fds[1]);
	return (w.called_at - start) / 1000;
}

static void
test_hold_runs_to_its_end(void)
{
	/* data waits in the pipe all along, yet the callback comes at the end */
	g_assert_cmpint(run_hold(100, 150, 0), >=, 150);
}

static void
test_other_wake_ends_hold_early(void)
{
	/* the loop wakes at 100 ms for a timer: past from, so the hold ends with it */
	gint64 at = run_hold(50, 5000, 100);

	g_assert_cmpint(at, >=, 100);
	g_assert_cmpint(at, <, 5000);
}

static void
test_other_wake_before_from_changes_nothing(void)
{
	/* a wake before from leaves the hold to its end */
	g_assert_cmpint(run_hold(200, 250, 20), >=, 250);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fd-watch/hold-runs-to-its-end", test_hold_runs_to_its_end);
	g_test_add_func("/fd-watch/other-wake-ends-hold-early", test_other_wake_ends_hold_early);
	g_test_add_func("/fd-watch/other-wake-before-from", test_other_wake_before_from_changes_nothing);
	return g_test_run();
}
