/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BLE transport against dfu-sim-ble playing bluetoothd on a private bus:
 * both GATT data paths, messages longer than one write and one notification,
 * a device found by discovery, the ways opening fails, and the link going
 * away when the device resets.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "ble-transport.h"
#include "transport-recorder.h"
#include "dfu-error.h"

#define ADDRESS "C4:12:34:56:78:9A"

typedef struct {
	TransportRecorder rec;
	GSubprocess *sim;
	char *dir;
	DfuTransport *t;
} Fixture;

static void
die_with_parent(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
on_watchdog(gpointer user_data)
{
	g_error("test did not finish");
	return G_SOURCE_REMOVE;
}

static void
fixture_start(Fixture *f, const char *address, const char *adapter, const char *const *extra)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GDataInputStream) out = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *line = NULL;
	const BleTransportOptions opt = {
	        .address = address,
	        .adapter = adapter,
	        .connect_timeout_ms = 1500,
	        .discovery_timeout_ms = 300,
	};

	transport_recorder_init(&f->rec);
	f->dir = g_dir_make_tmp(NULL, &error);
	g_assert_no_error(error);
	g_ptr_array_add(argv, g_build_filename(g_getenv("DFUD_BUILD_ROOT"), "tests", "sim", "ble",
	                                       "dfu-sim-ble", NULL));
	for (const char *const *a =
	             (const char *const[]){"--device", ADDRESS, "--connect-ms", "5", "--advertise-ms", "5",
	                                   "--reset-ms", "5", "--state-dir", f->dir, NULL};
	     *a != NULL; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	for (const char *const *a = extra; a != NULL && *a != NULL; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	f->sim = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(f->sim));
	line = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "READY");

	f->t = dfu_ble_transport_new(&opt);
	transport_recorder_attach(&f->rec, f->t);
}

static void
run(Fixture *f)
{
	guint watchdog = g_timeout_add_seconds(5, on_watchdog, NULL);
	g_main_loop_run(f->rec.loop);
	g_source_remove(watchdog);
}

static void
fixture_open(Fixture *f)
{
	dfu_transport_open(f->t);
	/* a second open while the first is under way changes nothing */
	dfu_transport_open(f->t);
	run(f);
	g_assert_true(f->rec.opened);
}

static void
fixture_stop(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = NULL;
	const char *name;

	g_clear_pointer(&f->t, dfu_transport_free);
	g_subprocess_send_signal(f->sim, SIGTERM);
	g_subprocess_wait_check(f->sim, NULL, &error);
	g_assert_no_error(error);
	g_object_unref(f->sim);
	d = g_dir_open(f->dir, 0, NULL);
	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(f->dir, name, NULL);
		g_unlink(path);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
	transport_recorder_clear(&f->rec);
}

/* an SMP echo (OS group, id 0, write) of a text of n bytes */
static GByteArray *
echo_request(gsize n, guint8 seq)
{
	gsize payload = 6 + n;
	guint8 hdr[8] = {0x0a, 0, (guint8)(payload >> 8), (guint8)payload, 0, 0, seq, 0};
	guint8 map[6] = {0xa1, 0x61, 'd', 0x79, (guint8)(n >> 8), (guint8)n};
	GByteArray *m = g_byte_array_new();

	g_byte_array_append(m, hdr, sizeof(hdr));
	g_byte_array_append(m, map, 6);
	for (gsize i = 0; i < n; i++) {
		guint8 c = 'a' + i % 26;
		g_byte_array_append(m, &c, 1);
	}
	return m;
}

/* the answer to an echo of n bytes is whole and carries the text back */
static void
assert_echo(GBytes *answer, const GByteArray *req, gsize n, guint8 seq)
{
	gsize len = 0;
	const guint8 *rsp = g_bytes_get_data(answer, &len);

	g_assert_cmpuint(len, >=, 8 + n);
	g_assert_cmpuint(len, ==, 8 + ((gsize)rsp[2] << 8 | rsp[3]));
	g_assert_cmpuint(rsp[0] & 7, ==, 3);
	g_assert_cmpuint(rsp[6], ==, seq);
	/* the echoed text ends the answer */
	g_assert_cmpmem(rsp + len - n, n, req->data + req->len - n, n);
}

/* sends an echo and checks its answer */
static void
round_trip(Fixture *f, gsize n, guint8 seq)
{
	g_autoptr(GByteArray) req = echo_request(n, seq);
	g_autoptr(GError) error = NULL;
	guint before = f->rec.packets->len;

	g_assert_true(dfu_transport_send(f->t, req->data, req->len, &error));
	g_assert_no_error(error);
	run(f);
	g_assert_cmpuint(f->rec.packets->len, ==, before + 1);
	assert_echo(g_ptr_array_index(f->rec.packets, before), req, n, seq);
}

static void
check_paths(const char *const *extra)
{
	Fixture f = {0};

	fixture_start(&f, ADDRESS, "hci0", extra);
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	g_assert_true(dfu_transport_is_open(f.t));
	/* the simulator's default ATT MTU is 247 */
	g_assert_cmpuint(dfu_transport_max_message(f.t), ==, 244);
	round_trip(&f, 10, 1);
	/* longer than one write and one notification: split and joined again */
	round_trip(&f, 1500, 2);
	round_trip(&f, 230, 3);
	g_assert_null(dfu_ble_transport_explain_silence(f.t));
	dfu_transport_close(f.t);
	g_assert_false(dfu_transport_is_open(f.t));
	/* and again, as after a device reset */
	f.rec.opened = FALSE;
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	round_trip(&f, 600, 4);
	fixture_stop(&f);
}

static void
test_sockets(void)
{
	check_paths(NULL);
}

/* more writes at once than the socket holds: they wait for room and leave in order, none lost */
static void
test_burst(void)
{
	Fixture f = {0};
	const guint count = 40;
	const gsize n = 1500;
	g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);

	/* a link that holds two writes leaves the rest in the socket, which holds a few more */
	fixture_start(&f, ADDRESS, "hci0", (const char *const[]){"--link-queue", "2", NULL});
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	for (guint i = 0; i < count; i++) {
		GByteArray *req = echo_request(n, 10 + i);

		g_ptr_array_add(reqs, req);
		g_assert_true(dfu_transport_send(f.t, req->data, req->len, NULL));
	}
	while (f.rec.packets->len < count)
		run(&f);
	for (guint i = 0; i < count; i++)
		assert_echo(g_ptr_array_index(f.rec.packets, i), g_ptr_array_index(reqs, i), n, 10 + i);
	fixture_stop(&f);
}

static void
test_write_value(void)
{
	check_paths((const char *const[]){"--no-acquire", NULL});
}

static void
test_discovery(void)
{
	Fixture f = {0};

	fixture_start(&f, ADDRESS, "hci0", (const char *const[]){"--hidden", NULL});
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	round_trip(&f, 300, 9);
	fixture_stop(&f);
}

static void
expect_open_error(const char *address, const char *adapter, const char *const *extra, DfuStatus status)
{
	Fixture f = {0};

	fixture_start(&f, address, adapter, extra);
	fixture_open(&f);
	g_assert_error(f.rec.open_error, DFU_ERROR, (gint)status);
	g_assert_false(dfu_transport_is_open(f.t));
	fixture_stop(&f);
}

static void
test_open_failures(void)
{
	expect_open_error(ADDRESS, "hci7", NULL, DFU_STATUS_LINK_NOT_FOUND);
	/* nobody advertises this address: discovery gives up */
	expect_open_error("C4:12:34:56:78:00", "hci0", NULL, DFU_STATUS_LINK_NOT_FOUND);
	expect_open_error(ADDRESS, "hci0", (const char *const[]){"--require-pairing=notify", NULL},
	                  DFU_STATUS_AUTH_REQUIRED);
	expect_open_error(ADDRESS, "hci0",
	                  (const char *const[]){"--require-pairing=notify", "--no-acquire", NULL},
	                  DFU_STATUS_AUTH_REQUIRED);
}

/* writes vanish on an unpaired device: the silence is explained as a pairing problem */
static void
test_silent_unpaired(void)
{
	Fixture f = {0};
	g_autoptr(GByteArray) req = echo_request(4, 1);
	g_autoptr(GError) explained = NULL;

	fixture_start(&f, ADDRESS, "hci0", (const char *const[]){"--require-pairing=silent", NULL});
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	g_assert_true(dfu_transport_send(f.t, req->data, req->len, NULL));
	explained = dfu_ble_transport_explain_silence(f.t);
	g_assert_error(explained, DFU_ERROR, DFU_STATUS_AUTH_REQUIRED);
	g_assert_nonnull(g_strstr_len(explained->message, -1, "bluetoothctl pair " ADDRESS));
	fixture_stop(&f);
}

static void
on_other_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, NULL);

	*done = TRUE;
}

/* another program is connecting on the adapter: InProgress, wait, then our turn */
static void
test_other_connecting(void)
{
	Fixture f = {0};
	g_autoptr(GDBusConnection) other = NULL;
	g_autoptr(GError) error = NULL;
	gboolean other_done = FALSE;

	fixture_start(&f, ADDRESS, "hci0",
	              (const char *const[]){"--device", "C4:12:34:56:78:00", "--connect-ms", "150", NULL});
	other = g_dbus_connection_new_for_address_sync(g_getenv("DBUS_SYSTEM_BUS_ADDRESS"),
	                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	                                               NULL, NULL, &error);
	g_assert_no_error(error);
	g_dbus_connection_call(other, "org.bluez", "/org/bluez/hci0/dev_C4_12_34_56_78_00",
	                       "org.bluez.Device1", "Connect", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
	                       on_other_connected, &other_done);
	/* the other call reaches bluetoothd first */
	g_dbus_connection_flush_sync(other, NULL, &error);
	g_assert_no_error(error);
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	g_assert_true(other_done);
	round_trip(&f, 40, 1);
	g_dbus_connection_close_sync(other, NULL, NULL);
	fixture_stop(&f);
}

/* an SMP reset: the device drops the link, the owner hears closed */
static void
test_reset_closes(void)
{
	Fixture f = {0};
	const guint8 reset[] = {0x0a, 0, 0, 1, 0, 0, 7, 5, 0xa0};

	fixture_start(&f, ADDRESS, "hci0", NULL);
	fixture_open(&f);
	g_assert_no_error(f.rec.open_error);
	g_assert_true(dfu_transport_send(f.t, reset, sizeof(reset), NULL));
	while (!f.rec.closed)
		run(&f);
	g_assert_error(f.rec.close_error, DFU_ERROR, DFU_STATUS_LINK_LOST);
	g_assert_false(dfu_transport_is_open(f.t));
	fixture_stop(&f);
}

int
main(int argc, char **argv)
{
	g_autoptr(GTestDBus) bus = NULL;
	int rc;

	g_test_init(&argc, &argv, NULL);
	bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(bus);
	/* the transport talks to the "system" bus, as on a gateway */
	g_setenv("DBUS_SYSTEM_BUS_ADDRESS", g_test_dbus_get_bus_address(bus), TRUE);
	g_test_add_func("/ble-transport/sockets", test_sockets);
	g_test_add_func("/ble-transport/burst", test_burst);
	g_test_add_func("/ble-transport/write-value", test_write_value);
	g_test_add_func("/ble-transport/discovery", test_discovery);
	g_test_add_func("/ble-transport/open-failures", test_open_failures);
	g_test_add_func("/ble-transport/silent-unpaired", test_silent_unpaired);
	g_test_add_func("/ble-transport/reset-closes", test_reset_closes);
	g_test_add_func("/ble-transport/other-connecting", test_other_connecting);
	rc = g_test_run();
	g_test_dbus_down(bus);
	return rc;
}
