/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what to tell a user whose device needs a bond before it talks; %s is the address */
#define BLUEZ_PAIRING_HINT "pair and trust the device first: bluetoothctl pair %s; bluetoothctl trust %s"

/*
 * Turns a D-Bus error from bluetoothd (org.bluez.Error.* and the bus's own
 * errors) into a DFU_ERROR with the matching status and, where one helps, a
 * hint. address is the device's, what names the step that failed
 * ("connect", "enable notifications").
 */
GError *bluez_error_new(const char *name, const char *message, const char *address, const char *what);
/* the pairing hint for one device */
char *bluez_pairing_hint(const char *address);
/* the status code bluez_error_new would use */
guint bluez_error_status(const char *name, const char *message);

G_END_DECLS
