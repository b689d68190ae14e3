/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-unix.h>

G_BEGIN_DECLS

/*
 * g_unix_fd_add() without GLib's guard against recursion: that guard takes
 * the fd out of the poll set for each dispatch and puts it back after, and
 * every change to the poll set wakes the loop once more. On a link that
 * answers every request that doubles the loop's work per message. Nothing in
 * the daemon runs a nested main loop, so the guard protects nothing.
 */
guint dfu_fd_watch_add(int fd, GIOCondition condition, GUnixFDSourceFunc func, gpointer user_data);
/* the same for a source of the caller's making, before it is attached */
void dfu_fd_watch_prepare(GSource *source);

/*
 * A watch whose polling can be held off until a time: meanwhile the fd is in
 * the poll set without events (a hang-up still wakes it), and at that time the
 * callback runs with condition 0, to read what came. Nothing is added to or
 * taken from the loop, so a hold costs no wake-up of its own. Unref the source
 * after g_source_destroy().
 */
GSource *dfu_held_watch_new(int fd, GIOCondition condition, GUnixFDSourceFunc func, gpointer user_data);
/* until_us: monotonic µs, 0 ends a hold; from_us (<= until_us): a loop awake for something else
 * from then on ends the hold at once, so that the holds of several links end in one wake-up */
void dfu_held_watch_hold(GSource *source, gint64 from_us, gint64 until_us);

G_END_DECLS
