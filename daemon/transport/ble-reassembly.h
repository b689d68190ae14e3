/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * SMP over GATT has no framing of its own: a message longer than one
 * notification continues in the next ones and ends when the length in its
 * 8-byte header is reached. The reassembler joins notifications back into
 * messages; ble_split_message cuts a request into writes that each stay
 * within one message.
 */
typedef struct _BleReassembler BleReassembler;

typedef void (*BleMessageFunc)(const guint8 *msg, gsize len, gpointer user_data);

BleReassembler *ble_reassembler_new(void);
/* drops a partial message, e.g. when the link is opened again */
void ble_reassembler_reset(BleReassembler *self);
/* feeds one notification; calls func for every message it completes */
void ble_reassembler_feed(BleReassembler *self, const guint8 *data, gsize len, BleMessageFunc func,
                          gpointer user_data);
/* bytes of an unfinished message held */
gsize ble_reassembler_pending(BleReassembler *self);
void ble_reassembler_free(BleReassembler *self);

/* the pieces (GBytes*) of one message, each at most max_write bytes */
GPtrArray *ble_split_message(const guint8 *data, gsize len, gsize max_write);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleReassembler, ble_reassembler_free)

G_END_DECLS
