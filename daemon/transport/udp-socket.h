/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/*
 * The daemon's UDP socket of one address family, shared by every UDP device
 * (SMP over UDP): unconnected, on one ephemeral port. Each device subscribes
 * with the addresses it is known by; a datagram goes to the subscriber whose
 * addresses hold its source address and port, and is dropped (and counted)
 * when none does. The socket lives while someone holds a reference.
 */
typedef struct _UdpSocket UdpSocket;

/* a whole datagram, borrowed */
typedef void (*UdpSocketFunc)(const guint8 *data, gsize len, gpointer user_data);

/* a new reference to the family's socket (AF_INET or AF_INET6), made on first use */
UdpSocket *udp_socket_get(int family, GError **error);
void udp_socket_unref(UdpSocket *sock);
/* addresses: struct sockaddr_storage items, copied; returns an id for udp_socket_unsubscribe */
guint udp_socket_subscribe(UdpSocket *sock, GArray *addresses, UdpSocketFunc func, gpointer user_data);
void udp_socket_unsubscribe(UdpSocket *sock, guint id);
/* FALSE (errno in error's message) when the datagram could not be handed to the kernel */
gboolean udp_socket_send(UdpSocket *sock, const struct sockaddr_storage *to, socklen_t to_len,
                         const guint8 *data, gsize len, GError **error);

G_END_DECLS
