/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "smp-message.h"
#include "smp-raw.h"

/* what the decoder delivers must be a whole message by its own header */
static void
check_message(const guint8 *msg, gsize len, gpointer user_data)
{
	g_autoptr(SmpMessage) parsed = NULL;

	if (len < SMP_HEADER_SIZE || len != SMP_HEADER_SIZE + ((gsize)msg[2] << 8 | msg[3]))
		__builtin_trap();
	parsed = smp_message_parse(msg, len, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(SmpRawDecoder) dec = smp_raw_decoder_new(1024, SMP_RAW_GAP_US);

	/* the input in pieces, some after a pause, as a tty might hand it over */
	for (size_t off = 0, step = 1; off < size; off += step, step = step * 3 % 61 + 1)
		smp_raw_decoder_feed(dec, data + off, MIN(step, size - off), (gint64)off * SMP_RAW_GAP_US / 7,
		                     check_message, NULL);
	return 0;
}
