/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * When to read a link that carries requests and their answers. With several
 * requests in flight the link stays busy while the daemon sleeps, so rather
 * than waking for every answer the reader holds off until all but the last
 * awaited answer should be in, halfway to the last, and takes them in one
 * wake; the last keeps the link busy meanwhile. The pace of the answers is
 * learned from wakes on the answers themselves, never taken from the baud
 * rate (USB links ignore it); where they fall is followed from one hold to the
 * next. A hold that finds fewer answers than planned moves the next one
 * later, one that finds every awaited answer (the link having perhaps
 * waited) shortens the pace, and one that finds nothing goes back to waking
 * on the answer itself. A hold may end up to three eighths of an answer
 * early, when the loop is awake anyway for another link: the holds of many
 * links then end in one wake. Times are monotonic microseconds.
 */
typedef struct {
	gint64 answer_us;          /* learned time per answer on a busy link; 0 while unknown */
	gint64 next_us;            /* when the first awaited answer should come; set with answer_us */
	gint64 last_frame_us;      /* the last wake on answers as they came */
	gboolean last_frame_exact; /* the wake that last read answers woke on them */
	guint awaited;             /* answers the client waits for */
	gint64 deadline_us;        /* the earliest time one of them times out; 0: none */
	gboolean busy;             /* since the last wake, requests waited behind the first */
	gboolean held;             /* the next wake ends a hold */
	gboolean no_hold;          /* a hold found nothing: wake on the next answer */
	guint awaited_at_hold;
	gint64 early_us; /* with a hold: from when the answers it waits for should be in */
} DfuReadPacer;

void dfu_read_pacer_reset(DfuReadPacer *self);
/* the client's side: how many answers it waits for and when the first of them is due */
void dfu_read_pacer_expect(DfuReadPacer *self, guint awaited, gint64 deadline_us);
/* a wake that read frames answers; its callbacks have run and set what is awaited now.
 * Returns until when to hold reads, or 0 to wake on the next byte; with a hold, early_us is
 * when a wake for another link may end it already */
gint64 dfu_read_pacer_woke(DfuReadPacer *self, gint64 now, guint frames);

G_END_DECLS
