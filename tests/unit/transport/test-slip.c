/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "slip.h"
#include "test-util.h"

static GPtrArray *
decode(SlipDecoder *dec, const guint8 *data, gsize len)
{
	GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	slip_decoder_feed(dec, data, len, dfu_test_collect_frame, frames);
	return frames;
}

static void
test_encode_escapes(void)
{
	const guint8 msg[] = {0x01, 0xC0, 0x02, 0xDB, 0xDC};
	const guint8 want[] = {0x01, 0xDB, 0xDC, 0x02, 0xDB, 0xDD, 0xDC, 0xC0};
	g_autoptr(GBytes) enc = slip_encode(msg, sizeof(msg));

	/* no leading END: the bootloader would answer it as an empty request */
	g_assert_cmpmem(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc), want, sizeof(want));
	g_assert_cmpuint(g_bytes_get_size(enc), <=, slip_encoded_size_max(sizeof(msg)));
}

static void
test_round_trip_bytewise(void)
{
	guint8 msg[600];
	g_autoptr(SlipDecoder) dec = slip_decoder_new(1024);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GBytes) enc = NULL;
	gsize n = 0;
	const guint8 *p;

	for (gsize i = 0; i < sizeof(msg); i++)
		msg[i] = (guint8)(i * 7);
	enc = slip_encode(msg, sizeof(msg));
	p = g_bytes_get_data(enc, &n);
	for (gsize i = 0; i < n; i++)
		slip_decoder_feed(dec, p + i, 1, dfu_test_collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, msg, sizeof(msg));
	g_assert_cmpuint(slip_decoder_get_bad_frames(dec), ==, 0);
}

static void
test_empty_frames_skipped(void)
{
	const guint8 line[] = {0xC0, 0xC0, 0x60, 0x09, 0x01, 0x07, 0xC0, 0xC0};
	g_autoptr(SlipDecoder) dec = slip_decoder_new(64);
	g_autoptr(GPtrArray) frames = decode(dec, line, sizeof(line));

	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, (const guint8[]){0x60, 0x09, 0x01, 0x07}, 4);
}

static void
test_bad_escape_resyncs(void)
{
	/* a broken frame, then a good one: the first is dropped up to its END */
	const guint8 line[] = {0x01, 0xDB, 0x05, 0x02, 0xC0, 0x03, 0xDB, 0xDD, 0xC0};
	g_autoptr(SlipDecoder) dec = slip_decoder_new(64);
	g_autoptr(GPtrArray) frames = decode(dec, line, sizeof(line));

	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, (const guint8[]){0x03, 0xDB}, 2);
	g_assert_cmpuint(slip_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_escape_then_end(void)
{
	const guint8 line[] = {0x01, 0xDB, 0xC0, 0x04, 0xC0};
	g_autoptr(SlipDecoder) dec = slip_decoder_new(64);
	g_autoptr(GPtrArray) frames = decode(dec, line, sizeof(line));

	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, (const guint8[]){0x04}, 1);
	g_assert_cmpuint(slip_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_overlong_dropped(void)
{
	guint8 line[40];
	g_autoptr(SlipDecoder) dec = slip_decoder_new(16);
	g_autoptr(GPtrArray) frames = NULL;

	memset(line, 0x11, sizeof(line));
	line[30] = SLIP_END;
	line[39] = SLIP_END;
	frames = decode(dec, line, sizeof(line));
	/* the first frame is 30 bytes, over the limit; the second (8 bytes) is fine */
	g_assert_cmpuint(frames->len, ==, 1);
	g_assert_cmpuint(g_bytes_get_size(frames->pdata[0]), ==, 8);
	g_assert_cmpuint(slip_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_reset_drops_partial(void)
{
	const guint8 part[] = {0x01, 0x02};
	const guint8 rest[] = {0x03, 0xC0};
	g_autoptr(SlipDecoder) dec = slip_decoder_new(16);
	g_autoptr(GPtrArray) first = decode(dec, part, sizeof(part));
	g_autoptr(GPtrArray) second = NULL;

	slip_decoder_reset(dec);
	second = decode(dec, rest, sizeof(rest));
	g_assert_cmpuint(first->len, ==, 0);
	g_assert_cmpuint(second->len, ==, 1);
	dfu_test_assert_frame(second, 0, (const guint8[]){0x03}, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/slip/encode-escapes", test_encode_escapes);
	g_test_add_func("/slip/round-trip-bytewise", test_round_trip_bytewise);
	g_test_add_func("/slip/empty-frames-skipped", test_empty_frames_skipped);
	g_test_add_func("/slip/bad-escape-resyncs", test_bad_escape_resyncs);
	g_test_add_func("/slip/escape-then-end", test_escape_then_end);
	g_test_add_func("/slip/overlong-dropped", test_overlong_dropped);
	g_test_add_func("/slip/reset-drops-partial", test_reset_drops_partial);
	return g_test_run();
}
