/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/*
 * A GSource that drives an sd_bus from the GLib main loop: it polls the bus fd
 * for the events sd-bus asks for, wakes up for its timeouts and dispatches
 * every queued message. The source holds a reference on the bus.
 *
 * The callback set with g_source_set_callback() (a GSourceFunc) runs once when
 * the connection fails or closes; the source is destroyed afterwards.
 */
GSource *dfu_bus_source_new(sd_bus *bus);

/* creates the source, attaches it to context (NULL: the default) and returns its id */
guint dfu_bus_attach_glib(sd_bus *bus, GMainContext *context, GSourceFunc on_disconnect, gpointer user_data);

G_END_DECLS
