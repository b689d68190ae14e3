/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* members of this group may submit and cancel jobs */
#define DFU_BUS_AUTH_GROUP "dfu"

/* who may call the mutating methods */
typedef struct {
	/* on a session bus the daemon's own user is trusted as well */
	gboolean session_bus;
	uid_t own_uid;
} DfuBusAuth;

/* the decision alone, from the caller's ids; group_gid is (gid_t)-1 when the group does not exist */
gboolean dfu_bus_auth_allowed(const DfuBusAuth *auth, uid_t euid, gid_t egid, const gid_t *gids, gsize n_gids,
                              gid_t group_gid);

/*
 * Checks the sender of m. Returns 0 when allowed, else a negative errno with
 * ret_error set to org.dfud1.Error.PermissionDenied.
 */
int dfu_bus_auth_check(const DfuBusAuth *auth, sd_bus_message *m, sd_bus_error *ret_error);

G_END_DECLS
