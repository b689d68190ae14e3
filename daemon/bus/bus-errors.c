/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"
#include "dfu-error.h"

int
dfu_bus_error_set(sd_bus_error *ret_error, const GError *error)
{
	g_autofree char *name = dfu_error_dbus_name(dfu_error_get_status(error));
	int r = sd_bus_error_set(ret_error, name, error != NULL ? error->message : "");

	/* names without an errno mapping still must fail the call */
	return r < 0 ? r : -EIO;
}

int
dfu_bus_error_setf(sd_bus_error *ret_error, guint status_code, const char *format, ...)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	error = g_error_new_literal(DFU_ERROR, (gint)status_code, message);
	return dfu_bus_error_set(ret_error, error);
}

int
dfu_bus_reply_error(sd_bus_message *m, const GError *error)
{
	sd_bus_error bus_error = SD_BUS_ERROR_NULL;
	int r;

	dfu_bus_error_set(&bus_error, error);
	r = sd_bus_reply_method_error(m, &bus_error);
	sd_bus_error_free(&bus_error);
	return r;
}
