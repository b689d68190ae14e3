/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <string.h>

#include "ble-reassembly.h"
#include "sim-udp-server.h"
#include "smp-message.h"

struct _SimUdpServer {
	SimUdpConfig config;
	SimSmpDevice *device;
	GSocket *socket;
	GSource *source;
	GSocketAddress *peer; /* the last sender: answers go there */
	GRand *rand;
	BleReassembler *messages;
	guint8 *buf;
	gboolean down; /* between a reset and the end of boot */
	guint boot_timer;
	GPtrArray *delayed; /* DelayedAnswer: answers held back by reply_delay_ms */
};

typedef struct {
	SimUdpServer *server;
	GBytes *msg;
	GSocketAddress *peer;
	guint timer;
} DelayedAnswer;

static void
delayed_answer_free(DelayedAnswer *d)
{
	g_clear_handle_id(&d->timer, g_source_remove);
	g_bytes_unref(d->msg);
	g_object_unref(d->peer);
	g_free(d);
}

static gboolean
lose(SimUdpServer *server)
{
	if (server->config.loss_percent == 0 ||
	    g_rand_int_range(server->rand, 0, 100) >= (gint32)server->config.loss_percent)
		return FALSE;
	sim_smp_device_get_counters(server->device)->lost_datagrams++;
	return TRUE;
}

static void
send_answer(SimUdpServer *server, GSocketAddress *peer, GBytes *msg)
{
	g_autoptr(GError) error = NULL;

	if (g_socket_send_to(server->socket, peer, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), NULL,
	                     &error) < 0)
		g_printerr("dfu-sim: answer not sent: %s\n", error->message);
}

static gboolean
on_delay_over(gpointer data)
{
	DelayedAnswer *d = data;

	d->timer = 0;
	send_answer(d->server, d->peer, d->msg);
	g_ptr_array_remove(d->server->delayed, d);
	return G_SOURCE_REMOVE;
}

static void
device_send(GBytes *msg, gpointer user_data)
{
	SimUdpServer *server = user_data;
	DelayedAnswer *d;

	if (server->peer == NULL || lose(server))
		return;
	if (server->config.reply_delay_ms == 0) {
		send_answer(server, server->peer, msg);
		return;
	}
	d = g_new0(DelayedAnswer, 1);
	d->server = server;
	d->msg = g_bytes_ref(msg);
	d->peer = g_object_ref(server->peer);
	d->timer = g_timeout_add(server->config.reply_delay_ms, on_delay_over, d);
	g_ptr_array_add(server->delayed, d);
}

static gboolean
on_boot_done(gpointer data)
{
	SimUdpServer *server = data;

	server->boot_timer = 0;
	server->down = FALSE;
	return G_SOURCE_REMOVE;
}

/* a rebooting device has no socket: what arrives meanwhile is gone */
static void
device_rebooted(gpointer user_data)
{
	SimUdpServer *server = user_data;

	server->down = TRUE;
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	server->boot_timer = g_timeout_add(server->config.boot_ms, on_boot_done, server);
}

/* UDP has no link to hang up: the device just goes deaf until it has booted */
static void
device_hang_up(gpointer user_data)
{
	device_rebooted(user_data);
}

/* each request in hand has its answer's netbuf taken too */
static guint
device_held(gpointer user_data)
{
	SimUdpServer *server = user_data;

	return sim_smp_device_queued(server->device) > 0 ? 1 : 0;
}

static const SimSmpDeviceCallbacks device_callbacks = {
        .send = device_send,
        .rebooted = device_rebooted,
        .hang_up = device_hang_up,
        .held = device_held,
};

static void
on_message(const guint8 *msg, gsize len, gpointer user_data)
{
	SimUdpServer *server = user_data;

	sim_smp_device_receive(server->device, msg, len);
}

static void
take_datagram(SimUdpServer *server, gsize len)
{
	gsize rest;

	ble_reassembler_feed(server->messages, server->buf, len, on_message, server);
	/* a message cut short (a datagram over the receive limit) still reaches the device, which answers an
	 * error */
	rest = ble_reassembler_pending(server->messages);
	if (rest >= SMP_HEADER_SIZE)
		sim_smp_device_receive(server->device, server->buf + len - rest, rest);
	ble_reassembler_reset(server->messages);
}

static gboolean
on_readable(GSocket *socket, GIOCondition condition, gpointer data)
{
	SimUdpServer *server = data;

	/* everything that arrived is taken before the device runs, as Zephyr's receive thread does */
	for (;;) {
		g_autoptr(GSocketAddress) from = NULL;
		g_autoptr(GError) error = NULL;
		gssize n = g_socket_receive_from(socket, &from, (gchar *)server->buf, server->config.mtu,
		                                 NULL, &error);

		if (n < 0)
			break;
		if (server->down || lose(server))
			continue;
		g_set_object(&server->peer, from);
		take_datagram(server, (gsize)n);
	}
	sim_smp_device_pump(server->device);
	return G_SOURCE_CONTINUE;
}

static GInetSocketAddress *
parse_address(const char *text, GError **error)
{
	const char *colon = strrchr(text, ':');
	g_autofree char *host = NULL;
	g_autoptr(GInetAddress) inet = NULL;
	guint64 port = 0;

	if (colon == NULL || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--udp %s: not HOST:PORT", text);
		return NULL;
	}
	host = text[0] == '[' && colon > text + 1 && colon[-1] == ']' ? g_strndup(text + 1, colon - text - 2)
	                                                              : g_strndup(text, colon - text);
	inet = g_inet_address_new_from_string(host);
	if (inet == NULL || !g_inet_address_get_is_loopback(inet)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "--udp %s: the host must be a loopback address", text);
		return NULL;
	}
	return G_INET_SOCKET_ADDRESS(g_inet_socket_address_new(inet, (guint16)port));
}

SimUdpServer *
sim_udp_server_new(const SimUdpConfig *config, const char *address, SimMcuboot *model, SimFaultPlan *faults,
                   GError **error)
{
	g_autoptr(SimUdpServer) server = g_new0(SimUdpServer, 1);
	g_autoptr(GInetSocketAddress) bind_to = parse_address(address, error);

	if (bind_to == NULL)
		return NULL;
	server->config = *config;
	server->rand = g_rand_new_with_seed(config->seed);
	server->messages = ble_reassembler_new();
	server->delayed = g_ptr_array_new_with_free_func((GDestroyNotify)delayed_answer_free);
	server->buf = g_malloc(config->mtu);
	server->device = sim_smp_device_new(&config->device, model, faults, &device_callbacks, server);
	server->socket = g_socket_new(g_socket_address_get_family(G_SOCKET_ADDRESS(bind_to)),
	                              G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
	if (server->socket == NULL)
		return NULL;
	g_socket_set_blocking(server->socket, FALSE);
	if (!g_socket_bind(server->socket, G_SOCKET_ADDRESS(bind_to), FALSE, error))
		return NULL;
	server->source = g_socket_create_source(server->socket, G_IO_IN, NULL);
	g_source_set_callback(server->source, G_SOURCE_FUNC(on_readable), server, NULL);
	g_source_attach(server->source, NULL);
	return g_steal_pointer(&server);
}

void
sim_udp_server_free(SimUdpServer *server)
{
	if (server == NULL)
		return;
	if (server->source != NULL) {
		g_source_destroy(server->source);
		g_source_unref(server->source);
	}
	g_clear_pointer(&server->device, sim_smp_device_free);
	g_clear_handle_id(&server->boot_timer, g_source_remove);
	g_clear_object(&server->socket);
	g_clear_object(&server->peer);
	g_clear_pointer(&server->rand, g_rand_free);
	g_clear_pointer(&server->messages, ble_reassembler_free);
	g_clear_pointer(&server->delayed, g_ptr_array_unref);
	g_free(server->buf);
	g_free(server);
}

gboolean
sim_udp_server_write_state(SimUdpServer *server, GError **error)
{
	return sim_smp_device_write_state(server->device, error);
}
