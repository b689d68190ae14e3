/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * SMP over a serial console: [len16 BE][message][crc16 BE] base64-encoded
 * once, cut into lines of at most 127 bytes; the first line starts 06 09,
 * continuations 04 14, every line ends in \n. CRC-16/XMODEM over the message.
 */
#define SMP_CONSOLE_MAX_LINE 127
/* the length and CRC share the device's receive buffer with the message */
#define SMP_CONSOLE_NETBUF_OVERHEAD 4

guint16 smp_crc16_xmodem(guint16 crc, const guint8 *data, gsize len);

/* the console lines for one SMP message */
GBytes *smp_console_encode(const guint8 *msg, gsize len);
/* number of bytes smp_console_encode() produces for a message of msg_len */
gsize smp_console_encoded_size(gsize msg_len);

typedef void (*SmpConsoleFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

/*
 * Streaming decoder: feed it whatever the tty gives; it calls func once per
 * complete message whose length and CRC check. Lines without a marker (shell
 * or log output) are skipped; a frame with a bad CRC, bad base64 or a wrong
 * length is dropped and counted. max_frame bounds memory on garbage input.
 */
typedef struct _SmpConsoleDecoder SmpConsoleDecoder;
SmpConsoleDecoder *smp_console_decoder_new(gsize max_frame);
void smp_console_decoder_free(SmpConsoleDecoder *dec);
void smp_console_decoder_feed(SmpConsoleDecoder *dec, const guint8 *data, gsize len, SmpConsoleFrameFunc func,
                              gpointer user_data);
void smp_console_decoder_reset(SmpConsoleDecoder *dec);
guint smp_console_decoder_get_bad_frames(SmpConsoleDecoder *dec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpConsoleDecoder, smp_console_decoder_free)

G_END_DECLS
