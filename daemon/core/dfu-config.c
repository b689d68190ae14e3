/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "dfu-config.h"
#include "dfu-error.h"
#include "dfu-job.h"
#include "dfu-target.h"

#define DEVICE_GROUP_PREFIX "Device "
#define DEVICE_TARGET_KEY "Target"
#define DEVICE_BOARD_KEY "Board"

typedef enum {
	CONFIG_UINT,    /* plain count (guint) */
	CONFIG_SECONDS, /* seconds, fraction allowed, stored rounded to whole seconds (guint) */
	CONFIG_MILLIS,  /* seconds, fraction allowed, stored as milliseconds (guint) */
	CONFIG_SIZE,    /* bytes with an optional K, M or G suffix (guint64) */
	CONFIG_BOOL,    /* true/false, yes/no, 1/0 (gboolean) */
	CONFIG_STRING,  /* char *, NULL when unset */
	CONFIG_LIST,    /* ';'-separated strings (char **), NULL when unset */
	CONFIG_CHOICE,  /* one word of ConfigKey.choices, stored as its index (guint) */
} ConfigType;

typedef struct {
	const char *group;
	const char *key;
	ConfigType type;
	gsize offset;
	const char *default_text; /* parsed like a value from the file; NULL: unset */
	guint min;                /* in the stored unit, for numbers */
	guint max;                /* for counts; 0: no bound below G_MAXUINT */
	const char *const *choices;
} ConfigKey;

static const char *const signature_policies[] = {"off", "optional", "required", NULL};

#define OFF(field) G_STRUCT_OFFSET(DfuConfig, field)

static const ConfigKey config_keys[] = {
        {"daemon", "MaxParallelJobs", CONFIG_UINT, OFF(max_parallel_jobs), "4", 1},
        {"daemon", "MaxAttempts", CONFIG_UINT, OFF(max_attempts), "3", 1, DFU_JOB_MAX_ATTEMPTS},
        {"daemon", "RetryDelaySec", CONFIG_MILLIS, OFF(retry_delay_ms), "2", 0},
        {"daemon", "KeepFinishedSec", CONFIG_SECONDS, OFF(keep_finished_sec), "86400", 0},
        {"daemon", "MaxFinishedJobs", CONFIG_UINT, OFF(max_finished_jobs), "100", 0},
        {"daemon", "HistorySize", CONFIG_UINT, OFF(history_size), "1000", 0},
        {"serial", "DefaultBaud", CONFIG_UINT, OFF(serial_baud), "115200", 1},
        {"smp", "ResponseTimeoutSec", CONFIG_MILLIS, OFF(smp_timeout_ms), "5", 1},
        {"smp", "FirstChunkTimeoutSec", CONFIG_MILLIS, OFF(smp_erase_timeout_ms), "40", 1},
        {"smp", "Retries", CONFIG_UINT, OFF(smp_retries), "4", 0},
        {"smp", "MaxWindow", CONFIG_UINT, OFF(smp_max_window), "8", 1},
        {"smp", "ResetTimeoutSec", CONFIG_MILLIS, OFF(reset_timeout_ms), "60", 1},
        {"http", "CAFile", CONFIG_STRING, OFF(http_ca_file), NULL},
        {"http", "ClientCertificate", CONFIG_STRING, OFF(http_client_cert), NULL},
        {"http", "ClientKey", CONFIG_STRING, OFF(http_client_key), NULL},
        {"http", "Headers", CONFIG_LIST, OFF(http_headers), NULL},
        {"http", "Proxy", CONFIG_STRING, OFF(http_proxy), NULL},
        {"http", "AllowPlainHttp", CONFIG_BOOL, OFF(http_allow_plain), "false"},
        {"http", "ConnectTimeoutSec", CONFIG_MILLIS, OFF(http_connect_timeout_ms), "30", 1},
        {"http", "LowSpeedLimit", CONFIG_UINT, OFF(http_low_speed_limit), "100", 0},
        {"http", "LowSpeedTimeSec", CONFIG_MILLIS, OFF(http_low_speed_time_ms), "60", 1},
        {"cache", "MaxSize", CONFIG_SIZE, OFF(cache_max_bytes), "512M", 0},
        {"verify", "Signature", CONFIG_CHOICE, OFF(signature_policy), "optional", 0, 0, signature_policies},
        {"verify", "KeyDirectory", CONFIG_STRING, OFF(key_dir), DFUD_SYSCONFDIR "/keys"},
        {"ble", "DefaultAdapter", CONFIG_STRING, OFF(ble_adapter), "hci0"},
        {"ble", "MaxConnectionsPerAdapter", CONFIG_UINT, OFF(ble_max_connections), "4", 1},
        {"ble", "ConnectTimeoutSec", CONFIG_MILLIS, OFF(ble_connect_timeout_ms), "20", 1},
        {"ble", "DiscoveryTimeoutSec", CONFIG_MILLIS, OFF(ble_discovery_timeout_ms), "30", 1},
        {"udp", "MaxDatagram", CONFIG_UINT, OFF(udp_max_datagram), "1232", DFU_UDP_MIN_DATAGRAM,
         DFU_UDP_MAX_DATAGRAM},
        {"atfota", "CommandTimeoutSec", CONFIG_MILLIS, OFF(atfota_command_timeout_ms), "10", 1},
        {"atfota", "ReadyTimeoutSec", CONFIG_MILLIS, OFF(atfota_ready_timeout_ms), "5", 1},
        {"atfota", "Probes", CONFIG_UINT, OFF(atfota_probes), "5", 0},
        {"atfota", "StallTimeoutSec", CONFIG_MILLIS, OFF(atfota_stall_timeout_ms), "180", 1},
        {"atfota", "StallRetries", CONFIG_UINT, OFF(atfota_stall_retries), "3", 0},
        {"atfota", "ResetTimeoutSec", CONFIG_MILLIS, OFF(atfota_reset_timeout_ms), "120", 1},
        {"atfota", "ResultTimeoutSec", CONFIG_MILLIS, OFF(atfota_result_timeout_ms), "60", 1},
        {"meshdfu", "IntervalSec", CONFIG_MILLIS, OFF(meshdfu_interval_ms), "0.5", 1},
        {"meshdfu", "AckTimeoutSec", CONFIG_MILLIS, OFF(meshdfu_ack_timeout_ms), "0.5", 1},
        {"meshdfu", "Tries", CONFIG_UINT, OFF(meshdfu_tries), "10", 1},
        {"meshdfu", "BusyTimeoutSec", CONFIG_MILLIS, OFF(meshdfu_busy_timeout_ms), "30", 1},
        {"meshdfu", "StateWaitSec", CONFIG_MILLIS, OFF(meshdfu_state_wait_ms), "2", 0},
        {"meshdfu", "EraseTimePerPageSec", CONFIG_MILLIS, OFF(meshdfu_erase_page_ms), "0.143", 0},
        {"meshdfu", "FirmwareIdTimeoutSec", CONFIG_MILLIS, OFF(meshdfu_fwid_timeout_ms), "10", 1},
        {"meshdfu", "TailQuietSec", CONFIG_MILLIS, OFF(meshdfu_tail_quiet_ms), "20", 1},
        {"meshdfu", "EndTimeoutSec", CONFIG_MILLIS, OFF(meshdfu_end_timeout_ms), "120", 1},
        {"meshdfu", "NodeTimeoutSec", CONFIG_MILLIS, OFF(meshdfu_node_timeout_ms), "600", 1},
};

/* what a bad value should have been, for the error message */
static const char *const config_type_names[] = {
        [CONFIG_UINT] = "count",
        [CONFIG_SECONDS] = "duration in seconds",
        [CONFIG_MILLIS] = "duration in seconds",
        [CONFIG_SIZE] = "size (bytes, or with a K, M or G suffix)",
        [CONFIG_BOOL] = "boolean",
        [CONFIG_STRING] = "string",
        [CONFIG_LIST] = "list",
        [CONFIG_CHOICE] = "choice",
};

static gpointer
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

static void
config_clear_value(DfuConfig *config, const ConfigKey *key)
{
	if (key->type == CONFIG_STRING)
		g_clear_pointer((char **)config_field(config, key), g_free);
	else if (key->type == CONFIG_LIST)
		g_clear_pointer((char ***)config_field(config, key), g_strfreev);
}

static gboolean
config_parse_seconds(const ConfigKey *key, const char *text, guint *value)
{
	const guint64 max_seconds = G_MAXUINT / 1000;
	char *end = NULL;
	double seconds;

	errno = 0;
	seconds = g_ascii_strtod(text, &end);
	if (text[0] == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite(seconds) ||
	    seconds < 0 || seconds > max_seconds)
		return FALSE;
	*value = key->type == CONFIG_MILLIS ? (guint)(seconds * 1000 + 0.5) : (guint)(seconds + 0.5);
	return *value >= key->min;
}

static gboolean
config_parse_size(const char *text, guint64 *value)
{
	static const struct {
		char suffix;
		guint shift;
	} units[] = {{'K', 10}, {'M', 20}, {'G', 30}};
	g_autofree char *digits = g_strdup(text);
	gsize len = strlen(digits);
	guint shift = 0;
	guint64 count;

	for (guint i = 0; len > 0 && i < G_N_ELEMENTS(units); i++) {
		if (g_ascii_toupper(digits[len - 1]) == units[i].suffix) {
			shift = units[i].shift;
			digits[--len] = '\0';
		}
	}
	if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT64 >> shift, &count, NULL))
		return FALSE;
	*value = count << shift;
	return TRUE;
}

static gboolean
config_parse_choice(const ConfigKey *key, const char *text, guint *value)
{
	for (guint i = 0; key->choices[i] != NULL; i++) {
		if (g_ascii_strcasecmp(key->choices[i], text) == 0) {
			*value = i;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
config_parse_bool(const char *text, gboolean *value)
{
	static const char *const yes[] = {"true", "yes", "1", "on", NULL};
	static const char *const no[] = {"false", "no", "0", "off", NULL};

	for (guint i = 0; yes[i] != NULL; i++) {
		if (g_ascii_strcasecmp(text, yes[i]) == 0 || g_ascii_strcasecmp(text, no[i]) == 0) {
			*value = g_ascii_strcasecmp(text, yes[i]) == 0;
			return TRUE;
		}
	}
	return FALSE;
}

static char **
config_parse_list(const char *text)
{
	g_auto(GStrv) parts = g_strsplit(text, ";", -1);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	for (guint i = 0; parts[i] != NULL; i++) {
		g_strstrip(parts[i]);
		if (parts[i][0] != '\0')
			g_strv_builder_add(builder, parts[i]);
	}
	return g_strv_builder_end(builder);
}

/* stores a value into the configuration; an empty string unsets string and list keys */
static gboolean
config_set_value(DfuConfig *config, const ConfigKey *key, const char *text)
{
	gpointer field = config_field(config, key);
	guint64 count = 0;

	switch (key->type) {
	case CONFIG_UINT:
		if (!g_ascii_string_to_unsigned(text, 10, key->min, key->max != 0 ? key->max : G_MAXUINT,
		                                &count, NULL))
			return FALSE;
		*(guint *)field = (guint)count;
		return TRUE;
	case CONFIG_SECONDS:
	case CONFIG_MILLIS:
		return config_parse_seconds(key, text, field);
	case CONFIG_SIZE:
		return config_parse_size(text, field);
	case CONFIG_BOOL:
		return config_parse_bool(text, field);
	case CONFIG_CHOICE:
		return config_parse_choice(key, text, field);
	case CONFIG_STRING:
		config_clear_value(config, key);
		*(char **)field = text[0] != '\0' ? g_strdup(text) : NULL;
		return TRUE;
	case CONFIG_LIST:
		config_clear_value(config, key);
		*(char ***)field = text[0] != '\0' ? config_parse_list(text) : NULL;
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

	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++) {
		if (config_keys[i].default_text != NULL &&
		    !config_set_value(config, &config_keys[i], config_keys[i].default_text))
			g_error("built-in default of %s is invalid", config_keys[i].key);
	}
	config->state_dir = config_dir_from_env("STATE_DIRECTORY", DFUD_STATE_DIR);
	config->cache_dir = config_dir_from_env("CACHE_DIRECTORY", DFUD_CACHE_DIR);
	config->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	config->device_boards = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	config->device_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return config;
}

void
dfu_config_free(DfuConfig *config)
{
	if (config == NULL)
		return;
	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++)
		config_clear_value(config, &config_keys[i]);
	g_free(config->path);
	g_free(config->state_dir);
	g_free(config->cache_dir);
	g_hash_table_unref(config->devices);
	g_hash_table_unref(config->device_boards);
	g_hash_table_unref(config->device_names);
	g_free(config);
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
			if (text == NULL || !config_set_value(config, key, g_strstrip(text))) {
				g_autofree char *choices =
				        key->choices != NULL ? g_strjoinv(", ", (char **)key->choices)
				        : key->max != 0      ? g_strdup_printf("%u to %u", key->min, key->max)
				                             : NULL;
				g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
				            "%s: [%s] %s='%s' is not a valid %s%s%s", path, groups[g],
				            keys[k], text != NULL ? text : "", config_type_names[key->type],
				            choices != NULL ? ": " : "", choices != NULL ? choices : "");
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
		g_autofree char *board = NULL;
		g_autoptr(DfuTarget) target = NULL;

		if (!g_str_has_prefix(groups[g], DEVICE_GROUP_PREFIX) || name[0] == '\0') {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "%s: unknown group [%s], expected [Device NAME]", path, groups[g]);
			return FALSE;
		}
		keys = g_key_file_get_keys(keyfile, groups[g], NULL, NULL);
		for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
			if (g_strcmp0(keys[k], DEVICE_TARGET_KEY) != 0 &&
			    g_strcmp0(keys[k], DEVICE_BOARD_KEY) != 0) {
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
		if (!g_hash_table_contains(config->device_names, target->uri))
			g_hash_table_insert(config->device_names, g_strdup(target->uri), g_strdup(name));
		board = g_key_file_get_string(keyfile, groups[g], DEVICE_BOARD_KEY, NULL);
		if (board != NULL && g_strstrip(board)[0] != '\0')
			g_hash_table_insert(config->device_boards, g_strdup(target->uri),
			                    g_steal_pointer(&board));
	}
	return TRUE;
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* the *.conf files of dir in the order of their names; none when dir does not exist */
static GPtrArray *
config_list_dir(const char *dir, GError **error)
{
	g_autoptr(GDir) gdir = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	gdir = g_dir_open(dir, 0, &error_local);
	if (gdir == NULL) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&files);
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: %s", dir,
		            error_local->message);
		return NULL;
	}
	while ((name = g_dir_read_name(gdir)) != NULL) {
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(files, g_build_filename(dir, name, NULL));
	}
	/* a stable order makes later files win and duplicate reports name the same file every time */
	g_ptr_array_sort(files, compare_paths);
	return g_steal_pointer(&files);
}

static gboolean
config_load_devices(DfuConfig *config, const char *dir, GError **error)
{
	g_autoptr(GPtrArray) files = config_list_dir(dir, error);

	if (files == NULL)
		return FALSE;
	for (guint i = 0; i < files->len; i++) {
		if (!config_load_devices_file(config, g_ptr_array_index(files, i), error))
			return FALSE;
	}
	return TRUE;
}

/* one file of settings; a missing one is no error when it may be missing */
static gboolean
config_load_file(DfuConfig *config, const char *path, gboolean may_be_missing, GError **error)
{
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) error_local = NULL;

	if (g_key_file_load_from_file(keyfile, path, G_KEY_FILE_NONE, &error_local))
		return config_load_main(config, keyfile, path, error);
	if (may_be_missing && g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: %s", path, error_local->message);
	return FALSE;
}

DfuConfig *
dfu_config_load(const char *path, GError **error)
{
	g_autoptr(DfuConfig) config = dfu_config_new_default();
	g_autoptr(GPtrArray) drop_ins = NULL;
	g_autofree char *drop_in_dir = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *devices_dir = NULL;

	if (path == NULL)
		path = g_getenv("DFUD_CONFIG");
	if (path == NULL)
		path = DFUD_SYSCONFDIR "/dfud.conf";
	config->path = g_strdup(path);
	if (!config_load_file(config, path, TRUE, error))
		return NULL;
	drop_in_dir = g_strconcat(path, ".d", NULL);
	drop_ins = config_list_dir(drop_in_dir, error);
	if (drop_ins == NULL)
		return NULL;
	for (guint i = 0; i < drop_ins->len; i++) {
		if (!config_load_file(config, g_ptr_array_index(drop_ins, i), FALSE, error))
			return NULL;
	}
	dir = g_path_get_dirname(path);
	devices_dir = g_build_filename(dir, "devices.d", NULL);
	if (!config_load_devices(config, devices_dir, error))
		return NULL;
	return g_steal_pointer(&config);
}

static void
swap_bytes(gpointer a, gpointer b, gsize size)
{
	g_autofree gpointer tmp = g_memdup2(a, size);

	memcpy(a, b, size);
	memcpy(b, tmp, size);
}

/* how many bytes a value of the type takes in DfuConfig */
static const gsize config_type_sizes[] = {
        [CONFIG_UINT] = sizeof(guint),   [CONFIG_SECONDS] = sizeof(guint), [CONFIG_MILLIS] = sizeof(guint),
        [CONFIG_SIZE] = sizeof(guint64), [CONFIG_BOOL] = sizeof(gboolean), [CONFIG_STRING] = sizeof(char *),
        [CONFIG_LIST] = sizeof(char **), [CONFIG_CHOICE] = sizeof(guint),
};

gboolean
dfu_config_reload(DfuConfig *config, GError **error)
{
	g_autoptr(DfuConfig) fresh = NULL;

	g_return_val_if_fail(config != NULL, FALSE);
	fresh = dfu_config_load(config->path, error);
	if (fresh == NULL)
		return FALSE;
	/* the old values leave with fresh */
	for (guint i = 0; i < G_N_ELEMENTS(config_keys); i++)
		swap_bytes(config_field(config, &config_keys[i]), config_field(fresh, &config_keys[i]),
		           config_type_sizes[config_keys[i].type]);
	swap_bytes(&config->devices, &fresh->devices, sizeof(GHashTable *));
	swap_bytes(&config->device_boards, &fresh->device_boards, sizeof(GHashTable *));
	swap_bytes(&config->device_names, &fresh->device_names, sizeof(GHashTable *));
	return TRUE;
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

const char *
dfu_config_get_board(DfuConfig *config, const char *uri)
{
	g_return_val_if_fail(config != NULL, NULL);
	return uri != NULL ? g_hash_table_lookup(config->device_boards, uri) : NULL;
}

const char *
dfu_config_get_device_name(DfuConfig *config, const char *uri)
{
	g_return_val_if_fail(config != NULL, NULL);
	return uri != NULL ? g_hash_table_lookup(config->device_names, uri) : NULL;
}
