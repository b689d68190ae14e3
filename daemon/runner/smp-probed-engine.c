/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-probed-engine.h"

#include "dfu-error.h"

typedef struct {
	DfuEngine parent;
	DfuTransport *transport; /* until the update takes it */
	DfuPlan *plan;           /* likewise */
	SmpUpdateOptions options;
	DfuFramingProbeOptions probe_options;
	DfuFramingProbe *probe;
	DfuEngine *update;
} SmpProbedEngine;

static void
on_update_phase(DfuEngine *update, DfuJobPhase phase, gpointer user_data)
{
	dfu_engine_emit_phase(user_data, phase);
}

static void
on_update_progress(DfuEngine *update, guint64 done, guint64 total, gpointer user_data)
{
	dfu_engine_emit_progress(user_data, done, total);
}

static void
on_update_log(DfuEngine *update, const char *line, gpointer user_data)
{
	DfuEngine *self = user_data;

	/* the update has put the line in the debug log already */
	if (self->callbacks->log != NULL)
		self->callbacks->log(self, line, self->user_data);
}

static void
on_update_identity(DfuEngine *update, GVariant *identity, gpointer user_data)
{
	dfu_engine_emit_identity(user_data, identity);
}

static void
on_update_report(DfuEngine *update, GVariant *state, gpointer user_data)
{
	dfu_engine_emit_report(user_data, g_variant_ref(state));
}

static void
on_update_done(DfuEngine *update, guint result, const GError *error, GVariant *device_error,
               gpointer user_data)
{
	dfu_engine_emit_done(user_data, result, error, device_error);
}

static const DfuEngineCallbacks update_callbacks = {
        .phase = on_update_phase,
        .progress = on_update_progress,
        .log = on_update_log,
        .identity = on_update_identity,
        .report = on_update_report,
        .done = on_update_done,
};

static void
on_probe_done(DfuFraming found, const GError *error, gpointer user_data)
{
	SmpProbedEngine *self = user_data;

	g_clear_pointer(&self->probe, dfu_framing_probe_free);
	if (error != NULL) {
		dfu_engine_emit_done(&self->parent, DFU_STATUS_NONE, error, NULL);
		return;
	}
	dfu_engine_emit_log(&self->parent, "device answers in %s SMP framing", dfu_framing_to_string(found));
	self->update = smp_update_new(g_steal_pointer(&self->transport), g_steal_pointer(&self->plan),
	                              &self->options, &update_callbacks, self);
	self->options.identity = NULL;
	dfu_engine_start(self->update);
}

static void
probed_start(DfuEngine *engine)
{
	SmpProbedEngine *self = (SmpProbedEngine *)engine;

	dfu_engine_emit_phase(engine, DFU_JOB_PHASE_CONNECTING);
	self->probe = dfu_framing_probe_new(self->transport, &self->probe_options, on_probe_done, self);
}

static void
probed_cancel(DfuEngine *engine)
{
	SmpProbedEngine *self = (SmpProbedEngine *)engine;
	g_autoptr(GError) cancelled = g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled");

	if (self->update != NULL) {
		dfu_engine_cancel(self->update);
		return;
	}
	if (self->probe == NULL)
		return;
	g_clear_pointer(&self->probe, dfu_framing_probe_free);
	dfu_transport_close(self->transport);
	dfu_engine_finish(engine, DFU_STATUS_NONE, cancelled, NULL);
}

static void
probed_finalize(DfuEngine *engine)
{
	SmpProbedEngine *self = (SmpProbedEngine *)engine;

	g_clear_pointer(&self->probe, dfu_framing_probe_free);
	g_clear_pointer(&self->update, dfu_engine_free);
	g_clear_pointer(&self->transport, dfu_transport_free);
	g_clear_pointer(&self->plan, dfu_plan_free);
	g_free(self);
}

static const DfuEngineClass probed_class = {
        .name = "smp",
        .start = probed_start,
        .cancel = probed_cancel,
        .finalize = probed_finalize,
};

DfuEngine *
smp_probed_engine_new(DfuTransport *transport, DfuPlan *plan, const SmpUpdateOptions *options,
                      const DfuFramingProbeOptions *probe_options, const DfuEngineCallbacks *callbacks,
                      gpointer user_data)
{
	SmpProbedEngine *self = g_new0(SmpProbedEngine, 1);

	dfu_engine_init(&self->parent, &probed_class, callbacks, user_data);
	self->transport = transport;
	self->plan = plan;
	self->options = *options;
	self->probe_options = *probe_options;
	return &self->parent;
}
