/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-downgrade.h"
#include "dfu-error.h"

static void
test_check(void)
{
	const char *good[] = {"0", "1,net", "APP", " 15 , app_update.bin", "net_core_app_update.bin"};
	const char *bad[] = {"16", "netcore", "1,,2", "dir/app.bin", ".bin", "-1", "yes"};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		g_assert_true(dfu_downgrade_names_check(good[i], NULL));
	g_assert_true(dfu_downgrade_names_check(NULL, NULL));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;

		g_assert_false(dfu_downgrade_names_check(bad[i], &error));
		g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	}
}

static void
test_match(void)
{
	const char *files[] = {"app_update.bin", "net_core_app_update.bin", NULL};
	g_autofree char *unknown = NULL;

	g_assert_true(dfu_downgrade_names_match("net", 1, "x.bin"));
	g_assert_true(dfu_downgrade_names_match("0,1", 1, "x.bin"));
	g_assert_true(dfu_downgrade_names_match("net_core_app_update.bin", 1, "net_core_app_update.bin"));
	g_assert_false(dfu_downgrade_names_match("net", 0, "app_update.bin"));
	g_assert_false(dfu_downgrade_names_match(NULL, 0, "app_update.bin"));
	g_assert_null(dfu_downgrade_names_unknown_file("net,app_update.bin", files));
	unknown = dfu_downgrade_names_unknown_file("0,other.bin", files);
	g_assert_cmpstr(unknown, ==, "other.bin");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/downgrade/check", test_check);
	g_test_add_func("/downgrade/match", test_match);
	return g_test_run();
}
