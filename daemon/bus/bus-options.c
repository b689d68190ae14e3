/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-options.h"

typedef struct {
	const char *key;
	const char *type; /* D-Bus signature of the variant's contents */
	size_t offset;
	size_t set_offset; /* a gboolean set when the option is given; 0 for none (confirm is at 0) */
} DfuBusOption;

static const DfuBusOption option_table[] = {
        {"confirm", "b", offsetof(DfuJobOptions, confirm)},
        {"force", "b", offsetof(DfuJobOptions, force)},
        {"allow-downgrade", "b", offsetof(DfuJobOptions, allow_downgrade)},
        /* or only some images: "1", "net", "0,net" */
        {"allow-downgrade", "s", offsetof(DfuJobOptions, allow_downgrade_images)},
        {"max-attempts", "u", offsetof(DfuJobOptions, max_attempts)},
        {"source-name", "s", offsetof(DfuJobOptions, name)},
        {"expected-sha256", "s", offsetof(DfuJobOptions, expected_sha256)},
        {"fetch-only", "b", offsetof(DfuJobOptions, fetch_only)},
        {"signature-url", "s", offsetof(DfuJobOptions, signature_url)},
        {"signature", "ay", offsetof(DfuJobOptions, signature)},
        {"fota-op", "u", offsetof(DfuJobOptions, fota_op)},
        {"sec-tag", "u", offsetof(DfuJobOptions, sec_tag), offsetof(DfuJobOptions, has_sec_tag)},
        {"pdn", "u", offsetof(DfuJobOptions, pdn), offsetof(DfuJobOptions, has_pdn)},
        {"expected-version", "s", offsetof(DfuJobOptions, expected_version)},
        {"mesh-interval", "u", offsetof(DfuJobOptions, mesh_interval_ms)},
};

/* the entry for key whose type is the value's, else the key's first (its type names the error) */
static const DfuBusOption *
option_lookup(const char *key, const char *type)
{
	const DfuBusOption *found = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(option_table); i++) {
		if (strcmp(option_table[i].key, key) != 0)
			continue;
		if (g_strcmp0(option_table[i].type, type) == 0)
			return &option_table[i];
		if (found == NULL)
			found = &option_table[i];
	}
	return found;
}

static int
option_read_value(sd_bus_message *m, const DfuBusOption *opt, DfuJobOptions *options, sd_bus_error *ret_error)
{
	gpointer field = (guint8 *)options + opt->offset;
	const char *type_string = opt->type;
	const char *contents = NULL;
	const char *str = NULL;
	const void *bytes = NULL;
	size_t n_bytes = 0;
	int b = 0;
	int r;

	r = sd_bus_message_peek_type(m, NULL, &contents);
	if (r < 0)
		return r;
	if (g_strcmp0(contents, type_string) != 0)
		return dfu_bus_error_setf(ret_error, DFU_STATUS_INVALID_ARGUMENT,
		                          "Option '%s' must have type '%s', not '%s'", opt->key, type_string,
		                          contents != NULL ? contents : "");

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, type_string);
	if (r < 0)
		return r;
	switch (opt->type[0]) {
	case SD_BUS_TYPE_ARRAY:
		r = sd_bus_message_read_array(m, SD_BUS_TYPE_BYTE, &bytes, &n_bytes);
		if (r >= 0) {
			g_clear_pointer((GBytes **)field, g_bytes_unref);
			*(GBytes **)field = g_bytes_new(bytes, n_bytes);
		}
		break;
	case SD_BUS_TYPE_BOOLEAN:
		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_BOOLEAN, &b);
		*(gboolean *)field = b != 0;
		break;
	case SD_BUS_TYPE_UINT32:
		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_UINT32, field);
		break;
	default:
		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &str);
		if (r >= 0) {
			g_free(*(char **)field);
			*(char **)field = g_strdup(str);
		}
		break;
	}
	if (r < 0)
		return r;
	if (opt->set_offset != 0)
		*(gboolean *)((guint8 *)options + opt->set_offset) = TRUE;
	return sd_bus_message_exit_container(m);
}

int
dfu_bus_options_read(sd_bus_message *m, DfuJobOptions *options, sd_bus_error *ret_error)
{
	int r;

	options->confirm = TRUE;
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		const DfuBusOption *opt;
		const char *key = NULL;
		const char *type = NULL;

		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, NULL, &type);
		if (r < 0)
			return r;
		opt = option_lookup(key, type);
		if (opt == NULL)
			return dfu_bus_error_setf(ret_error, DFU_STATUS_INVALID_ARGUMENT,
			                          "Unknown option '%s'", key);
		r = option_read_value(m, opt, options, ret_error);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}
