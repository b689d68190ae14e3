/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "smp-console.h"
#include "smp-raw.h"

/* the frames a decoder delivered, as GBytes */
static void
collect_frame(const guint8 *msg, gsize len, gpointer user_data)
{
	g_ptr_array_add(user_data, g_bytes_new(msg, len));
}

static GPtrArray *
frames_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static guint8 *
pattern(gsize len, guint seed)
{
	guint8 *buf = g_malloc(len + 1);

	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)(i * 31 + seed);
	return buf;
}

static void
assert_frame(GPtrArray *frames, guint index, const guint8 *msg, gsize len)
{
	gsize got_len = 0;
	const guint8 *got;

	g_assert_cmpuint(frames->len, >, index);
	got = g_bytes_get_data(g_ptr_array_index(frames, index), &got_len);
	g_assert_cmpmem(got, got_len, msg, len);
}

static void
feed_string(SmpConsoleDecoder *dec, const char *text, GPtrArray *frames)
{
	smp_console_decoder_feed(dec, (const guint8 *)text, strlen(text), collect_frame, frames);
}

static void
feed_bytes(SmpConsoleDecoder *dec, GBytes *bytes, GPtrArray *frames)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);

	smp_console_decoder_feed(dec, data, len, collect_frame, frames);
}

static void
test_crc(void)
{
	const guint8 check[] = "123456789";
	guint16 crc = smp_crc16_xmodem(0, check, 9);
	guint8 with_crc[11];

	/* the CRC-16/XMODEM check value */
	g_assert_cmphex(crc, ==, 0x31c3);
	g_assert_cmphex(smp_crc16_xmodem(smp_crc16_xmodem(0, check, 4), check + 4, 5), ==, 0x31c3);
	memcpy(with_crc, check, 9);
	with_crc[9] = (guint8)(crc >> 8);
	with_crc[10] = (guint8)crc;
	g_assert_cmphex(smp_crc16_xmodem(0, with_crc, sizeof(with_crc)), ==, 0);
}

/* the CRC the polynomial defines, one bit at a time */
static guint16
crc16_bitwise(guint16 crc, const guint8 *data, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		crc ^= (guint16)(data[i] << 8);
		for (guint bit = 0; bit < 8; bit++)
			crc = (crc & 0x8000) ? (guint16)((crc << 1) ^ 0x1021) : (guint16)(crc << 1);
	}
	return crc;
}

static void
test_crc_any_length(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(16);
	guint8 data[67];

	for (gsize i = 0; i < sizeof(data); i++)
		data[i] = (guint8)g_rand_int(rand);
	/* every length and start value, so that the four-byte steps and the tail both count */
	for (gsize len = 0; len <= sizeof(data); len++) {
		guint16 start = (guint16)g_rand_int(rand);

		g_assert_cmphex(smp_crc16_xmodem(start, data, len), ==, crc16_bitwise(start, data, len));
	}
}

static void
test_encode_layout(void)
{
	/* the echo example of the protocol notes */
	const guint8 echo[] = {0x0a, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01,
	                       0x00, 0xa1, 0x61, 0x64, 0x62, 0x68, 0x69};
	g_autoptr(GBytes) out = smp_console_encode(echo, sizeof(echo));
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(out, &len);
	g_autofree guint8 *frame = NULL;
	g_autofree char *b64 = NULL;
	gsize frame_len = 0;

	g_assert_cmpuint(len, ==, smp_console_encoded_size(sizeof(echo)));
	g_assert_cmpuint(data[0], ==, 0x06);
	g_assert_cmpuint(data[1], ==, 0x09);
	g_assert_cmpuint(data[len - 1], ==, '\n');
	b64 = g_strndup((const char *)data + 2, len - 3);
	frame = g_base64_decode(b64, &frame_len);
	g_assert_cmpuint(frame_len, ==, sizeof(echo) + 4);
	/* length = message + CRC, big-endian */
	g_assert_cmpuint(frame[0], ==, 0);
	g_assert_cmpuint(frame[1], ==, sizeof(echo) + 2);
	g_assert_cmpmem(frame + 2, sizeof(echo), echo, sizeof(echo));
	g_assert_cmphex(smp_crc16_xmodem(0, frame + 2, sizeof(echo) + 2), ==, 0);
}

static void
check_lines(GBytes *out, gsize msg_len)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(out, &len);
	gsize start = 0;
	guint line = 0;
	GString *b64 = g_string_new(NULL);
	g_autofree guint8 *frame = NULL;
	gsize frame_len = 0;

	g_assert_cmpuint(len, ==, smp_console_encoded_size(msg_len));
	while (start < len) {
		const guint8 *nl = memchr(data + start, '\n', len - start);
		gsize line_len;

		g_assert_nonnull(nl);
		line_len = (gsize)(nl - (data + start)) + 1;
		g_assert_cmpuint(line_len, <=, SMP_CONSOLE_MAX_LINE);
		g_assert_cmpuint(data[start], ==, line == 0 ? 0x06 : 0x04);
		g_assert_cmpuint(data[start + 1], ==, line == 0 ? 0x09 : 0x14);
		/* every line decodes on its own */
		g_assert_cmpuint((line_len - 3) % 4, ==, 0);
		g_string_append_len(b64, (const char *)data + start + 2, (gssize)(line_len - 3));
		start += line_len;
		line++;
	}
	frame = g_base64_decode(b64->str, &frame_len);
	g_assert_cmpuint(frame_len, ==, msg_len + 4);
	g_string_free(b64, TRUE);
}

static void
test_round_trip_sizes(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(4096);
	g_autoptr(GPtrArray) frames = frames_new();
	guint expected = 0;

	for (gsize len = 1; len <= 1100; len++) {
		g_autofree guint8 *msg = pattern(len, (guint)len);
		g_autoptr(GBytes) out = smp_console_encode(msg, len);

		check_lines(out, len);
		feed_bytes(dec, out, frames);
		expected++;
		g_assert_cmpuint(frames->len, ==, expected);
		assert_frame(frames, expected - 1, msg, len);
	}
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, 0);
}

static void
test_byte_by_byte(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(1024);
	g_autoptr(GPtrArray) frames = frames_new();
	g_autofree guint8 *msg = pattern(700, 3);
	g_autoptr(GBytes) out = smp_console_encode(msg, 700);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(out, &len);

	for (gsize i = 0; i < len; i++) {
		g_assert_cmpuint(frames->len, ==, 0);
		smp_console_decoder_feed(dec, data + i, 1, collect_frame, frames);
	}
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, msg, 700);

	/* uneven pieces */
	for (gsize i = 0; i < len; i += 7)
		smp_console_decoder_feed(dec, data + i, MIN(7, len - i), collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 2);
	assert_frame(frames, 1, msg, 700);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, 0);
}

static void
test_noise_between_frames(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(1024);
	g_autoptr(GPtrArray) frames = frames_new();
	g_autofree guint8 *msg = pattern(300, 9);
	g_autoptr(GBytes) out = smp_console_encode(msg, 300);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(out, &len);
	const guint8 *second_line = (const guint8 *)memchr(data, '\n', len) + 1;
	gsize first_len = (gsize)(second_line - data);
	const guint8 junk[] = {0x00, 0xff, 0x06, 0x07, 0x0d, 0x0a, 0x04, 0x0a};

	feed_string(dec, "uart:~$ \x1b[1;32mlog\x1b[0m <inf> main: booting\r\n", frames);
	smp_console_decoder_feed(dec, junk, sizeof(junk), collect_frame, frames);
	feed_bytes(dec, out, frames);
	/* a log line in the middle of a frame does not break it */
	smp_console_decoder_feed(dec, data, first_len, collect_frame, frames);
	feed_string(dec, "[00:00:01.000] <wrn> something\n", frames);
	smp_console_decoder_feed(dec, second_line, len - first_len, collect_frame, frames);
	feed_string(dec, "partial log without newline", frames);
	feed_string(dec, "\n", frames);
	feed_bytes(dec, out, frames);

	g_assert_cmpuint(frames->len, ==, 3);
	for (guint i = 0; i < 3; i++)
		assert_frame(frames, i, msg, 300);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, 0);
}

/* encodes a raw frame (length field included) as one console line */
static GBytes *
raw_line(const guint8 *frame, gsize len, gboolean first)
{
	g_autofree char *b64 = g_base64_encode(frame, len);
	g_autofree char *line = g_strdup_printf("%s%s\n", first ? "\x06\x09" : "\x04\x14", b64);

	return g_bytes_new(line, strlen(line));
}

static void
test_bad_frames(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(512);
	g_autoptr(GPtrArray) frames = frames_new();
	const guint8 msg[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	g_autoptr(GBytes) good = smp_console_encode(msg, sizeof(msg));
	g_autofree guint8 *big = pattern(600, 1);
	g_autoptr(GBytes) too_big = smp_console_encode(big, 600);
	guint8 frame[sizeof(msg) + 4];
	guint16 crc = smp_crc16_xmodem(0, msg, sizeof(msg));
	g_autoptr(GBytes) bad_crc = NULL;
	g_autoptr(GBytes) long_len = NULL;
	g_autoptr(GBytes) short_len = NULL;
	g_autoptr(GBytes) tiny_len = NULL;
	g_autoptr(GString) overlong = g_string_new("\x06\x09");
	guint bad = 0;

	frame[0] = 0;
	frame[1] = sizeof(msg) + 2;
	memcpy(frame + 2, msg, sizeof(msg));
	frame[sizeof(msg) + 2] = (guint8)(crc >> 8);
	frame[sizeof(msg) + 3] = (guint8)(crc ^ 0x01);
	bad_crc = raw_line(frame, sizeof(frame), TRUE);
	frame[sizeof(msg) + 3] = (guint8)crc;
	frame[1] = sizeof(msg) + 3; /* claims one byte more than follows */
	long_len = raw_line(frame, sizeof(frame), TRUE);
	frame[1] = sizeof(msg) + 1; /* claims one byte less */
	short_len = raw_line(frame, sizeof(frame), TRUE);
	frame[1] = 1;
	tiny_len = raw_line(frame, sizeof(frame), TRUE);

	feed_bytes(dec, bad_crc, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_bytes(dec, long_len, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_bytes(dec, short_len, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_bytes(dec, tiny_len, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);

	/* bad base64: a character outside the alphabet, a cut quad, padding in the middle */
	feed_string(dec,
	            "\x06\x09"
	            "AA*A\n",
	            frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_string(dec,
	            "\x06\x09"
	            "AAA\n",
	            frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_string(dec,
	            "\x06\x09"
	            "A=AA\n",
	            frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_string(dec,
	            "\x06\x09"
	            "AA==AAAA\n",
	            frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	feed_string(dec, "\x06\x09\n", frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);

	/* larger than max_frame: dropped once, its continuation lines ignored */
	feed_bytes(dec, too_big, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);

	/* a continuation without a start */
	feed_bytes(dec, good, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	feed_string(dec,
	            "\x04\x14"
	            "AAAA\n",
	            frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);

	/* a frame line over 127 bytes */
	for (guint i = 0; i < 40; i++)
		g_string_append(overlong, "AAAA");
	g_string_append_c(overlong, '\n');
	feed_string(dec, overlong->str, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, ++bad);
	/* a log line over 127 bytes is just ignored */
	feed_string(dec, overlong->str + 2, frames);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, bad);

	g_assert_cmpuint(frames->len, ==, 1);
	feed_bytes(dec, good, frames);
	g_assert_cmpuint(frames->len, ==, 2);
	assert_frame(frames, 1, msg, sizeof(msg));
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, bad);
}

static void
test_interrupted_frame(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(1024);
	g_autoptr(GPtrArray) frames = frames_new();
	g_autofree guint8 *msg = pattern(200, 5);
	g_autoptr(GBytes) out = smp_console_encode(msg, 200);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(out, &len);
	gsize first_len = (gsize)((const guint8 *)memchr(data, '\n', len) + 1 - data);

	/* a new frame starts before the previous one ended: the old one is lost */
	smp_console_decoder_feed(dec, data, first_len, collect_frame, frames);
	feed_bytes(dec, out, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, msg, 200);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, 1);

	/* reset forgets a half-received frame without counting it */
	smp_console_decoder_feed(dec, data, first_len + 5, collect_frame, frames);
	smp_console_decoder_reset(dec);
	feed_bytes(dec, out, frames);
	g_assert_cmpuint(frames->len, ==, 2);
	g_assert_cmpuint(smp_console_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_random_garbage(void)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(256);
	g_autoptr(GPtrArray) frames = frames_new();
	g_autoptr(GRand) rand = g_rand_new_with_seed(1234);
	const guint8 msg[] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
	g_autoptr(GBytes) good = smp_console_encode(msg, sizeof(msg));
	static const guint8 alphabet[] = "\x06\x09\x04\x14\nAZaz09+/=\r";
	guint8 buf[4096];

	for (guint round = 0; round < 50; round++) {
		for (gsize i = 0; i < sizeof(buf); i++)
			buf[i] = g_rand_boolean(rand)
			                 ? alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)]
			                 : (guint8)g_rand_int(rand);
		smp_console_decoder_feed(dec, buf, sizeof(buf), collect_frame, frames);
	}
	/* whatever came before, a newline and a good frame get through */
	g_ptr_array_set_size(frames, 0);
	feed_string(dec, "\n", frames);
	feed_bytes(dec, good, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, msg, sizeof(msg));
}

/* the raw framing: bare messages in a byte stream */

#define GAP SMP_RAW_GAP_US

/* params request v2 and an image state response with a small map */
static const guint8 params_req[] = {0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 0x06, 0xa0};
static const guint8 state_rsp[] = {0x09, 0x00, 0x00, 0x03, 0x00, 0x01, 0x08, 0x00, 0xa1, 0x61, 0x78};

static void
test_raw_back_to_back(void)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, GAP);
	g_autoptr(GPtrArray) frames = frames_new();
	g_autoptr(GByteArray) stream = g_byte_array_new();

	g_byte_array_append(stream, params_req, sizeof(params_req));
	g_byte_array_append(stream, state_rsp, sizeof(state_rsp));
	g_byte_array_append(stream, params_req, sizeof(params_req));
	smp_raw_decoder_feed(dec, stream->data, stream->len, 0, collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 3);
	assert_frame(frames, 1, state_rsp, sizeof(state_rsp));
	g_assert_cmpuint(smp_raw_decoder_get_bad_frames(dec), ==, 0);
}

/* a tty hands over any number of bytes at a time */
static void
test_raw_byte_by_byte(void)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, GAP);
	g_autoptr(GPtrArray) frames = frames_new();

	for (gsize i = 0; i < sizeof(state_rsp); i++) {
		g_assert_cmpuint(frames->len, ==, 0);
		smp_raw_decoder_feed(dec, state_rsp + i, 1, (gint64)i, collect_frame, frames);
	}
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, state_rsp, sizeof(state_rsp));
}

/* log text, console frames and line noise never look like a header: the message after them is found */
static void
test_raw_garbage_before(void)
{
	static const char *const noise[] = {
	        "\x1b[0m<inf> app: booting\r\n",
	        "\xff\xfe\xfd\x80\x40",
	        "\x09\x01\x02",                         /* a header start with flags set */
	        "\x01\x00\xff\xff",                     /* a length past the bound */
	        "\x01\x00\x00\x02\x00\x01\x00\x00\x61", /* a payload that is no map */
	};

	for (gsize i = 0; i < G_N_ELEMENTS(noise); i++) {
		g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, GAP);
		g_autoptr(GPtrArray) frames = frames_new();
		g_autoptr(GBytes) console = smp_console_encode(params_req, sizeof(params_req));

		smp_raw_decoder_feed(dec, (const guint8 *)noise[i], strlen(noise[i]), 0, collect_frame,
		                     frames);
		smp_raw_decoder_feed(dec, g_bytes_get_data(console, NULL), g_bytes_get_size(console), 0,
		                     collect_frame, frames);
		smp_raw_decoder_feed(dec, state_rsp, sizeof(state_rsp), 0, collect_frame, frames);
		g_test_message("noise %" G_GSIZE_FORMAT, i);
		g_assert_cmpuint(frames->len, ==, 1);
		assert_frame(frames, 0, state_rsp, sizeof(state_rsp));
		g_assert_cmpuint(smp_raw_decoder_get_bad_frames(dec), >=, 1);
	}
}

/* a message cut off by the device is given up after a pause, and the next one is found */
static void
test_raw_pause_drops_partial(void)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, GAP);
	g_autoptr(GPtrArray) frames = frames_new();

	smp_raw_decoder_feed(dec, state_rsp, 9, 0, collect_frame, frames);
	/* within the gap, the rest still completes it */
	smp_raw_decoder_feed(dec, state_rsp + 9, 2, GAP, collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);

	smp_raw_decoder_feed(dec, state_rsp, 9, 2 * GAP, collect_frame, frames);
	smp_raw_decoder_feed(dec, params_req, sizeof(params_req), 4 * GAP, collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 2);
	assert_frame(frames, 1, params_req, sizeof(params_req));
	g_assert_cmpuint(smp_raw_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_raw_reset(void)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, GAP);
	g_autoptr(GPtrArray) frames = frames_new();

	smp_raw_decoder_feed(dec, state_rsp, 5, 0, collect_frame, frames);
	smp_raw_decoder_reset(dec);
	smp_raw_decoder_feed(dec, params_req, sizeof(params_req), 0, collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, params_req, sizeof(params_req));
}

/* the bound is the whole message: a header announcing more is garbage */
static void
test_raw_max_message(void)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(sizeof(state_rsp) - 1, GAP);
	g_autoptr(GPtrArray) frames = frames_new();

	smp_raw_decoder_feed(dec, state_rsp, sizeof(state_rsp), 0, collect_frame, frames);
	smp_raw_decoder_feed(dec, params_req, sizeof(params_req), 0, collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	assert_frame(frames, 0, params_req, sizeof(params_req));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smp/console/crc", test_crc);
	g_test_add_func("/smp/console/crc-any-length", test_crc_any_length);
	g_test_add_func("/smp/console/encode-layout", test_encode_layout);
	g_test_add_func("/smp/console/round-trip-sizes", test_round_trip_sizes);
	g_test_add_func("/smp/console/byte-by-byte", test_byte_by_byte);
	g_test_add_func("/smp/console/noise", test_noise_between_frames);
	g_test_add_func("/smp/console/bad-frames", test_bad_frames);
	g_test_add_func("/smp/console/interrupted", test_interrupted_frame);
	g_test_add_func("/smp/console/random-garbage", test_random_garbage);
	g_test_add_func("/smp/raw/back-to-back", test_raw_back_to_back);
	g_test_add_func("/smp/raw/byte-by-byte", test_raw_byte_by_byte);
	g_test_add_func("/smp/raw/garbage-before", test_raw_garbage_before);
	g_test_add_func("/smp/raw/pause-drops-partial", test_raw_pause_drops_partial);
	g_test_add_func("/smp/raw/reset", test_raw_reset);
	g_test_add_func("/smp/raw/max-message", test_raw_max_message);
	return g_test_run();
}
