/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sim-smp-handlers.h"
#include "sim-smp-server.h"
#include "smp-console.h"

/* what a device might print between frames */
static const char garbage[] = "\x00\xff\x1b[0m\xfe<err> os: injected noise\r\n";

typedef struct {
	GBytes *msg;
	guint64 number; /* request number, from 1 */
} SimRequest;

struct _SimSmpServer {
	SimServerConfig config;
	SimMcuboot *model;
	SimFaultPlan *faults;
	SimLink *link;
	SimHandlerContext ctx;
	SmpConsoleDecoder *decoder;
	GQueue requests;  /* SimRequest*, waiting */
	GQueue responses; /* GBytes*, console lines waiting for the link */
	gboolean down;    /* between a reset and the end of boot */
	gboolean pumping;
	guint delay_timer; /* flash time of the request in hand */
	GBytes *delayed;   /* its answer */
	gboolean delayed_reset;
	guint reset_timer;
	guint boot_timer;
	guint64 responses_sent;
	guint64 generation_saved;
	guint64 non_smp_frames;
	SimCounters counters;
};

static void pump(SimSmpServer *server);

static void
request_free(SimRequest *req)
{
	g_bytes_unref(req->msg);
	g_free(req);
}

SimSmpServer *
sim_smp_server_new(const SimServerConfig *config, SimMcuboot *model, SimFaultPlan *faults)
{
	SimSmpServer *server = g_new0(SimSmpServer, 1);

	server->config = *config;
	server->model = model;
	server->faults = faults;
	server->ctx.model = model;
	server->ctx.params = config->params;
	server->ctx.buf_size = config->buf_size;
	server->ctx.buf_count = config->buf_count;
	server->ctx.errors_v2 = config->errors_v2;
	server->decoder = smp_console_decoder_new(config->buf_size);
	server->generation_saved = G_MAXUINT64;
	g_queue_init(&server->requests);
	g_queue_init(&server->responses);
	return server;
}

void
sim_smp_server_free(SimSmpServer *server)
{
	if (server == NULL)
		return;
	g_clear_handle_id(&server->delay_timer, g_source_remove);
	g_clear_handle_id(&server->reset_timer, g_source_remove);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	g_clear_pointer(&server->delayed, g_bytes_unref);
	g_queue_clear_full(&server->requests, (GDestroyNotify)request_free);
	g_queue_clear_full(&server->responses, (GDestroyNotify)g_bytes_unref);
	smp_console_decoder_free(server->decoder);
	g_free(server);
}

void
sim_smp_server_set_link(SimSmpServer *server, SimLink *link)
{
	server->link = link;
}

gboolean
sim_smp_server_write_state(SimSmpServer *server, GError **error)
{
	server->counters.bad_frames =
	        smp_console_decoder_get_bad_frames(server->decoder) + server->non_smp_frames;
	server->generation_saved = sim_mcuboot_get_generation(server->model);
	if (server->config.state_file == NULL)
		return TRUE;
	return sim_state_file_write(server->config.state_file, server->model, &server->counters, error);
}

static void
save_state(SimSmpServer *server)
{
	g_autoptr(GError) error = NULL;

	if (!sim_smp_server_write_state(server, &error))
		g_printerr("dfu-sim: %s\n", error->message);
}

static guint
held(SimSmpServer *server)
{
	return g_queue_get_length(&server->requests) + g_queue_get_length(&server->responses) +
	       (server->delay_timer != 0 ? 1 : 0) + (sim_link_is_busy(server->link) ? 1 : 0);
}

static void
flush_responses(SimSmpServer *server)
{
	while (!sim_link_is_busy(server->link) && !g_queue_is_empty(&server->responses)) {
		g_autoptr(GBytes) lines = g_queue_pop_head(&server->responses);
		sim_link_write(server->link, g_bytes_get_data(lines, NULL), g_bytes_get_size(lines));
	}
}

/* the console lines of a response, with the faults planned for it */
static GBytes *
frame_response(SimSmpServer *server, GBytes *msg)
{
	g_autoptr(GBytes) lines = smp_console_encode(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	GByteArray *out = g_byte_array_new();
	gsize len = g_bytes_get_size(lines);
	guint64 n = ++server->responses_sent;

	if (sim_fault_plan_at(server->faults, SIM_FAULT_GARBAGE, n))
		g_byte_array_append(out, (const guint8 *)garbage, sizeof(garbage) - 1);
	if (sim_fault_plan_at(server->faults, SIM_FAULT_TRUNCATE_RESPONSE, n)) {
		/* the rest of the line is lost; the newline keeps the next frame intact */
		g_byte_array_append(out, g_bytes_get_data(lines, NULL), (guint)(len / 2));
		g_byte_array_append(out, (const guint8 *)"\n", 1);
		return g_byte_array_free_to_bytes(out);
	}
	g_byte_array_append(out, g_bytes_get_data(lines, NULL), (guint)len);
	if (sim_fault_plan_at(server->faults, SIM_FAULT_CORRUPT_RESPONSE, n)) {
		/* a different base64 digit in the first line: still decodes, CRC fails */
		guint8 *c = out->data + out->len - len + 2 + (MIN(len, 126) - 3) / 2;
		*c = *c == 'A' ? 'B' : 'A';
	}
	return g_byte_array_free_to_bytes(out);
}

static void
reboot_done(SimSmpServer *server)
{
	server->down = FALSE;
	pump(server);
}

static gboolean
on_boot_done(gpointer data)
{
	SimSmpServer *server = data;

	server->boot_timer = 0;
	reboot_done(server);
	return G_SOURCE_REMOVE;
}

/* the device goes away: RAM and queued requests are lost, the bootloader runs */
static void
reboot(SimSmpServer *server)
{
	server->down = TRUE;
	server->counters.resets++;
	g_queue_clear_full(&server->requests, (GDestroyNotify)request_free);
	g_clear_handle_id(&server->delay_timer, g_source_remove);
	g_clear_pointer(&server->delayed, g_bytes_unref);
	smp_console_decoder_reset(server->decoder);
	sim_mcuboot_reboot(server->model);
	save_state(server);
	if (server->config.verbose)
		g_printerr("dfu-sim: reset\n");
	if (server->config.reset_hangup)
		sim_link_hangup(server->link, server->config.boot_ms);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	server->boot_timer = g_timeout_add(server->config.boot_ms, on_boot_done, server);
}

static gboolean
on_reset_due(gpointer data)
{
	SimSmpServer *server = data;

	server->reset_timer = 0;
	reboot(server);
	return G_SOURCE_REMOVE;
}

static void
send_response(SimSmpServer *server, GBytes *msg, gboolean reset)
{
	g_queue_push_tail(&server->responses, frame_response(server, msg));
	flush_responses(server);
	if (reset && server->reset_timer == 0)
		server->reset_timer = g_timeout_add(server->config.reset_ms, on_reset_due, server);
}

static gboolean
on_flash_done(gpointer data)
{
	SimSmpServer *server = data;
	g_autoptr(GBytes) msg = g_steal_pointer(&server->delayed);

	server->delay_timer = 0;
	send_response(server, msg, server->delayed_reset);
	pump(server);
	return G_SOURCE_REMOVE;
}

/* Runs one request; the answer, or NULL when the device says nothing. */
static GBytes *
handle_request(SimSmpServer *server, const SimRequest *request, guint64 *delay_us, gboolean *reset)
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
		sim_link_hangup(server->link, server->config.boot_ms);
		return NULL;
	}
	if (server->config.verbose) {
		SmpHeader hdr;
		smp_header_parse(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), &hdr);
		g_printerr("dfu-sim: #%" G_GUINT64_FORMAT " group %u id %u op %u -> %s\n", request->number,
		           hdr.group, hdr.id, hdr.op, reply.failed ? "error" : "ok");
	}
	return g_steal_pointer(&msg);
}

static void
pump(SimSmpServer *server)
{
	if (server->pumping)
		return;
	server->pumping = TRUE;
	while (!server->down && server->delay_timer == 0 && !g_queue_is_empty(&server->requests)) {
		SimRequest *request = g_queue_pop_head(&server->requests);
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
on_frame(const guint8 *msg, gsize len, gpointer data)
{
	SimSmpServer *server = data;
	SmpHeader hdr;
	SimRequest *request;

	/* a frame that is no SMP message is dropped like a bad CRC */
	if (!smp_header_parse(msg, len, &hdr) || hdr.len != len - SMP_HEADER_SIZE) {
		server->non_smp_frames++;
		return;
	}
	server->counters.requests++;
	if (sim_fault_plan_at(server->faults, SIM_FAULT_DROP_REQUEST, server->counters.requests) ||
	    held(server) >= server->config.buf_count) {
		/* out of netbufs: the request is gone without a word */
		server->counters.dropped_requests++;
		return;
	}
	request = g_new0(SimRequest, 1);
	request->msg = g_bytes_new(msg, len);
	request->number = server->counters.requests;
	g_queue_push_tail(&server->requests, request);
}

void
sim_smp_server_input(const guint8 *data, gsize len, gpointer user_data)
{
	SimSmpServer *server = user_data;

	if (server->down)
		return;
	smp_console_decoder_feed(server->decoder, data, len, on_frame, server);
	pump(server);
}

void
sim_smp_server_output_idle(gpointer user_data)
{
	SimSmpServer *server = user_data;

	if (server->pumping)
		return;
	flush_responses(server);
	pump(server);
}
