/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-reassembly.h"

#define SMP_HDR 8

struct _BleReassembler {
	GByteArray *buf;
};

BleReassembler *
ble_reassembler_new(void)
{
	BleReassembler *self = g_new0(BleReassembler, 1);

	self->buf = g_byte_array_new();
	return self;
}

void
ble_reassembler_reset(BleReassembler *self)
{
	g_byte_array_set_size(self->buf, 0);
}

/* the whole message length once the header is in, 0 before */
static gsize
expected_length(const GByteArray *buf)
{
	if (buf->len < SMP_HDR)
		return 0;
	return SMP_HDR + ((gsize)buf->data[2] << 8 | buf->data[3]);
}

void
ble_reassembler_feed(BleReassembler *self, const guint8 *data, gsize len, BleMessageFunc func,
                     gpointer user_data)
{
	gsize need;

	/* the 16-bit length bounds the buffer at 64 KiB plus a header */
	g_byte_array_append(self->buf, data, len);
	while ((need = expected_length(self->buf)) > 0 && self->buf->len >= need) {
		g_autoptr(GByteArray) msg = self->buf;

		/* a message may end inside a notification: what follows starts the next one */
		self->buf = g_byte_array_new();
		g_byte_array_append(self->buf, msg->data + need, msg->len - need);
		func(msg->data, need, user_data);
	}
}

gsize
ble_reassembler_pending(BleReassembler *self)
{
	return self->buf->len;
}

void
ble_reassembler_free(BleReassembler *self)
{
	if (self == NULL)
		return;
	g_byte_array_unref(self->buf);
	g_free(self);
}

GPtrArray *
ble_split_message(const guint8 *data, gsize len, gsize max_write)
{
	GPtrArray *pieces = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	g_return_val_if_fail(max_write > 0, pieces);
	for (gsize off = 0; off < len; off += max_write)
		g_ptr_array_add(pieces, g_bytes_new(data + off, MIN(max_write, len - off)));
	return pieces;
}
