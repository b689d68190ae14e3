/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-faults.h"
#include "sim-link.h"
#include "sim-nrfdfu.h"

G_BEGIN_DECLS

typedef struct {
	SimNrfDfuConfig device;
	guint boot_ms;         /* deaf after a reset */
	gboolean reset_hangup; /* a reset also drops the port, as a USB CDC device does */
} SimNrfDfuServerConfig;

/* the Secure DFU bootloader model behind a pty, in SLIP frames */
typedef struct _SimNrfDfuServer SimNrfDfuServer;

SimNrfDfuServer *sim_nrfdfu_server_new(const SimNrfDfuServerConfig *config, SimFaultPlan *faults);
void sim_nrfdfu_server_free(SimNrfDfuServer *server);
void sim_nrfdfu_server_set_link(SimNrfDfuServer *server, SimLink *link);
/* SimLinkDataFunc and SimLinkIdleFunc for the link */
void sim_nrfdfu_server_input(const guint8 *data, gsize len, gpointer user_data);
void sim_nrfdfu_server_output_idle(gpointer user_data);
gboolean sim_nrfdfu_server_write_state(SimNrfDfuServer *server, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimNrfDfuServer, sim_nrfdfu_server_free)

G_END_DECLS
