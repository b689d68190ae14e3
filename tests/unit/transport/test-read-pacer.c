/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "read-pacer.h"
#include "test-util.h"

#define FAR G_MAXINT64

/* a pacer that learned a 10 ms pace from two answers with three in flight; the first hold's end */
static gint64
learn_10ms(DfuReadPacer *p)
{
	dfu_read_pacer_reset(p);
	dfu_read_pacer_expect(p, 3, FAR);
	dfu_read_pacer_woke(p, 1000000, 1);
	return dfu_read_pacer_woke(p, 1010000, 1);
}

static void
test_learns_then_holds(void)
{
	DfuReadPacer p;

	dfu_read_pacer_reset(&p);
	dfu_read_pacer_expect(&p, 3, FAR);
	/* nothing learned yet: wake per answer */
	g_assert_cmpint(dfu_read_pacer_woke(&p, 1000000, 1), ==, 0);
	/* one answer 10 ms after the last, with requests queued behind it: the next comes in
	 * 10 ms, and the wake falls halfway between the second and the third */
	g_assert_cmpint(dfu_read_pacer_woke(&p, 1010000, 1), ==, 1010000 + 10000 + 10000 + 10000 / 2);
	/* one answer awaited: nothing to gather */
	dfu_read_pacer_expect(&p, 1, FAR);
	g_assert_cmpint(dfu_read_pacer_woke(&p, 1030000, 1), ==, 0);
}

static void
test_deadline_bounds_hold(void)
{
	DfuReadPacer p;

	dfu_read_pacer_reset(&p);
	dfu_read_pacer_expect(&p, 3, FAR);
	dfu_read_pacer_woke(&p, 1000000, 1);
	dfu_read_pacer_woke(&p, 1100000, 1);
	/* a request due within the hold: the hold ends before it would time out */
	dfu_read_pacer_expect(&p, 3, 1200000 + 100000);
	g_assert_cmpint(dfu_read_pacer_woke(&p, 1200000, 1), ==, 1300000 - 50000);
	/* one due at once: no hold */
	dfu_read_pacer_expect(&p, 3, 1300000);
	g_assert_cmpint(dfu_read_pacer_woke(&p, 1250000, 1), ==, 0);
}

static void
test_early_wake_relearns(void)
{
	DfuReadPacer p;
	gint64 until = learn_10ms(&p);

	g_assert_cmpint(until, >, 0);
	/* the hold ran out with nothing read: the next wake is on the answer itself */
	g_assert_cmpint(dfu_read_pacer_woke(&p, until, 0), ==, 0);
	g_assert_cmpint(p.answer_us, >, 10000);
	/* which teaches the pace again */
	g_assert_cmpint(dfu_read_pacer_woke(&p, until + 20000, 1), >, 0);
}

static void
test_fewer_than_planned_moves_later(void)
{
	DfuReadPacer p;
	gint64 until = learn_10ms(&p);

	g_assert_cmpint(until, ==, 1035000);
	/* one answer of the two planned: the other is still to come, and the pace is slower */
	until = dfu_read_pacer_woke(&p, until, 1);
	g_assert_cmpint(p.answer_us, >, 10000);
	g_assert_cmpint(until, ==, 1035000 + p.answer_us + p.answer_us / 2);
	/* every awaited answer in: the link may have waited, and the pace is faster */
	until = dfu_read_pacer_woke(&p, until, 3);
	g_assert_cmpint(p.answer_us, <, 10625);
	g_assert_cmpint(p.next_us, ==, 1035000 + 10625 + 10625 / 2 + p.answer_us);
}

/*
 * A link in virtual time: each request takes the wire for a period after the
 * one before it, and its answer comes at the end of it; the client keeps
 * `window` requests in flight and sleeps as the pacer says; with `early`, each
 * hold ends as soon as it may, as in a loop that other links keep awake.
 * Returns the share of the time the link was busy; wakes per answer in
 * *wakes_per_answer.
 */
static double
run_link(guint window, const gint64 *periods, guint n_phases, guint answers_per_phase, gboolean early,
         double *wakes_per_answer)
{
	DfuReadPacer p;
	g_autoptr(GArray) due = g_array_new(FALSE, FALSE, sizeof(gint64)); /* when each answer comes */
	gint64 now = 0, link_free = 0, busy = 0, hold;
	guint wakes = 0, answered = 0, sent = 0;

	dfu_read_pacer_reset(&p);
	for (guint phase = 0; phase < n_phases; phase++) {
		guint target = answered + answers_per_phase;

		hold = -1;
		while (answered < target) {
			guint frames = 0;

			if (hold >= 0) {
				/* sleep to the hold's end, or to the first answer */
				now = hold == 0 ? g_array_index(due, gint64, 0) : early ? p.early_us : hold;
				wakes++;
				while (due->len > 0 && g_array_index(due, gint64, 0) <= now) {
					g_array_remove_index(due, 0);
					frames++;
				}
				answered += frames;
			}
			/* the callbacks refill the window */
			while (due->len < window) {
				/* a few per cent of jitter, the same every run */
				gint64 t = periods[phase] + periods[phase] * (gint64)((sent++ * 7) % 5) / 100;
				link_free = MAX(now, link_free) + t;
				busy += t;
				g_array_append_val(due, link_free);
			}
			dfu_read_pacer_expect(&p, due->len, FAR);
			hold = dfu_read_pacer_woke(&p, now, frames);
		}
	}
	*wakes_per_answer = (double)wakes / answered;
	return (double)busy / (double)link_free;
}

static void
test_busy_link_fewer_wakes(void)
{
	const gint64 periods[] = {28000};
	double wakes;
	double busy = run_link(3, periods, 1, 2000, FALSE, &wakes);

	/* the link never waits for the reader, which wakes once per two answers */
	g_assert_cmpfloat(busy, >=, 0.999);
	g_assert_cmpfloat(wakes, <=, 0.52);
}

/* a USB link runs at its own speed whatever the baud rate: faster, then slower again */
static void
check_link_speeds(gboolean early)
{
	const gint64 periods[] = {28000, 3000, 40000, 5000};
	double wakes;
	double busy = run_link(3, periods, G_N_ELEMENTS(periods), 2000, early, &wakes);

	g_assert_cmpfloat(busy, >=, 0.99);
	g_assert_cmpfloat(wakes, <=, early ? 0.52 : 0.55);
}

static void
test_adapts_to_link_speed(void)
{
	check_link_speeds(FALSE);
}

/* another link's wake ends every hold at its earliest: the answers are in all the same */
static void
test_holds_ended_early(void)
{
	check_link_speeds(TRUE);
}

static void
test_one_in_flight_wakes_per_answer(void)
{
	const gint64 periods[] = {10000};
	double wakes;

	run_link(1, periods, 1, 200, FALSE, &wakes);
	g_assert_cmpfloat(wakes, ==, 1.0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/read-pacer/learns-then-holds", test_learns_then_holds);
	g_test_add_func("/read-pacer/deadline-bounds-hold", test_deadline_bounds_hold);
	g_test_add_func("/read-pacer/early-wake-relearns", test_early_wake_relearns);
	g_test_add_func("/read-pacer/fewer-than-planned", test_fewer_than_planned_moves_later);
	g_test_add_func("/read-pacer/busy-link-fewer-wakes", test_busy_link_fewer_wakes);
	g_test_add_func("/read-pacer/adapts-to-link-speed", test_adapts_to_link_speed);
	g_test_add_func("/read-pacer/holds-ended-early", test_holds_ended_early);
	g_test_add_func("/read-pacer/one-in-flight", test_one_in_flight_wakes_per_answer);
	return g_test_run();
}
