/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include "dfu-error.h"

G_DEFINE_QUARK(dfu - error - quark, dfu_error)

char *
dfu_error_dbus_name(guint code)
{
	const DfuStatusInfo *info = dfu_status_lookup(code);
	if (info == NULL || code < 10)
		info = dfu_status_lookup(DFU_STATUS_INTERNAL_ERROR);
	return g_strconcat(DFU_DBUS_ERROR_PREFIX, info->dbus_error, NULL);
}

guint
dfu_error_from_dbus_name(const char *name)
{
	gsize n = 0;
	const DfuStatusInfo *table = dfu_status_table(&n);

	if (name == NULL || !g_str_has_prefix(name, DFU_DBUS_ERROR_PREFIX))
		return DFU_STATUS_INTERNAL_ERROR;
	name += strlen(DFU_DBUS_ERROR_PREFIX);
	for (gsize i = 0; i < n; i++) {
		if (g_strcmp0(table[i].dbus_error, name) == 0)
			return table[i].code;
	}
	return DFU_STATUS_INTERNAL_ERROR;
}

guint
dfu_error_get_status(const GError *error)
{
	if (error == NULL)
		return DFU_STATUS_NONE;
	if (error->domain == DFU_ERROR && dfu_status_lookup(error->code) != NULL)
		return error->code;
	return DFU_STATUS_INTERNAL_ERROR;
}
