/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-options.h"

typedef struct {
	const char *key;
	char type; /* D-Bus type code of the variant's contents */
	size_t offset;
} DfuBusOption;

static const DfuBusOption option_table[] = {
        {"confirm", SD_BUS_TYPE_BOOLEAN, offsetof(DfuJobOptions, confirm)},
        {"force", SD_BUS_TYPE_BOOLEAN, offsetof(DfuJobOptions, force)},
        {"allow-downgrade", SD_BUS_TYPE_BOOLEAN, offsetof(DfuJobOptions, allow_downgrade)},
        {"max-attempts", SD_BUS_TYPE_UINT32, offsetof(DfuJobOptions, max_attempts)},
        {"source-name", SD_BUS_TYPE_STRING, offsetof(DfuJobOptions, name)},
};

static const DfuBusOption *
option_lookup(const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(option_table); i++) {
		if (strcmp(option_table[i].key, key) == 0)
			return &option_table[i];
	}
	return NULL;
}

static int
option_read_value(sd_bus_message *m, const DfuBusOption *opt, DfuJobOptions *options, sd_bus_error *ret_error)
{
	gpointer field = (guint8 *)options + opt->offset;
	const char type_string[2] = {opt->type, '\0'};
	const char *contents = NULL;
	const char *str = NULL;
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
	switch (opt->type) {
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

		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
		if (r < 0)
			return r;
		opt = option_lookup(key);
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
