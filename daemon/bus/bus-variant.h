/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* appends a GVariant of any D-Bus-representable type to m; returns 0 or a negative errno */
int dfu_bus_append_gvariant(sd_bus_message *m, GVariant *value);

/*
 * Reads the next complete value of m (a basic value or a whole container)
 * into a GVariant, so that replies, signals and nested property dictionaries
 * can be looked at with the GVariant API. File descriptors are refused (they
 * mean nothing outside their message). Returns a sunk reference, NULL with
 * error set when the message is malformed.
 */
GVariant *dfu_bus_read_gvariant(sd_bus_message *m, GError **error);

G_END_DECLS
