/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ble-reassembly.h"
#include "dfu-error.h"
#include "udp-socket.h"
#include "udp-transport.h"

#define UDP_HEADER 8
#define IPV4_HEADER 20
#define IPV6_HEADER 40
/* a name may resolve to many addresses: the device may answer from any of these */
#define MAX_KNOWN_ADDRESSES 16

typedef struct {
	DfuTransport parent;
	char *host;
	guint port;
	gsize max_datagram;
	char *name; /* host:port, for messages */
	GCancellable *resolving;
	GSocketAddressEnumerator *enumerator;
	GArray *addresses;            /* struct sockaddr_storage: every address the host resolved to */
	struct sockaddr_storage peer; /* the first: where requests go */
	socklen_t peer_len;
	UdpSocket *sock; /* shared with every other UDP device of the same family */
	guint subscription;
	guint open_idle;
	/* splits a datagram that holds several messages; never carries a tail to the next datagram */
	BleReassembler *messages;
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
on_message(const guint8 *msg, gsize len, gpointer user_data)
{
	UdpTransport *self = user_data;

	/* a callback may have closed the transport: the rest of the datagram is then dropped */
	if (self->sock != NULL)
		dfu_transport_emit_packet(&self->parent, msg, len);
}

static void
on_datagram(const guint8 *data, gsize len, gpointer user_data)
{
	UdpTransport *self = user_data;

	ble_reassembler_feed(self->messages, data, len, on_message, self);
	/* the device never continues a message in the next datagram */
	ble_reassembler_reset(self->messages);
}

static gboolean
open_socket(UdpTransport *self, GError **error)
{
	g_autoptr(GError) socket_error = NULL;

	self->peer = g_array_index(self->addresses, struct sockaddr_storage, 0);
	self->peer_len =
	        self->peer.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	self->sock = udp_socket_get(self->peer.ss_family, &socket_error);
	if (self->sock == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: %s", self->name,
		            socket_error->message);
		return FALSE;
	}
	self->subscription = udp_socket_subscribe(self->sock, self->addresses, on_datagram, self);
	return TRUE;
}

static void
resolved_all(UdpTransport *self, const GError *error)
{
	g_autoptr(GError) open_error = NULL;

	g_clear_object(&self->resolving);
	g_clear_object(&self->enumerator);
	if (self->addresses->len == 0) {
		gboolean unknown =
		        error == NULL || g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
		g_set_error(&open_error, DFU_ERROR,
		            unknown ? DFU_STATUS_LINK_NOT_FOUND : DFU_STATUS_CONNECT_FAILED,
		            "%s: cannot resolve host '%s': %s", self->name, self->host,
		            error != NULL ? error->message : "no addresses");
	} else if (open_socket(self, &open_error)) {
		g_debug("%s: sending to the first of %u addresses", self->name, self->addresses->len);
	}
	dfu_transport_emit_opened(&self->parent, open_error);
}

static void
on_resolved(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketAddress) address =
	        g_socket_address_enumerator_next_finish(G_SOCKET_ADDRESS_ENUMERATOR(source), res, &error);
	UdpTransport *self = user_data;
	struct sockaddr_storage native = {0};

	/* closed or freed meanwhile: self may be gone */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (address == NULL || self->addresses->len >= MAX_KNOWN_ADDRESSES) {
		resolved_all(self, error);
		return;
	}
	if (g_socket_address_to_native(address, &native, sizeof(native), NULL) &&
	    (native.ss_family == AF_INET || native.ss_family == AF_INET6))
		g_array_append_val(self->addresses, native);
	g_socket_address_enumerator_next_async(self->enumerator, self->resolving, on_resolved, self);
}

static void
udp_open(DfuTransport *transport)
{
	UdpTransport *self = (UdpTransport *)transport;
	g_autoptr(GSocketConnectable) connectable = NULL;

	if (self->sock != NULL) {
		/* opened is reported from the loop, never from inside open() */
		if (self->open_idle == 0)
			self->open_idle = g_idle_add(on_open_idle, self);
		return;
	}
	if (self->resolving != NULL)
		return;
	/* literal addresses (zone included) resolve without asking anyone, names through GResolver */
	connectable = g_network_address_new(self->host, (guint16)self->port);
	self->enumerator = g_socket_connectable_enumerate(connectable);
	self->resolving = g_cancellable_new();
	g_array_set_size(self->addresses, 0);
	g_socket_address_enumerator_next_async(self->enumerator, self->resolving, on_resolved, self);
}

static gboolean
udp_send(DfuTransport *transport, const guint8 *data, gsize len, GError **error)
{
	UdpTransport *self = (UdpTransport *)transport;
	g_autoptr(GError) send_error = NULL;

	if (self->sock == NULL) {
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
	if (udp_socket_send(self->sock, &self->peer, self->peer_len, data, len, &send_error))
		return TRUE;
	/* a full socket buffer or an unreachable network loses this datagram like the network would */
	g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: datagram not sent: %s", self->name,
	            send_error->message);
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
	g_clear_object(&self->enumerator);
	g_clear_handle_id(&self->open_idle, g_source_remove);
	if (self->sock != NULL) {
		udp_socket_unsubscribe(self->sock, self->subscription);
		g_clear_pointer(&self->sock, udp_socket_unref);
	}
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
	g_array_unref(self->addresses);
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
	self->addresses = g_array_new(FALSE, TRUE, sizeof(struct sockaddr_storage));
	self->messages = ble_reassembler_new();
	return &self->parent;
}
