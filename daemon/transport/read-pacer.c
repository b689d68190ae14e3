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

static void
learn(DfuReadPacer *self, gint64 now, guint frames)
{
	gint64 since = now - self->last_frame_us;
	gboolean exact = self->last_frame_exact;

	if (frames > 0) {
		/* a wake on the answer itself reads it when it came; one after a hold, later */
		self->last_frame_exact = !self->held;
		self->last_frame_us = now;
	}
	if (self->held) {
		if (frames == 0) {
			/* woke before the answer: the link is slower than learned */
			self->answer_us += self->answer_us / 8;
			self->no_hold = TRUE;
		} else if (frames >= self->awaited_at_hold) {
			self->answer_us -= self->answer_us / 4;
		}
		return;
	}
	/* only two answers read as they came, with requests queued all along, give the link's pace */
	if (!self->busy || frames == 0 || !exact || since <= 0)
		return;
	since /= frames;
	self->answer_us = self->answer_us == 0 ? since : (3 * self->answer_us + since) / 4;
	self->no_hold = FALSE;
}

gint64
dfu_read_pacer_woke(DfuReadPacer *self, gint64 now, guint frames)
{
	gint64 hold;
	gint64 until;

	learn(self, now, frames);
	self->held = FALSE;
	/* with two in flight, the second waits behind the first */
	self->busy = self->awaited >= 2;
	if (!self->busy || self->answer_us == 0 || self->no_hold)
		return 0;
	/* the last request in flight keeps the link busy until the wake */
	hold = (gint64)(self->awaited - 1) * self->answer_us * 7 / 8;
	until = now + hold;
	if (self->deadline_us != 0)
		until = MIN(until, self->deadline_us - DEADLINE_MARGIN_US);
	if (until - now < MIN_HOLD_US)
		return 0;
	self->held = TRUE;
	self->awaited_at_hold = self->awaited;
	return until;
}
