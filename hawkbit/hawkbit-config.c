/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "config.h"
#include "dfu-error.h"
#include "hawkbit-config.h"

#define GROUP "hawkbit"
#define NODE_PREFIX "Node "
#define DEVICE_PREFIX "Device "

static void
node_config_free(HbNodeConfig *node)
{
	g_free(node->name);
	g_free(node->target);
	g_free(node->controller_id);
	g_free(node->target_token);
	g_free(node);
}

void
hb_config_free(HbConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->url);
	g_free(config->tenant);
	g_free(config->gateway_id);
	g_free(config->gateway_token);
	g_free(config->ca_file);
	g_free(config->client_cert);
	g_free(config->client_key);
	g_free(config->proxy);
	g_ptr_array_unref(config->nodes);
	g_free(config);
}

char *
hb_config_expand_id(const char *pattern, const char *gateway, const char *node)
{
	GString *out = g_string_new(NULL);

	for (const char *p = pattern; *p != '\0'; p++) {
		if (p[0] != '%' || p[1] == '\0') {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == 'g')
			g_string_append(out, gateway);
		else if (*p == 'n')
			g_string_append(out, node);
		else
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* a string key, or the contents of the file that KeyFile names, or NULL */
static char *
key_string(GKeyFile *kf, const char *group, const char *key, GError **error)
{
	g_autofree char *file_key = g_strconcat(key, "File", NULL);
	g_autofree char *file = g_key_file_get_string(kf, group, file_key, NULL);
	char *contents = NULL;

	if (file == NULL)
		return g_key_file_get_string(kf, group, key, NULL);
	if (!g_file_get_contents(file, &contents, NULL, error)) {
		g_prefix_error(error, "%s: ", file_key);
		return NULL;
	}
	return g_strstrip(contents);
}

static double
key_double(GKeyFile *kf, const char *key, double fallback, GError **error)
{
	g_autoptr(GError) local = NULL;
	double v;

	if (!g_key_file_has_key(kf, GROUP, key, NULL))
		return fallback;
	v = g_key_file_get_double(kf, GROUP, key, &local);
	if (local != NULL || v < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s must be a number of at least 0", key);
		return -1;
	}
	return v;
}

static gboolean
node_wanted(char **patterns, const char *name)
{
	for (guint i = 0; patterns[i] != NULL; i++) {
		if (g_pattern_match_simple(g_strstrip(patterns[i]), name))
			return TRUE;
	}
	return FALSE;
}

static gboolean
add_node(HbConfig *config, GKeyFile *kf, const char *group, const char *name, const char *pattern,
         GError **error)
{
	HbNodeConfig *node;
	g_autofree char *id = NULL;

	for (guint i = 0; i < config->nodes->len; i++) {
		if (strcmp(((HbNodeConfig *)g_ptr_array_index(config->nodes, i))->name, name) == 0)
			return TRUE;
	}
	node = g_new0(HbNodeConfig, 1);
	g_ptr_array_add(config->nodes, node);
	node->name = g_strdup(name);
	node->target = g_key_file_get_string(kf, group, "Target", NULL);
	/* a devices.d entry goes to dfud by its name, which the daemon resolves */
	if (node->target == NULL || g_str_has_prefix(group, DEVICE_PREFIX)) {
		g_free(node->target);
		node->target = g_strdup(name);
	}
	id = g_key_file_get_string(kf, group, "ControllerId", NULL);
	node->controller_id =
	        id != NULL ? g_steal_pointer(&id) : hb_config_expand_id(pattern, config->gateway_id, name);
	if (!g_str_has_prefix(group, NODE_PREFIX))
		return TRUE;
	node->target_token = key_string(kf, group, "TargetToken", error);
	return error == NULL || *error == NULL;
}

static gboolean
add_nodes(HbConfig *config, GKeyFile *kf, const char *prefix, char **patterns, const char *pattern,
          GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		const char *name = groups[i] + strlen(prefix);

		if (!g_str_has_prefix(groups[i], prefix) || !node_wanted(patterns, name))
			continue;
		if (!add_node(config, kf, groups[i], name, pattern, error))
			return FALSE;
	}
	return TRUE;
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean
add_devices(HbConfig *config, const char *dir, char **patterns, const char *pattern, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *entry;

	/* no devices.d is no device, as for the daemon */
	while (d != NULL && (entry = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(entry, ".conf"))
			g_ptr_array_add(names, g_build_filename(dir, entry, NULL));
	}
	g_ptr_array_sort(names, compare_paths);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(GKeyFile) kf = g_key_file_new();

		if (!g_key_file_load_from_file(kf, g_ptr_array_index(names, i), G_KEY_FILE_NONE, error)) {
			g_prefix_error(error, "%s: ", (char *)g_ptr_array_index(names, i));
			return FALSE;
		}
		if (!add_nodes(config, kf, DEVICE_PREFIX, patterns, pattern, error))
			return FALSE;
	}
	return TRUE;
}

/* the [http] TLS and proxy settings of dfud.conf, for what the agent's file leaves unset */
static void
inherit_http(HbConfig *config, const char *dfud_conf)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();

	if (!g_key_file_load_from_file(kf, dfud_conf, G_KEY_FILE_NONE, NULL))
		return;
	if (config->ca_file == NULL)
		config->ca_file = g_key_file_get_string(kf, "http", "CAFile", NULL);
	if (config->client_cert == NULL)
		config->client_cert = g_key_file_get_string(kf, "http", "ClientCertificate", NULL);
	if (config->client_key == NULL)
		config->client_key = g_key_file_get_string(kf, "http", "ClientKey", NULL);
	if (config->proxy == NULL)
		config->proxy = g_key_file_get_string(kf, "http", "Proxy", NULL);
}

static gboolean
load_timings(HbConfig *c, GKeyFile *kf, GError **error)
{
	g_autoptr(GError) local = NULL;

	c->max_rate = key_double(kf, "MaxRequestRate", 10, &local);
	if (local == NULL)
		c->start_jitter_s = key_double(kf, "StartJitterSec", 60, &local);
	if (local == NULL)
		c->min_sleep_s = key_double(kf, "MinSleepSec", 10, &local);
	if (local == NULL)
		c->busy_sleep_s = key_double(kf, "BusySleepSec", 5, &local);
	if (local == NULL)
		c->retry_s = key_double(kf, "RetrySec", 30, &local);
	if (local == NULL)
		c->progress_interval_s = key_double(kf, "ProgressIntervalSec", 10, &local);
	if (local == NULL)
		c->max_connections = (guint)key_double(kf, "MaxConnections", 4, &local);
	if (local == NULL)
		c->timeout_s = (guint)key_double(kf, "RequestTimeoutSec", 60, &local);
	if (local == NULL && (c->max_rate <= 0 || c->max_connections == 0))
		g_set_error(&local, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "MaxRequestRate and MaxConnections must be above 0");
	if (local != NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return TRUE;
}

HbConfig *
hb_config_load(const char *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(HbConfig) c = g_new0(HbConfig, 1);
	g_autofree char *pattern = NULL;
	g_autofree char *devices_dir = NULL;
	g_autofree char *dfud_conf = NULL;
	g_auto(GStrv) patterns = NULL;

	c->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_config_free);
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	c->url = g_key_file_get_string(kf, GROUP, "Url", NULL);
	if (c->url == NULL ||
	    !(g_str_has_prefix(c->url, "https://") || g_str_has_prefix(c->url, "http://"))) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s: [hawkbit] Url must be an http(s) URL", path);
		return NULL;
	}
	while (g_str_has_suffix(c->url, "/"))
		c->url[strlen(c->url) - 1] = '\0';
	c->tenant = g_key_file_get_string(kf, GROUP, "Tenant", NULL);
	if (c->tenant == NULL)
		c->tenant = g_strdup("DEFAULT");
	c->gateway_id = g_key_file_get_string(kf, GROUP, "GatewayId", NULL);
	if (c->gateway_id == NULL)
		c->gateway_id = g_strdup(g_get_host_name());
	c->gateway_token = key_string(kf, GROUP, "GatewayToken", error);
	if (error != NULL && *error != NULL)
		return NULL;
	c->ca_file = g_key_file_get_string(kf, GROUP, "CAFile", NULL);
	c->client_cert = g_key_file_get_string(kf, GROUP, "ClientCertificate", NULL);
	c->client_key = g_key_file_get_string(kf, GROUP, "ClientKey", NULL);
	c->proxy = g_key_file_get_string(kf, GROUP, "Proxy", NULL);
	c->allow_http = g_key_file_get_boolean(kf, GROUP, "AllowPlainHttp", NULL);
	/* a gateway has no user at the node to ask: unless told otherwise it consents itself */
	c->auto_confirm = !g_key_file_has_key(kf, GROUP, "AutoConfirm", NULL) ||
	                  g_key_file_get_boolean(kf, GROUP, "AutoConfirm", NULL);
	if (!c->allow_http && g_str_has_prefix(c->url, "http://")) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s: Url is plain http but AllowPlainHttp is not true", path);
		return NULL;
	}
	if (!load_timings(c, kf, error))
		return NULL;
	dfud_conf = g_key_file_get_string(kf, GROUP, "DfudConfig", NULL);
	inherit_http(c, dfud_conf != NULL ? dfud_conf : DFUD_SYSCONFDIR "/dfud.conf");

	pattern = g_key_file_get_string(kf, GROUP, "ControllerId", NULL);
	patterns = g_key_file_get_string_list(kf, GROUP, "Nodes", NULL, NULL);
	if (patterns == NULL)
		patterns = g_strsplit("*", ",", -1);
	if (!add_nodes(c, kf, NODE_PREFIX, patterns, pattern != NULL ? pattern : "%g-%n", error))
		return NULL;
	devices_dir = g_key_file_get_string(kf, GROUP, "DevicesDirectory", NULL);
	if (g_key_file_get_boolean(kf, GROUP, "Devices", NULL) &&
	    !add_devices(c, devices_dir != NULL ? devices_dir : DFUD_SYSCONFDIR "/devices.d", patterns,
	                 pattern != NULL ? pattern : "%g-%n", error))
		return NULL;
	if (c->nodes->len == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s: no node to represent: add [Node NAME] groups or Devices=true", path);
		return NULL;
	}
	return g_steal_pointer(&c);
}
