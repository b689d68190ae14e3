/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-buttonless.h"

#include <string.h>

#include "dfu-error.h"

#define RESPONSE_CODE 0x20
#define STATUS_SUCCESS 0x01

static const struct {
	guint8 status;
	DfuStatus code;
	const char *text;
} refusals[] = {
        {0x02, DFU_STATUS_NOT_SUPPORTED, "does not support entering the bootloader this way"},
        {0x04, DFU_STATUS_DEVICE_ERROR, "failed to enter the bootloader"},
        {0x05, DFU_STATUS_DEVICE_ERROR, "refused the bootloader's advertising name"},
        {0x06, DFU_STATUS_DEVICE_BUSY, "is busy and did not enter the bootloader"},
        {0x07, DFU_STATUS_AUTH_REQUIRED, "is not bonded: pair it before an update through bond sharing"},
};

char *
ble_buttonless_bootloader_address(const char *address)
{
	gsize n = strlen(address);
	g_autofree char *head = g_strndup(address, n - MIN(n, 2));
	guint last = (guint)g_ascii_strtoull(address + n - MIN(n, 2), NULL, 16);

	return g_strdup_printf("%s%02X", head, (last + 1) & 0xFF);
}

gboolean
ble_buttonless_answer(const guint8 *data, gsize len, const char *address, GError **error)
{
	if (len < 3 || data[0] != RESPONSE_CODE || data[1] != BLE_BUTTONLESS_ENTER)
		return FALSE;
	if (data[2] == STATUS_SUCCESS)
		return TRUE;
	for (guint i = 0; i < G_N_ELEMENTS(refusals); i++) {
		if (refusals[i].status == data[2]) {
			g_set_error(error, DFU_ERROR, refusals[i].code,
			            "%s: the application %s (status 0x%02x)", address, refusals[i].text,
			            data[2]);
			return TRUE;
		}
	}
	g_set_error(error, DFU_ERROR, DFU_STATUS_DEVICE_ERROR,
	            "%s: the application refused to enter the bootloader (status 0x%02x)", address, data[2]);
	return TRUE;
}
