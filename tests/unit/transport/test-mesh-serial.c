/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "mesh-serial.h"
#include "test-util.h"

/* the Echo nrfutil sends first: length 5 covers the opcode and four payload bytes */
static void
test_encode_echo(void)
{
	const guint8 msg[] = {0x02, 0xAA, 0xBB, 0xCC, 0xDD};
	const guint8 want[] = {0x05, 0x02, 0xAA, 0xBB, 0xCC, 0xDD};
	g_autoptr(GBytes) enc = mesh_serial_encode(msg, sizeof(msg));

	g_assert_cmpmem(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc), want, sizeof(want));
	g_assert_cmpuint(mesh_serial_encoded_size(sizeof(msg)), ==, sizeof(want));
}

static void
test_encode_bounds(void)
{
	guint8 big[MESH_SERIAL_MAX_FRAME + 1] = {0};
	g_autoptr(GBytes) largest = mesh_serial_encode(big, MESH_SERIAL_MAX_FRAME);

	g_assert_null(mesh_serial_encode(big, 0));
	g_assert_null(mesh_serial_encode(big, sizeof(big)));
	g_assert_cmpuint(g_bytes_get_size(largest), ==, 256);
	g_assert_cmpuint(((const guint8 *)g_bytes_get_data(largest, NULL))[0], ==, 0xFF);
}

/* frames back to back, split at every byte and all at once, come out the same */
static void
test_decode_stream(void)
{
	const guint8 wire[] = {0x03, 0x84, 0x78, 0x00, 0x04, 0x81, 0x02, 0x00, 0xFE, 0x01, 0x82};
	const guint8 ack[] = {0x84, 0x78, 0x00};
	const guint8 started[] = {0x81, 0x02, 0x00, 0xFE};
	const guint8 echo[] = {0x82};

	for (gsize step = 1; step <= sizeof(wire); step++) {
		g_autoptr(MeshSerialDecoder) dec = mesh_serial_decoder_new(MESH_SERIAL_GAP_US);
		g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

		for (gsize i = 0; i < sizeof(wire); i += step)
			mesh_serial_decoder_feed(dec, wire + i, MIN(step, sizeof(wire) - i), 0,
			                         dfu_test_collect_frame, frames);
		g_assert_cmpuint(frames->len, ==, 3);
		dfu_test_assert_frame(frames, 0, ack, sizeof(ack));
		dfu_test_assert_frame(frames, 1, started, sizeof(started));
		dfu_test_assert_frame(frames, 2, echo, sizeof(echo));
		g_assert_cmpuint(mesh_serial_decoder_get_bad_frames(dec), ==, 0);
	}
}

/* there is no marker to find the next frame by: a pause is where the two sides agree again */
static void
test_decode_gap_drops_partial(void)
{
	const guint8 partial[] = {0x05, 0x82, 0xAA};
	const guint8 whole[] = {0x03, 0x84, 0x78, 0x00};
	const guint8 ack[] = {0x84, 0x78, 0x00};
	g_autoptr(MeshSerialDecoder) dec = mesh_serial_decoder_new(MESH_SERIAL_GAP_US);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	mesh_serial_decoder_feed(dec, partial, sizeof(partial), 1000, dfu_test_collect_frame, frames);
	mesh_serial_decoder_feed(dec, whole, sizeof(whole), 1000 + MESH_SERIAL_GAP_US, dfu_test_collect_frame,
	                         frames);
	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, ack, sizeof(ack));
	g_assert_cmpuint(mesh_serial_decoder_get_bad_frames(dec), ==, 1);
}

/* without a pause a lost byte shifts what follows: the decoder counts, it cannot know */
static void
test_decode_no_resync_without_gap(void)
{
	const guint8 wire[] = {0x05, 0x82, 0xAA, 0x03, 0x84, 0x78, 0x00};
	g_autoptr(MeshSerialDecoder) dec = mesh_serial_decoder_new(MESH_SERIAL_GAP_US);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	const guint8 shifted[] = {0x82, 0xAA, 0x03, 0x84, 0x78};

	mesh_serial_decoder_feed(dec, wire, sizeof(wire), 0, dfu_test_collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, shifted, sizeof(shifted));
}

static void
test_decode_zero_length_is_bad(void)
{
	const guint8 wire[] = {0x00, 0x01, 0x82};
	const guint8 echo[] = {0x82};
	g_autoptr(MeshSerialDecoder) dec = mesh_serial_decoder_new(0);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	mesh_serial_decoder_feed(dec, wire, sizeof(wire), 0, dfu_test_collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
	dfu_test_assert_frame(frames, 0, echo, sizeof(echo));
	g_assert_cmpuint(mesh_serial_decoder_get_bad_frames(dec), ==, 1);
}

static void
test_decode_reset(void)
{
	const guint8 partial[] = {0x05, 0x82};
	const guint8 whole[] = {0x01, 0x82};
	g_autoptr(MeshSerialDecoder) dec = mesh_serial_decoder_new(0);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	mesh_serial_decoder_feed(dec, partial, sizeof(partial), 0, dfu_test_collect_frame, frames);
	mesh_serial_decoder_reset(dec);
	mesh_serial_decoder_feed(dec, whole, sizeof(whole), 0, dfu_test_collect_frame, frames);
	g_assert_cmpuint(frames->len, ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mesh-serial/encode-echo", test_encode_echo);
	g_test_add_func("/mesh-serial/encode-bounds", test_encode_bounds);
	g_test_add_func("/mesh-serial/decode-stream", test_decode_stream);
	g_test_add_func("/mesh-serial/decode-gap", test_decode_gap_drops_partial);
	g_test_add_func("/mesh-serial/decode-no-resync", test_decode_no_resync_without_gap);
	g_test_add_func("/mesh-serial/decode-zero-length", test_decode_zero_length_is_bad);
	g_test_add_func("/mesh-serial/decode-reset", test_decode_reset);
	return g_test_run();
}
