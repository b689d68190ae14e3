/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ble-link-model.h"

G_BEGIN_DECLS

/*
 * One live BLE connection: ATT writes (client→device) and notifications
 * (device→client) wait in a queue per direction and move only at connection
 * events, as many LL PDUs per event as the model allows. The device can hold
 * writes back (out of buffers: the link layer stops acknowledging, so the
 * client's data waits in the link). Events run on real-time GLib timeouts.
 */
typedef struct {
	/* may the device take the next write now? */
	gboolean (*can_deliver)(gpointer user_data);
	/* handle: which characteristic, as the caller numbered them */
	void (*deliver_write)(guint handle, const guint8 *value, gsize len, gpointer user_data);
	void (*deliver_notify)(guint handle, const guint8 *value, gsize len, gpointer user_data);
	/* the write queue has room again */
	void (*write_space)(gpointer user_data);
} BleLinkCallbacks;

typedef struct _BleLink BleLink;

BleLink *ble_link_new(const BleLinkModel *model, const BleLinkCallbacks *callbacks, gpointer user_data);
/* safe to call from inside a callback: the link then goes once the event is done */
void ble_link_free(BleLink *link);
gboolean ble_link_write_room(BleLink *link);
/* one ATT write value, client→device; the caller checked ble_link_write_room() */
void ble_link_write(BleLink *link, guint handle, const guint8 *value, gsize len);
/* one notification value, device→client */
void ble_link_notify(BleLink *link, guint handle, const guint8 *value, gsize len);
/* writes not yet delivered to the device */
guint ble_link_write_pending(BleLink *link);
/* notifications not yet over the air */
guint ble_link_notify_pending(BleLink *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleLink, ble_link_free)

G_END_DECLS
