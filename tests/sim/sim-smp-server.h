/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-faults.h"
#include "sim-link.h"
#include "sim-mcuboot.h"
#include "sim-state-file.h"

G_BEGIN_DECLS

typedef struct {
	guint buf_size;  /* largest decoded frame: length + message + CRC */
	guint buf_count; /* requests and responses held at once */
	gboolean params;
	gboolean errors_v2;
	guint reset_ms;
	guint boot_ms;
	gboolean reset_hangup;
	const char *state_file;
	gboolean verbose;
} SimServerConfig;

/*
 * SMP over the console framing: decodes request frames, holds at most
 * buf_count of them, answers in order after the flash time the model
 * reports, applies the fault plan and runs resets and boots.
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
