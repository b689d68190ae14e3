/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * SLIP (RFC 1055) as the nRF5 serial DFU bootloader speaks it: C0 ends a
 * frame, DB escapes (DB DC = C0, DB DD = DB). Frames are sent with a trailing
 * END only: the bootloader hands an empty frame to its request handler for
 * every END it sees, so a leading one would be answered as a bad request.
 */
#define SLIP_END 0xC0
#define SLIP_ESC 0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

GBytes *slip_encode(const guint8 *msg, gsize len);
/* the largest encoding of len bytes: every byte escaped, plus END */
gsize slip_encoded_size_max(gsize len);

typedef void (*SlipFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

/*
 * Streaming decoder: calls func once per non-empty frame. An escape followed
 * by anything but DC/DD, or a frame longer than max_frame, drops the bytes up
 * to the next END and is counted as a bad frame.
 */
typedef struct _SlipDecoder SlipDecoder;
SlipDecoder *slip_decoder_new(gsize max_frame);
void slip_decoder_free(SlipDecoder *dec);
void slip_decoder_feed(SlipDecoder *dec, const guint8 *data, gsize len, SlipFrameFunc func,
                       gpointer user_data);
void slip_decoder_reset(SlipDecoder *dec);
guint slip_decoder_get_bad_frames(SlipDecoder *dec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlipDecoder, slip_decoder_free)

G_END_DECLS
