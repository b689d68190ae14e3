/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-smp-server.h"
#include "smp-message.h"

struct _BleSmpServer {
	BleSmpConfig config;
	BleSmpCallbacks callbacks;
	gpointer user_data;
	SimSmpDevice *device;
	GByteArray *partial; /* the request being reassembled */
	gsize expected;      /* its whole length, known from the header */
	guint answers_out;   /* answers handed to the link, not yet over the air */
};

static void
drop_partial(BleSmpServer *server)
{
	g_byte_array_set_size(server->partial, 0);
	server->expected = 0;
}

/* what the device loses with the link, apart from its own queue */
static void
drop_link_state(BleSmpServer *server)
{
	drop_partial(server);
	server->answers_out = 0;
}

static void
device_send(GBytes *msg, gpointer user_data)
{
	BleSmpServer *server = user_data;

	server->answers_out++;
	server->callbacks.send(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), server->user_data);
}

static void
device_rebooted(gpointer user_data)
{
	BleSmpServer *server = user_data;

	drop_link_state(server);
	server->callbacks.reset(server->user_data);
}

static void
device_hang_up(gpointer user_data)
{
	BleSmpServer *server = user_data;

	ble_smp_server_link_lost(server);
	server->callbacks.disconnect(server->user_data);
}

static guint
device_held(gpointer user_data)
{
	BleSmpServer *server = user_data;

	return server->answers_out;
}

static const SimSmpDeviceCallbacks device_callbacks = {
        .send = device_send,
        .rebooted = device_rebooted,
        .hang_up = device_hang_up,
        .held = device_held,
};

BleSmpServer *
ble_smp_server_new(const BleSmpConfig *config, SimMcuboot *model, SimFaultPlan *faults,
                   const BleSmpCallbacks *callbacks, gpointer user_data)
{
	BleSmpServer *server = g_new0(BleSmpServer, 1);

	server->config = *config;
	server->callbacks = *callbacks;
	server->user_data = user_data;
	server->device = sim_smp_device_new(&config->device, model, faults, &device_callbacks, server);
	server->partial = g_byte_array_new();
	return server;
}

void
ble_smp_server_free(BleSmpServer *server)
{
	if (server == NULL)
		return;
	sim_smp_device_free(server->device);
	g_byte_array_unref(server->partial);
	g_free(server);
}

gboolean
ble_smp_server_write_state(BleSmpServer *server, GError **error)
{
	return sim_smp_device_write_state(server->device, error);
}

gboolean
ble_smp_server_can_accept(BleSmpServer *server)
{
	return server->config.drop_when_full ||
	       sim_smp_device_held(server->device) < server->config.device.buf_count;
}

void
ble_smp_server_link_lost(BleSmpServer *server)
{
	drop_link_state(server);
	sim_smp_device_link_lost(server->device);
}

void
ble_smp_server_response_sent(BleSmpServer *server)
{
	if (server->answers_out > 0)
		server->answers_out--;
}

static void
bad_write(BleSmpServer *server)
{
	sim_smp_device_get_counters(server->device)->bad_frames++;
	drop_partial(server);
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
		if (server->expected > server->config.device.buf_size ||
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
	sim_smp_device_receive(server->device, server->partial->data, server->partial->len);
	drop_partial(server);
	sim_smp_device_pump(server->device);
}
