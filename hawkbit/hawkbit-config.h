/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* one node behind the gateway, as one hawkBit target */
typedef struct {
	char *name;          /* the device name in dfud's devices.d, or a [Node NAME] of the agent */
	char *target;        /* what the job is submitted for: the name itself, or a Target URI */
	char *controller_id; /* from the ControllerId pattern unless given */
	char *target_token;  /* per-target token, NULL: the gateway token */
} HbNodeConfig;

typedef struct {
	char *url; /* the server, without the tenant */
	char *tenant;
	char *gateway_id;
	char *gateway_token;
	char *ca_file;
	char *client_cert;
	char *client_key;
	char *proxy;
	gboolean allow_http;
	gboolean auto_confirm; /* consent to actions of hawkBit's user-consent flow */
	double max_rate;
	guint max_connections;
	double start_jitter_s;
	double min_sleep_s;
	double busy_sleep_s;
	double retry_s;
	double progress_interval_s;
	guint timeout_s;
	GPtrArray *nodes; /* HbNodeConfig */
} HbConfig;

/*
 * Reads the agent's file (its [hawkbit] section and [Node NAME] groups), the
 * [http] section of dfud's configuration for the TLS settings the agent does
 * not set itself, and the devices of dfud's devices.d when Devices=true.
 */
HbConfig *hb_config_load(const char *path, GError **error);
void hb_config_free(HbConfig *config);
/* "<gateway>-<node>" from the pattern's %g, %n and %% */
char *hb_config_expand_id(const char *pattern, const char *gateway, const char *node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HbConfig, hb_config_free)

G_END_DECLS
