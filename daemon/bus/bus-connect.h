/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* the system bus, or the user's session bus (tests, DFUD_BUS=session); daemon and dfuctl alike */
sd_bus *dfu_bus_connect(gboolean session, GError **error);

G_END_DECLS
