/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "dfu-config.h"
#include "dfu-error.h"
#include "dfu-target.h"

#define DEVICE_GROUP_PREFIX "Device "
#define DEVICE_TARGET_KEY "Target"

typedef enum {
	CONFIG_UINT,    /* plain count */
	CONFIG_SECONDS, /* seconds, fraction allowed, stored rounded to whole seconds */
	CONFIG_MILLIS,  /* seconds, fraction allowed, stored as milliseconds */
} ConfigType;

typedef struct {
	const char *group;
	const char *key;
	ConfigType type;
	gsize offset;
	guint default_value; /* in the stored unit */
	guint min;           /* in the stored unit */
} ConfigKey;

static const ConfigKey config_keys[] = {
        {"daemon", "MaxParallelJobs", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, max_parallel_jobs), 4, 1},
        {"daemon", "MaxAttempts", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, max_attempts), 3, 1},
        {"daemon", "RetryDelaySec", CONFIG_MILLIS, G_STRUCT_OFFSET(DfuConfig, retry_delay_ms), 2000, 0},
        {"daemon", "KeepFinishedSec", CONFIG_SECONDS, G_STRUCT_OFFSET(DfuConfig, keep_finished_sec), 86400,
         0},
        {"daemon", "MaxFinishedJobs", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, max_finished_jobs), 100, 0},
        {"serial", "DefaultBaud", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, serial_baud), 115200, 1},
        {"smp", "ResponseTimeoutSec", CONFIG_MILLIS, G_STRUCT_OFFSET(DfuConfig, smp_timeout_ms), 5000, 1},
        {"smp", "FirstChunkTimeoutSec", CONFIG_MILLIS, G_STRUCT_OFFSET(DfuConfig, smp_erase_timeout_ms),
         40000, 1},
        {"smp", "Retries", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, smp_retries), 4, 0},
        {"smp", "MaxWindow", CONFIG_UINT, G_STRUCT_OFFSET(DfuConfig, smp_max_window), 8, 1},
        {"smp", "ResetTimeoutSec", CONFIG_MILLIS, G_STRUCT_OFFSET(DfuConfig, reset_timeout_ms), 60000, 1},
};

static guint *
config_field(DfuConfig *config, const ConfigKey *key)
{
	return G_STRUCT_MEMBER_P(config, key->offset);
}

static const ConfigKey *
config_key_lookup(const char *group, const char *key)
{
	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++) {
		if (g_strcmp0(config_keys[i].group, group) == 0 && g_strcmp0(config_keys[i].key, key) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static gboolean
config_group_known(const char *group)
{
	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++) {
		if (g_strcmp0(config_keys[i].group, group) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the first entry of a colon-separated list, as systemd may set several */
static char *
config_dir_from_env(const char *variable, const char *fallback)
{
	const char *value = g_getenv(variable);
	const char *colon;

	if (value == NULL || value[0] == '\0')
		return g_strdup(fallback);
	colon = strchr(value, ':');
	return colon != NULL ? g_strndup(value, colon - value) : g_strdup(value);
}

DfuConfig *
dfu_config_new_default(void)
{
	DfuConfig *config = g_new0(DfuConfig, 1);

	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++)
		*config_field(config, &config_keys[i]) = config_keys[i].default_value;
	config->state_dir = config_dir_from_env("STATE_DIRECTORY", DFUD_STATE_DIR);
	config->cache_dir = config_dir_from_env("CACHE_DIRECTORY", DFUD_CACHE_DIR);
	config->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return config;
}

void
dfu_config_free(DfuConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->state_dir);
	g_free(config->cache_dir);
	g_hash_table_unref(config->devices);
	g_free(config);
}

static gboolean
config_parse_value(const ConfigKey *key, const char *text, guint *value)
{
	const guint64 max_seconds = G_MAXUINT / 1000;
	guint64 count = 0;
	char *end = NULL;
	double seconds;

	if (key->type == CONFIG_UINT) {
		if (!g_ascii_string_to_unsigned(text, 10, key->min, G_MAXUINT, &count, NULL))
			return FALSE;
		*value = (guint)count;
		return TRUE;
	}
	errno = 0;
	seconds = g_ascii_strtod(text, &end);
	if (text[0] == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite(seconds) ||
	    seconds < 0 || seconds > max_seconds)
		return FALSE;
	*value = key->type == CONFIG_MILLIS ? (guint)(seconds * 1000 + 0.5) : (guint)(seconds + 0.5);
	return *value >= key->min;
}

static gboolean
config_load_main(DfuConfig *config, GKeyFile *keyfile, const char *path, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(keyfile, NULL);

	for (guint g = 0; groups[g] != NULL; g++) {
		g_auto(GStrv) keys = NULL;

		if (!config_group_known(groups[g])) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: unknown group [%s]",
			            path, groups[g]);
			return FALSE;
		}
		keys = g_key_file_get_keys(keyfile, groups[g], NULL, NULL);
		for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
			const ConfigKey *key = config_key_lookup(groups[g], keys[k]);
			g_autofree char *text = NULL;

			if (key == NULL) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
				            "%s: unknown key '%s' in group [%s]", path, keys[k], groups[g]);
				return FALSE;
			}
			text = g_key_file_get_value(keyfile, groups[g], keys[k], NULL);
			if (text == NULL ||
			    !config_parse_value(key, g_strstrip(text), config_field(config, key))) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
				            "%s: [%s] %s='%s' is not a valid %s", path, groups[g], keys[k],
				            text != NULL ? text : "",
				            key->type == CONFIG_UINT ? "count" : "duration in seconds");
				return FALSE;
			}
		}
	}
	return TRUE;
}

static gboolean
config_load_devices_file(DfuConfig *config, const char *path, GError **error)
{
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) error_local = NULL;
	g_auto(GStrv) groups = NULL;

	if (!g_key_file_load_from_file(keyfile, path, G_KEY_FILE_NONE, &error_local)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: %s", path,
		            error_local->message);
		return FALSE;
	}
	groups = g_key_file_get_groups(keyfile, NULL);
	for (guint g = 0; groups[g] != NULL; g++) {
		const char *name = groups[g] + strlen(DEVICE_GROUP_PREFIX);
		g_auto(GStrv) keys = NULL;
		g_autofree char *uri = NULL;
		g_autoptr(DfuTarget) target = NULL;

		if (!g_str_has_prefix(groups[g], DEVICE_GROUP_PREFIX) || name[0] == '\0') {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "%s: unknown group [%s], expected [Device NAME]", path, groups[g]);
			return FALSE;
		}
		keys = g_key_file_get_keys(keyfile, groups[g], NULL, NULL);
		for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
			if (g_strcmp0(keys[k], DEVICE_TARGET_KEY) != 0) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
				            "%s: unknown key '%s' in group [%s]", path, keys[k], groups[g]);
				return FALSE;
			}
		}
		uri = g_key_file_get_string(keyfile, groups[g], DEVICE_TARGET_KEY, NULL);
		if (uri == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "%s: [%s] has no Target=", path, groups[g]);
			return FALSE;
		}
		target = dfu_target_parse(uri, &error_local);
		if (target == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: [%s]: %s", path,
			            groups[g], error_local->message);
			return FALSE;
		}
		if (g_hash_table_contains(config->devices, name)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "%s: device '%s' is already declared", path, name);
			return FALSE;
		}
		g_hash_table_insert(config->devices, g_strdup(name), g_strdup(target->uri));
	}
	return TRUE;
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
config_load_devices(DfuConfig *config, const char *dir, GError **error)
{
	g_autoptr(GDir) gdir = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	gdir = g_dir_open(dir, 0, &error_local);
	if (gdir == NULL) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: %s", dir,
		            error_local->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(gdir)) != NULL) {
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(files, g_build_filename(dir, name, NULL));
	}
	/* a stable order makes duplicate reports name the same file every time */
	g_ptr_array_sort(files, compare_paths);
	for (guint i = 0; i < files->len; i++) {
		if (!config_load_devices_file(config, g_ptr_array_index(files, i), error))
			return FALSE;
	}
	return TRUE;
}

DfuConfig *
dfu_config_load(const char *path, GError **error)
{
	g_autoptr(DfuConfig) config = dfu_config_new_default();
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) error_local = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *devices_dir = NULL;

	if (path == NULL)
		path = g_getenv("DFUD_CONFIG");
	if (path == NULL)
		path = DFUD_SYSCONFDIR "/dfud.conf";
	if (g_key_file_load_from_file(keyfile, path, G_KEY_FILE_NONE, &error_local)) {
		if (!config_load_main(config, keyfile, path, error))
			return NULL;
	} else if (!g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: %s", path,
		            error_local->message);
		return NULL;
	}
	dir = g_path_get_dirname(path);
	devices_dir = g_build_filename(dir, "devices.d", NULL);
	if (!config_load_devices(config, devices_dir, error))
		return NULL;
	return g_steal_pointer(&config);
}

const char *
dfu_config_resolve_target(DfuConfig *config, const char *name_or_uri)
{
	const char *uri;

	g_return_val_if_fail(config != NULL, NULL);
	if (name_or_uri == NULL)
		return NULL;
	uri = g_hash_table_lookup(config->devices, name_or_uri);
	if (uri != NULL)
		return uri;
	return strchr(name_or_uri, ':') != NULL ? name_or_uri : NULL;
}
