/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* members of this group may submit and cancel jobs when polkit is not on the bus */
#define DFU_BUS_AUTH_GROUP "dfu"

/* the polkit actions, declared in polkit/org.dfud1.policy */
#define DFU_BUS_ACTION_UPDATE "org.dfud1.update"
#define DFU_BUS_ACTION_UPDATE_DOWNGRADE "org.dfud1.update-downgrade"
#define DFU_BUS_ACTION_CANCEL_OWN "org.dfud1.cancel-own"
#define DFU_BUS_ACTION_CANCEL_ANY "org.dfud1.cancel-any"
#define DFU_BUS_ACTION_MANAGE_DEVICES "org.dfud1.manage-devices"

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

/* the sender's effective user id, from its credentials */
int dfu_bus_auth_sender_uid(sd_bus_message *m, uid_t *uid, sd_bus_error *ret_error);

/* runs the method once the caller is allowed, and sends its reply */
typedef void (*DfuBusAuthAllowedFunc)(sd_bus_message *m, gpointer user_data);

/*
 * Decides whether the sender of the method call m may do action_id without
 * blocking the loop: asks org.freedesktop.PolicyKit1 CheckAuthorization with
 * the details (NULL, or key, value, ..., NULL; rules read them with
 * action.lookup()), and when polkit is not on the bus applies
 * dfu_bus_auth_check. When allowed, calls allowed, which replies to m;
 * otherwise replies org.dfud1.Error.PermissionDenied itself. destroy
 * (optional) frees user_data once, allowed or not.
 *
 * Returns 1, what the sd-bus method handler returns (the reply comes later),
 * or a negative errno with ret_error set when the check could not start
 * (user_data is freed then too).
 */
int dfu_bus_auth_check_async(const DfuBusAuth *auth, sd_bus_message *m, const char *action_id,
                             const char *const *details, DfuBusAuthAllowedFunc allowed, gpointer user_data,
                             GDestroyNotify destroy, sd_bus_error *ret_error);

G_END_DECLS
