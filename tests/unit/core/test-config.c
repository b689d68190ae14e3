/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "test-util.h"
#include "config.h"
#include "dfu-config.h"
#include "dfu-error.h"

typedef struct {
	char *dir;
	char *conf;
	char *devices;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-config-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->conf = g_build_filename(f->dir, "dfud.conf", NULL);
	f->devices = g_build_filename(f->dir, "devices.d", NULL);
	g_unsetenv("STATE_DIRECTORY");
	g_unsetenv("CACHE_DIRECTORY");
	g_unsetenv("DFUD_CONFIG");
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->conf);
	g_free(f->devices);
}

static void
write_file(const char *path, const char *contents)
{
	g_autoptr(GError) error = NULL;
	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
}

static void
write_device_file(Fixture *f, const char *name, const char *contents)
{
	g_autofree char *path = g_build_filename(f->devices, name, NULL);

	g_assert_cmpint(g_mkdir_with_parents(f->devices, 0700), ==, 0);
	write_file(path, contents);
}

static void
test_config_defaults(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = dfu_config_load(f->conf, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(config->max_parallel_jobs, ==, 4);
	g_assert_cmpuint(config->max_attempts, ==, 3);
	g_assert_cmpuint(config->retry_delay_ms, ==, 2000);
	g_assert_cmpuint(config->keep_finished_sec, ==, 86400);
	g_assert_cmpuint(config->max_finished_jobs, ==, 100);
	g_assert_cmpuint(config->serial_baud, ==, 115200);
	g_assert_cmpuint(config->smp_timeout_ms, ==, 5000);
	g_assert_cmpuint(config->smp_erase_timeout_ms, ==, 40000);
	g_assert_cmpuint(config->smp_retries, ==, 4);
	g_assert_cmpuint(config->smp_max_window, ==, 8);
	g_assert_cmpuint(config->reset_timeout_ms, ==, 60000);
	g_assert_cmpstr(config->state_dir, ==, DFUD_STATE_DIR);
	g_assert_cmpstr(config->cache_dir, ==, DFUD_CACHE_DIR);
	g_assert_cmpuint(g_hash_table_size(config->devices), ==, 0);
	g_assert_null(config->http_ca_file);
	g_assert_null(config->http_headers);
	g_assert_false(config->http_allow_plain);
	g_assert_cmpuint(config->http_connect_timeout_ms, ==, 30000);
	g_assert_cmpuint(config->http_low_speed_limit, ==, 100);
	g_assert_cmpuint(config->cache_max_bytes, ==, 512u << 20);
	g_assert_cmpint(config->signature_policy, ==, DFU_SIGNATURE_POLICY_OPTIONAL);
	g_assert_cmpstr(config->key_dir, ==, DFUD_SYSCONFDIR "/keys");
	g_assert_cmpstr(config->ble_adapter, ==, "hci0");
	g_assert_cmpuint(config->ble_max_connections, ==, 4);
}

static void
test_config_typed_values(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_file(f->conf,
	           "[http]\nCAFile=/etc/ssl/fleet.pem\nHeaders=Authorization: Bearer x; X-Site: 7 ;\n"
	           "AllowPlainHttp=yes\nProxy=\n"
	           "[cache]\nMaxSize=2G\n"
	           "[verify]\nSignature=Required\nKeyDirectory=/srv/keys\n"
	           "[ble]\nDefaultAdapter=hci1\n");
	config = dfu_config_load(f->conf, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(config->http_ca_file, ==, "/etc/ssl/fleet.pem");
	g_assert_cmpuint(g_strv_length(config->http_headers), ==, 2);
	g_assert_cmpstr(config->http_headers[0], ==, "Authorization: Bearer x");
	g_assert_cmpstr(config->http_headers[1], ==, "X-Site: 7");
	g_assert_true(config->http_allow_plain);
	g_assert_null(config->http_proxy);
	g_assert_cmpuint(config->cache_max_bytes, ==, G_GUINT64_CONSTANT(2) << 30);
	g_assert_cmpint(config->signature_policy, ==, DFU_SIGNATURE_POLICY_REQUIRED);
	g_assert_cmpstr(config->key_dir, ==, "/srv/keys");
	g_assert_cmpstr(config->ble_adapter, ==, "hci1");
}

static void
test_config_values(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_file(f->conf, "[daemon]\nMaxParallelJobs=2\nRetryDelaySec=0.25\nKeepFinishedSec=60\n"
	                    "[serial]\nDefaultBaud=1000000\n"
	                    "[smp]\nResponseTimeoutSec=0.5\nMaxWindow=3\nResetTimeoutSec=90\n");
	g_setenv("STATE_DIRECTORY", "/run/a:/run/b", TRUE);
	g_setenv("CACHE_DIRECTORY", "/tmp/cache", TRUE);
	g_setenv("DFUD_CONFIG", f->conf, TRUE);
	config = dfu_config_load(NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(config->max_parallel_jobs, ==, 2);
	g_assert_cmpuint(config->retry_delay_ms, ==, 250);
	g_assert_cmpuint(config->keep_finished_sec, ==, 60);
	g_assert_cmpuint(config->serial_baud, ==, 1000000);
	g_assert_cmpuint(config->smp_timeout_ms, ==, 500);
	g_assert_cmpuint(config->smp_max_window, ==, 3);
	g_assert_cmpuint(config->reset_timeout_ms, ==, 90000);
	g_assert_cmpuint(config->max_attempts, ==, 3);
	g_assert_cmpstr(config->state_dir, ==, "/run/a");
	g_assert_cmpstr(config->cache_dir, ==, "/tmp/cache");
}

static void
assert_config_refused(Fixture *f, const char *contents, const char *message_part)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_file(f->conf, contents);
	config = dfu_config_load(f->conf, &error);
	g_assert_null(config);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, message_part));
}

static void
test_config_refused(Fixture *f, gconstpointer data)
{
	g_autofree char *unknown_key = g_strdup_printf("%s: unknown key 'MaxParalelJobs'", f->conf);

	assert_config_refused(f, "[daemon]\nMaxParalelJobs=2\n", unknown_key);
	assert_config_refused(f, "[deamon]\nMaxParallelJobs=2\n", "unknown group [deamon]");
	assert_config_refused(f, "[daemon]\nMaxParallelJobs=0\n", "MaxParallelJobs");
	assert_config_refused(f, "[daemon]\nMaxAttempts=many\n", "MaxAttempts");
	assert_config_refused(f, "[daemon]\nMaxAttempts=101\n",
	                      "MaxAttempts='101' is not a valid count: 1 to 100");
	assert_config_refused(f, "[daemon]\nMaxAttempts=4294967295\n", "1 to 100");
	assert_config_refused(f, "[daemon]\nRetryDelaySec=-1\n", "RetryDelaySec");
	assert_config_refused(f, "[smp]\nResponseTimeoutSec=nan\n", "ResponseTimeoutSec");
	assert_config_refused(f, "[smp]\nResponseTimeoutSec=1e12\n", "ResponseTimeoutSec");
	assert_config_refused(f, "[smp]\nResponseTimeoutSec=\n", "ResponseTimeoutSec");
	assert_config_refused(f, "[smp]\nResponseTimeoutSec=0.0001\n", "ResponseTimeoutSec");
	assert_config_refused(f, "not a key file", f->conf);
	assert_config_refused(f, "[http]\nAllowPlainHttp=perhaps\n", "not a valid boolean");
	assert_config_refused(f, "[cache]\nMaxSize=12T\n", "MaxSize");
	assert_config_refused(f, "[cache]\nMaxSize=M\n", "MaxSize");
	assert_config_refused(f, "[verify]\nSignature=maybe\n", "off, optional, required");
}

static void
test_config_devices(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_device_file(f, "10-kitchen.conf",
	                  "[Device kitchen-node]\nTarget=serial:/dev/ttyACM0?baud=115200\n"
	                  "[Device porch]\nTarget=ble:c4:12:34:56:78:9a\nBoard=nrf52840dk/nrf52840\n");
	write_device_file(f, "ignored.txt", "garbage");
	config = dfu_config_load(f->conf, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(config->devices), ==, 2);
	g_assert_cmpstr(dfu_config_resolve_target(config, "kitchen-node"), ==,
	                "serial:/dev/ttyACM0?baud=115200");
	g_assert_cmpstr(dfu_config_resolve_target(config, "porch"), ==, "ble:C4:12:34:56:78:9A");
	g_assert_cmpstr(dfu_config_resolve_target(config, "serial:/dev/ttyS1"), ==, "serial:/dev/ttyS1");
	g_assert_null(dfu_config_resolve_target(config, "garage"));
	g_assert_cmpstr(dfu_config_get_board(config, "ble:C4:12:34:56:78:9A"), ==, "nrf52840dk/nrf52840");
	g_assert_null(dfu_config_get_board(config, "serial:/dev/ttyACM0?baud=115200"));
}

static void
assert_devices_refused(Fixture *f, const char *contents, const char *message_part)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_device_file(f, "bad.conf", contents);
	config = dfu_config_load(f->conf, &error);
	g_assert_null(config);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, "bad.conf"));
	g_assert_nonnull(strstr(error->message, message_part));
}

static void
test_config_devices_refused(Fixture *f, gconstpointer data)
{
	assert_devices_refused(f, "[Device x]\nTarget=serial:/dev/x?bad=1\n", "unknown option 'bad'");
	assert_devices_refused(f, "[Device x]\nTarget=serial:/dev/x\nSpeed=3\n", "unknown key 'Speed'");
	assert_devices_refused(f, "[Device x]\n", "has no Target");
	assert_devices_refused(f, "[Node x]\nTarget=serial:/dev/x\n", "unknown group [Node x]");
	write_device_file(f, "bad.conf", "[Device x]\nTarget=serial:/dev/x\n");
	write_device_file(f, "other.conf", "[Device x]\nTarget=serial:/dev/y\n");
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuConfig) config = dfu_config_load(f->conf, &error);
		g_assert_null(config);
		g_assert_nonnull(strstr(error->message, "already declared"));
	}
}

static void
write_drop_in(Fixture *f, const char *name, const char *contents)
{
	g_autofree char *dir = g_strconcat(f->conf, ".d", NULL);
	g_autofree char *path = g_build_filename(dir, name, NULL);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	write_file(path, contents);
}

/* drop-ins follow the main file in the order of their names, each overriding what came before */
static void
test_config_drop_ins(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;

	write_file(f->conf, "[daemon]\nMaxAttempts=5\nMaxParallelJobs=2\n[http]\nProxy=http://a\n");
	write_drop_in(f, "20-late.conf", "[daemon]\nMaxAttempts=9\n");
	write_drop_in(f, "10-early.conf", "[daemon]\nMaxAttempts=7\nRetryDelaySec=1\n[http]\nProxy=\n");
	write_drop_in(f, "30-ignored.conf.disabled", "[daemon]\nMaxAttempts=1\n");
	config = dfu_config_load(f->conf, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(config->max_attempts, ==, 9);
	g_assert_cmpuint(config->max_parallel_jobs, ==, 2);
	g_assert_cmpuint(config->retry_delay_ms, ==, 1000);
	g_assert_null(config->http_proxy);
	g_clear_pointer(&config, dfu_config_free);

	write_drop_in(f, "15-bad.conf", "[daemon]\nMaxAtempts=3\n");
	config = dfu_config_load(f->conf, &error);
	g_assert_null(config);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "15-bad.conf"));
	g_assert_nonnull(strstr(error->message, "MaxAtempts"));
}

/* a reload takes every value and device in place; a bad file changes nothing */
static void
test_config_reload(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = NULL;
	g_autofree char *state_dir = NULL;

	write_file(f->conf, "[daemon]\nMaxAttempts=5\n[ble]\nDefaultAdapter=hci1\n");
	write_device_file(f, "a.conf", "[Device kitchen-node]\nTarget=serial:/dev/ttyACM0\n");
	config = dfu_config_load(f->conf, &error);
	g_assert_no_error(error);
	state_dir = g_strdup(config->state_dir);

	write_file(f->conf, "[daemon]\nMaxParallelJobs=1\n[http]\nHeaders=A: 1;B: 2\n");
	write_drop_in(f, "10-size.conf", "[cache]\nMaxSize=1M\n");
	write_device_file(f, "a.conf", "[Device cellar-node]\nTarget=serial:/dev/ttyACM1\nBoard=x\n");
	g_setenv("STATE_DIRECTORY", "/elsewhere", TRUE);
	g_assert_true(dfu_config_reload(config, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(config->max_attempts, ==, 3);
	g_assert_cmpuint(config->max_parallel_jobs, ==, 1);
	g_assert_cmpstr(config->ble_adapter, ==, "hci0");
	g_assert_cmpstr(config->http_headers[1], ==, "B: 2");
	g_assert_cmpuint(config->cache_max_bytes, ==, 1u << 20);
	g_assert_null(dfu_config_resolve_target(config, "kitchen-node"));
	g_assert_cmpstr(dfu_config_resolve_target(config, "cellar-node"), ==, "serial:/dev/ttyACM1");
	g_assert_cmpstr(dfu_config_get_device_name(config, "serial:/dev/ttyACM1"), ==, "cellar-node");
	g_assert_cmpstr(dfu_config_get_board(config, "serial:/dev/ttyACM1"), ==, "x");
	g_assert_cmpstr(config->state_dir, ==, state_dir);

	write_file(f->conf, "[daemon]\nMaxParallelJobs=zero\n");
	g_assert_false(dfu_config_reload(config, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(config->max_parallel_jobs, ==, 1);
	g_assert_cmpstr(dfu_config_resolve_target(config, "cellar-node"), ==, "serial:/dev/ttyACM1");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/core/config/defaults", Fixture, NULL, fixture_set_up, test_config_defaults,
	           fixture_tear_down);
	g_test_add("/core/config/values", Fixture, NULL, fixture_set_up, test_config_values,
	           fixture_tear_down);
	g_test_add("/core/config/typed-values", Fixture, NULL, fixture_set_up, test_config_typed_values,
	           fixture_tear_down);
	g_test_add("/core/config/refused", Fixture, NULL, fixture_set_up, test_config_refused,
	           fixture_tear_down);
	g_test_add("/core/config/devices", Fixture, NULL, fixture_set_up, test_config_devices,
	           fixture_tear_down);
	g_test_add("/core/config/devices-refused", Fixture, NULL, fixture_set_up, test_config_devices_refused,
	           fixture_tear_down);
	g_test_add("/core/config/drop-ins", Fixture, NULL, fixture_set_up, test_config_drop_ins,
	           fixture_tear_down);
	g_test_add("/core/config/reload", Fixture, NULL, fixture_set_up, test_config_reload,
	           fixture_tear_down);
	return g_test_run();
}
