/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-transport.h"

void
dfu_transport_set_callbacks(DfuTransport *self, const DfuTransportCallbacks *callbacks, gpointer user_data)
{
	self->callbacks = callbacks;
	self->user_data = user_data;
}

void
dfu_transport_open(DfuTransport *self)
{
	self->klass->open(self);
}

gboolean
dfu_transport_send(DfuTransport *self, const guint8 *data, gsize len, GError **error)
{
	return self->klass->send(self, data, len, error);
}

void
dfu_transport_close(DfuTransport *self)
{
	if (self->is_open)
		self->klass->close(self);
	self->is_open = FALSE;
}

gboolean
dfu_transport_is_open(DfuTransport *self)
{
	return self->is_open;
}

gsize
dfu_transport_max_message(DfuTransport *self)
{
	return self->klass->max_message != NULL ? self->klass->max_message(self) : 0;
}

gsize
dfu_transport_wire_size(DfuTransport *self, gsize len)
{
	return self->klass->wire_size != NULL ? self->klass->wire_size(self, len) : len;
}

gsize
dfu_transport_netbuf_overhead(DfuTransport *self)
{
	return self->klass->netbuf_overhead;
}

gboolean
dfu_transport_whole_messages(DfuTransport *self)
{
	return self->klass->whole_messages;
}

void
dfu_transport_expect(DfuTransport *self, guint answers, gint64 deadline_us)
{
	if (self->klass->expect != NULL)
		self->klass->expect(self, answers, deadline_us);
}

guint
dfu_transport_guess_window(DfuTransport *self)
{
	return MAX(1u, self->klass->guess_window);
}

void
dfu_transport_free(DfuTransport *self)
{
	if (self == NULL)
		return;
	dfu_transport_close(self);
	self->klass->finalize(self);
}

void
dfu_transport_emit_opened(DfuTransport *self, const GError *error)
{
	self->is_open = error == NULL;
	if (self->callbacks != NULL && self->callbacks->opened != NULL)
		self->callbacks->opened(self, error, self->user_data);
}

void
dfu_transport_emit_packet(DfuTransport *self, const guint8 *data, gsize len)
{
	if (self->callbacks != NULL && self->callbacks->packet != NULL)
		self->callbacks->packet(self, data, len, self->user_data);
}

void
dfu_transport_emit_closed(DfuTransport *self, const GError *error)
{
	self->is_open = FALSE;
	if (self->callbacks != NULL && self->callbacks->closed != NULL)
		self->callbacks->closed(self, error, self->user_data);
}
