/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-connect.h"

#include "bus-autoptr.h"
#include "dfu-error.h"

sd_bus *
dfu_bus_connect(gboolean session, GError **error)
{
	g_autoptr(sd_bus) bus = NULL;
	int r = session ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);

	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot connect to the %s bus: %s",
		            session ? "session" : "system", g_strerror(-r));
		return NULL;
	}
	return g_steal_pointer(&bus);
}
