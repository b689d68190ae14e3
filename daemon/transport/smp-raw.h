/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * SMP over a UART without console framing (Zephyr's raw UART transport):
 * bare messages back to back, each as long as its 8-byte header says. There
 * is no marker and no CRC, so the decoder keeps only what looks like an SMP
 * header (reserved bits clear, op 0-3, version 0-1, no flags, a length within
 * bounds, a CBOR map after it), skips garbage a byte at a time, and gives up
 * an unfinished message after a pause in the stream.
 */
#define SMP_RAW_GAP_US (500 * G_TIME_SPAN_MILLISECOND)

typedef void (*SmpRawFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

typedef struct _SmpRawDecoder SmpRawDecoder;
/* max_message bounds a message (header included); gap_us: the pause that ends a partial one */
SmpRawDecoder *smp_raw_decoder_new(gsize max_message, gint64 gap_us);
void smp_raw_decoder_free(SmpRawDecoder *dec);
/* now_us: when the bytes arrived (monotonic); func is called once per complete message */
void smp_raw_decoder_feed(SmpRawDecoder *dec, const guint8 *data, gsize len, gint64 now_us,
                          SmpRawFrameFunc func, gpointer user_data);
void smp_raw_decoder_reset(SmpRawDecoder *dec);
/* runs of skipped garbage and messages given up after a pause */
guint smp_raw_decoder_get_bad_frames(SmpRawDecoder *dec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpRawDecoder, smp_raw_decoder_free)

G_END_DECLS
