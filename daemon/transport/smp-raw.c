/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-raw.h"

#define SMP_HDR 8
/* groups below this carry one CBOR map as payload */
#define SMP_FIRST_USER_GROUP 64

struct _SmpRawDecoder {
	GByteArray *buf;
	gsize max_message;
	gint64 gap_us;
	gint64 last_us;
	gboolean skipping; /* inside a run of garbage: counted once */
	guint bad_frames;
};

SmpRawDecoder *
smp_raw_decoder_new(gsize max_message, gint64 gap_us)
{
	SmpRawDecoder *dec = g_new0(SmpRawDecoder, 1);

	dec->buf = g_byte_array_new();
	dec->max_message = MAX(max_message, SMP_HDR);
	dec->gap_us = gap_us;
	return dec;
}

void
smp_raw_decoder_free(SmpRawDecoder *dec)
{
	if (dec == NULL)
		return;
	g_byte_array_unref(dec->buf);
	g_free(dec);
}

void
smp_raw_decoder_reset(SmpRawDecoder *dec)
{
	g_byte_array_set_size(dec->buf, 0);
	dec->skipping = FALSE;
}

guint
smp_raw_decoder_get_bad_frames(SmpRawDecoder *dec)
{
	return dec->bad_frames;
}

/* whether the avail bytes at p can start a message, judged on as much of the header as is there */
static gboolean
plausible_start(const SmpRawDecoder *dec, const guint8 *p, gsize avail)
{
	gsize len;
	guint group;

	/* bits 5-7 reserved, op 0-3 (bit 2 clear), version 0 or 1 (bit 4 clear) */
	if ((p[0] & 0xf4) != 0)
		return FALSE;
	if (avail >= 2 && p[1] != 0)
		return FALSE;
	if (avail < 4)
		return TRUE;
	len = (gsize)p[2] << 8 | p[3];
	if (SMP_HDR + len > dec->max_message)
		return FALSE;
	if (avail <= SMP_HDR || len == 0)
		return TRUE;
	group = (guint)p[4] << 8 | p[5];
	/* a definite map head (0xa0-0xbb) or an indefinite one (0xbf) */
	return group >= SMP_FIRST_USER_GROUP || (p[8] >= 0xa0 && p[8] <= 0xbb) || p[8] == 0xbf;
}

void
smp_raw_decoder_feed(SmpRawDecoder *dec, const guint8 *data, gsize len, gint64 now_us, SmpRawFrameFunc func,
                     gpointer user_data)
{
	g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	gsize pos = 0;

	/* a message the device stopped sending in the middle of: what follows the pause starts afresh */
	if (dec->buf->len > 0 && now_us - dec->last_us > dec->gap_us) {
		smp_raw_decoder_reset(dec);
		dec->bad_frames++;
	}
	dec->last_us = now_us;
	g_byte_array_append(dec->buf, data, len);
	while (pos < dec->buf->len) {
		const guint8 *p = dec->buf->data + pos;
		gsize avail = dec->buf->len - pos;
		gsize need;

		if (!plausible_start(dec, p, avail)) {
			if (!dec->skipping)
				dec->bad_frames++;
			dec->skipping = TRUE;
			pos++;
			continue;
		}
		if (avail < SMP_HDR)
			break;
		need = SMP_HDR + ((gsize)p[2] << 8 | p[3]);
		if (avail < need)
			break;
		dec->skipping = FALSE;
		g_ptr_array_add(done, g_bytes_new(p, need));
		pos += need;
	}
	g_byte_array_remove_range(dec->buf, 0, pos);
	/* delivered once the buffer is consistent: a callback may reset the decoder */
	for (guint i = 0; i < done->len; i++) {
		gsize n = 0;
		const guint8 *msg = g_bytes_get_data(g_ptr_array_index(done, i), &n);
		func(msg, n, user_data);
	}
}
