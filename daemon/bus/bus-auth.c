/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <stdarg.h>

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

/* the credentials the decision needs, read without a call to the bus where the kernel has them */
static int
auth_sender_creds(sd_bus_message *m, sd_bus_creds **creds, sd_bus_error *ret_error)
{
	int r = sd_bus_query_sender_creds(m,
	                                  SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
	                                          SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_AUGMENT,
	                                  creds);

	if (r < 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "Cannot read the caller's credentials: %s", g_strerror(-r));
	return 0;
}

int
dfu_bus_auth_sender_uid(sd_bus_message *m, uid_t *uid, sd_bus_error *ret_error)
{
	g_autoptr(sd_bus_creds) creds = NULL;
	int r = auth_sender_creds(m, &creds, ret_error);

	if (r < 0)
		return r;
	if (sd_bus_creds_get_euid(creds, uid) < 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "The caller's user is unknown");
	return 0;
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

	r = auth_sender_creds(m, &creds, ret_error);
	if (r < 0)
		return r;
	if (sd_bus_creds_get_euid(creds, &euid) < 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "The caller's user is unknown");
	/* missing group data only narrows the decision to the user id */
	if (sd_bus_creds_get_egid(creds, &egid) < 0)
		egid = (gid_t)-1;
	n_gids = sd_bus_creds_get_supplementary_gids(creds, &gids);
	if (n_gids < 0)
		n_gids = 0;

	/* the group, a lookup through NSS, only for a caller whose user id alone does not decide */
	if (!dfu_bus_auth_allowed(auth, euid, egid, gids, (gsize)n_gids, (gid_t)-1) &&
	    !dfu_bus_auth_allowed(auth, euid, egid, gids, (gsize)n_gids, auth_group_gid()))
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED,
		                          "Only root and members of group '%s' may do this",
		                          DFU_BUS_AUTH_GROUP);
	return 0;
}

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorizationFlags */
#define POLKIT_ALLOW_USER_INTERACTION 1u
/* what a caller who asked for interaction may take to answer a password prompt */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300 * G_USEC_PER_SEC)

/* errors that say polkit is not on the bus, so the group rule decides */
static const char *const polkit_absent_errors[] = {
        SD_BUS_ERROR_SERVICE_UNKNOWN,
        SD_BUS_ERROR_NAME_HAS_NO_OWNER,
};

typedef struct {
	DfuBusAuth auth;
	sd_bus_message *m;
	char *action_id;
	DfuBusAuthAllowedFunc allowed;
	gpointer user_data;
	GDestroyNotify destroy;
} AuthRequest;

static void
auth_request_free(void *userdata)
{
	AuthRequest *req = userdata;

	if (req->destroy != NULL)
		req->destroy(req->user_data);
	sd_bus_message_unref(req->m);
	g_free(req->action_id);
	g_free(req);
}

static void
auth_deny(AuthRequest *req, const sd_bus_error *error)
{
	int r = sd_bus_reply_method_error(req->m, error);

	if (r < 0)
		g_warning("cannot refuse %s: %s", req->action_id, g_strerror(-r));
}

static void auth_denyf(AuthRequest *req, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
auth_denyf(AuthRequest *req, const char *format, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	dfu_bus_error_setf(&error, DFU_STATUS_PERMISSION_DENIED, "%s", message);
	auth_deny(req, &error);
	sd_bus_error_free(&error);
}

static gboolean
polkit_absent(const sd_bus_error *error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(polkit_absent_errors); i++) {
		if (sd_bus_error_has_name(error, polkit_absent_errors[i]))
			return TRUE;
	}
	return FALSE;
}

/* without polkit: root, the group, and on a session bus the daemon's own user */
static void
auth_fallback(AuthRequest *req)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;

	if (dfu_bus_auth_check(&req->auth, req->m, &error) < 0)
		auth_deny(req, &error);
	else
		req->allowed(req->m, req->user_data);
	sd_bus_error_free(&error);
}

/* the answer (bba{ss}): is_authorized, is_challenge, details */
static int
polkit_reply_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	AuthRequest *req = userdata;
	const sd_bus_error *error = sd_bus_message_get_error(reply);
	int authorized = FALSE;
	int challenge = FALSE;
	int r;

	if (error != NULL && polkit_absent(error)) {
		auth_fallback(req);
		return 0;
	}
	if (error != NULL) {
		auth_denyf(req, "polkit could not decide on %s: %s", req->action_id,
		           error->message != NULL ? error->message : error->name);
		return 0;
	}
	r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
	if (r >= 0)
		r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
	if (r < 0)
		auth_denyf(req, "polkit gave an answer that cannot be read: %s", g_strerror(-r));
	else if (authorized)
		req->allowed(req->m, req->user_data);
	else if (challenge)
		auth_denyf(req, "%s needs authentication: run the command as root or with a polkit agent",
		           req->action_id);
	else
		auth_denyf(req, "Not authorized for %s", req->action_id);
	return 0;
}

static int
polkit_append_request(sd_bus_message *call, sd_bus_message *m, const char *action_id,
                      const char *const *details)
{
	guint32 flags =
	        sd_bus_message_get_allow_interactive_authorization(m) > 0 ? POLKIT_ALLOW_USER_INTERACTION : 0;
	int r;

	/* subject: the caller's unique name, which polkit resolves to its process and user */
	r = sd_bus_message_append(call, "(sa{sv})", "system-bus-name", 1, "name", "s",
	                          sd_bus_message_get_sender(m));
	if (r >= 0)
		r = sd_bus_message_append(call, "s", action_id);
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "{ss}");
	for (guint i = 0; r >= 0 && details != NULL && details[i] != NULL && details[i + 1] != NULL; i += 2)
		r = sd_bus_message_append(call, "{ss}", details[i], details[i + 1]);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r >= 0)
		r = sd_bus_message_append(call, "us", flags, "");
	return r;
}

int
dfu_bus_auth_check_async(const DfuBusAuth *auth, sd_bus_message *m, const char *action_id,
                         const char *const *details, DfuBusAuthAllowedFunc allowed, gpointer user_data,
                         GDestroyNotify destroy, sd_bus_error *ret_error)
{
	sd_bus *bus = sd_bus_message_get_bus(m);
	g_autoptr(sd_bus_message) call = NULL;
	g_autoptr(sd_bus_slot) slot = NULL;
	AuthRequest *req;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
	                                   "CheckAuthorization");
	if (r >= 0)
		r = polkit_append_request(call, m, action_id, details);
	if (r >= 0)
		r = sd_bus_call_async(bus, &slot, call, polkit_reply_cb, NULL,
		                      sd_bus_message_get_allow_interactive_authorization(m) > 0
		                              ? POLKIT_INTERACTIVE_TIMEOUT_USEC
		                              : 0);
	if (r < 0) {
		if (destroy != NULL)
			destroy(user_data);
		return dfu_bus_error_setf(ret_error, DFU_STATUS_PERMISSION_DENIED, "Cannot ask polkit: %s",
		                          g_strerror(-r));
	}
	req = g_new0(AuthRequest, 1);
	req->auth = *auth;
	req->m = sd_bus_message_ref(m);
	req->action_id = g_strdup(action_id);
	req->allowed = allowed;
	req->user_data = user_data;
	req->destroy = destroy;
	/* the slot lives as long as the call, or the bus, and takes the request with it */
	sd_bus_slot_set_userdata(slot, req);
	sd_bus_slot_set_destroy_callback(slot, auth_request_free);
	sd_bus_slot_set_floating(slot, 1);
	return 1;
}
