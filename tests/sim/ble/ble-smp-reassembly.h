/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* one whole SMP request message */
typedef void (*BleSmpMessageFunc)(const guint8 *msg, gsize len, gpointer user_data);

/*
 * SMP requests out of ATT write values: the header in the first write gives
 * the length; with spanning the message may take several writes, without it
 * each write must be one whole message. A bad write drops what was gathered.
 */
typedef struct _BleSmpReassembly BleSmpReassembly;

BleSmpReassembly *ble_smp_reassembly_new(gsize max_len, gboolean spanning);
void ble_smp_reassembly_free(BleSmpReassembly *reassembly);
/* FALSE when the write was bad; func runs when it completes a message */
gboolean ble_smp_reassembly_feed(BleSmpReassembly *reassembly, const guint8 *value, gsize len,
                                 BleSmpMessageFunc func, gpointer user_data);
/* the link went: a partial message is lost */
void ble_smp_reassembly_reset(BleSmpReassembly *reassembly);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleSmpReassembly, ble_smp_reassembly_free)

G_END_DECLS
