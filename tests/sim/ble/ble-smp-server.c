/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "ble-smp-server.h"
#include "sim-smp-handlers.h"
#include "smp-message.h"

typedef struct {
	GBytes *msg;
	guint64 number; /* request number, from 1 */
} BleRequest;

struct _BleSmpServer {
	BleSmpConfig config;
	BleSmpCallbacks callbacks;
	gpointer user_data;
	SimMcuboot *model;
	SimFaultPlan *faults;
	SimHandlerContext ctx;
	GByteArray *partial; /* the request being reassembled */
	gsize expected;      /* its whole length, known from the header */
	GQueue requests;     /* BleRequest*, waiting */
	guint delay_timer;   /* flash time of the request in hand */
	GBytes *delayed;     /* its answer */
	gboolean delayed_reset;
	guint reset_timer;
	guint answers_out; /* answers handed to the link, not yet over the air */
	gboolean pumping;
	guint64 generation_saved;
	SimCounters counters;
};

static void pump(BleSmpServer *server);

static void
request_free(BleRequest *req)
{
	g_bytes_unref(req->msg);
	g_free(req);
}

BleSmpServer *
ble_smp_server_new(const BleSmpConfig *config, SimMcuboot *model, SimFaultPlan *faults,
                   const BleSmpCallbacks *callbacks, gpointer user_data)
{
	BleSmpServer *server = g_new0(BleSmpServer, 1);

	server->config = *config;
	server->callbacks = *callbacks;
	server->user_data = user_data;
	server->model = model;
	server->faults = faults;
	server->ctx.model = model;
	server->ctx.params = config->params;
	server->ctx.buf_size = config->buf_size;
	server->ctx.buf_count = config->buf_count;
	server->ctx.errors_v2 = config->errors_v2;
	server->partial = g_byte_array_new();
	server->generation_saved = G_MAXUINT64;
	g_queue_init(&server->requests);
	return server;
}

static void
drop_pending(BleSmpServer *server)
{
	g_byte_array_set_size(server->partial, 0);
	server->expected = 0;
	g_queue_clear_full(&server->requests, (GDestroyNotify)request_free);
	g_clear_handle_id(&server->delay_timer, g_source_remove);
	g_clear_pointer(&server->delayed, g_bytes_unref);
	server->answers_out = 0;
}

void
ble_smp_server_free(BleSmpServer *server)
{
	if (server == NULL)
		return;
	drop_pending(server);
	g_clear_handle_id(&server->reset_timer, g_source_remove);
	g_byte_array_unref(server->partial);
	g_free(server);
}

gboolean
ble_smp_server_write_state(BleSmpServer *server, GError **error)
{
	server->generation_saved = sim_mcuboot_get_generation(server->model);
	if (server->config.state_file == NULL)
		return TRUE;
	return sim_state_file_write(server->config.state_file, server->model, &server->counters, error);
}

static void
save_state(BleSmpServer *server)
{
	g_autoptr(GError) error = NULL;

	if (!ble_smp_server_write_state(server, &error))
		g_printerr("dfu-sim-ble: %s\n", error->message);
}

static guint
held(BleSmpServer *server)
{
	return g_queue_get_length(&server->requests) + (server->delay_timer != 0 ? 1 : 0) +
	       server->answers_out;
}

gboolean
ble_smp_server_can_accept(BleSmpServer *server)
{
	return server->config.drop_when_full || held(server) < server->config.buf_count;
}

void
ble_smp_server_link_lost(BleSmpServer *server)
{
	drop_pending(server);
}

/* the device reboots: RAM and queued requests are lost, the bootloader runs */
static void
reboot(BleSmpServer *server)
{
	drop_pending(server);
	g_clear_handle_id(&server->reset_timer, g_source_remove);
	server->counters.resets++;
	sim_mcuboot_reboot(server->model);
	save_state(server);
	if (server->config.verbose)
		g_printerr("dfu-sim-ble: %s: reset\n", server->config.name);
	server->callbacks.reset(server->user_data);
}

static gboolean
on_reset_due(gpointer data)
{
	BleSmpServer *server = data;

	server->reset_timer = 0;
	reboot(server);
	return G_SOURCE_REMOVE;
}

void
ble_smp_server_response_sent(BleSmpServer *server)
{
	if (server->answers_out > 0)
		server->answers_out--;
}

static void
send_response(BleSmpServer *server, GBytes *msg, gboolean reset)
{
	server->answers_out++;
	server->callbacks.send(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), server->user_data);
	if (reset && server->reset_timer == 0)
		server->reset_timer = g_timeout_add(server->config.reset_ms, on_reset_due, server);
}

static gboolean
on_flash_done(gpointer data)
{
	BleSmpServer *server = data;
	g_autoptr(GBytes) msg = g_steal_pointer(&server->delayed);

	server->delay_timer = 0;
	send_response(server, msg, server->delayed_reset);
	pump(server);
	return G_SOURCE_REMOVE;
}

/* Runs one request; the answer, or NULL when the device says nothing (it may be gone). */
static GBytes *
handle_request(BleSmpServer *server, const BleRequest *request, guint64 *delay_us, gboolean *reset)
{
	SimReply reply = {0};
	g_autoptr(GBytes) msg =
	        sim_smp_respond(&server->ctx, g_bytes_get_data(request->msg, NULL),
	                        g_bytes_get_size(request->msg), server->faults, request->number, &reply);

	server->counters.upload_bytes += reply.upload_written;
	*delay_us = reply.delay_us;
	*reset = reply.reset;
	if (reply.upload_written > 0 && sim_fault_plan_take_threshold(server->faults, SIM_FAULT_RESET_AT,
	                                                              server->counters.upload_bytes)) {
		reboot(server);
		return NULL;
	}
	if (reply.upload_written > 0 && sim_fault_plan_take_threshold(server->faults, SIM_FAULT_HANGUP_AT,
	                                                              server->counters.upload_bytes)) {
		drop_pending(server);
		server->callbacks.disconnect(server->user_data);
		return NULL;
	}
	if (server->config.verbose) {
		SmpHeader hdr;
		smp_header_parse(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), &hdr);
		g_printerr("dfu-sim-ble: %s: #%" G_GUINT64_FORMAT " group %u id %u op %u -> %s\n",
		           server->config.name, request->number, hdr.group, hdr.id, hdr.op,
		           reply.failed ? "error" : "ok");
	}
	return g_steal_pointer(&msg);
}

static void
pump(BleSmpServer *server)
{
	if (server->pumping)
		return;
	server->pumping = TRUE;
	while (server->delay_timer == 0 && !g_queue_is_empty(&server->requests)) {
		BleRequest *request = g_queue_pop_head(&server->requests);
		g_autoptr(GBytes) msg = NULL;
		guint64 delay_us = 0;
		gboolean reset = FALSE;

		if (!sim_fault_plan_silent(server->faults, request->number))
			msg = handle_request(server, request, &delay_us, &reset);
		request_free(request);
		if (sim_mcuboot_get_generation(server->model) != server->generation_saved)
			save_state(server);
		if (msg == NULL)
			continue;
		if (delay_us > 0) {
			server->delayed = g_steal_pointer(&msg);
			server->delayed_reset = reset;
			server->delay_timer =
			        g_timeout_add((guint)((delay_us + 999) / 1000), on_flash_done, server);
			break;
		}
		send_response(server, msg, reset);
	}
	server->pumping = FALSE;
}

static void
on_request(BleSmpServer *server, const guint8 *msg, gsize len)
{
	BleRequest *request;

	server->counters.requests++;
	if (sim_fault_plan_at(server->faults, SIM_FAULT_DROP_REQUEST, server->counters.requests) ||
	    held(server) >= server->config.buf_count) {
		/* out of netbufs: the request is gone without a word */
		server->counters.dropped_requests++;
		return;
	}
	request = g_new0(BleRequest, 1);
	request->msg = g_bytes_new(msg, len);
	request->number = server->counters.requests;
	g_queue_push_tail(&server->requests, request);
	pump(server);
}

static void
bad_write(BleSmpServer *server)
{
	server->counters.bad_frames++;
	g_byte_array_set_size(server->partial, 0);
	server->expected = 0;
}

void
ble_smp_server_write(BleSmpServer *server, const guint8 *value, gsize len)
{
	SmpHeader hdr;

	if (server->partial->len == 0) {
		/* the first write of a message carries the whole header */
		if (!smp_header_parse(value, len, &hdr)) {
			bad_write(server);
			return;
		}
		server->expected = SMP_HEADER_SIZE + (gsize)hdr.len;
		if (server->expected > server->config.buf_size ||
		    (!server->config.reassembly && len != server->expected)) {
			bad_write(server);
			return;
		}
	}
	if (server->partial->len + len > server->expected) {
		/* a write running past the expected length aborts the message */
		bad_write(server);
		return;
	}
	g_byte_array_append(server->partial, value, (guint)len);
	if (server->partial->len < server->expected)
		return;
	on_request(server, server->partial->data, server->partial->len);
	g_byte_array_set_size(server->partial, 0);
	server->expected = 0;
}
