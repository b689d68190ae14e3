/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "ble-link-model.h"
#include "mcuboot-writer.h"
#include "smp-message.h"

/* only bounds a hang: every wait ends on an event, never on a clock */
#define WAIT_MS 5000
#define DEV_A "C4:12:34:56:78:9A"
#define DEV_B "C4:12:34:56:78:9B"
#define PATH_A "/org/bluez/hci0/dev_C4_12_34_56_78_9A"
#define PATH_B "/org/bluez/hci0/dev_C4_12_34_56_78_9B"
#define CHAR_A PATH_A "/service0010/char0011"

static char *bus_address;

typedef struct {
	GSubprocess *sim;
	GDBusConnection *bus;
	char *dir;
	int write_fd;
	int notify_fd;
} Sim;

static void
die_with_parent(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static char *
sim_path(void)
{
	const char *root = g_getenv("DFUD_BUILD_ROOT");

	g_assert_nonnull(root);
	return g_build_filename(root, "tests", "sim", "ble", "dfu-sim-ble", NULL);
}

/* starts the simulator with the fast timings of the tests plus extra options */
static Sim *
sim_start(const char *const *extra)
{
	Sim *sim = g_new0(Sim, 1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GDataInputStream) out = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *line = NULL;
	const char *base[] = {"--bus", bus_address, "--connect-ms", "5", "--advertise-ms", "5", "--reset-ms",
	                      "5",     "--swap-ms", "100",          NULL};

	sim->write_fd = -1;
	sim->notify_fd = -1;
	sim->dir = g_dir_make_tmp(NULL, &error);
	g_assert_no_error(error);
	g_ptr_array_add(argv, sim_path());
	for (const char *const *a = base; *a != NULL; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, g_strdup("--state-dir"));
	g_ptr_array_add(argv, g_strdup(sim->dir));
	for (const char *const *a = extra; a != NULL && *a != NULL; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, NULL);
	/* a failed assertion aborts the test: the simulator must not outlive it */
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	sim->sim = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(sim->sim));
	line = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "READY");

	sim->bus =
	        g_dbus_connection_new_for_address_sync(bus_address,
	                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	                                               NULL, NULL, &error);
	g_assert_no_error(error);
	return sim;
}

/* the state directory holds only the simulator's flat files */
static void
remove_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_assert_cmpint(g_unlink(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void
sim_stop(Sim *sim)
{
	g_autoptr(GError) error = NULL;

	if (sim->write_fd >= 0)
		close(sim->write_fd);
	if (sim->notify_fd >= 0)
		close(sim->notify_fd);
	g_dbus_connection_close_sync(sim->bus, NULL, NULL);
	g_object_unref(sim->bus);
	g_subprocess_send_signal(sim->sim, SIGTERM);
	g_subprocess_wait_check(sim->sim, NULL, &error);
	g_assert_no_error(error);
	g_object_unref(sim->sim);
	remove_dir(sim->dir);
	g_free(sim->dir);
	g_free(sim);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Sim, sim_stop)

static GVariant *
call(Sim *sim, const char *path, const char *iface, const char *method, GVariant *args, GError **error)
{
	return g_dbus_connection_call_sync(sim->bus, "org.bluez", path, iface, method, args, NULL,
	                                   G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, error);
}

static void
call_ok(Sim *sim, const char *path, const char *iface, const char *method, GVariant *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = call(sim, path, iface, method, args, &error);

	g_assert_no_error(error);
}

static void
assert_dbus_error(GError *error, const char *name)
{
	g_autofree char *remote = NULL;

	g_assert_nonnull(error);
	remote = g_dbus_error_get_remote_error(error);
	g_assert_cmpstr(remote, ==, name);
}

static GVariant *
get_property(Sim *sim, const char *path, const char *iface, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = call(sim, path, "org.freedesktop.DBus.Properties", "Get",
	                                 g_variant_new("(ss)", iface, name), &error);
	GVariant *value;

	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(v)", &value);
	return value;
}

static gboolean
get_bool(Sim *sim, const char *path, const char *iface, const char *name)
{
	g_autoptr(GVariant) value = get_property(sim, path, iface, name);

	g_assert_nonnull(value);
	return g_variant_get_boolean(value);
}

/* object path → interface names, from GetManagedObjects */
static GHashTable *
managed_objects(Sim *sim)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        call(sim, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, &error);
	g_autoptr(GVariantIter) objects = NULL;
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *path;
	GVariant *ifaces;

	g_assert_no_error(error);
	g_variant_get(reply, "(a{oa{sa{sv}}})", &objects);
	while (g_variant_iter_loop(objects, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		GString *names = g_string_new(NULL);
		GVariantIter iter;
		const char *name;

		g_variant_iter_init(&iter, ifaces);
		while (g_variant_iter_loop(&iter, "{&s@a{sv}}", &name, NULL))
			g_string_append_printf(names, "%s;", name);
		g_hash_table_insert(table, g_strdup(path), g_string_free(names, FALSE));
	}
	return table;
}

static void
connect_device(Sim *sim, const char *path)
{
	call_ok(sim, path, "org.bluez.Device1", "Connect", NULL);
	g_assert_true(get_bool(sim, path, "org.bluez.Device1", "Connected"));
	g_assert_true(get_bool(sim, path, "org.bluez.Device1", "ServicesResolved"));
}

static int
acquire(Sim *sim, const char *method, guint16 *mtu, GError **error)
{
	g_autoptr(GUnixFDList) fds = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_sync(
	        sim->bus, "org.bluez", CHAR_A, "org.bluez.GattCharacteristic1", method,
	        g_variant_new("(@a{sv})", g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        G_VARIANT_TYPE("(hq)"), G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, &fds, NULL, error);
	gint32 index;

	if (reply == NULL)
		return -1;
	g_variant_get(reply, "(hq)", &index, mtu);
	return g_unix_fd_list_get(fds, index, error);
}

static void
acquire_both(Sim *sim)
{
	g_autoptr(GError) error = NULL;
	guint16 mtu = 0;

	sim->write_fd = acquire(sim, "AcquireWrite", &mtu, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(mtu, ==, 247);
	sim->notify_fd = acquire(sim, "AcquireNotify", &mtu, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(mtu, ==, 247);
	g_assert_true(get_bool(sim, CHAR_A, "org.bluez.GattCharacteristic1", "WriteAcquired"));
	g_assert_true(get_bool(sim, CHAR_A, "org.bluez.GattCharacteristic1", "NotifyAcquired"));
}

static GBytes *
smp_request_seq(guint8 op, guint16 group, guint8 id, cbor_item_t *payload, guint8 seq)
{
	SmpHeader hdr = {.op = op, .version = 1, .group = group, .id = id, .seq = seq};
	GBytes *msg = smp_message_encode(&hdr, payload);

	if (payload != NULL)
		cbor_decref(&payload);
	return msg;
}

static GBytes *
smp_request(guint8 op, guint16 group, guint8 id, cbor_item_t *payload)
{
	return smp_request_seq(op, group, id, payload, 7);
}

static GBytes *
params_request(guint8 seq)
{
	return smp_request_seq(SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, NULL, seq);
}

static GBytes *
echo_request(const char *text, guint8 seq)
{
	cbor_item_t *payload = smp_map_new();

	smp_map_add_text(payload, "d", text);
	return smp_request_seq(SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_ECHO, payload, seq);
}

/* sends msg (consumed) as writes of at most chunk bytes over the acquired socket */
static void
send_writes(Sim *sim, GBytes *msg_in, gsize chunk)
{
	g_autoptr(GBytes) msg = msg_in;
	gsize len;
	const guint8 *data = g_bytes_get_data(msg, &len);

	for (gsize off = 0; off < len; off += chunk)
		g_assert_cmpint(send(sim->write_fd, data + off, MIN(chunk, len - off), 0), ==,
		                (gssize)MIN(chunk, len - off));
}

/* reads notifications until one whole message is in; counts them */
static SmpMessage *
receive_message(int fd, guint *notifications)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	gsize expected = SMP_HEADER_SIZE;
	SmpMessage *msg;

	*notifications = 0;
	while (buf->len < expected) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		guint8 datagram[600];
		gssize n;
		SmpHeader hdr;

		g_assert_cmpint(poll(&pfd, 1, WAIT_MS), ==, 1);
		n = recv(fd, datagram, sizeof(datagram), 0);
		g_assert_cmpint(n, >, 0);
		g_assert_cmpint(n, <=, 244);
		(*notifications)++;
		g_byte_array_append(buf, datagram, (guint)n);
		if (smp_header_parse(buf->data, buf->len, &hdr))
			expected = SMP_HEADER_SIZE + hdr.len;
	}
	g_assert_cmpuint(buf->len, ==, expected);
	msg = smp_message_parse(buf->data, buf->len, &error);
	g_assert_no_error(error);
	return msg;
}

static void
wait_hangup(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	guint8 byte;

	g_assert_cmpint(poll(&pfd, 1, WAIT_MS), ==, 1);
	g_assert_cmpint(recv(fd, &byte, 1, MSG_DONTWAIT), ==, 0);
}

/* a counter from the device's state file */
static gint64
state_counter(Sim *sim, const char *name)
{
	g_autofree char *path = g_build_filename(sim->dir, "C4123456789A.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonObject *counters;

	json_parser_load_from_file(parser, path, &error);
	g_assert_no_error(error);
	counters =
	        json_object_get_object_member(json_node_get_object(json_parser_get_root(parser)), "counters");
	g_assert_nonnull(counters);
	return json_object_get_int_member(counters, name);
}

static void
test_model_ceiling(void)
{
	/* 1M, 251-byte PDU: (1 + 9 + 251) * 8 = 2088 µs; empty PDU 80 µs;
	 * exchange 2088 + 150 + 80 + 150 = 2468 µs; 7500 / 2468 = 3.04 → 3 PDUs;
	 * a 247-byte ATT write is 251 bytes of L2CAP: 1 PDU; 3 writes × 244 B / 7.5 ms = 97600 B/s */
	BleLinkModel a = {.mtu = 247, .interval_ms = 7.5, .data_length = 251};
	/* 2M: (2 + 9 + 251) * 4 = 1048 µs; empty 44 µs; exchange 1392 µs; 15000 / 1392 = 10.8 → 10;
	 * a 498-byte ATT write is 502 bytes of L2CAP: 2 PDUs; 5 writes × 495 B / 15 ms = 165000 B/s */
	BleLinkModel b = {.mtu = 498, .interval_ms = 15, .phy_2m = TRUE, .data_length = 251};
	/* no DLE: 27-byte PDUs carry a 247-byte write in ceil(251 / 27) = 10 */
	BleLinkModel c = {.mtu = 247, .interval_ms = 7.5, .data_length = 27, .pdus_per_event = 4};

	g_assert_cmpfloat_with_epsilon(ble_link_model_pdu_us(&a, 251), 2088.0, 1e-9);
	g_assert_cmpfloat_with_epsilon(ble_link_model_pdu_us(&b, 0), 44.0, 1e-9);
	g_assert_cmpuint(ble_link_model_pdus_per_event(&a), ==, 3);
	g_assert_cmpuint(ble_link_model_pdus_for_att(&a, 247), ==, 1);
	g_assert_cmpfloat_with_epsilon(ble_link_model_ceiling(&a), 97600.0, 1e-6);
	g_assert_cmpuint(ble_link_model_pdus_per_event(&b), ==, 10);
	g_assert_cmpuint(ble_link_model_pdus_for_att(&b, 498), ==, 2);
	g_assert_cmpfloat_with_epsilon(ble_link_model_ceiling(&b), 165000.0, 1e-6);
	g_assert_cmpuint(ble_link_model_pdus_for_att(&c, 247), ==, 10);
	g_assert_cmpfloat_with_epsilon(ble_link_model_ceiling(&c), 4.0 / 10.0 * 244.0 / 0.0075, 1e-6);
}

static char *
print_ceiling(const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	char *out = NULL;

	g_ptr_array_add(argv, sim_path());
	g_ptr_array_add(argv, g_strdup("--print-ceiling"));
	for (const char *const *a = args; *a != NULL; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const char *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_successful(proc));
	return out;
}

static void
test_print_ceiling(void)
{
	const char *defaults[] = {NULL};
	const char *fast[] = {"--mtu", "498", "--phy", "2M", "--interval-ms", "15", NULL};
	g_autofree char *a = print_ceiling(defaults);
	g_autofree char *b = print_ceiling(fast);

	g_assert_cmpstr(a, ==, "ceiling_att_value_bytes_per_s=97600.000 write_value_max=244\n");
	g_assert_cmpstr(b, ==, "ceiling_att_value_bytes_per_s=165000.000 write_value_max=495\n");
}

static void
test_managed_objects(void)
{
	const char *args[] = {"--device", DEV_A, "--device", DEV_B, NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GHashTable) objects = managed_objects(sim);
	g_autoptr(GVariant) type = get_property(sim, PATH_A, "org.bluez.Device1", "AddressType");
	g_autoptr(GVariant) rssi = get_property(sim, PATH_A, "org.bluez.Device1", "RSSI");
	g_autoptr(GVariant) powered = get_property(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "Powered");
	g_autofree char *state = g_build_filename(sim->dir, "C4123456789A.json", NULL);
	g_autofree char *state_b = g_build_filename(sim->dir, "C4123456789B.json", NULL);

	g_assert_cmpuint(g_hash_table_size(objects), ==, 3);
	g_assert_cmpstr(g_hash_table_lookup(objects, "/org/bluez/hci0"), ==, "org.bluez.Adapter1;");
	g_assert_cmpstr(g_hash_table_lookup(objects, PATH_A), ==, "org.bluez.Device1;");
	g_assert_cmpstr(g_hash_table_lookup(objects, PATH_B), ==, "org.bluez.Device1;");
	g_assert_cmpstr(g_variant_get_string(type, NULL), ==, "random");
	g_assert_true(g_variant_get_boolean(powered));
	/* not discovering: no RSSI */
	g_assert_null(rssi);
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "Connected"));
	g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(state_b, G_FILE_TEST_IS_REGULAR));
}

static void
test_acquire_round_trip(void)
{
	const char *args[] = {"--device", DEV_A, NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GHashTable) objects = NULL;
	g_autoptr(SmpMessage) params = NULL;
	g_autoptr(SmpMessage) echo = NULL;
	g_autofree char *text = g_strnfill(600, 'x');
	g_autofree char *r = NULL;
	cbor_item_t *payload = smp_map_new();
	guint64 buf_size = 0;
	guint64 buf_count = 0;
	guint notifications;

	connect_device(sim, PATH_A);
	objects = managed_objects(sim);
	g_assert_cmpstr(g_hash_table_lookup(objects, PATH_A "/service0010"), ==, "org.bluez.GattService1;");
	g_assert_cmpstr(g_hash_table_lookup(objects, CHAR_A), ==, "org.bluez.GattCharacteristic1;");
	acquire_both(sim);

	send_writes(sim, smp_request(SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, NULL), 244);
	params = receive_message(sim->notify_fd, &notifications);
	g_assert_cmpuint(params->hdr.op, ==, SMP_OP_READ_RSP);
	g_assert_cmpuint(params->hdr.seq, ==, 7);
	g_assert_true(smp_map_get_uint(params->payload, "buf_size", &buf_size));
	g_assert_true(smp_map_get_uint(params->payload, "buf_count", &buf_count));
	g_assert_cmpuint(buf_size, ==, 2475);
	g_assert_cmpuint(buf_count, ==, 4);

	/* reassembly: a request over three writes, the answer over three notifications */
	smp_map_add_text(payload, "d", text);
	send_writes(sim, smp_request(SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_ECHO, payload), 244);
	echo = receive_message(sim->notify_fd, &notifications);
	r = smp_map_get_text(echo->payload, "r");
	g_assert_cmpstr(r, ==, text);
	g_assert_cmpuint(notifications, ==, 3);
}

static void
on_value_changed(GDBusConnection *connection, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer user_data)
{
	GByteArray *received = user_data;
	g_autoptr(GVariant) changed = NULL;
	g_autoptr(GVariant) value = NULL;
	const guint8 *data;
	gsize len;

	g_variant_get(params, "(&s@a{sv}@as)", NULL, &changed, NULL);
	value = g_variant_lookup_value(changed, "Value", G_VARIANT_TYPE_BYTESTRING);
	if (value == NULL)
		return;
	data = g_variant_get_fixed_array(value, &len, 1);
	g_byte_array_append(received, data, (guint)len);
}

static gboolean
on_wait_timeout(gpointer data)
{
	g_error("timed out waiting for the simulator");
	return G_SOURCE_REMOVE;
}

static void
write_value(Sim *sim, GBytes *msg_in)
{
	g_autoptr(GBytes) msg = msg_in;

	call_ok(sim, CHAR_A, "org.bluez.GattCharacteristic1", "WriteValue",
	        g_variant_new("(@ay@a{sv})",
	                      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, g_bytes_get_data(msg, NULL),
	                                                g_bytes_get_size(msg), 1),
	                      g_variant_new_parsed("{'type': <'command'>}")));
}

/* notifications as PropertiesChanged of Value, until one whole message is in */
static SmpMessage *
wait_value_message(GByteArray *received)
{
	g_autoptr(GError) error = NULL;
	SmpMessage *msg;
	SmpHeader hdr = {0};
	guint timeout = g_timeout_add(WAIT_MS, on_wait_timeout, NULL);

	while (!smp_header_parse(received->data, received->len, &hdr) ||
	       received->len < SMP_HEADER_SIZE + (gsize)hdr.len)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(timeout);
	msg = smp_message_parse(received->data, SMP_HEADER_SIZE + hdr.len, &error);
	g_assert_no_error(error);
	g_byte_array_remove_range(received, 0, SMP_HEADER_SIZE + hdr.len);
	return msg;
}

static guint
subscribe_values(Sim *sim, GByteArray *received)
{
	guint sub = g_dbus_connection_signal_subscribe(
	        sim->bus, "org.bluez", "org.freedesktop.DBus.Properties", "PropertiesChanged", CHAR_A, NULL,
	        G_DBUS_SIGNAL_FLAGS_NONE, on_value_changed, received, NULL);

	call_ok(sim, CHAR_A, "org.bluez.GattCharacteristic1", "StartNotify", NULL);
	g_assert_true(get_bool(sim, CHAR_A, "org.bluez.GattCharacteristic1", "Notifying"));
	return sub;
}

static void
test_write_value_path(void)
{
	const char *args[] = {"--device", DEV_A, "--no-acquire", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GByteArray) received = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(SmpMessage) echo = NULL;
	g_autofree char *r = NULL;
	guint16 mtu;
	guint sub;

	connect_device(sim, PATH_A);
	g_assert_cmpint(acquire(sim, "AcquireWrite", &mtu, &error), ==, -1);
	assert_dbus_error(error, "org.bluez.Error.NotSupported");
	g_clear_error(&error);
	g_assert_cmpint(acquire(sim, "AcquireNotify", &mtu, &error), ==, -1);
	assert_dbus_error(error, "org.bluez.Error.NotSupported");

	sub = subscribe_values(sim, received);
	write_value(sim, echo_request("hello", 5));
	echo = wait_value_message(received);
	g_dbus_connection_signal_unsubscribe(sim->bus, sub);
	g_assert_cmpuint(echo->hdr.seq, ==, 5);
	r = smp_map_get_text(echo->payload, "r");
	g_assert_cmpstr(r, ==, "hello");
}

/* sends an OS reset and sees the link go: sockets hang up, GATT objects go */
static void
reset_device(Sim *sim)
{
	g_autoptr(SmpMessage) answer = NULL;
	g_autoptr(GHashTable) objects = NULL;
	guint notifications;

	connect_device(sim, PATH_A);
	acquire_both(sim);
	send_writes(sim, smp_request(SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_RESET, NULL), 244);
	answer = receive_message(sim->notify_fd, &notifications);
	g_assert_cmpuint(answer->hdr.op, ==, SMP_OP_WRITE_RSP);

	wait_hangup(sim->notify_fd);
	wait_hangup(sim->write_fd);
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "Connected"));
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "ServicesResolved"));
	objects = managed_objects(sim);
	g_assert_false(g_hash_table_contains(objects, CHAR_A));
	g_assert_false(g_hash_table_contains(objects, PATH_A "/service0010"));
	g_assert_cmpint(state_counter(sim, "resets"), ==, 1);
}

static void
test_reset_and_return(void)
{
	const char *args[] = {"--device", DEV_A, "--swap-ms", "50", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	guint attempts = 0;

	reset_device(sim);
	/* back on the air after the swap, it takes a connection again */
	do {
		g_clear_error(&error);
		g_clear_pointer(&reply, g_variant_unref);
		reply = call(sim, PATH_A, "org.bluez.Device1", "Connect", NULL, &error);
		if (reply == NULL)
			assert_dbus_error(error, "org.bluez.Error.Failed");
		g_assert_cmpuint(++attempts, <, 20);
	} while (reply == NULL);
	g_assert_true(get_bool(sim, PATH_A, "org.bluez.Device1", "ServicesResolved"));
}

static void
test_reset_no_return(void)
{
	const char *args[] = {"--device", DEV_A, "--no-return", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	reset_device(sim);
	/* it never advertises again: the controller gives up on the attempt */
	reply = call(sim, PATH_A, "org.bluez.Device1", "Connect", NULL, &error);
	assert_dbus_error(error, "org.bluez.Error.Failed");
	g_assert_nonnull(strstr(error->message, "le-connection-abort-by-local"));
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "Connected"));
}

static void
on_interfaces_added(GDBusConnection *connection, const char *sender, const char *path, const char *iface,
                    const char *signal, GVariant *params, gpointer user_data)
{
	gboolean *added = user_data;
	const char *object = NULL;

	g_variant_get(params, "(&o@a{sa{sv}})", &object, NULL);
	if (g_strcmp0(object, PATH_A) == 0)
		*added = TRUE;
}

static void
test_hidden_discovery(void)
{
	const char *args[] = {"--device", DEV_A, "--hidden", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GHashTable) before = managed_objects(sim);
	g_autoptr(GVariant) rssi = NULL;
	g_autoptr(GVariant) gone = NULL;
	gboolean added = FALSE;
	guint timeout;
	guint sub;

	g_assert_false(g_hash_table_contains(before, PATH_A));
	sub = g_dbus_connection_signal_subscribe(sim->bus, "org.bluez", "org.freedesktop.DBus.ObjectManager",
	                                         "InterfacesAdded", "/", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
	                                         on_interfaces_added, &added, NULL);
	call_ok(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "SetDiscoveryFilter",
	        g_variant_new_parsed("({'Transport': <'le'>},)"));
	call_ok(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", NULL);
	g_assert_true(get_bool(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "Discovering"));
	timeout = g_timeout_add(WAIT_MS, on_wait_timeout, NULL);
	while (!added)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(timeout);
	g_dbus_connection_signal_unsubscribe(sim->bus, sub);

	rssi = get_property(sim, PATH_A, "org.bluez.Device1", "RSSI");
	g_assert_nonnull(rssi);
	call_ok(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "StopDiscovery", NULL);
	gone = get_property(sim, PATH_A, "org.bluez.Device1", "RSSI");
	g_assert_null(gone);
	call_ok(sim, "/org/bluez/hci0", "org.bluez.Adapter1", "RemoveDevice", g_variant_new("(o)", PATH_A));
	g_clear_pointer(&before, g_hash_table_unref);
	before = managed_objects(sim);
	g_assert_false(g_hash_table_contains(before, PATH_A));
}

static void
on_connect_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GError **slot = user_data;
	g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, slot);

	/* a success leaves a marker so that the waiter knows it is done */
	if (reply != NULL)
		*slot = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "connected");
}

static void
test_one_connect_at_a_time(void)
{
	const char *args[] = {"--device", DEV_A, "--device", DEV_B, "--connect-ms", "20", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	GError *results[2] = {NULL, NULL};
	const char *paths[2] = {PATH_A, PATH_B};
	guint timeout;

	for (guint i = 0; i < 2; i++)
		g_dbus_connection_call(sim->bus, "org.bluez", paths[i], "org.bluez.Device1", "Connect", NULL,
		                       NULL, G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, on_connect_done,
		                       &results[i]);
	timeout = g_timeout_add(WAIT_MS, on_wait_timeout, NULL);
	while (results[0] == NULL || results[1] == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(timeout);
	g_assert_error(results[0], G_IO_ERROR, G_IO_ERROR_EXISTS);
	assert_dbus_error(results[1], "org.bluez.Error.InProgress");
	g_error_free(results[0]);
	g_error_free(results[1]);
	/* once the first attempt is done, the second device connects too: each has its own link */
	connect_device(sim, PATH_B);
	g_assert_true(get_bool(sim, PATH_A, "org.bluez.Device1", "Connected"));
}

static void
test_require_pairing(void)
{
	const char *args[] = {"--device", DEV_A, "--require-pairing=notify", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	guint16 mtu;

	connect_device(sim, PATH_A);
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "Paired"));
	reply = call(sim, CHAR_A, "org.bluez.GattCharacteristic1", "StartNotify", NULL, &error);
	assert_dbus_error(error, "org.bluez.Error.NotPermitted");
	g_assert_nonnull(strstr(error->message, "Insufficient authentication"));
	g_clear_error(&error);
	g_assert_cmpint(acquire(sim, "AcquireNotify", &mtu, &error), ==, -1);
	assert_dbus_error(error, "org.bluez.Error.NotPermitted");

	call_ok(sim, PATH_A, "org.bluez.Device1", "Pair", NULL);
	g_assert_true(get_bool(sim, PATH_A, "org.bluez.Device1", "Paired"));
	acquire_both(sim);
}

static void
test_disconnect_at(void)
{
	const char *args[] = {"--device", DEV_A, "--fault", "disconnect-at=200", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	McubootWriterOptions opts = {.version = {.major = 2}, .payload_size = 2000, .seed = 9};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, &error);
	cbor_item_t *payload = smp_map_new();
	gsize len;
	const guint8 *data = g_bytes_get_data(image, &len);

	g_assert_no_error(error);
	connect_device(sim, PATH_A);
	acquire_both(sim);
	smp_map_add_uint(payload, "off", 0);
	smp_map_add_uint(payload, "len", len);
	smp_map_add_bytes(payload, "data", data, 400);
	send_writes(sim, smp_request(SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, payload), 244);
	/* no answer: the link drops, the device keeps advertising and takes a new connection */
	wait_hangup(sim->notify_fd);
	g_assert_false(get_bool(sim, PATH_A, "org.bluez.Device1", "Connected"));
	connect_device(sim, PATH_A);
}

static void
test_no_reassembly(void)
{
	const char *args[] = {"--device", DEV_A, "--no-reassembly", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autofree char *text = g_strnfill(400, 'y');
	g_autoptr(SmpMessage) answer = NULL;
	guint notifications;

	connect_device(sim, PATH_A);
	acquire_both(sim);
	/* a message over two writes is dropped; one that fits a write is answered */
	send_writes(sim, echo_request(text, 1), 244);
	send_writes(sim, params_request(2), 244);
	answer = receive_message(sim->notify_fd, &notifications);
	g_assert_cmpuint(answer->hdr.seq, ==, 2);
}

/* an upload that keeps the device busy erasing while more requests arrive in the same event */
static void
send_busy_burst(Sim *sim)
{
	McubootWriterOptions opts = {.version = {.major = 2}, .payload_size = 1000, .seed = 3};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, &error);
	cbor_item_t *payload = smp_map_new();
	gsize len;
	const guint8 *data = g_bytes_get_data(image, &len);

	g_assert_no_error(error);
	smp_map_add_uint(payload, "off", 0);
	smp_map_add_uint(payload, "len", len);
	smp_map_add_bytes(payload, "data", data, 64);
	send_writes(sim, smp_request_seq(SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, payload, 1), 244);
	send_writes(sim, params_request(2), 244);
	send_writes(sim, params_request(3), 244);
}

static void
test_full_device_holds_link(void)
{
	const char *args[] = {"--device", DEV_A, "--buf-count", "1", "--erase-ms", "20", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	guint notifications;

	connect_device(sim, PATH_A);
	acquire_both(sim);
	send_busy_burst(sim);
	/* out of buffers, the device leaves the requests in the link: all are answered, in order */
	for (guint seq = 1; seq <= 3; seq++) {
		g_autoptr(SmpMessage) answer = receive_message(sim->notify_fd, &notifications);
		g_assert_cmpuint(answer->hdr.seq, ==, seq);
	}
	g_assert_cmpint(state_counter(sim, "dropped_requests"), ==, 0);
}

static void
test_drop_when_full(void)
{
	const char *args[] = {"--device", DEV_A,     "--buf-count",    "1", "--erase-ms",
	                      "20",       "--fault", "drop-when-full", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(SmpMessage) upload = NULL;
	g_autoptr(SmpMessage) params = NULL;
	guint notifications;

	connect_device(sim, PATH_A);
	acquire_both(sim);
	send_busy_burst(sim);
	upload = receive_message(sim->notify_fd, &notifications);
	g_assert_cmpuint(upload->hdr.seq, ==, 1);
	/* the two requests that came while the only buffer was taken are gone */
	send_writes(sim, params_request(4), 244);
	params = receive_message(sim->notify_fd, &notifications);
	g_assert_cmpuint(params->hdr.seq, ==, 4);
}

static void
test_require_pairing_silent(void)
{
	const char *args[] = {"--device", DEV_A, "--require-pairing=silent", "--no-acquire", NULL};
	g_autoptr(Sim) sim = sim_start(args);
	g_autoptr(GByteArray) received = g_byte_array_new();
	g_autoptr(SmpMessage) answer = NULL;
	guint sub;

	connect_device(sim, PATH_A);
	/* notifications can be turned on, but writes go nowhere until the device is paired */
	sub = subscribe_values(sim, received);
	write_value(sim, params_request(1));
	call_ok(sim, PATH_A, "org.bluez.Device1", "Pair", NULL);
	write_value(sim, params_request(2));
	answer = wait_value_message(received);
	g_dbus_connection_signal_unsubscribe(sim->bus, sub);
	g_assert_cmpuint(answer->hdr.seq, ==, 2);
}

int
main(int argc, char **argv)
{
	g_autoptr(GTestDBus) bus = NULL;
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim-ble/model/ceiling", test_model_ceiling);
	g_test_add_func("/sim-ble/print-ceiling", test_print_ceiling);
	g_test_add_func("/sim-ble/bus/managed-objects", test_managed_objects);
	g_test_add_func("/sim-ble/bus/acquire-round-trip", test_acquire_round_trip);
	g_test_add_func("/sim-ble/bus/write-value", test_write_value_path);
	g_test_add_func("/sim-ble/bus/reset-and-return", test_reset_and_return);
	g_test_add_func("/sim-ble/bus/reset-no-return", test_reset_no_return);
	g_test_add_func("/sim-ble/bus/hidden-discovery", test_hidden_discovery);
	g_test_add_func("/sim-ble/bus/one-connect-at-a-time", test_one_connect_at_a_time);
	g_test_add_func("/sim-ble/bus/require-pairing", test_require_pairing);
	g_test_add_func("/sim-ble/bus/require-pairing-silent", test_require_pairing_silent);
	g_test_add_func("/sim-ble/smp/no-reassembly", test_no_reassembly);
	g_test_add_func("/sim-ble/smp/full-device-holds-link", test_full_device_holds_link);
	g_test_add_func("/sim-ble/fault/drop-when-full", test_drop_when_full);
	g_test_add_func("/sim-ble/fault/disconnect-at", test_disconnect_at);

	bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(bus);
	bus_address = g_strdup(g_test_dbus_get_bus_address(bus));
	rc = g_test_run();
	g_test_dbus_down(bus);
	g_free(bus_address);
	return rc;
}
