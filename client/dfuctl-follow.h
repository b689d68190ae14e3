/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "dfuctl-job.h"
#include "dfuctl-progress.h"

G_BEGIN_DECLS

/*
 * Following jobs through their signals. The matches are added before the
 * state is read, and signals older than the reply that gave the state are
 * dropped, so no change is missed and none is applied twice.
 */
typedef struct _DfuctlFollow DfuctlFollow;

/* subscribes to the daemon's job signals; must be called before the job is submitted */
DfuctlFollow *dfuctl_follow_new(sd_bus *bus, DfuctlOutputMode mode, GError **error);
void dfuctl_follow_free(DfuctlFollow *self);
/* shows the job at path until it finishes; returns the finished job */
DfuctlJob *dfuctl_follow_job(DfuctlFollow *self, const char *path, GError **error);
/* shows every job and every change until the daemon stops or an error */
gboolean dfuctl_follow_all(DfuctlFollow *self, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlFollow, dfuctl_follow_free)

G_END_DECLS
