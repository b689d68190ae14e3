/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-buttonless.h"
#include <string.h>

#include "dfu-error.h"

static void
test_address(void)
{
	g_autofree char *next = ble_buttonless_bootloader_address("C4:12:34:56:78:9A");
	/* no carry into the next octet */
	g_autofree char *wrapped = ble_buttonless_bootloader_address("C4:12:34:56:78:FF");

	g_assert_cmpstr(next, ==, "C4:12:34:56:78:9B");
	g_assert_cmpstr(wrapped, ==, "C4:12:34:56:78:00");
}

static void
test_answers(void)
{
	static const struct {
		guint8 data[4];
		gsize len;
		gboolean answered;
		gint code; /* 0: accepted */
	} cases[] = {
	        {{0x20, 0x01, 0x01}, 3, TRUE, 0},
	        {{0x20, 0x01, 0x07}, 3, TRUE, DFU_STATUS_AUTH_REQUIRED},
	        {{0x20, 0x01, 0x06}, 3, TRUE, DFU_STATUS_DEVICE_BUSY},
	        {{0x20, 0x01, 0x02}, 3, TRUE, DFU_STATUS_NOT_SUPPORTED},
	        {{0x20, 0x01, 0x7F}, 3, TRUE, DFU_STATUS_DEVICE_ERROR},
	        /* the answer to setting the name, a short one, something else: not yet */
	        {{0x20, 0x02, 0x01}, 3, FALSE, 0},
	        {{0x20, 0x01}, 2, FALSE, 0},
	        {{0x60, 0x01, 0x01}, 3, FALSE, 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean answered =
		        ble_buttonless_answer(cases[i].data, cases[i].len, "C4:12:34:56:78:9A", &error);

		g_assert_cmpint(answered, ==, cases[i].answered);
		if (cases[i].code == 0) {
			g_assert_no_error(error);
			continue;
		}
		g_assert_error(error, DFU_ERROR, cases[i].code);
		g_assert_nonnull(strstr(error->message, "C4:12:34:56:78:9A"));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ble-buttonless/address", test_address);
	g_test_add_func("/ble-buttonless/answers", test_answers);
	return g_test_run();
}
