/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ble-reassembly.h"
#include "dfu-error.h"
#include "udp-transport.h"

/* any UDP payload fits: a reply may be larger than the request and than the device's receive limit */
#define UDP_RECV_SIZE 65536
#define UDP_HEADER 8
#define IPV4_HEADER 20
#define IPV6_HEADER 40

typedef struct {
	DfuTransport parent;
	char *host;
	guint port;
	gsize max_datagram;
	char *name; /* host:port, for messages */
	GCancellable *resolving;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int fd;
	guint read_watch;
	guint open_idle;
	guint8 *buf;
	/* splits a datagram that holds several messages; never carries a tail to the next datagram */
	BleReassembler *messages;
	guint64 foreign; /* datagrams from other addresses, dropped */
} UdpTransport;

static void udp_close(DfuTransport *transport);

static gboolean
on_open_idle(gpointer user_data)
{
	UdpTransport *self = user_data;

	self->open_idle = 0;
	dfu_transport_emit_opened(&self->parent, NULL);
	return G_SOURCE_REMOVE;
}

static void
lost(UdpTransport *self, const char *why)
{
	g_autoptr(GError) error = g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: %s", self->name, why);

	udp_close(&self->parent);
	dfu_transport_emit_closed(&self->parent, error);
}

/* the Zephyr server answers from the address it was asked at: anything else is not the device */
static gboolean
from_peer(UdpTransport *self, const struct sockaddr_storage *from)
{
	if (from->ss_family != self->peer.ss_family)
		return FALSE;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&self->peer;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&self->peer;
		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
}

static void
on_message(const guint8 *msg, gsize len, gpointer user_data)
{
	UdpTransport *self = user_data;

	/* a callback may have closed the transport: the rest of the datagram is then dropped */
	if (self->fd >= 0)
		dfu_transport_emit_packet(&self->parent, msg, len);
}

static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
	UdpTransport *self = user_data;

	for (;;) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, self->buf, UDP_RECV_SIZE, 0, (struct sockaddr *)&from, &from_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n < 0) {
			self->read_watch = 0;
			lost(self, g_strerror(errno));
			return G_SOURCE_REMOVE;
		}
		if (!from_peer(self, &from)) {
			if (self->foreign++ == 0)
				g_message("%s: dropping datagrams that do not come from the device",
				          self->name);
			continue;
		}
		ble_reassembler_feed(self->messages, self->buf, (gsize)n, on_message, self);
		/* the device never continues a message in the next datagram */
		ble_reassembler_reset(self->messages);
		if (self->fd < 0)
			return G_SOURCE_REMOVE;
	}
}

static gboolean
open_socket(UdpTransport *self, GSocketAddress *address, GError **error)
{
	g_autoptr(GError) native_error = NULL;
	int family = g_socket_address_get_family(address);

	if (!g_socket_address_to_native(address, &self->peer, sizeof(self->peer), &native_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: %s", self->name,
		            native_error->message);
		return FALSE;
	}
	self->peer_len = (socklen_t)g_socket_address_get_native_size(address);
	/* the kernel binds an ephemeral port on the first send; the device answers to it */
	self->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (self->fd < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: cannot make a UDP socket: %s",
		            self->name, g_strerror(errno));
		return FALSE;
	}
	self->read_watch = g_unix_fd_add(self->fd, G_IO_IN, on_readable, self);
	return TRUE;
}

static void
on_resolved(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) open_error = NULL;
	g_autoptr(GSocketAddress) address =
	        g_socket_address_enumerator_next_finish(G_SOCKET_ADDRESS_ENUMERATOR(source), res, &error);
	UdpTransport *self = user_data;

	/* closed or freed meanwhile: self may be gone */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_clear_object(&self->resolving);
	if (address == NULL) {
		gboolean unknown =
		        error == NULL || g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
		g_set_error(&open_error, DFU_ERROR,
		            unknown ? DFU_STATUS_LINK_NOT_FOUND : DFU_STATUS_CONNECT_FAILED,
		            "%s: cannot resolve host '%s': %s", self->name, self->host,
		            error != NULL ? error->message : "no addresses");
	} else if (open_socket(self, address, &open_error)) {
		g_autofree char *text = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address));
		g_debug("%s: sending to %s", self->name, text);
	}
	dfu_transport_emit_opened(&self->parent, open_error);
}

static void
udp_open(DfuTransport *transport)
{
	UdpTransport *self = (UdpTransport *)transport;
	g_autoptr(GSocketConnectable) connectable = NULL;
	g_autoptr(GSocketAddressEnumerator) enumerator = NULL;

	if (self->fd >= 0) {
		/* opened is reported from the loop, never from inside open() */
		if (self->open_idle == 0)
			self->open_idle = g_idle_add(on_open_idle, self);
		return;
	}
	if (self->resolving != NULL)
		return;
	/* literal addresses (zone included) resolve without asking anyone, names through GResolver */
	connectable = g_network_address_new(self->host, (guint16)self->port);
	enumerator = g_socket_connectable_enumerate(connectable);
	self->resolving = g_cancellable_new();
	g_socket_address_enumerator_next_async(enumerator, self->resolving, on_resolved, self);
}

static gboolean
udp_send(DfuTransport *transport, const guint8 *data, gsize len, GError **error)
{
	UdpTransport *self = (UdpTransport *)transport;
	ssize_t n;

	if (self->fd < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: not open", self->name);
		return FALSE;
	}
	if (len > self->max_datagram) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s: a message of %" G_GSIZE_FORMAT
		            " bytes does not fit one datagram of %" G_GSIZE_FORMAT " bytes",
		            self->name, len, self->max_datagram);
		return FALSE;
	}
	do
		n = sendto(self->fd, data, len, 0, (const struct sockaddr *)&self->peer, self->peer_len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return TRUE;
	/* a full socket buffer or an unreachable network loses this datagram like the network would */
	g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: datagram not sent: %s", self->name,
	            g_strerror(errno));
	return FALSE;
}

static void
udp_close(DfuTransport *transport)
{
	UdpTransport *self = (UdpTransport *)transport;

	if (self->resolving != NULL) {
		g_cancellable_cancel(self->resolving);
		g_clear_object(&self->resolving);
	}
	g_clear_handle_id(&self->read_watch, g_source_remove);
	g_clear_handle_id(&self->open_idle, g_source_remove);
	if (self->fd >= 0) {
		close(self->fd);
		self->fd = -1;
	}
	if (self->foreign > 0)
		g_message("%s: dropped %" G_GUINT64_FORMAT " datagrams from other addresses", self->name,
		          self->foreign);
	self->foreign = 0;
	transport->is_open = FALSE;
}

static gsize
udp_max_message(DfuTransport *transport)
{
	return ((UdpTransport *)transport)->max_datagram;
}

static gsize
udp_wire_size(DfuTransport *transport, gsize len)
{
	UdpTransport *self = (UdpTransport *)transport;

	return len + UDP_HEADER + (self->peer.ss_family == AF_INET6 ? IPV6_HEADER : IPV4_HEADER);
}

static void
udp_finalize(DfuTransport *transport)
{
	UdpTransport *self = (UdpTransport *)transport;

	udp_close(transport);
	ble_reassembler_free(self->messages);
	g_free(self->buf);
	g_free(self->name);
	g_free(self->host);
	g_free(self);
}

static const DfuTransportClass udp_class = {
        .name = "udp",
        .open = udp_open,
        .send = udp_send,
        .close = udp_close,
        .max_message = udp_max_message,
        .wire_size = udp_wire_size,
        .netbuf_overhead = 0,
        /* a datagram is one message: never split it, never round it to a write size */
        .whole_messages = TRUE,
        /*
         * Zephyr's default two netbufs hold a request and its answer: a
         * second request arriving meanwhile is dropped without a word.
         */
        .guess_window = 1,
        .finalize = udp_finalize,
};

DfuTransport *
dfu_udp_transport_new(const char *host, guint port, gsize max_datagram)
{
	UdpTransport *self = g_new0(UdpTransport, 1);

	self->parent.klass = &udp_class;
	self->host = g_strdup(host);
	self->port = port;
	self->max_datagram = max_datagram;
	self->name = strchr(host, ':') != NULL ? g_strdup_printf("udp:[%s]:%u", host, port)
	                                       : g_strdup_printf("udp:%s:%u", host, port);
	self->fd = -1;
	self->buf = g_malloc(UDP_RECV_SIZE);
	self->messages = ble_reassembler_new();
	return &self->parent;
}
