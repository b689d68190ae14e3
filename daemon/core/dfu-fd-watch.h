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

G_END_DECLS
