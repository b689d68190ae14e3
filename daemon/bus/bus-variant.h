/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* appends a GVariant of any D-Bus-representable type to m; returns 0 or a negative errno */
int dfu_bus_append_gvariant(sd_bus_message *m, GVariant *value);

G_END_DECLS
