/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what to tell a user whose device needs a bond before it talks */
#define BLUEZ_PAIRING_HINT                                                                                   \
	"pair and trust the device first (bluetoothctl pair <address>, then bluetoothctl trust <address>)"

/*
 * Turns a D-Bus error from bluetoothd (org.bluez.Error.* and the bus's own
 * errors) into a DFU_ERROR with the matching status and, where one helps, a
 * hint. what names the step that failed ("connect", "enable notifications").
 */
GError *bluez_error_new(const char *name, const char *message, const char *what);
/* the status code bluez_error_new would use */
guint bluez_error_status(const char *name, const char *message);

G_END_DECLS
