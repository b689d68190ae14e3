/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-smp-device.h"

G_BEGIN_DECLS

typedef struct {
	SimSmpDeviceConfig device;
	guint boot_ms;
	guint mtu;            /* receive buffer: longer datagrams are cut to this size */
	guint loss_percent;   /* datagrams lost at random, requests and answers alike */
	guint32 seed;         /* of the loss, so that a run can be repeated */
	guint reply_delay_ms; /* added before every answer, to emulate a round trip */
} SimUdpConfig;

/*
 * SMP over UDP as Zephyr's smp_udp does it: a socket bound to a loopback
 * address, every SMP message in a datagram handed to the device (nothing
 * reassembled across datagrams), answers sent to the last sender. The
 * device's netbufs hold a request and the answer being made for it, so with
 * two of them a request arriving while another is processed is dropped.
 */
typedef struct _SimUdpServer SimUdpServer;

/* address: IPv4:PORT or [IPv6]:PORT, loopback only */
SimUdpServer *sim_udp_server_new(const SimUdpConfig *config, const char *address, SimMcuboot *model,
                                 SimFaultPlan *faults, GError **error);
void sim_udp_server_free(SimUdpServer *server);
gboolean sim_udp_server_write_state(SimUdpServer *server, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimUdpServer, sim_udp_server_free)

G_END_DECLS
