/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-target.h"
#include "sim-link.h"
#include "sim-smp-device.h"

G_BEGIN_DECLS

typedef struct {
	SimSmpDeviceConfig device; /* buf_size: largest decoded frame, length + message + CRC */
	guint boot_ms;
	gboolean reset_hangup;
	DfuFraming framing;
} SimServerConfig;

/*
 * SMP over a serial framing (console lines or bare messages): decodes request frames for the device,
 * frames its answers with the fault plan's response faults, holds them until
 * the link takes them, and keeps the device silent while it boots.
 */
typedef struct _SimSmpServer SimSmpServer;

SimSmpServer *sim_smp_server_new(const SimServerConfig *config, SimMcuboot *model, SimFaultPlan *faults);
void sim_smp_server_free(SimSmpServer *server);
void sim_smp_server_set_link(SimSmpServer *server, SimLink *link);
/* SimLinkDataFunc and SimLinkIdleFunc for the link */
void sim_smp_server_input(const guint8 *data, gsize len, gpointer server);
void sim_smp_server_output_idle(gpointer server);
gboolean sim_smp_server_write_state(SimSmpServer *server, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimSmpServer, sim_smp_server_free)

G_END_DECLS
