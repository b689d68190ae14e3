/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "slip.h"

typedef enum {
	SLIP_STATE_DATA,
	SLIP_STATE_ESCAPE,
	SLIP_STATE_DISCARD, /* after a bad escape or an overlong frame, until END */
} SlipState;

struct _SlipDecoder {
	GByteArray *buf;
	gsize max_frame;
	SlipState state;
	guint bad_frames;
};

GBytes *
slip_encode(const guint8 *msg, gsize len)
{
	GByteArray *out = g_byte_array_sized_new((guint)(len + len / 8 + 1));

	for (gsize i = 0; i < len; i++) {
		const guint8 esc[2] = {SLIP_ESC, msg[i] == SLIP_END ? SLIP_ESC_END : SLIP_ESC_ESC};

		if (msg[i] == SLIP_END || msg[i] == SLIP_ESC)
			g_byte_array_append(out, esc, 2);
		else
			g_byte_array_append(out, &msg[i], 1);
	}
	g_byte_array_append(out, (const guint8[]){SLIP_END}, 1);
	return g_byte_array_free_to_bytes(out);
}

gsize
slip_encoded_size_max(gsize len)
{
	return 2 * len + 1;
}

SlipDecoder *
slip_decoder_new(gsize max_frame)
{
	SlipDecoder *dec = g_new0(SlipDecoder, 1);

	dec->buf = g_byte_array_new();
	dec->max_frame = max_frame;
	return dec;
}

void
slip_decoder_free(SlipDecoder *dec)
{
	if (dec == NULL)
		return;
	g_byte_array_unref(dec->buf);
	g_free(dec);
}

void
slip_decoder_reset(SlipDecoder *dec)
{
	g_byte_array_set_size(dec->buf, 0);
	dec->state = SLIP_STATE_DATA;
}

guint
slip_decoder_get_bad_frames(SlipDecoder *dec)
{
	return dec->bad_frames;
}

static void
discard(SlipDecoder *dec)
{
	dec->bad_frames++;
	g_byte_array_set_size(dec->buf, 0);
	dec->state = SLIP_STATE_DISCARD;
}

static void
append(SlipDecoder *dec, guint8 byte)
{
	if (dec->buf->len >= dec->max_frame) {
		discard(dec);
		return;
	}
	g_byte_array_append(dec->buf, &byte, 1);
	dec->state = SLIP_STATE_DATA;
}

void
slip_decoder_feed(SlipDecoder *dec, const guint8 *data, gsize len, SlipFrameFunc func, gpointer user_data)
{
	for (gsize i = 0; i < len; i++) {
		guint8 b = data[i];

		if (b == SLIP_END) {
			SlipState was = dec->state;

			/* an END right after ESC still ends the frame, but the frame is broken */
			if (was == SLIP_STATE_ESCAPE)
				dec->bad_frames++;
			else if (was == SLIP_STATE_DATA && dec->buf->len > 0)
				func(dec->buf->data, dec->buf->len, user_data);
			slip_decoder_reset(dec);
			continue;
		}
		switch (dec->state) {
		case SLIP_STATE_DISCARD:
			break;
		case SLIP_STATE_ESCAPE:
			if (b == SLIP_ESC_END)
				append(dec, SLIP_END);
			else if (b == SLIP_ESC_ESC)
				append(dec, SLIP_ESC);
			else
				discard(dec);
			break;
		case SLIP_STATE_DATA:
			if (b == SLIP_ESC)
				dec->state = SLIP_STATE_ESCAPE;
			else
				append(dec, b);
			break;
		}
	}
}
