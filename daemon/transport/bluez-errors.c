/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bluez-errors.h"

#include "dfu-error.h"

typedef struct {
	const char *name;
	DfuStatus status;
	const char *hint;
} BluezErrorEntry;

/* marks the entries whose hint is the pairing one, which names the device */
static const char PAIRING[] = "pairing";

#define POLICY_HINT "dfud needs bluetoothd's D-Bus policy to let it call org.bluez (see dfud(8))"

static const BluezErrorEntry error_table[] = {
        {"org.bluez.Error.NotReady", DFU_STATUS_CONNECT_FAILED, "is the adapter powered?"},
        {"org.bluez.Error.Failed", DFU_STATUS_CONNECT_FAILED, NULL},
        {"org.bluez.Error.InProgress", DFU_STATUS_DEVICE_BUSY, NULL},
        {"org.bluez.Error.AlreadyExists", DFU_STATUS_DEVICE_BUSY, NULL},
        {"org.bluez.Error.DoesNotExist", DFU_STATUS_LINK_NOT_FOUND, NULL},
        {"org.bluez.Error.NotAvailable", DFU_STATUS_LINK_NOT_FOUND, NULL},
        {"org.bluez.Error.NotConnected", DFU_STATUS_LINK_LOST, NULL},
        {"org.bluez.Error.ConnectionAttemptFailed", DFU_STATUS_CONNECT_FAILED, NULL},
        {"org.bluez.Error.NotSupported", DFU_STATUS_NOT_SUPPORTED, NULL},
        {"org.bluez.Error.NotPermitted", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.NotAuthorized", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.AuthenticationFailed", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.AuthenticationCanceled", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.AuthenticationRejected", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.AuthenticationTimeout", DFU_STATUS_AUTH_REQUIRED, PAIRING},
        {"org.bluez.Error.InvalidArguments", DFU_STATUS_INTERNAL_ERROR, NULL},
        {"org.bluez.Error.InvalidValueLength", DFU_STATUS_INTERNAL_ERROR, NULL},
        {"org.freedesktop.DBus.Error.ServiceUnknown", DFU_STATUS_LINK_NOT_FOUND, "is bluetoothd running?"},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", DFU_STATUS_LINK_NOT_FOUND, "is bluetoothd running?"},
        {"org.freedesktop.DBus.Error.UnknownObject", DFU_STATUS_LINK_NOT_FOUND, NULL},
        {"org.freedesktop.DBus.Error.UnknownMethod", DFU_STATUS_NOT_SUPPORTED, NULL},
        {"org.freedesktop.DBus.Error.AccessDenied", DFU_STATUS_PERMISSION_DENIED, POLICY_HINT},
        {"org.freedesktop.DBus.Error.NoReply", DFU_STATUS_CONNECT_FAILED, NULL},
        {"org.freedesktop.DBus.Error.Timeout", DFU_STATUS_CONNECT_FAILED, NULL},
        {"org.freedesktop.DBus.Error.TimedOut", DFU_STATUS_CONNECT_FAILED, NULL},
        {"org.freedesktop.DBus.Error.Disconnected", DFU_STATUS_LINK_LOST, NULL},
};

/* ATT errors that BlueZ passes on as text inside a generic error name */
static const char *const auth_messages[] = {
        "Insufficient authentication",
        "Insufficient encryption",
        "Insufficient authorization",
};

static const BluezErrorEntry *
lookup(const char *name, const char *message)
{
	static const BluezErrorEntry auth = {NULL, DFU_STATUS_AUTH_REQUIRED, PAIRING};
	static const BluezErrorEntry unknown = {NULL, DFU_STATUS_CONNECT_FAILED, NULL};

	for (guint i = 0; message != NULL && i < G_N_ELEMENTS(auth_messages); i++) {
		if (g_strstr_len(message, -1, auth_messages[i]) != NULL)
			return &auth;
	}
	for (guint i = 0; name != NULL && i < G_N_ELEMENTS(error_table); i++) {
		if (g_strcmp0(error_table[i].name, name) == 0)
			return &error_table[i];
	}
	return &unknown;
}

guint
bluez_error_status(const char *name, const char *message)
{
	return lookup(name, message)->status;
}

char *
bluez_pairing_hint(const char *address)
{
	return g_strdup_printf(BLUEZ_PAIRING_HINT, address, address);
}

GError *
bluez_error_new(const char *name, const char *message, const char *address, const char *what)
{
	const BluezErrorEntry *e = lookup(name, message);
	const char *text = message != NULL && message[0] != '\0' ? message : "failed";
	g_autofree char *hint = e->hint == PAIRING ? bluez_pairing_hint(address) : g_strdup(e->hint);

	return g_error_new(DFU_ERROR, e->status, "%s: %s: %s (%s)%s%s", address, what, text,
	                   name != NULL ? name : "unknown error", hint != NULL ? "; " : "",
	                   hint != NULL ? hint : "");
}
