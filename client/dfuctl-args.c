/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfuctl-args.h"

typedef struct {
	const char *key;
	const char *type;
} DfuctlOption;

/* the option names and types the daemon's Submit accepts */
static const DfuctlOption submit_options[] = {
        {"confirm", "b"},       {"force", "b"},       {"allow-downgrade", "bs"},
        {"max-attempts", "u"},  {"source-name", "s"}, {"expected-sha256", "s"},
        {"signature-url", "s"}, {"fota-op", "u"},     {"sec-tag", "u"},
        {"pdn", "u"},           {"fetch-only", "b"},
};

static gboolean
parse_id(const char *str, guint64 *id)
{
	/* digits only: the parser below would take a sign */
	if (str == NULL || !g_ascii_isdigit(*str))
		return FALSE;
	return g_ascii_string_to_unsigned(str, 10, 1, G_MAXUINT64, id, NULL);
}

char *
dfuctl_job_path_from_arg(const char *arg, GError **error)
{
	guint64 id = 0;

	if (parse_id(arg, &id))
		return g_strdup_printf(DFUCTL_JOB_PATH_PREFIX "%" G_GUINT64_FORMAT, id);
	if (dfuctl_job_id_from_path(arg) != 0)
		return g_strdup(arg);
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
	            "'%s' is not a job: give its number or its object path", arg);
	return NULL;
}

guint64
dfuctl_job_id_from_path(const char *path)
{
	guint64 id = 0;

	if (path == NULL || !g_str_has_prefix(path, DFUCTL_JOB_PATH_PREFIX))
		return 0;
	if (!parse_id(path + strlen(DFUCTL_JOB_PATH_PREFIX), &id))
		return 0;
	return id;
}

/* with_digits FALSE: "1" and "0" are left for an option that also takes image numbers */
static GVariant *
parse_boolean(const char *str, gboolean with_digits)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (gsize i = 0; i < G_N_ELEMENTS(yes) - !with_digits; i++) {
		if (g_ascii_strcasecmp(str, yes[i]) == 0)
			return g_variant_new_boolean(TRUE);
		if (g_ascii_strcasecmp(str, no[i]) == 0)
			return g_variant_new_boolean(FALSE);
	}
	return NULL;
}

static GVariant *
parse_value(const DfuctlOption *opt, const char *str)
{
	guint64 u = 0;

	if (strcmp(opt->type, "bs") == 0) {
		GVariant *b = parse_boolean(str, FALSE);
		return b != NULL ? b : g_variant_new_string(str);
	}
	if (opt->type[0] == 'b')
		return parse_boolean(str, TRUE);
	if (opt->type[0] == 'u') {
		if (!g_ascii_isdigit(*str) || !g_ascii_string_to_unsigned(str, 10, 0, G_MAXUINT32, &u, NULL))
			return NULL;
		return g_variant_new_uint32((guint32)u);
	}
	return g_variant_new_string(str);
}

static const DfuctlOption *
option_lookup(const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(submit_options); i++) {
		if (strcmp(submit_options[i].key, key) == 0)
			return &submit_options[i];
	}
	return NULL;
}

GVariant *
dfuctl_options_parse(const char *const *key_values, GError **error)
{
	g_autoptr(GVariantDict) dict = g_variant_dict_new(NULL);

	for (gsize i = 0; key_values != NULL && key_values[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(key_values[i], "=", 2);
		const DfuctlOption *opt;
		GVariant *value;

		if (kv[0] == NULL || kv[1] == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "option '%s' must be given as key=value", key_values[i]);
			return NULL;
		}
		opt = option_lookup(kv[0]);
		if (opt == NULL) {
			g_set_error(
			        error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			        "unknown option '%s' (known: confirm, force, allow-downgrade, max-attempts, "
			        "source-name, expected-sha256, signature-url, fota-op, sec-tag, pdn, "
			        "fetch-only)",
			        kv[0]);
			return NULL;
		}
		value = parse_value(opt, kv[1]);
		if (value == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "option '%s': '%s' is not a %s", kv[0], kv[1],
			            opt->type[0] == 'b' ? "boolean" : "number");
			return NULL;
		}
		g_variant_dict_insert_value(dict, kv[0], value);
	}
	return g_variant_dict_end(dict);
}

typedef struct {
	guint status_code;
	int exit_code;
} DfuctlExitCode;

static const DfuctlExitCode status_exit_codes[] = {
        {DFU_STATUS_SUCCESS, DFUCTL_EXIT_SUCCESS},
        {DFU_STATUS_STAGED, DFUCTL_EXIT_SUCCESS},
        {DFU_STATUS_UP_TO_DATE, DFUCTL_EXIT_NOTHING_TO_DO},
};

int
dfuctl_exit_code_for_status(guint status_code)
{
	for (gsize i = 0; i < G_N_ELEMENTS(status_exit_codes); i++) {
		if (status_exit_codes[i].status_code == status_code)
			return status_exit_codes[i].exit_code;
	}
	return DFUCTL_EXIT_FAILURE;
}

int
dfuctl_exit_code_for_error(const GError *error)
{
	if (dfu_error_get_status(error) == DFU_STATUS_NOT_FOUND)
		return DFUCTL_EXIT_NOT_FOUND;
	return DFUCTL_EXIT_FAILURE;
}
