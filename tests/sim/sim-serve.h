/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* SIGTERM and SIGINT end the loop, so that a simulator saves its state and cleans up */
void sim_quit_on_signals(GMainLoop *loop);
/* tells the test "READY <served>" on stdout, then runs the loop until a signal ends it */
void sim_serve(GMainLoop *loop, const char *served);

G_END_DECLS
