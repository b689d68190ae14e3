/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/socket.h>
#include <unistd.h>

#include "bus-autoptr.h"
#include "bus-variant.h"
#include "dfu-error.h"

/* a bus that is never talked to (messages only need one to be created), and its peer's end */
typedef struct {
	sd_bus *bus;
	int peer;
} TestBus;

static void
test_bus_clear(TestBus *tb)
{
	g_clear_pointer(&tb->bus, sd_bus_unref);
	if (tb->peer >= 0)
		close(tb->peer);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TestBus, test_bus_clear)

static void
test_bus_init(TestBus *tb)
{
	int fds[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
	/* open, so that the greeting sd_bus_start writes has somewhere to go */
	tb->peer = fds[1];
	g_assert_cmpint(sd_bus_new(&tb->bus), >=, 0);
	g_assert_cmpint(sd_bus_set_fd(tb->bus, fds[0], fds[0]), >=, 0);
	g_assert_cmpint(sd_bus_start(tb->bus), >=, 0);
}

static sd_bus_message *
message_new(TestBus *tb)
{
	sd_bus_message *m = NULL;

	g_assert_cmpint(sd_bus_message_new_signal(tb->bus, &m, "/test", "org.example.Test", "Values"), >=, 0);
	return m;
}

/* seals m as if sent and goes back to its first value */
static void
message_to_read(sd_bus_message *m)
{
	g_assert_cmpint(sd_bus_message_seal(m, 1, 0), >=, 0);
	g_assert_cmpint(sd_bus_message_rewind(m, TRUE), >=, 0);
}

static void
test_round_trip(void)
{
	g_auto(TestBus) tb = {.peer = -1};
	g_autoptr(sd_bus_message) m = NULL;
	const guint8 bytes[] = {0, 1, 0xff};
	g_autoptr(GVariant) values = g_variant_ref_sink(
	        g_variant_new("(ybnqiuxtdsogv@ayasa{sv}(ias)aoav)", 0xfe, TRUE, G_MININT16, G_MAXUINT16,
	                      G_MININT32, G_MAXUINT32, G_MININT64, G_MAXUINT64, -0.25, "text", "/a/path",
	                      "a{sv}", g_variant_new("(su)", "in", 7),
	                      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bytes, sizeof(bytes), 1), NULL,
	                      NULL, -3, NULL, NULL, NULL));
	gsize n = g_variant_n_children(values);

	test_bus_init(&tb);
	m = message_new(&tb);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) child = g_variant_get_child_value(values, i);
		g_assert_cmpint(dfu_bus_append_gvariant(m, child), >=, 0);
	}
	message_to_read(m);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) child = g_variant_get_child_value(values, i);
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) back = dfu_bus_read_gvariant(m, &error);

		g_assert_no_error(error);
		g_assert_nonnull(back);
		g_assert_false(g_variant_is_floating(back));
		g_assert_cmpvariant(back, child);
	}
}

/* a dictionary and an array of variants with something in them, as BlueZ sends */
static void
test_nested(void)
{
	g_auto(TestBus) tb = {.peer = -1};
	g_autoptr(sd_bus_message) m = NULL;
	g_autoptr(GVariant) value = g_variant_ref_sink(g_variant_new_parsed(
	        "{'org.bluez.Device1': {'Connected': <true>, 'UUIDs': <['180a', '1801']>}, "
	        "'other': @a{sv} {}}"));
	g_autoptr(GVariant) list =
	        g_variant_ref_sink(g_variant_new_parsed("[<uint32 1>, <('x', [byte 2])>]"));
	g_autoptr(GVariant) back = NULL;
	g_autoptr(GVariant) list_back = NULL;

	test_bus_init(&tb);
	m = message_new(&tb);
	g_assert_cmpint(dfu_bus_append_gvariant(m, value), >=, 0);
	g_assert_cmpint(dfu_bus_append_gvariant(m, list), >=, 0);
	message_to_read(m);
	back = dfu_bus_read_gvariant(m, NULL);
	list_back = dfu_bus_read_gvariant(m, NULL);
	g_assert_cmpvariant(back, value);
	g_assert_cmpvariant(list_back, list);
}

/* what D-Bus cannot carry is refused, not half written */
static void
test_append_refuses(void)
{
	g_auto(TestBus) tb = {.peer = -1};
	g_autoptr(sd_bus_message) m = NULL;
	g_autoptr(GVariant) handle = g_variant_ref_sink(g_variant_new_handle(0));
	g_autoptr(GVariant) maybe = g_variant_ref_sink(g_variant_new_maybe(G_VARIANT_TYPE_STRING, NULL));

	test_bus_init(&tb);
	m = message_new(&tb);
	g_assert_cmpint(dfu_bus_append_gvariant(m, handle), ==, -EINVAL);
	g_assert_cmpint(dfu_bus_append_gvariant(m, maybe), ==, -EINVAL);
}

static void
test_read_past_end(void)
{
	g_auto(TestBus) tb = {.peer = -1};
	g_autoptr(sd_bus_message) m = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) first = NULL;
	g_autoptr(GVariant) none = NULL;

	test_bus_init(&tb);
	m = message_new(&tb);
	g_assert_cmpint(sd_bus_message_append(m, "u", 5), >=, 0);
	message_to_read(m);
	first = dfu_bus_read_gvariant(m, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint32(first), ==, 5);
	none = dfu_bus_read_gvariant(m, &error);
	g_assert_null(none);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bus-variant/round-trip", test_round_trip);
	g_test_add_func("/bus-variant/nested", test_nested);
	g_test_add_func("/bus-variant/append-refuses", test_append_refuses);
	g_test_add_func("/bus-variant/read-past-end", test_read_past_end);
	return g_test_run();
}
