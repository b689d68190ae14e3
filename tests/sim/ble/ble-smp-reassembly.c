/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-smp-reassembly.h"
#include "smp-message.h"

struct _BleSmpReassembly {
	gsize max_len;
	gboolean spanning;
	GByteArray *partial; /* the message being gathered */
	gsize expected;      /* its whole length, known from the header */
};

BleSmpReassembly *
ble_smp_reassembly_new(gsize max_len, gboolean spanning)
{
	BleSmpReassembly *reassembly = g_new0(BleSmpReassembly, 1);

	reassembly->max_len = max_len;
	reassembly->spanning = spanning;
	reassembly->partial = g_byte_array_new();
	return reassembly;
}

void
ble_smp_reassembly_free(BleSmpReassembly *reassembly)
{
	if (reassembly == NULL)
		return;
	g_byte_array_unref(reassembly->partial);
	g_free(reassembly);
}

void
ble_smp_reassembly_reset(BleSmpReassembly *reassembly)
{
	g_byte_array_set_size(reassembly->partial, 0);
	reassembly->expected = 0;
}

/* the length of the message a first write starts, or 0 when it starts none */
static gsize
message_length(BleSmpReassembly *reassembly, const guint8 *value, gsize len)
{
	SmpHeader hdr;
	gsize expected;

	/* the first write of a message carries the whole header */
	if (!smp_header_parse(value, len, &hdr))
		return 0;
	expected = SMP_HEADER_SIZE + (gsize)hdr.len;
	if (expected > reassembly->max_len || (!reassembly->spanning && len != expected))
		return 0;
	return expected;
}

gboolean
ble_smp_reassembly_feed(BleSmpReassembly *reassembly, const guint8 *value, gsize len, BleSmpMessageFunc func,
                        gpointer user_data)
{
	if (reassembly->partial->len == 0)
		reassembly->expected = message_length(reassembly, value, len);
	/* a write running past the expected length aborts the message */
	if (reassembly->expected == 0 || reassembly->partial->len + len > reassembly->expected) {
		ble_smp_reassembly_reset(reassembly);
		return FALSE;
	}
	g_byte_array_append(reassembly->partial, value, (guint)len);
	if (reassembly->partial->len < reassembly->expected)
		return TRUE;
	func(reassembly->partial->data, reassembly->partial->len, user_data);
	ble_smp_reassembly_reset(reassembly);
	return TRUE;
}
