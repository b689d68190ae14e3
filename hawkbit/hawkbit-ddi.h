/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The documents of hawkBit's Direct Device Integration API, read and written. */

/* what the base poll says: the sleep and the links present (NULL when absent) */
typedef struct {
	guint sleep_s; /* 0 when the server gave none */
	char *deployment_href;
	char *cancel_href;
	char *config_href;
	char *installed_href;
	char *confirmation_href; /* the user-consent flow: the action waits for the device's consent */
} HbPoll;

typedef enum {
	HB_MODE_SKIP,
	HB_MODE_ATTEMPT,
	HB_MODE_FORCED,
} HbMode;

/* a deploymentBase with exactly one artifact, the only kind a node's job takes */
typedef struct {
	char *id;
	HbMode download;
	HbMode update;
	gboolean window_closed; /* maintenanceWindow "unavailable": download now, install later */
	char *name;             /* the chunk's name and version, for the log and installedBase */
	char *version;
	char *filename;
	char *url;
	char *sha256;
	guint64 size;
} HbDeployment;

gboolean hb_ddi_parse_sleep(const char *text, guint *seconds);
gboolean hb_ddi_parse_poll(GBytes *body, HbPoll *poll, GError **error);
void hb_poll_clear(HbPoll *poll);
/* refuses (DFU_STATUS_UNSUPPORTED_BUNDLE) what is not one artifact with a SHA-256;
 * prefers the https link, takes the plain one only when allow_http */
gboolean hb_ddi_parse_deployment(GBytes *body, gboolean allow_http, HbDeployment *deployment, GError **error);
void hb_deployment_clear(HbDeployment *deployment);
/* the stopId of a cancelAction document */
char *hb_ddi_parse_cancel(GBytes *body, GError **error);
/* the action id at the end of a deploymentBase or cancelAction link ("…/5?c=…" → "5") */
char *hb_ddi_href_action(const char *href);

/* feedback: code < 0 leaves it out; details NULL-terminated; of > 0 adds result.progress */
char *hb_ddi_feedback(const char *execution, const char *finished, int code, const char *const *details,
                      guint cnt, guint of);
/* consent to an action of the user-consent flow (confirmationBase feedback) */
char *hb_ddi_confirmation(const char *detail);
/* installedBase: the distribution set a node runs after an update made beside the agent */
char *hb_ddi_installed_base(const char *name, const char *version);
/* configData in merge mode from a string -> string table */
char *hb_ddi_config_data(GHashTable *facts);

G_END_DECLS
