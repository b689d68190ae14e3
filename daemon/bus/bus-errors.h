/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/*
 * Sets ret_error to the org.dfud1.Error.* name of error's status code and
 * error's message; returns the negative errno that sd-bus handlers return.
 */
int dfu_bus_error_set(sd_bus_error *ret_error, const GError *error);
/* the same from a status code and a printf-style message */
int dfu_bus_error_setf(sd_bus_error *ret_error, guint status_code, const char *format, ...)
        G_GNUC_PRINTF(3, 4);
/* for a reply that comes after the handler returned: error as the reply to the call m */
int dfu_bus_reply_error(sd_bus_message *m, const GError *error);

G_END_DECLS
