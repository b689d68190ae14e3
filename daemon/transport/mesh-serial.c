/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mesh-serial.h"

struct _MeshSerialDecoder {
	guint8 frame[MESH_SERIAL_MAX_FRAME];
	gsize want; /* 0: the next byte is a length */
	gsize have;
	gint64 gap_us;
	gint64 last_us;
	guint bad_frames;
};

GBytes *
mesh_serial_encode(const guint8 *msg, gsize len)
{
	GByteArray *out;
	guint8 length = (guint8)len;

	if (len == 0 || len > MESH_SERIAL_MAX_FRAME)
		return NULL;
	out = g_byte_array_sized_new((guint)len + 1);
	g_byte_array_append(out, &length, 1);
	g_byte_array_append(out, msg, (guint)len);
	return g_byte_array_free_to_bytes(out);
}

gsize
mesh_serial_encoded_size(gsize len)
{
	return len + 1;
}

MeshSerialDecoder *
mesh_serial_decoder_new(gint64 gap_us)
{
	MeshSerialDecoder *dec = g_new0(MeshSerialDecoder, 1);

	dec->gap_us = gap_us;
	return dec;
}

void
mesh_serial_decoder_free(MeshSerialDecoder *dec)
{
	g_free(dec);
}

void
mesh_serial_decoder_reset(MeshSerialDecoder *dec)
{
	dec->want = 0;
	dec->have = 0;
}

guint
mesh_serial_decoder_get_bad_frames(MeshSerialDecoder *dec)
{
	return dec->bad_frames;
}

void
mesh_serial_decoder_feed(MeshSerialDecoder *dec, const guint8 *data, gsize len, gint64 now_us,
                         MeshSerialFrameFunc func, gpointer user_data)
{
	if (len == 0)
		return;
	if (dec->want > 0 && dec->gap_us > 0 && now_us - dec->last_us >= dec->gap_us) {
		dec->bad_frames++;
		mesh_serial_decoder_reset(dec);
	}
	dec->last_us = now_us;
	for (gsize i = 0; i < len; i++) {
		if (dec->want == 0) {
			/* a frame holds at least its opcode: a zero length is noise */
			if (data[i] == 0)
				dec->bad_frames++;
			dec->want = data[i];
			dec->have = 0;
			continue;
		}
		dec->frame[dec->have++] = data[i];
		if (dec->have < dec->want)
			continue;
		dec->want = 0;
		func(dec->frame, dec->have, user_data);
	}
}
