/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * Two connected in-memory endpoints: a packet sent on one arrives whole on
 * the other, from the main loop. For running protocol engines against device
 * models in unit tests, without framing or a tty.
 */
void dfu_memory_transport_new_pair(gsize max_message, DfuTransport **a, DfuTransport **b);
/* drops the link as a cable pull would: both ends see closed */
void dfu_memory_transport_hang_up(DfuTransport *transport);
/* while refused, open() fails with LINK_NOT_FOUND (a device that is rebooting) */
void dfu_memory_transport_set_refuse_open(DfuTransport *transport, gboolean refuse);

G_END_DECLS
