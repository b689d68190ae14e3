/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bluez-errors.h"
#include "dfu-error.h"

typedef struct {
	const char *name;
	const char *message;
	DfuStatus status;
	const char *says; /* part of the text */
} Case;

static const Case cases[] = {
        {"org.bluez.Error.NotReady", "Resource Not Ready", DFU_STATUS_CONNECT_FAILED, "powered"},
        {"org.bluez.Error.Failed", "le-connection-abort-by-local", DFU_STATUS_CONNECT_FAILED,
         "le-connection-abort-by-local"},
        {"org.bluez.Error.InProgress", "In Progress", DFU_STATUS_DEVICE_BUSY, "In Progress"},
        {"org.bluez.Error.DoesNotExist", "Does Not Exist", DFU_STATUS_LINK_NOT_FOUND, "DoesNotExist"},
        {"org.bluez.Error.NotPermitted", "Not Permitted", DFU_STATUS_AUTH_REQUIRED, "bluetoothctl pair"},
        {"org.bluez.Error.NotAuthorized", NULL, DFU_STATUS_AUTH_REQUIRED, "bluetoothctl trust"},
        {"org.bluez.Error.AuthenticationFailed", "", DFU_STATUS_AUTH_REQUIRED, "failed"},
        /* the ATT error text wins over a generic name */
        {"org.bluez.Error.Failed", "Operation failed with ATT error: 0x05 (Insufficient authentication)",
         DFU_STATUS_AUTH_REQUIRED, "bluetoothctl pair"},
        {"org.bluez.Error.NotSupported", "Operation is not supported", DFU_STATUS_NOT_SUPPORTED, "supported"},
        {"org.freedesktop.DBus.Error.ServiceUnknown", "no bluetoothd", DFU_STATUS_LINK_NOT_FOUND,
         "bluetoothd running"},
        {"org.freedesktop.DBus.Error.AccessDenied", "denied", DFU_STATUS_PERMISSION_DENIED, "policy"},
        {"org.example.Unheard", "odd", DFU_STATUS_CONNECT_FAILED, "org.example.Unheard"},
        {NULL, NULL, DFU_STATUS_CONNECT_FAILED, "unknown error"},
};

static void
test_table(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		const Case *c = &cases[i];
		g_autoptr(GError) error =
		        bluez_error_new(c->name, c->message, "C4:12:34:56:78:9A", "connect");

		g_assert_error(error, DFU_ERROR, (gint)c->status);
		g_assert_cmpuint(bluez_error_status(c->name, c->message), ==, c->status);
		g_assert_true(g_str_has_prefix(error->message, "C4:12:34:56:78:9A: connect: "));
		if (g_strstr_len(error->message, -1, c->says) == NULL)
			g_error("'%s' does not say '%s'", error->message, c->says);
	}
}

static void
test_hint_names_device(void)
{
	g_autofree char *hint = bluez_pairing_hint("C4:12:34:56:78:9A");

	g_assert_cmpstr(hint, ==,
	                "pair and trust the device first: bluetoothctl pair C4:12:34:56:78:9A; "
	                "bluetoothctl trust C4:12:34:56:78:9A");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bluez-errors/table", test_table);
	g_test_add_func("/bluez-errors/hint", test_hint_names_device);
	return g_test_run();
}
