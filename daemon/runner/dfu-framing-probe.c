/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-framing-probe.h"

#include "dfu-error.h"
#include "smp-client.h"
#include "smp-commands.h"

/* the order tried: today's default first */
static const DfuFraming probe_order[] = {DFU_FRAMING_CONSOLE, DFU_FRAMING_RAW};

struct _DfuFramingProbe {
	DfuTransport *transport;
	DfuFramingProbeOptions opt;
	DfuFramingProbeFunc func;
	gpointer user_data;
	SmpClient *client;
	guint step; /* index into probe_order */
	gboolean done;
};

static void
probe_finish(DfuFramingProbe *self, const GError *error)
{
	if (self->done)
		return;
	self->done = TRUE;
	if (error == NULL && self->opt.found != NULL)
		self->opt.found(probe_order[self->step], self->opt.found_data);
	/* the caller may free the probe from here */
	self->func(probe_order[self->step], error, self->user_data);
}

static void on_params(SmpClient *client, const SmpMessage *rsp, const GError *error, gpointer user_data);

static void
send_params(DfuFramingProbe *self)
{
	smp_client_request(self->client, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, NULL, self->opt.timeout_ms,
	                   self->opt.retries, on_params, self);
}

/* "console or raw" */
static char *
framings_tried(void)
{
	g_autoptr(GString) str = g_string_new(NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(probe_order); i++)
		g_string_append_printf(str, "%s%s", i == 0 ? "" : " or ",
		                       dfu_framing_to_string(probe_order[i]));
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static void
on_params(SmpClient *client, const SmpMessage *rsp, const GError *error, gpointer user_data)
{
	DfuFramingProbe *self = user_data;
	g_autoptr(GError) silent = NULL;
	g_autofree char *command = NULL;
	g_autofree char *tried = NULL;

	/* any answer counts, even "not supported": the device speaks this framing */
	if (rsp != NULL) {
		probe_finish(self, NULL);
		return;
	}
	if (error->code != DFU_STATUS_RESPONSE_TIMEOUT) {
		probe_finish(self, error);
		return;
	}
	if (self->step + 1 < G_N_ELEMENTS(probe_order)) {
		self->step++;
		self->opt.set_framing(self->transport, probe_order[self->step]);
		send_params(self);
		return;
	}
	command = smp_command_describe(SMP_GROUP_OS, SMP_OS_PARAMS);
	tried = framings_tried();
	silent = g_error_new(DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT,
	                     "no answer from the device to %s at %u baud in %s SMP framing", command,
	                     self->opt.baud, tried);
	probe_finish(self, silent);
}

static void
on_link_opened(SmpClient *client, const GError *error, gpointer user_data)
{
	DfuFramingProbe *self = user_data;

	if (error != NULL)
		probe_finish(self, error);
	else
		send_params(self);
}

static void
on_link_closed(SmpClient *client, const GError *error, gpointer user_data)
{
	probe_finish(user_data, error);
}

static const SmpClientCallbacks probe_client_callbacks = {
        .link_opened = on_link_opened,
        .link_closed = on_link_closed,
};

DfuFramingProbe *
dfu_framing_probe_new(DfuTransport *transport, const DfuFramingProbeOptions *options,
                      DfuFramingProbeFunc func, gpointer user_data)
{
	DfuFramingProbe *self = g_new0(DfuFramingProbe, 1);

	self->transport = transport;
	self->opt = *options;
	self->func = func;
	self->user_data = user_data;
	self->client = smp_client_new(transport, &probe_client_callbacks, self);
	self->opt.set_framing(transport, probe_order[0]);
	/* opened is reported from the loop */
	dfu_transport_open(transport);
	return self;
}

void
dfu_framing_probe_free(DfuFramingProbe *self)
{
	if (self == NULL)
		return;
	smp_client_free(self->client);
	g_free(self);
}
