/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "ble-reassembly.h"

typedef struct {
	GPtrArray *messages; /* GBytes* */
} Collected;

static void
collect(const guint8 *msg, gsize len, gpointer user_data)
{
	Collected *c = user_data;
	g_ptr_array_add(c->messages, g_bytes_new(msg, len));
}

/* an SMP message with a payload of n bytes of pattern */
static GByteArray *
smp_message(gsize n, guint8 seq)
{
	GByteArray *m = g_byte_array_sized_new(8 + n);
	guint8 hdr[8] = {0x03, 0, (guint8)(n >> 8), (guint8)n, 0, 1, seq, 1};

	g_byte_array_append(m, hdr, sizeof(hdr));
	for (gsize i = 0; i < n; i++) {
		guint8 b = (guint8)(i * 7 + seq);
		g_byte_array_append(m, &b, 1);
	}
	return m;
}

static void
assert_message(Collected *c, guint index, GByteArray *want)
{
	gsize len = 0;
	const guint8 *got;

	g_assert_cmpuint(index, <, c->messages->len);
	got = g_bytes_get_data(g_ptr_array_index(c->messages, index), &len);
	g_assert_cmpmem(got, len, want->data, want->len);
}

/* a long message in MTU-sized notifications comes out whole, once, at its last piece */
static void
test_fragments(void)
{
	g_autoptr(BleReassembler) r = ble_reassembler_new();
	g_autoptr(GByteArray) msg = smp_message(2467, 5);
	g_autoptr(GPtrArray) pieces = ble_split_message(msg->data, msg->len, 244);
	Collected c = {g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};

	g_assert_cmpuint(pieces->len, ==, (2475 + 243) / 244);
	for (guint i = 0; i < pieces->len; i++) {
		gsize len = 0;
		const guint8 *p = g_bytes_get_data(g_ptr_array_index(pieces, i), &len);
		g_assert_cmpuint(len, <=, 244);
		g_assert_cmpuint(c.messages->len, ==, 0);
		ble_reassembler_feed(r, p, len, collect, &c);
	}
	g_assert_cmpuint(c.messages->len, ==, 1);
	assert_message(&c, 0, msg);
	g_assert_cmpuint(ble_reassembler_pending(r), ==, 0);
	g_ptr_array_unref(c.messages);
}

/* the header itself split, two messages in one notification, an empty payload */
static void
test_boundaries(void)
{
	g_autoptr(BleReassembler) r = ble_reassembler_new();
	g_autoptr(GByteArray) a = smp_message(10, 1);
	g_autoptr(GByteArray) b = smp_message(0, 2);
	g_autoptr(GByteArray) both = g_byte_array_new();
	Collected c = {g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};

	ble_reassembler_feed(r, a->data, 3, collect, &c);
	g_assert_cmpuint(c.messages->len, ==, 0);
	ble_reassembler_feed(r, a->data + 3, a->len - 3, collect, &c);
	g_assert_cmpuint(c.messages->len, ==, 1);

	g_byte_array_append(both, b->data, b->len);
	g_byte_array_append(both, a->data, a->len);
	g_byte_array_append(both, b->data, 4);
	ble_reassembler_feed(r, both->data, both->len, collect, &c);
	g_assert_cmpuint(c.messages->len, ==, 3);
	assert_message(&c, 1, b);
	assert_message(&c, 2, a);
	g_assert_cmpuint(ble_reassembler_pending(r), ==, 4);

	/* a new link starts clean */
	ble_reassembler_reset(r);
	ble_reassembler_feed(r, b->data, b->len, collect, &c);
	g_assert_cmpuint(c.messages->len, ==, 4);
	g_ptr_array_unref(c.messages);
}

/* the largest length a header can claim is held, never more */
static void
test_largest(void)
{
	g_autoptr(BleReassembler) r = ble_reassembler_new();
	g_autoptr(GByteArray) msg = smp_message(0xffff, 9);
	Collected c = {g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};

	for (gsize off = 0; off < msg->len; off += 509)
		ble_reassembler_feed(r, msg->data + off, MIN((gsize)509, msg->len - off), collect, &c);
	g_assert_cmpuint(c.messages->len, ==, 1);
	assert_message(&c, 0, msg);
	g_ptr_array_unref(c.messages);
}

static void
test_split_exact(void)
{
	guint8 data[488];
	g_autoptr(GPtrArray) two = NULL;
	g_autoptr(GPtrArray) one = NULL;

	memset(data, 0xa5, sizeof(data));
	two = ble_split_message(data, sizeof(data), 244);
	g_assert_cmpuint(two->len, ==, 2);
	one = ble_split_message(data, 20, 244);
	g_assert_cmpuint(one->len, ==, 1);
	g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(one, 0)), ==, 20);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ble-reassembly/fragments", test_fragments);
	g_test_add_func("/ble-reassembly/boundaries", test_boundaries);
	g_test_add_func("/ble-reassembly/largest", test_largest);
	g_test_add_func("/ble-reassembly/split-exact", test_split_exact);
	return g_test_run();
}
