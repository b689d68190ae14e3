/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A packet pipe to one device. The transport moves whole protocol messages
 * (for SMP: one SMP message per packet, framing and reassembly done below)
 * and reports what happens through callbacks on the main loop. Nothing here
 * blocks: open and send only start work.
 */
typedef struct _DfuTransport DfuTransport;

typedef struct {
	/* the link is up (error NULL) or could not be opened */
	void (*opened)(DfuTransport *transport, const GError *error, gpointer user_data);
	/* one complete message */
	void (*packet)(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data);
	/* the link went away after it was opened (hang-up, read error, disconnect) */
	void (*closed)(DfuTransport *transport, const GError *error, gpointer user_data);
} DfuTransportCallbacks;

typedef struct {
	const char *name;
	void (*open)(DfuTransport *self);
	gboolean (*send)(DfuTransport *self, const guint8 *data, gsize len, GError **error);
	void (*close)(DfuTransport *self);
	/* largest message the link itself can carry in one piece; 0 = no limit of its own */
	gsize (*max_message)(DfuTransport *self);
	/* bytes on the wire for a message of len bytes (for rate accounting) */
	gsize (*wire_size)(DfuTransport *self, gsize len);
	/* bytes of framing that share the device's receive buffer with the message
	 * (serial: 2-byte length + CRC), so a message is at most buf_size minus this */
	gsize netbuf_overhead;
	/* max_message bounds a whole message (a datagram carries exactly one);
	 * otherwise a longer message is split into pieces of max_message (BLE writes) */
	gboolean whole_messages;
	/* requests in flight worth trying with a device that does not report its
	 * buffers, where round trips are long (BLE); 0 or 1: one at a time */
	guint guess_window;
	/* the client waits for this many answers, the first due by deadline_us
	 * (monotonic µs, 0: none); a link may pace its reads by it. Optional */
	void (*expect)(DfuTransport *self, guint answers, gint64 deadline_us);
	void (*finalize)(DfuTransport *self);
} DfuTransportClass;

struct _DfuTransport {
	const DfuTransportClass *klass;
	const DfuTransportCallbacks *callbacks;
	gpointer user_data;
	gboolean is_open;
};

void dfu_transport_set_callbacks(DfuTransport *self, const DfuTransportCallbacks *callbacks,
                                 gpointer user_data);
/* opening again after closed is allowed (reconnect after a device reset) */
void dfu_transport_open(DfuTransport *self);
gboolean dfu_transport_send(DfuTransport *self, const guint8 *data, gsize len, GError **error);
void dfu_transport_close(DfuTransport *self);
gboolean dfu_transport_is_open(DfuTransport *self);
gsize dfu_transport_max_message(DfuTransport *self);
gsize dfu_transport_wire_size(DfuTransport *self, gsize len);
gsize dfu_transport_netbuf_overhead(DfuTransport *self);
gboolean dfu_transport_whole_messages(DfuTransport *self);
guint dfu_transport_guess_window(DfuTransport *self);
void dfu_transport_expect(DfuTransport *self, guint answers, gint64 deadline_us);
void dfu_transport_free(DfuTransport *self);

/* for implementations */
void dfu_transport_emit_opened(DfuTransport *self, const GError *error);
void dfu_transport_emit_packet(DfuTransport *self, const guint8 *data, gsize len);
void dfu_transport_emit_closed(DfuTransport *self, const GError *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuTransport, dfu_transport_free)

G_END_DECLS
