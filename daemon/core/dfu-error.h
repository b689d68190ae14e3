/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-status.h"

G_BEGIN_DECLS

/*
 * The one error domain of dfud. Its codes are DfuStatus values, so an error
 * raised anywhere (bundle parser, protocol engine, transport) already carries
 * the status code that the job will end with, and maps to one D-Bus error name.
 */
#define DFU_ERROR (dfu_error_quark())
GQuark dfu_error_quark(void);

#define DFU_DBUS_ERROR_PREFIX "org.dfud1.Error."

/* "org.dfud1.Error.LinkLost" for a status code; unknown codes give InternalError */
char *dfu_error_dbus_name(guint code);
/* the status code for an org.dfud1.Error.* name, DFU_STATUS_INTERNAL_ERROR when unknown */
guint dfu_error_from_dbus_name(const char *name);
/* status code of any GError: its code when in DFU_ERROR, else INTERNAL_ERROR */
guint dfu_error_get_status(const GError *error);

G_END_DECLS
