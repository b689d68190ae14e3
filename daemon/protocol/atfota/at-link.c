/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "at-link.h"

#include <string.h>

#include "dfu-error.h"

/* longest line worth keeping: URLs echo back in some answers */
#define AT_MAX_LINE 4200
#define PROBE_TIMEOUT_MS 1000
#define PROBE_FIRST_DELAY_MS 250
#define PROBE_MAX_DELAY_MS 4000

struct _AtLink {
	DfuTransport *transport;
	AtTerminator term;
	AtLineDecoder *decoder;
	const AtLinkCallbacks *callbacks;
	gpointer user_data;
	/* the command in flight */
	char *command;
	AtLinkReplyFunc reply;
	gpointer reply_data;
	GPtrArray *info;
	guint reply_timer;
	/* waiting for the module to accept commands */
	AtLinkDoneFunc ready_done;
	gpointer ready_data;
	guint ready_timer;
	guint probes_left;
	guint probe_delay_ms;
	/* telling the firmware apart */
	AtLinkDetectFunc detect_done;
	gpointer detect_data;
	guint detect_timeout_ms;
	AtModemInfo detected;
};

static const struct {
	AtLineage lineage;
	const char *name;
	const char *version_command;
} lineages[] = {
        {AT_LINEAGE_SM, "Serial Modem", "AT#XSMVER"},
        {AT_LINEAGE_SLM, "Serial LTE Modem", "AT#XSLMVER"},
};

const char *
at_lineage_to_string(AtLineage lineage)
{
	return lineages[lineage == AT_LINEAGE_SM ? 0 : 1].name;
}

const char *
at_lineage_version_command(AtLineage lineage)
{
	return lineages[lineage == AT_LINEAGE_SM ? 0 : 1].version_command;
}

void
at_modem_info_clear(AtModemInfo *info)
{
	g_clear_pointer(&info->version, g_free);
	info->ops = 0;
}

static void
complete_command(AtLink *self, const AtLine *final, const GError *error)
{
	AtLinkReplyFunc reply = self->reply;
	gpointer data = self->reply_data;
	g_autoptr(GPtrArray) info = g_steal_pointer(&self->info);
	g_autofree char *command = g_steal_pointer(&self->command);

	/* cleared first: the reply may send the next command */
	self->reply = NULL;
	self->reply_data = NULL;
	g_clear_handle_id(&self->reply_timer, g_source_remove);
	if (reply != NULL)
		reply(self, final, info, error, data);
}

static void
finish_ready(AtLink *self, const GError *error)
{
	AtLinkDoneFunc done = self->ready_done;

	self->ready_done = NULL;
	g_clear_handle_id(&self->ready_timer, g_source_remove);
	done(self, error, self->ready_data);
}

static void
on_line(const AtLine *line, gpointer user_data)
{
	AtLink *self = user_data;

	if (self->ready_done != NULL && line->kind == AT_LINE_READY) {
		finish_ready(self, NULL);
		return;
	}
	if (self->ready_done != NULL && line->kind == AT_LINE_INIT_ERROR) {
		g_autoptr(GError) error = g_error_new_literal(
		        DFU_ERROR, DFU_STATUS_DEVICE_ERROR,
		        "the module reported INIT ERROR after it started: its firmware failed to initialise");
		finish_ready(self, error);
		return;
	}
	if (self->command != NULL && at_line_is_final(line)) {
		complete_command(self, line, NULL);
		return;
	}
	if (self->command != NULL && line->kind == AT_LINE_TEXT) {
		g_ptr_array_add(self->info, g_strdup(line->text));
		return;
	}
	if (self->callbacks->notification != NULL)
		self->callbacks->notification(self, line, self->user_data);
}

static void
on_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	AtLink *self = user_data;
	at_line_decoder_feed(self->decoder, data, len, on_line, self);
}

static void
on_opened(DfuTransport *transport, const GError *error, gpointer user_data)
{
	AtLink *self = user_data;
	self->callbacks->opened(self, error, self->user_data);
}

static void
on_closed(DfuTransport *transport, const GError *error, gpointer user_data)
{
	AtLink *self = user_data;

	if (self->command != NULL)
		complete_command(self, NULL, error);
	self->callbacks->closed(self, error, self->user_data);
}

static const DfuTransportCallbacks transport_callbacks = {
        .opened = on_opened,
        .packet = on_packet,
        .closed = on_closed,
};

AtLink *
at_link_new(DfuTransport *transport, AtTerminator term, const AtLinkCallbacks *callbacks, gpointer user_data)
{
	AtLink *self = g_new0(AtLink, 1);

	self->transport = transport;
	self->term = term;
	self->decoder = at_line_decoder_new(AT_MAX_LINE);
	self->callbacks = callbacks;
	self->user_data = user_data;
	dfu_transport_set_callbacks(transport, &transport_callbacks, self);
	return self;
}

void
at_link_free(AtLink *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->reply_timer, g_source_remove);
	g_clear_handle_id(&self->ready_timer, g_source_remove);
	g_clear_pointer(&self->info, g_ptr_array_unref);
	g_free(self->command);
	at_modem_info_clear(&self->detected);
	dfu_transport_free(self->transport);
	at_line_decoder_free(self->decoder);
	g_free(self);
}

void
at_link_open(AtLink *self)
{
	at_line_decoder_reset(self->decoder);
	dfu_transport_open(self->transport);
}

static gboolean
on_reply_timeout(gpointer user_data)
{
	AtLink *self = user_data;
	g_autoptr(GError) error = g_error_new(DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT,
	                                      "the module did not answer %s", self->command);

	self->reply_timer = 0;
	complete_command(self, NULL, error);
	return G_SOURCE_REMOVE;
}

gboolean
at_link_send(AtLink *self, const char *command, guint timeout_ms, AtLinkReplyFunc reply, gpointer user_data,
             GError **error)
{
	g_autoptr(GBytes) bytes = NULL;

	if (self->command != NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_DEVICE_BUSY, "%s is still waiting for its answer",
		            self->command);
		return FALSE;
	}
	bytes = at_line_encode_command(command, self->term);
	if (!dfu_transport_send(self->transport, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
	                        error))
		return FALSE;
	self->command = g_strdup(command);
	self->reply = reply;
	self->reply_data = user_data;
	self->info = g_ptr_array_new_with_free_func(g_free);
	self->reply_timer = g_timeout_add(timeout_ms, on_reply_timeout, self);
	return TRUE;
}

gboolean
at_link_send_data(AtLink *self, const guint8 *data, gsize len, GError **error)
{
	return dfu_transport_send(self->transport, data, len, error);
}

void
at_link_abandon(AtLink *self)
{
	self->reply = NULL;
	if (self->command != NULL)
		complete_command(self, NULL, NULL);
}

static void send_probe(AtLink *self);

static gboolean
on_probe_timer(gpointer user_data)
{
	AtLink *self = user_data;

	self->ready_timer = 0;
	send_probe(self);
	return G_SOURCE_REMOVE;
}

/* any final result, even ERROR, shows the module reads commands */
static void
on_probe_reply(AtLink *self, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	g_autoptr(GError) failed = NULL;

	if (self->ready_done == NULL)
		return;
	if (final != NULL) {
		finish_ready(self, NULL);
		return;
	}
	if (self->probes_left > 0) {
		self->ready_timer = g_timeout_add(self->probe_delay_ms, on_probe_timer, self);
		self->probe_delay_ms = MIN(self->probe_delay_ms * 2, PROBE_MAX_DELAY_MS);
		return;
	}
	failed = g_error_new(DFU_ERROR, error->code,
	                     "the module sent no Ready and did not answer AT: check the baud rate, the "
	                     "command terminator, flow control and, on Serial Modem, its DTR line (%s)",
	                     error->message);
	finish_ready(self, failed);
}

static void
send_probe(AtLink *self)
{
	g_autoptr(GError) error = NULL;

	/* whatever was sent before the module went quiet will not be answered now */
	at_link_abandon(self);
	self->probes_left--;
	if (!at_link_send(self, "AT", PROBE_TIMEOUT_MS, on_probe_reply, NULL, &error))
		finish_ready(self, error);
}

static gboolean
on_ready_timeout(gpointer user_data)
{
	AtLink *self = user_data;

	self->ready_timer = 0;
	if (self->probes_left == 0) {
		g_autoptr(GError) error = g_error_new_literal(DFU_ERROR, DFU_STATUS_DEVICE_NOT_BACK,
		                                              "the module did not report Ready");
		finish_ready(self, error);
		return G_SOURCE_REMOVE;
	}
	send_probe(self);
	return G_SOURCE_REMOVE;
}

void
at_link_wait_ready(AtLink *self, guint ready_timeout_ms, guint probes, AtLinkDoneFunc done,
                   gpointer user_data)
{
	self->ready_done = done;
	self->ready_data = user_data;
	self->probes_left = probes;
	self->probe_delay_ms = PROBE_FIRST_DELAY_MS;
	g_clear_handle_id(&self->ready_timer, g_source_remove);
	self->ready_timer = g_timeout_add(ready_timeout_ms, on_ready_timeout, self);
}

static void
finish_detect(AtLink *self, const GError *error)
{
	AtLinkDetectFunc done = self->detect_done;

	self->detect_done = NULL;
	done(self, error == NULL ? &self->detected : NULL, error, self->detect_data);
}

static void
detect_send(AtLink *self, const char *command, AtLinkReplyFunc reply)
{
	g_autoptr(GError) error = NULL;

	if (!at_link_send(self, command, self->detect_timeout_ms, reply, NULL, &error))
		finish_detect(self, error);
}

guint32
at_parse_list_bits(GPtrArray *info)
{
	guint32 bits = 0;

	for (guint i = 0; i < info->len; i++) {
		const char *open = strchr(g_ptr_array_index(info, i), '(');
		const char *close = open != NULL ? strchr(open, ')') : NULL;
		g_autofree char *list =
		        open != NULL && close != NULL ? g_strndup(open + 1, close - open - 1) : NULL;
		g_auto(GStrv) items = list != NULL ? g_strsplit(list, ",", -1) : NULL;

		for (guint k = 0; items != NULL && items[k] != NULL; k++) {
			guint64 n;

			if (g_ascii_string_to_unsigned(g_strstrip(items[k]), 10, 0, 31, &n, NULL))
				bits |= 1u << n;
		}
	}
	return bits;
}

static void
on_ops_reply(AtLink *self, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	g_autoptr(GError) failed = NULL;

	if (error != NULL) {
		finish_detect(self, error);
		return;
	}
	self->detected.ops = final->kind == AT_LINE_OK ? at_parse_list_bits(info) : 0;
	if (self->detected.ops == 0)
		failed = g_error_new(DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		                     "%s %s offers no AT#XFOTA: build it with FOTA support",
		                     at_lineage_to_string(self->detected.lineage), self->detected.version);
	finish_detect(self, failed);
}

static void
on_version_reply(AtLink *self, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	g_autoptr(GError) failed = NULL;

	if (error != NULL) {
		finish_detect(self, error);
		return;
	}
	if (final->kind == AT_LINE_OK) {
		g_free(self->detected.version);
		self->detected.version = g_strdup(info->len > 0 ? g_ptr_array_index(info, 0) : "");
		detect_send(self, "AT#XFOTA=?", on_ops_reply);
		return;
	}
	/* Serial Modem answers the newer command; the older firmware only its own */
	if (self->detected.lineage == AT_LINEAGE_SM) {
		self->detected.lineage = AT_LINEAGE_SLM;
		detect_send(self, at_lineage_version_command(AT_LINEAGE_SLM), on_version_reply);
		return;
	}
	failed = g_error_new_literal(DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
	                             "the module answers neither AT#XSMVER nor AT#XSLMVER: it does not run "
	                             "Nordic's Serial Modem or Serial LTE Modem firmware");
	finish_detect(self, failed);
}

void
at_link_detect(AtLink *self, guint timeout_ms, AtLinkDetectFunc done, gpointer user_data)
{
	self->detect_done = done;
	self->detect_data = user_data;
	self->detect_timeout_ms = timeout_ms;
	at_modem_info_clear(&self->detected);
	self->detected.lineage = AT_LINEAGE_SM;
	detect_send(self, at_lineage_version_command(AT_LINEAGE_SM), on_version_reply);
}
