/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-serve.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

static gboolean
on_quit_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

void
sim_quit_on_signals(GMainLoop *loop)
{
	g_unix_signal_add(SIGTERM, on_quit_signal, loop);
	g_unix_signal_add(SIGINT, on_quit_signal, loop);
}

void
sim_serve(GMainLoop *loop, const char *served)
{
	sim_quit_on_signals(loop);
	printf("READY %s\n", served);
	fflush(stdout);
	g_main_loop_run(loop);
}
