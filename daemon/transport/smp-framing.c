/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-framing.h"

#include "smp-console.h"
#include "smp-raw.h"

struct _SmpFramer {
	DfuFraming framing;
	SmpConsoleDecoder *console;
	SmpRawDecoder *raw;
};

static GBytes *
raw_encode(const guint8 *msg, gsize len)
{
	return g_bytes_new(msg, len);
}

static gsize
raw_encoded_size(gsize len)
{
	return len;
}

static const struct {
	GBytes *(*encode)(const guint8 *msg, gsize len);
	gsize (*encoded_size)(gsize len);
} framings[] = {
        [DFU_FRAMING_CONSOLE] = {smp_console_encode, smp_console_encoded_size},
        [DFU_FRAMING_RAW] = {raw_encode, raw_encoded_size},
};

SmpFramer *
smp_framer_new(DfuFraming framing, gsize max_frame)
{
	SmpFramer *framer = g_new0(SmpFramer, 1);

	framer->framing = framing;
	framer->console = smp_console_decoder_new(max_frame);
	framer->raw = smp_raw_decoder_new(max_frame, SMP_RAW_GAP_US);
	return framer;
}

void
smp_framer_free(SmpFramer *framer)
{
	if (framer == NULL)
		return;
	smp_console_decoder_free(framer->console);
	smp_raw_decoder_free(framer->raw);
	g_free(framer);
}

void
smp_framer_set_framing(SmpFramer *framer, DfuFraming framing)
{
	framer->framing = framing;
	smp_framer_reset(framer);
}

GBytes *
smp_framer_encode(SmpFramer *framer, const guint8 *msg, gsize len)
{
	return framings[framer->framing].encode(msg, len);
}

gsize
smp_framer_encoded_size(SmpFramer *framer, gsize msg_len)
{
	return framings[framer->framing].encoded_size(msg_len);
}

void
smp_framer_feed(SmpFramer *framer, const guint8 *data, gsize len, SmpFrameFunc func, gpointer user_data)
{
	if (framer->framing == DFU_FRAMING_RAW)
		smp_raw_decoder_feed(framer->raw, data, len, g_get_monotonic_time(), func, user_data);
	else
		smp_console_decoder_feed(framer->console, data, len, func, user_data);
}

void
smp_framer_reset(SmpFramer *framer)
{
	smp_console_decoder_reset(framer->console);
	smp_raw_decoder_reset(framer->raw);
}

guint
smp_framer_get_bad_frames(SmpFramer *framer)
{
	return framer->framing == DFU_FRAMING_RAW ? smp_raw_decoder_get_bad_frames(framer->raw)
	                                          : smp_console_decoder_get_bad_frames(framer->console);
}
