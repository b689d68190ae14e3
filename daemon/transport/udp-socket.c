/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "udp-socket.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "dfu-error.h"
#include "dfu-fd-watch.h"

/* any UDP payload fits: a reply may be larger than the request and than the device's receive limit */
#define UDP_RECV_SIZE 65536

typedef struct {
	guint id;
	GArray *addresses; /* struct sockaddr_storage */
	UdpSocketFunc func;
	gpointer user_data;
} Subscriber;

struct _UdpSocket {
	int family;
	guint refs;
	int fd;
	guint read_watch;
	guint8 *buf;
	GList *subscribers; /* Subscriber* */
	guint next_id;
	guint64 foreign;
};

/* one per family; index 0 IPv4, 1 IPv6 */
static UdpSocket *sockets[2];

static guint
family_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static void
subscriber_free(Subscriber *sub)
{
	g_array_unref(sub->addresses);
	g_free(sub);
}

/* the Zephyr server answers from its bound port and from an address the IP stack picks */
static gboolean
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return FALSE;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static Subscriber *
find_subscriber(UdpSocket *self, const struct sockaddr_storage *from)
{
	for (GList *l = self->subscribers; l != NULL; l = l->next) {
		Subscriber *sub = l->data;

		for (guint i = 0; i < sub->addresses->len; i++) {
			if (same_address(&g_array_index(sub->addresses, struct sockaddr_storage, i), from))
				return sub;
		}
	}
	return NULL;
}

static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
	UdpSocket *self = user_data;

	for (;;) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, self->buf, UDP_RECV_SIZE, 0, (struct sockaddr *)&from, &from_len);
		Subscriber *sub;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* an unconnected socket reports no ICMP errors: anything but EAGAIN is odd, not fatal
			 */
			if (errno != EAGAIN)
				g_message("udp: receive failed: %s", g_strerror(errno));
			return G_SOURCE_CONTINUE;
		}
		sub = find_subscriber(self, &from);
		if (sub == NULL) {
			if (self->foreign++ == 0)
				g_message("udp: dropping datagrams that come from no device being updated");
			continue;
		}
		/* the subscriber may unsubscribe, and the socket go, from inside: read again from the loop */
		sub->func(self->buf, (gsize)n, sub->user_data);
		return G_SOURCE_CONTINUE;
	}
}

UdpSocket *
udp_socket_get(int family, GError **error)
{
	UdpSocket **slot = &sockets[family_index(family)];
	UdpSocket *self = *slot;
	int fd;

	if (self != NULL) {
		self->refs++;
		return self;
	}
	/* the kernel binds an ephemeral port on the first send; every device answers to it */
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "cannot make a UDP socket: %s",
		            g_strerror(errno));
		return NULL;
	}
	self = g_new0(UdpSocket, 1);
	self->family = family;
	self->refs = 1;
	self->fd = fd;
	self->buf = g_malloc(UDP_RECV_SIZE);
	self->read_watch = dfu_fd_watch_add(fd, G_IO_IN, on_readable, self);
	*slot = self;
	return self;
}

void
udp_socket_unref(UdpSocket *self)
{
	if (self == NULL || --self->refs > 0)
		return;
	sockets[family_index(self->family)] = NULL;
	if (self->foreign > 0)
		g_message("udp: dropped %" G_GUINT64_FORMAT " datagrams from no device being updated",
		          self->foreign);
	g_clear_handle_id(&self->read_watch, g_source_remove);
	close(self->fd);
	g_list_free_full(self->subscribers, (GDestroyNotify)subscriber_free);
	g_free(self->buf);
	g_free(self);
}

guint
udp_socket_subscribe(UdpSocket *self, GArray *addresses, UdpSocketFunc func, gpointer user_data)
{
	Subscriber *sub = g_new0(Subscriber, 1);

	sub->id = ++self->next_id;
	sub->addresses = g_array_copy(addresses);
	sub->func = func;
	sub->user_data = user_data;
	self->subscribers = g_list_append(self->subscribers, sub);
	return sub->id;
}

void
udp_socket_unsubscribe(UdpSocket *self, guint id)
{
	for (GList *l = self->subscribers; l != NULL; l = l->next) {
		Subscriber *sub = l->data;

		if (sub->id == id) {
			self->subscribers = g_list_delete_link(self->subscribers, l);
			subscriber_free(sub);
			return;
		}
	}
}

gboolean
udp_socket_send(UdpSocket *self, const struct sockaddr_storage *to, socklen_t to_len, const guint8 *data,
                gsize len, GError **error)
{
	ssize_t n;

	do
		n = sendto(self->fd, data, len, 0, (const struct sockaddr *)to, to_len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return TRUE;
	g_set_error_literal(error, DFU_ERROR, DFU_STATUS_LINK_LOST, g_strerror(errno));
	return FALSE;
}
