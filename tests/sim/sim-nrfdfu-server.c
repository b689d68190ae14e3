/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-nrfdfu-server.h"

#include "nrfdfu-commands.h"
#include "slip.h"

#define RESET_HANGUP_DELAY_MS 20

struct _SimNrfDfuServer {
	SimNrfDfuServerConfig config;
	SimNrfDfu *device;
	SimLink *link;
	SlipDecoder *decoder;
	GQueue responses; /* GBytes*, SLIP frames waiting for the link */
	GQueue held;      /* GBytes*, requests that came in while an answer waits for flash */
	guint flash_timer;
	gboolean down;
	gboolean dirty; /* the state file is behind */
	guint boot_timer;
	guint hangup_timer;
};

static void
flush_responses(SimNrfDfuServer *server)
{
	while (server->flash_timer == 0 && !sim_link_is_busy(server->link) &&
	       !g_queue_is_empty(&server->responses)) {
		g_autoptr(GBytes) frame = g_queue_pop_head(&server->responses);
		sim_link_write(server->link, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
	}
}

static void
device_send(GBytes *rsp, gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	g_queue_push_tail(&server->responses,
	                  slip_encode(g_bytes_get_data(rsp, NULL), g_bytes_get_size(rsp)));
	flush_responses(server);
}

static gboolean
on_boot_done(gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	server->boot_timer = 0;
	server->down = FALSE;
	return G_SOURCE_REMOVE;
}

static gboolean
on_reset_hangup(gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	server->hangup_timer = 0;
	sim_link_hangup(server->link, server->config.boot_ms);
	return G_SOURCE_REMOVE;
}

static void
device_reset(gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	server->down = TRUE;
	server->dirty = TRUE;
	slip_decoder_reset(server->decoder);
	sim_nrfdfu_disconnect(server->device);
	/* the bootloader answers the execute before it resets: the port goes a moment later */
	if (server->config.reset_hangup && server->hangup_timer == 0)
		server->hangup_timer = g_timeout_add(RESET_HANGUP_DELAY_MS, on_reset_hangup, server);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	server->boot_timer = g_timeout_add(server->config.boot_ms, on_boot_done, server);
}

static void
device_hang_up(gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	/* the port goes away: the bootloader's transport deactivates and reloads its settings */
	g_queue_clear_full(&server->responses, (GDestroyNotify)g_bytes_unref);
	g_queue_clear_full(&server->held, (GDestroyNotify)g_bytes_unref);
	slip_decoder_reset(server->decoder);
	sim_nrfdfu_disconnect(server->device);
	sim_link_hangup(server->link, server->config.boot_ms);
	server->dirty = TRUE;
}

static const SimNrfDfuCallbacks device_callbacks = {
        .send = device_send,
        .reset = device_reset,
        .hang_up = device_hang_up,
};

SimNrfDfuServer *
sim_nrfdfu_server_new(const SimNrfDfuServerConfig *config, SimFaultPlan *faults)
{
	SimNrfDfuServer *server = g_new0(SimNrfDfuServer, 1);

	server->config = *config;
	server->device = sim_nrfdfu_new(&config->device, faults, &device_callbacks, server);
	/* the SDK's SLIP buffer is the MTU it reports */
	server->decoder = slip_decoder_new(config->device.mtu);
	g_queue_init(&server->responses);
	g_queue_init(&server->held);
	return server;
}

void
sim_nrfdfu_server_free(SimNrfDfuServer *server)
{
	if (server == NULL)
		return;
	sim_nrfdfu_free(server->device);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	g_clear_handle_id(&server->hangup_timer, g_source_remove);
	g_clear_handle_id(&server->flash_timer, g_source_remove);
	g_queue_clear_full(&server->responses, (GDestroyNotify)g_bytes_unref);
	g_queue_clear_full(&server->held, (GDestroyNotify)g_bytes_unref);
	slip_decoder_free(server->decoder);
	g_free(server);
}

void
sim_nrfdfu_server_set_link(SimNrfDfuServer *server, SimLink *link)
{
	server->link = link;
}

gboolean
sim_nrfdfu_server_write_state(SimNrfDfuServer *server, GError **error)
{
	server->dirty = FALSE;
	return sim_nrfdfu_write_state(server->device, error);
}

static gboolean on_flash_done(gpointer user_data);

static void
handle_request(SimNrfDfuServer *server, const guint8 *msg, gsize len)
{
	gint64 wait;

	/* writes are many; anything else may change what the state file shows */
	if (msg[0] != NRFDFU_OP_WRITE)
		server->dirty = TRUE;
	sim_nrfdfu_receive(server->device, msg, len);
	/* the bootloader handles one request at a time: all else waits with the answer */
	wait = (sim_nrfdfu_take_flash_wait(server->device) + 999) / 1000;
	if (wait == 0)
		return;
	server->flash_timer = g_timeout_add((guint)wait, on_flash_done, server);
	/* a reset comes after the answer */
	if (server->hangup_timer != 0) {
		g_source_remove(server->hangup_timer);
		server->hangup_timer =
		        g_timeout_add((guint)wait + RESET_HANGUP_DELAY_MS, on_reset_hangup, server);
	}
}

static gboolean
on_flash_done(gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	server->flash_timer = 0;
	flush_responses(server);
	while (server->flash_timer == 0 && !g_queue_is_empty(&server->held)) {
		g_autoptr(GBytes) msg = g_queue_pop_head(&server->held);
		handle_request(server, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	}
	return G_SOURCE_REMOVE;
}

static void
on_frame(const guint8 *msg, gsize len, gpointer user_data)
{
	SimNrfDfuServer *server = user_data;

	if (server->flash_timer != 0) {
		g_queue_push_tail(&server->held, g_bytes_new(msg, len));
		return;
	}
	handle_request(server, msg, len);
}

void
sim_nrfdfu_server_input(const guint8 *data, gsize len, gpointer user_data)
{
	SimNrfDfuServer *server = user_data;
	guint bad_before = slip_decoder_get_bad_frames(server->decoder);
	g_autoptr(GError) error = NULL;

	if (server->down)
		return;
	slip_decoder_feed(server->decoder, data, len, on_frame, server);
	sim_nrfdfu_add_bad_frames(server->device, slip_decoder_get_bad_frames(server->decoder) - bad_before);
	if (server->dirty && !sim_nrfdfu_server_write_state(server, &error))
		g_printerr("dfu-sim: %s\n", error->message);
}

void
sim_nrfdfu_server_output_idle(gpointer user_data)
{
	flush_responses(user_data);
}
