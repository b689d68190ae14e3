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

/* subscribes to the daemon's job signals; must be called before the jobs are submitted */
DfuctlFollow *dfuctl_follow_new(sd_bus *bus, DfuctlOutputMode mode, GError **error);
void dfuctl_follow_free(DfuctlFollow *self);
/*
 * Shows the jobs at paths in one view, devices[i] naming the device of paths[i]
 * (devices NULL: the daemon's name for each target), until all have finished;
 * returns them finished, in the order of paths.
 */
GPtrArray *dfuctl_follow_jobs(DfuctlFollow *self, const char *const *paths, const char *const *devices,
                              GError **error);
/*
 * Shows every job and every change, or those of the jobs and devices that filter
 * names (job numbers or paths, device names or targets; NULL: all), until the
 * daemon stops or an error, or with until_idle until none of them is queued or
 * running.
 */
gboolean dfuctl_follow_watch(DfuctlFollow *self, const char *const *filter, gboolean until_idle,
                             GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlFollow, dfuctl_follow_free)

G_END_DECLS
