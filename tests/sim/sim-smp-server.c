/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-smp-server.h"
#include "smp-framing.h"
#include "smp-message.h"

/* what a device might print between frames */
static const char garbage[] = "\x00\xff\x1b[0m\xfe<err> os: injected noise\r\n";

struct _SimSmpServer {
	SimServerConfig config;
	SimFaultPlan *faults;
	SimSmpDevice *device;
	SimLink *link;
	SmpFramer *framer;
	GQueue responses; /* GBytes*, framed answers waiting for the link */
	gboolean down;    /* between a reset and the end of boot */
	guint boot_timer;
	guint64 responses_sent;
	guint64 non_smp_frames;
};

static void
flush_responses(SimSmpServer *server)
{
	while (!sim_link_is_busy(server->link) && !g_queue_is_empty(&server->responses)) {
		g_autoptr(GBytes) lines = g_queue_pop_head(&server->responses);
		sim_link_write(server->link, g_bytes_get_data(lines, NULL), g_bytes_get_size(lines));
	}
}

/* a different base64 digit in the first line: still decodes, CRC fails */
static void
corrupt_console(guint8 *frame, gsize len)
{
	guint8 *c = frame + 2 + (MIN(len, 126) - 3) / 2;
	*c = *c == 'A' ? 'B' : 'A';
}

/* no CRC to fail: another sequence number makes the answer match no request */
static void
corrupt_raw(guint8 *frame, gsize len)
{
	frame[6] ^= 0x80;
}

static void (*const corrupt_frame[])(guint8 *frame, gsize len) = {
        [DFU_FRAMING_CONSOLE] = corrupt_console,
        [DFU_FRAMING_RAW] = corrupt_raw,
};

/* the framed response, with the faults planned for it */
static GBytes *
frame_response(SimSmpServer *server, GBytes *msg)
{
	g_autoptr(GBytes) lines =
	        smp_framer_encode(server->framer, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	GByteArray *out = g_byte_array_new();
	gsize len = g_bytes_get_size(lines);
	guint64 n = ++server->responses_sent;

	if (sim_fault_plan_at(server->faults, SIM_FAULT_GARBAGE, n))
		g_byte_array_append(out, (const guint8 *)garbage, sizeof(garbage) - 1);
	if (sim_fault_plan_at(server->faults, SIM_FAULT_TRUNCATE_RESPONSE, n)) {
		/* the rest is lost; in console framing the newline keeps the next frame intact */
		g_byte_array_append(out, g_bytes_get_data(lines, NULL), (guint)(len / 2));
		if (server->config.framing == DFU_FRAMING_CONSOLE)
			g_byte_array_append(out, (const guint8 *)"\n", 1);
		return g_byte_array_free_to_bytes(out);
	}
	g_byte_array_append(out, g_bytes_get_data(lines, NULL), (guint)len);
	if (sim_fault_plan_at(server->faults, SIM_FAULT_CORRUPT_RESPONSE, n))
		corrupt_frame[server->config.framing](out->data + out->len - len, len);
	return g_byte_array_free_to_bytes(out);
}

static void
device_send(GBytes *msg, gpointer user_data)
{
	SimSmpServer *server = user_data;

	g_queue_push_tail(&server->responses, frame_response(server, msg));
	flush_responses(server);
}

static gboolean
on_boot_done(gpointer data)
{
	SimSmpServer *server = data;

	server->boot_timer = 0;
	server->down = FALSE;
	return G_SOURCE_REMOVE;
}

static void
device_rebooted(gpointer user_data)
{
	SimSmpServer *server = user_data;

	server->down = TRUE;
	smp_framer_reset(server->framer);
	if (server->config.reset_hangup)
		sim_link_hangup(server->link, server->config.boot_ms);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	server->boot_timer = g_timeout_add(server->config.boot_ms, on_boot_done, server);
}

static void
device_hang_up(gpointer user_data)
{
	SimSmpServer *server = user_data;

	sim_link_hangup(server->link, server->config.boot_ms);
}

static guint
device_held(gpointer user_data)
{
	SimSmpServer *server = user_data;

	return g_queue_get_length(&server->responses) + (sim_link_is_busy(server->link) ? 1 : 0);
}

static const SimSmpDeviceCallbacks device_callbacks = {
        .send = device_send,
        .rebooted = device_rebooted,
        .hang_up = device_hang_up,
        .held = device_held,
};

SimSmpServer *
sim_smp_server_new(const SimServerConfig *config, SimMcuboot *model, SimFaultPlan *faults)
{
	SimSmpServer *server = g_new0(SimSmpServer, 1);

	server->config = *config;
	server->faults = faults;
	server->device = sim_smp_device_new(&config->device, model, faults, &device_callbacks, server);
	server->framer = smp_framer_new(config->framing, config->device.buf_size);
	g_queue_init(&server->responses);
	return server;
}

void
sim_smp_server_free(SimSmpServer *server)
{
	if (server == NULL)
		return;
	sim_smp_device_free(server->device);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	g_queue_clear_full(&server->responses, (GDestroyNotify)g_bytes_unref);
	smp_framer_free(server->framer);
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
	return sim_smp_device_write_state(server->device, error);
}

static void
on_frame(const guint8 *msg, gsize len, gpointer data)
{
	SimSmpServer *server = data;
	SmpHeader hdr;

	/* a frame that is no SMP message is dropped like a bad CRC */
	if (!smp_header_parse(msg, len, &hdr) || hdr.len != len - SMP_HEADER_SIZE) {
		server->non_smp_frames++;
		return;
	}
	sim_smp_device_receive(server->device, msg, len);
}

void
sim_smp_server_input(const guint8 *data, gsize len, gpointer user_data)
{
	SimSmpServer *server = user_data;

	if (server->down)
		return;
	smp_framer_feed(server->framer, data, len, on_frame, server);
	sim_smp_device_get_counters(server->device)->bad_frames =
	        smp_framer_get_bad_frames(server->framer) + server->non_smp_frames;
	sim_smp_device_pump(server->device);
}

void
sim_smp_server_output_idle(gpointer user_data)
{
	SimSmpServer *server = user_data;

	flush_responses(server);
	sim_smp_device_pump(server->device);
}
