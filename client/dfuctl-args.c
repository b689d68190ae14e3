/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfuctl-args.h"

typedef struct {
	const char *key;
	const char *type;
	const char *help;
} DfuctlOption;

/* the option names and types the daemon's Submit accepts */
static const DfuctlOption submit_options[] = {
        {"confirm", "b", "false: stop once the image is uploaded and marked for test (staged)"},
        {"force", "b", "upload again an image the device's secondary slot already holds"},
        {"allow-downgrade", "bs",
         "true, or image numbers or names (1,net): install an older version of those images"},
        {"max-attempts", "u", "attempts when the job fails with a recoverable status (at most 100)"},
        {"source-name", "s", "what the job shows as its source (default: the file's name)"},
        {"expected-sha256", "s", "64 hex digits the bundle's SHA-256 must have"},
        {"signature-url", "s", "with a bundle URL: where its detached signature is (default: URL.sig)"},
        {"fota-op", "u", "atfota: 1 application, 2 modem delta, 3 full modem, 5 bootloader"},
        {"sec-tag", "u", "atfota: the module's security tag for an https URL"},
        {"pdn", "u", "atfota: the PDN to download through"},
        {"expected-version", "s", "atfota: the version the module must run afterwards"},
        {"fetch-only", "b", "only download the bundle into the daemon's cache (ends with success)"},
        {"mesh-interval", "u", "meshdfu: milliseconds between DATA packets (60 to 60000)"},
};

static const char *
type_name(const char *type)
{
	if (strcmp(type, "bs") == 0)
		return "boolean|images";
	return type[0] == 'b' ? "boolean" : type[0] == 'u' ? "number" : "text";
}

char *
dfuctl_options_help(void)
{
	GString *text = g_string_new("Job options (-o KEY=VALUE):\n");

	for (gsize i = 0; i < G_N_ELEMENTS(submit_options); i++) {
		g_autofree char *key =
		        g_strdup_printf("%s=%s", submit_options[i].key, type_name(submit_options[i].type));
		g_string_append_printf(text, "  %-31s %s\n", key, submit_options[i].help);
	}
	g_string_append(text, "Booleans are true/false, yes/no, on/off or 1/0; numbers are decimal.\n");
	return g_string_free(text, FALSE);
}

gboolean
dfuctl_options_want_help(const char *const *key_values)
{
	return key_values != NULL && g_strv_contains(key_values, "help");
}

static char *
option_names(void)
{
	GString *text = g_string_new(NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(submit_options); i++)
		g_string_append_printf(text, "%s%s", i > 0 ? ", " : "", submit_options[i].key);
	return g_string_free(text, FALSE);
}

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
			g_autofree char *names = option_names();

			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "unknown option '%s' (known: %s; see -o help)", kv[0], names);
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

/* a job's final status code */
static const DfuctlExitCode status_exit_codes[] = {
        {DFU_STATUS_SUCCESS, DFUCTL_EXIT_SUCCESS},
        {DFU_STATUS_STAGED, DFUCTL_EXIT_SUCCESS},
        {DFU_STATUS_UP_TO_DATE, DFUCTL_EXIT_NOTHING_TO_DO},
};

/* the status code of a refused request; not-found is also a bundle file that dfuctl cannot open */
static const DfuctlExitCode error_exit_codes[] = {
        {DFU_STATUS_NOT_FOUND, DFUCTL_EXIT_NOT_FOUND},
};

static int
exit_code_lookup(const DfuctlExitCode *table, gsize n, guint status_code)
{
	for (gsize i = 0; i < n; i++) {
		if (table[i].status_code == status_code)
			return table[i].exit_code;
	}
	return DFUCTL_EXIT_FAILURE;
}

int
dfuctl_exit_code_for_status(guint status_code)
{
	return exit_code_lookup(status_exit_codes, G_N_ELEMENTS(status_exit_codes), status_code);
}

int
dfuctl_exit_code_for_error(const GError *error)
{
	return exit_code_lookup(error_exit_codes, G_N_ELEMENTS(error_exit_codes),
	                        dfu_error_get_status(error));
}
