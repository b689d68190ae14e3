/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The most firmware bytes per second Nordic Secure DFU over SLIP can move on
 * a link of a baud rate, from the first data Create reaching the bootloader to
 * its answer to the last Execute (the span dfu-sim reports). Built from the
 * real encoders and the real image bytes, not from any client's chunking:
 *
 * - every data write is an 0x08 request of the largest chunk the protocol
 *   allows at that MTU: ((mtu - 1) / 2 - 1) rounded down to a flash word, so
 *   that even a frame of escaped bytes fits the bootloader's SLIP buffer;
 *   its wire size is the SLIP encoding of those actual bytes plus END;
 * - per object, the exchanges that cannot be left out: Create and its answer
 *   before the first write, the CRC the bootloader reports after the last
 *   write (as a PRN notification, no request) before Execute, Execute and its
 *   answer before the next Create;
 * - flash: the Create erases the page (ERASE_US), every write programs its
 *   words (WORD_WRITE_US each) once it has arrived and the flash is free, and
 *   Execute is answered only when the flash queue is empty;
 * - 10 bits a byte (8N1), each direction of the line on its own, no host or
 *   device processing time.
 */
#include <stdlib.h>

#include "nrfdfu-commands.h"
#include "slip.h"

typedef struct {
	double rate; /* bytes per µs */
} Line;

static double
wire_us(const Line *line, GBytes *msg)
{
	g_autoptr(GBytes) frame = slip_encode(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	return (double)g_bytes_get_size(frame) / line->rate;
}

static double
response_us(const Line *line, guint8 op, gsize payload_len)
{
	static const guint8 zero[8];
	g_autoptr(GBytes) rsp = nrfdfu_response_new(op, NRFDFU_RESULT_SUCCESS, 0, zero, payload_len);
	return wire_us(line, rsp);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *image = NULL;
	gsize len = 0, chunk;
	guint64 baud, mtu, object_max;
	double erase_us, word_us, t = 0, flash = 0;
	Line line;

	if (argc != 7) {
		g_printerr("usage: %s BAUD MTU OBJECT_MAX ERASE_US WORD_WRITE_US IMAGE.bin\n", argv[0]);
		return 2;
	}
	baud = g_ascii_strtoull(argv[1], NULL, 10);
	mtu = g_ascii_strtoull(argv[2], NULL, 10);
	object_max = g_ascii_strtoull(argv[3], NULL, 10);
	erase_us = g_ascii_strtod(argv[4], NULL);
	word_us = g_ascii_strtod(argv[5], NULL);
	if (baud == 0 || mtu < 11 || object_max == 0 || !g_file_get_contents(argv[6], &image, &len, &error) ||
	    len == 0) {
		g_printerr("%s: bad arguments%s%s\n", argv[0], error != NULL ? ": " : "",
		           error != NULL ? error->message : "");
		return 2;
	}
	line.rate = baud / 10.0 / 1e6;
	chunk = (((gsize)mtu - 1) / 2 - 1) & ~(gsize)3;

	/* t: when the Create of the object at off has reached the bootloader */
	for (gsize off = 0; off < len;) {
		gsize end = MIN(off + object_max, len);
		g_autoptr(GBytes) execute = nrfdfu_request(NRFDFU_OP_EXECUTE, NULL, 0);
		double arrival;

		flash = MAX(flash, t) + erase_us;
		arrival = t + response_us(&line, NRFDFU_OP_CREATE, 0);
		for (; off < end; off += MIN(chunk, end - off)) {
			gsize n = MIN(chunk, end - off);
			g_autoptr(GBytes) write =
			        nrfdfu_request(NRFDFU_OP_WRITE, (const guint8 *)image + off, n);

			arrival += wire_us(&line, write);
			flash = MAX(flash, arrival) + (double)((n + 3) / 4) * word_us;
		}
		/* the CRC back, then Execute over */
		arrival += response_us(&line, NRFDFU_OP_CRC, 8) + wire_us(&line, execute);
		t = MAX(arrival, flash);
		if (end < len) {
			g_autoptr(GBytes) create = nrfdfu_request_create(NRFDFU_OBJECT_DATA,
			                                                 (guint32)MIN(object_max, len - end));
			t += response_us(&line, NRFDFU_OP_EXECUTE, 0) + wire_us(&line, create);
		}
	}
	g_print("%.1f\n", (double)len / (t / 1e6));
	return 0;
}
