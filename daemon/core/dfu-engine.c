/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-engine.h"

void
dfu_engine_init(DfuEngine *self, const DfuEngineClass *klass, const DfuEngineCallbacks *callbacks,
                gpointer user_data)
{
	self->klass = klass;
	self->callbacks = callbacks;
	self->user_data = user_data;
}

const char *
dfu_engine_get_name(DfuEngine *self)
{
	return self->klass->name;
}

void
dfu_engine_start(DfuEngine *self)
{
	self->klass->start(self);
}

void
dfu_engine_cancel(DfuEngine *self)
{
	self->klass->cancel(self);
}

void
dfu_engine_free(DfuEngine *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->done_idle, g_source_remove);
	g_clear_error(&self->done_error);
	g_clear_pointer(&self->done_device_error, g_variant_unref);
	self->klass->finalize(self);
}

void
dfu_engine_emit_phase(DfuEngine *self, DfuJobPhase phase)
{
	if (self->callbacks->phase != NULL)
		self->callbacks->phase(self, phase, self->user_data);
}

void
dfu_engine_emit_progress(DfuEngine *self, guint64 done, guint64 total)
{
	if (self->callbacks->progress != NULL)
		self->callbacks->progress(self, done, total, self->user_data);
}

void
dfu_engine_emit_log(DfuEngine *self, const char *format, ...)
{
	g_autofree char *line = NULL;
	va_list args;

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	g_debug("%s: %s", self->klass->name, line);
	if (self->callbacks->log != NULL)
		self->callbacks->log(self, line, self->user_data);
}

void
dfu_engine_emit_identity(DfuEngine *self, GVariant *identity)
{
	if (self->callbacks->identity != NULL)
		self->callbacks->identity(self, identity, self->user_data);
}

void
dfu_engine_emit_report(DfuEngine *self, GVariant *state)
{
	g_autoptr(GVariant) owned = g_variant_ref_sink(state);

	if (self->callbacks->report != NULL)
		self->callbacks->report(self, owned, self->user_data);
}

void
dfu_engine_emit_done(DfuEngine *self, guint result, const GError *error, GVariant *device_error)
{
	self->callbacks->done(self, result, error, device_error, self->user_data);
}

static gboolean
on_done_idle(gpointer user_data)
{
	DfuEngine *self = user_data;

	self->done_idle = 0;
	dfu_engine_emit_done(self, self->done_result, self->done_error, self->done_device_error);
	return G_SOURCE_REMOVE;
}

void
dfu_engine_finish(DfuEngine *self, guint result, const GError *error, GVariant *device_error)
{
	g_autoptr(GVariant) owned = device_error != NULL ? g_variant_ref_sink(device_error) : NULL;

	if (self->finished)
		return;
	self->finished = TRUE;
	self->done_result = result;
	self->done_error = error != NULL ? g_error_copy(error) : NULL;
	self->done_device_error = g_steal_pointer(&owned);
	self->done_idle = g_idle_add(on_done_idle, self);
}
