/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/*
 * Reads the next complete value of an sd-bus message into a GVariant, so
 * that BlueZ's nested property dictionaries can be looked at with
 * g_variant_lookup. File descriptors are refused (they need their own
 * handling). Returns a floating-free (sunk) reference, NULL on error.
 */
GVariant *bluez_message_read_variant(sd_bus_message *m, GError **error);

G_END_DECLS
