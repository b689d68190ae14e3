/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The most file bytes per second that SMP over a serial console can carry at
 * a baud rate: every request filled to the device's buffer, counted in wire
 * bytes after the console framing (8N1: ten bits a byte). Found by encoding
 * real upload requests, not by the engine's own chunking, so that the
 * benchmark cannot grade the engine against itself.
 *   serial-ceiling BAUD BUF_SIZE FILE_SIZE [--requests]
 * With --requests, the number of requests and their mean size on the wire instead.
 */
#include <stdlib.h>

#include "smp-commands.h"
#include "smp-console.h"

static gsize
encoded_request_size(guint64 off, gsize n, gsize total)
{
	static guint8 zero_sha[32];
	g_autofree guint8 *data = g_malloc0(MAX(n, (gsize)1));
	SmpHeader hdr = {.op = SMP_OP_WRITE, .version = 1, .group = SMP_GROUP_IMAGE, .id = SMP_IMAGE_UPLOAD};
	cbor_item_t *payload = smp_cmd_image_upload(0, off, data, n, total, off == 0 ? zero_sha : NULL,
	                                            off == 0 ? 32 : 0, FALSE);
	g_autoptr(GBytes) msg = smp_message_encode(&hdr, payload);

	cbor_decref(&payload);
	return g_bytes_get_size(msg);
}

/* the largest chunk at off whose request fits max_message */
static gsize
largest_chunk(guint64 off, gsize total, gsize max_message)
{
	gsize lo = 0, hi = MIN(total - off, max_message);

	while (lo < hi) {
		gsize mid = (lo + hi + 1) / 2;
		if (encoded_request_size(off, mid, total) <= max_message)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int
main(int argc, char **argv)
{
	guint64 baud, buf_size, total, off = 0, wire = 0, requests = 0;
	gboolean count = argc == 5 && g_strcmp0(argv[4], "--requests") == 0;

	if (argc != 4 && !count) {
		g_printerr("usage: %s BAUD BUF_SIZE FILE_SIZE [--requests]\n", argv[0]);
		return 2;
	}
	baud = g_ascii_strtoull(argv[1], NULL, 10);
	buf_size = g_ascii_strtoull(argv[2], NULL, 10);
	total = g_ascii_strtoull(argv[3], NULL, 10);
	if (baud == 0 || buf_size <= 4 || total == 0)
		return 2;
	while (off < total) {
		/* the 2-byte length and the CRC share the device's buffer */
		gsize n = largest_chunk(off, total, buf_size - 4);
		if (n == 0)
			return 1;
		wire += smp_console_encoded_size(encoded_request_size(off, n, total));
		off += n;
		requests++;
	}
	if (count) {
		g_print("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n", requests, wire / requests);
		return 0;
	}
	/* bytes per second of file data */
	g_print("%.1f\n", (double)total * (baud / 10.0) / (double)wire);
	return 0;
}
