/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "slip.h"

typedef struct {
	const guint8 *msg;
	gsize len;
	guint seen;
} Expected;

static void
expect_same(const guint8 *msg, gsize len, gpointer user_data)
{
	Expected *e = user_data;

	g_assert_cmpmem(msg, len, e->msg, e->len);
	e->seen++;
}

/* every decoded frame must encode and decode back to itself, alone */
static void
check_round_trip(const guint8 *msg, gsize len, gpointer user_data)
{
	g_autoptr(GBytes) enc = slip_encode(msg, len);
	g_autoptr(SlipDecoder) dec = slip_decoder_new(len);
	Expected e = {msg, len, 0};
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(enc, &n);

	g_assert_cmpuint(n, <=, slip_encoded_size_max(len));
	slip_decoder_feed(dec, p, n, expect_same, &e);
	g_assert_cmpuint(e.seen, ==, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(SlipDecoder) dec = slip_decoder_new(256);

	slip_decoder_feed(dec, data, size, check_round_trip, NULL);
	return 0;
}
