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
