/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-target.h"

G_BEGIN_DECLS

/*
 * The SMP framings of a serial line behind one face (console lines or bare
 * messages), so that a link can change its framing while it is open: when a
 * device is probed for the one it speaks.
 */
typedef struct _SmpFramer SmpFramer;

typedef void (*SmpFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

/* max_frame bounds what the decoders hold on garbage */
SmpFramer *smp_framer_new(DfuFraming framing, gsize max_frame);
void smp_framer_free(SmpFramer *framer);
/* from now on; what was half decoded in the old framing is dropped */
void smp_framer_set_framing(SmpFramer *framer, DfuFraming framing);
/* the bytes on the wire for one message */
GBytes *smp_framer_encode(SmpFramer *framer, const guint8 *msg, gsize len);
gsize smp_framer_encoded_size(SmpFramer *framer, gsize msg_len);
void smp_framer_feed(SmpFramer *framer, const guint8 *data, gsize len, SmpFrameFunc func, gpointer user_data);
void smp_framer_reset(SmpFramer *framer);
/* frames dropped by the current framing's decoder */
guint smp_framer_get_bad_frames(SmpFramer *framer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpFramer, smp_framer_free)

G_END_DECLS
