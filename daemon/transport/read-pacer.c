/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "read-pacer.h"

/* a hold shorter than this saves less than the timer costs */
#define MIN_HOLD_US 2000
/* a hold ends this long before the first awaited answer would time out */
#define DEADLINE_MARGIN_US 50000

void
dfu_read_pacer_reset(DfuReadPacer *self)
{
	*self = (DfuReadPacer){0};
}

void
dfu_read_pacer_expect(DfuReadPacer *self, guint awaited, gint64 deadline_us)
{
	self->awaited = awaited;
	self->deadline_us = deadline_us;
}

/* a wake on the answers themselves: they came now, and the pace shows between two such wakes */
static void
learn_exact(DfuReadPacer *self, gint64 now, guint frames)
{
	gint64 since = now - self->last_frame_us;

	if (self->busy && self->last_frame_exact && since > 0) {
		since /= frames;
		self->answer_us = self->answer_us == 0 ? since : (3 * self->answer_us + since) / 4;
	}
	self->last_frame_exact = TRUE;
	self->last_frame_us = now;
	/* the request behind the one answered went on the wire as the answer came */
	self->next_us = now + self->answer_us;
	self->no_hold = FALSE;
}

/* the end of a hold meant to fall between the last two awaited answers */
static void
learn_held(DfuReadPacer *self, gint64 now, guint frames)
{
	self->last_frame_exact = FALSE;
	if (frames == 0) {
		/* not even the first: the link is much slower than learned, or stalls; the next
		 * wake is on the answer itself, which shows where the answers fall again */
		self->answer_us += self->answer_us / 8;
		self->no_hold = TRUE;
	} else if (frames >= self->awaited_at_hold) {
		/* every answer in: the link may have waited, so the answers come faster than
		 * learned; the next request starts now */
		self->answer_us -= self->answer_us / 8;
		self->next_us = now + self->answer_us;
	} else if (frames + 1 < self->awaited_at_hold) {
		/* fewer than planned: the answers come slower than learned, the next one soon */
		self->answer_us += self->answer_us / 16;
		self->next_us = now;
	} else {
		self->next_us = MAX(self->next_us + (gint64)frames * self->answer_us, now);
	}
}

gint64
dfu_read_pacer_woke(DfuReadPacer *self, gint64 now, guint frames)
{
	gint64 until;

	if (self->held)
		learn_held(self, now, frames);
	else if (frames > 0)
		learn_exact(self, now, frames);
	self->held = FALSE;
	/* with two in flight, the second waits behind the first */
	self->busy = self->awaited >= 2;
	if (!self->busy || self->answer_us == 0 || self->no_hold)
		return 0;
	/* halfway between the last two awaited answers: the last keeps the link busy until the
	 * wake, and a pace or phase learned a little wrong still finds the one before it in */
	until = self->next_us + (gint64)(self->awaited - 2) * self->answer_us + self->answer_us / 2;
	if (self->deadline_us != 0)
		until = MIN(until, self->deadline_us - DEADLINE_MARGIN_US);
	if (until - now < MIN_HOLD_US)
		return 0;
	self->held = TRUE;
	self->awaited_at_hold = self->awaited;
	/* an eighth of an answer after the one before the last is due: in, with a margin */
	self->early_us = MAX(until - self->answer_us * 3 / 8, now + (until - now) / 2);
	return until;
}
