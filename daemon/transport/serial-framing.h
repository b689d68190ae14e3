/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-target.h"

G_BEGIN_DECLS

/*
 * The framings of a serial line behind one face (SMP console lines, bare SMP
 * messages, SLIP, mesh serial frames), so that a link can change its framing while it is open:
 * when a device is probed for the one it speaks.
 */
typedef struct _SerialFramer SerialFramer;

typedef void (*SerialFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

/* max_frame bounds what the decoders hold on garbage */
SerialFramer *serial_framer_new(DfuFraming framing, gsize max_frame);
void serial_framer_free(SerialFramer *framer);
/* from now on; what was half decoded in the old framing is dropped */
void serial_framer_set_framing(SerialFramer *framer, DfuFraming framing);
/* the bytes on the wire for one message */
GBytes *serial_framer_encode(SerialFramer *framer, const guint8 *msg, gsize len);
gsize serial_framer_encoded_size(SerialFramer *framer, gsize msg_len);
void serial_framer_feed(SerialFramer *framer, const guint8 *data, gsize len, SerialFrameFunc func,
                        gpointer user_data);
void serial_framer_reset(SerialFramer *framer);
/* frames dropped by the current framing's decoder */
guint serial_framer_get_bad_frames(SerialFramer *framer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SerialFramer, serial_framer_free)

G_END_DECLS
