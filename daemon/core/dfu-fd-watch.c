/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-fd-watch.h"

void
dfu_fd_watch_prepare(GSource *source)
{
	g_source_set_can_recurse(source, TRUE);
}

guint
dfu_fd_watch_add(int fd, GIOCondition condition, GUnixFDSourceFunc func, gpointer user_data)
{
	g_autoptr(GSource) source = g_unix_fd_source_new(fd, condition);

	dfu_fd_watch_prepare(source);
	g_source_set_callback(source, G_SOURCE_FUNC(func), user_data, NULL);
	return g_source_attach(source, NULL);
}

typedef struct {
	GSource source;
	GPollFD pfd;
	GIOCondition condition;
	gint64 from_us;
	gint64 until_us; /* 0: not held */
} HeldWatch;

/* the hold is the source's own timeout: a ready time set from a callback would wake the loop */
static gboolean
held_watch_prepare(GSource *source, gint *timeout)
{
	HeldWatch *w = (HeldWatch *)source;
	gint64 now;

	if (w->until_us == 0)
		return FALSE;
	now = g_source_get_time(source);
	if (now >= w->from_us)
		return TRUE;
	*timeout = (gint)((w->until_us - now + 999) / 1000);
	return FALSE;
}

static gboolean
held_watch_check(GSource *source)
{
	HeldWatch *w = (HeldWatch *)source;

	return w->pfd.revents != 0 || (w->until_us != 0 && g_source_get_time(source) >= w->from_us);
}

static gboolean
held_watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	HeldWatch *w = (HeldWatch *)source;
	GIOCondition revents = w->pfd.revents;

	/* a hold that ran out, or a hang-up during it, ends it */
	dfu_held_watch_hold(source, 0, 0);
	return ((GUnixFDSourceFunc)(void (*)(void))callback)(w->pfd.fd, revents, user_data);
}

static GSourceFuncs held_watch_funcs = {
        .prepare = held_watch_prepare,
        .check = held_watch_check,
        .dispatch = held_watch_dispatch,
};

GSource *
dfu_held_watch_new(int fd, GIOCondition condition, GUnixFDSourceFunc func, gpointer user_data)
{
	GSource *source = g_source_new(&held_watch_funcs, sizeof(HeldWatch));
	HeldWatch *w = (HeldWatch *)source;

	w->pfd.fd = fd;
	w->pfd.events = condition;
	w->condition = condition;
	g_source_add_poll(source, &w->pfd);
	dfu_fd_watch_prepare(source);
	g_source_set_callback(source, G_SOURCE_FUNC(func), user_data, NULL);
	return source;
}

void
dfu_held_watch_hold(GSource *source, gint64 from_us, gint64 until_us)
{
	HeldWatch *w = (HeldWatch *)source;

	/* the loop reads the events from the GPollFD at each iteration */
	w->pfd.events = until_us != 0 ? 0 : w->condition;
	w->from_us = MIN(from_us, until_us);
	w->until_us = until_us;
}
