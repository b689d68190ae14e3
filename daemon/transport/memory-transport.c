/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "memory-transport.h"

#include "dfu-error.h"

typedef struct _MemoryTransport MemoryTransport;

struct _MemoryTransport {
	DfuTransport parent;
	MemoryTransport *peer;
	gsize max_message;
	gboolean refuse_open;
	GQueue inbox; /* GBytes* waiting for delivery */
	guint deliver_idle;
	guint open_idle;
};

static gboolean
on_deliver(gpointer user_data)
{
	MemoryTransport *self = user_data;
	GBytes *b;

	self->deliver_idle = 0;
	/* a callback may close us: stop delivering then */
	while (self->parent.is_open && (b = g_queue_pop_head(&self->inbox)) != NULL) {
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(b, &len);
		dfu_transport_emit_packet(&self->parent, data, len);
		g_bytes_unref(b);
	}
	return G_SOURCE_REMOVE;
}

static gboolean
on_open_idle(gpointer user_data)
{
	MemoryTransport *self = user_data;
	g_autoptr(GError) error = NULL;

	self->open_idle = 0;
	if (self->refuse_open)
		error = g_error_new_literal(DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND, "memory link: not present");
	dfu_transport_emit_opened(&self->parent, error);
	return G_SOURCE_REMOVE;
}

static void
memory_open(DfuTransport *transport)
{
	MemoryTransport *self = (MemoryTransport *)transport;

	if (self->open_idle == 0)
		self->open_idle = g_idle_add(on_open_idle, self);
}

static gboolean
memory_send(DfuTransport *transport, const guint8 *data, gsize len, GError **error)
{
	MemoryTransport *self = (MemoryTransport *)transport;
	MemoryTransport *peer = self->peer;

	if (!transport->is_open) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "memory link: not open");
		return FALSE;
	}
	/* a peer that is not listening loses the packet, as a wire would */
	if (peer == NULL || !peer->parent.is_open)
		return TRUE;
	g_queue_push_tail(&peer->inbox, g_bytes_new(data, len));
	if (peer->deliver_idle == 0)
		peer->deliver_idle = g_idle_add(on_deliver, peer);
	return TRUE;
}

static void
memory_close(DfuTransport *transport)
{
	MemoryTransport *self = (MemoryTransport *)transport;

	g_clear_handle_id(&self->deliver_idle, g_source_remove);
	g_clear_handle_id(&self->open_idle, g_source_remove);
	g_queue_clear_full(&self->inbox, (GDestroyNotify)g_bytes_unref);
	transport->is_open = FALSE;
}

static gsize
memory_max_message(DfuTransport *transport)
{
	return ((MemoryTransport *)transport)->max_message;
}

static void
memory_finalize(DfuTransport *transport)
{
	MemoryTransport *self = (MemoryTransport *)transport;

	memory_close(transport);
	if (self->peer != NULL)
		self->peer->peer = NULL;
	g_free(self);
}

static const DfuTransportClass memory_class = {
        .name = "memory",
        .open = memory_open,
        .send = memory_send,
        .close = memory_close,
        .max_message = memory_max_message,
        .finalize = memory_finalize,
};

void
dfu_memory_transport_new_pair(gsize max_message, DfuTransport **a, DfuTransport **b)
{
	MemoryTransport *x = g_new0(MemoryTransport, 1);
	MemoryTransport *y = g_new0(MemoryTransport, 1);

	x->parent.klass = y->parent.klass = &memory_class;
	x->max_message = y->max_message = max_message;
	x->peer = y;
	y->peer = x;
	g_queue_init(&x->inbox);
	g_queue_init(&y->inbox);
	*a = &x->parent;
	*b = &y->parent;
}

static void
hang_up_one(MemoryTransport *self)
{
	g_autoptr(GError) error = NULL;

	if (self == NULL || !self->parent.is_open)
		return;
	memory_close(&self->parent);
	error = g_error_new_literal(DFU_ERROR, DFU_STATUS_LINK_LOST, "memory link: hang-up");
	dfu_transport_emit_closed(&self->parent, error);
}

void
dfu_memory_transport_hang_up(DfuTransport *transport)
{
	MemoryTransport *self = (MemoryTransport *)transport;

	hang_up_one(self->peer);
	hang_up_one(self);
}

void
dfu_memory_transport_set_refuse_open(DfuTransport *transport, gboolean refuse)
{
	((MemoryTransport *)transport)->refuse_open = refuse;
}
