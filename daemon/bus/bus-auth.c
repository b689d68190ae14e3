/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>

#include "bus-auth.h"
#include "bus-autoptr.h"
#include "bus-errors.h"
#include "dfu-status.h"

gboolean
dfu_bus_auth_allowed(const DfuBusAuth *auth, uid_t euid, gid_t egid, const gid_t *gids, gsize n_gids,
                     gid_t group_gid)
{
	if (euid == 0)
		return TRUE;
	if (auth->session_bus && euid == auth->own_uid)
		return TRUE;
	if (group_gid == (gid_t)-1)
		return FALSE;
	if (egid == group_gid)
		return TRUE;
	for (gsize i = 0; i < n_gids; i++) {
		if (gids[i] == group_gid)
			return TRUE;
	}
	return FALSE;
}

/* looked up per call so that a group created after start is honoured */
static gid_t
auth_group_gid(void)
{
	struct group grp;
	struct group *result = NULL;
	char buf[4096];

	if (getgrnam_r(DFU_BUS_AUTH_GROUP, &grp, buf, sizeof(buf), &result) != 0 || result == NULL)
		return (gid_t)-1;
	return result->gr_gid;
}

int
dfu_bus_auth_check(const DfuBusAuth *auth, sd_bus_message *m, sd_bus_error *ret_error)
{
	g_autoptr(sd_bus_creds) creds = NULL;
	const gid_t *gids = NULL;
	uid_t euid = (uid_t)-1;
	gid_t egid = (gid_t)-1;
	int n_gids;
	int r;

	r = sd_bus_query_sender_creds(m,
	                              SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
	                                      SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_AUGMENT,
	                              &creds);
	if (r < 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "Cannot read the caller's credentials: %s", g_strerror(-r));
	if (sd_bus_creds_get_euid(creds, &euid) < 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "The caller's user is unknown");
	/* missing group data only narrows the decision to the user id */
	if (sd_bus_creds_get_egid(creds, &egid) < 0)
		egid = (gid_t)-1;
	n_gids = sd_bus_creds_get_supplementary_gids(creds, &gids);
	if (n_gids < 0)
		n_gids = 0;

	if (!dfu_bus_auth_allowed(auth, euid, egid, gids, (gsize)n_gids, auth_group_gid()))
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "Only root and members of group '%s' may do this",
		                          DFU_BUS_AUTH_GROUP);
	return 0;
}
