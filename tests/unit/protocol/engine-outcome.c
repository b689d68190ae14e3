/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-outcome.h"

#include "memory-transport.h"

void
engine_outcome_init(EngineOutcome *self)
{
	*self = (EngineOutcome){.loop = g_main_loop_new(NULL, FALSE)};
}

void
engine_outcome_clear(EngineOutcome *self)
{
	g_clear_pointer(&self->loop, g_main_loop_unref);
	g_clear_error(&self->error);
	g_clear_pointer(&self->device_error, g_variant_unref);
}

void
engine_outcome_take(EngineOutcome *self, guint result, const GError *error, GVariant *device_error)
{
	self->done = TRUE;
	self->result = result;
	g_clear_error(&self->error);
	self->error = error != NULL ? g_error_copy(error) : NULL;
	g_clear_pointer(&self->device_error, g_variant_unref);
	self->device_error = device_error != NULL ? g_variant_ref_sink(device_error) : NULL;
	g_main_loop_quit(self->loop);
}

void
engine_outcome_run(EngineOutcome *self, DfuEngine *engine)
{
	self->done = FALSE;
	g_clear_error(&self->error);
	g_clear_pointer(&self->device_error, g_variant_unref);
	dfu_engine_start(engine);
	g_main_loop_run(self->loop);
}

DfuTransport *
engine_test_device_end(const DfuTransportCallbacks *callbacks, gpointer user_data, DfuTransport **host)
{
	DfuTransport *end = NULL;

	dfu_memory_transport_new_pair(0, &end, host);
	dfu_transport_set_callbacks(end, callbacks, user_data);
	dfu_transport_open(end);
	return end;
}

void
engine_test_ignore_link_event(DfuTransport *transport, const GError *error, gpointer user_data)
{
}
