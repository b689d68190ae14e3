/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * SMP over UDP (Zephyr's smp_udp): one SMP message per datagram, no framing.
 * Opening resolves the host without blocking, to every address it has, and
 * joins the daemon's one socket of that family (udp-socket.h): requests go to
 * the first address, and replies are taken from any of them at the device's
 * port (a node with several IPv6 addresses may answer from another one than
 * was asked); others are dropped and counted. UDP has no link to lose: an
 * ICMP "port unreachable" is not reported on an unconnected socket, so a
 * device that is away shows as silence (response timeout), never as closed.
 * A message must fit one datagram of max_datagram bytes; longer ones are
 * refused, never split, since the device would not reassemble them.
 */
DfuTransport *dfu_udp_transport_new(const char *host, guint port, gsize max_datagram);

G_END_DECLS
