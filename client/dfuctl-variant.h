/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/*
 * Reads the next complete value of m (a basic value or a whole container)
 * into a GVariant; NULL with error set when the message is malformed or
 * carries a file descriptor.
 */
GVariant *dfuctl_message_read_variant(sd_bus_message *m, GError **error);

G_END_DECLS
