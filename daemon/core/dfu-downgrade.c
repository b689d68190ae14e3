/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-downgrade.h"

#include <string.h>

#include "dfu-error.h"

/* MCUboot keeps the image number in four bits */
#define MAX_IMAGE_INDEX 15
#define FILE_SUFFIX ".bin"

static const char *const core_names[] = {"app", "net"};

static gboolean
parse_index(const char *name, guint *index)
{
	guint64 value = 0;

	if (!g_ascii_string_to_unsigned(name, 10, 0, MAX_IMAGE_INDEX, &value, NULL))
		return FALSE;
	*index = (guint)value;
	return TRUE;
}

static gboolean
core_index(const char *name, guint *index)
{
	for (guint i = 0; i < G_N_ELEMENTS(core_names); i++) {
		if (g_ascii_strcasecmp(name, core_names[i]) == 0) {
			*index = i;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
is_file_name(const char *name)
{
	return g_str_has_suffix(name, FILE_SUFFIX) && strlen(name) > strlen(FILE_SUFFIX) &&
	       strchr(name, '/') == NULL;
}

gboolean
dfu_downgrade_names_check(const char *list, GError **error)
{
	g_auto(GStrv) names = list != NULL ? g_strsplit(list, ",", -1) : NULL;
	guint index = 0;

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const char *name = g_strstrip(names[i]);

		if (parse_index(name, &index) || core_index(name, &index) || is_file_name(name))
			continue;
		g_set_error(
		        error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		        "allow-downgrade: '%s' names no image; give true or false, image numbers 0 to %d, "
		        "app, net or an image's file name ending in " FILE_SUFFIX,
		        name, MAX_IMAGE_INDEX);
		return FALSE;
	}
	return TRUE;
}

gboolean
dfu_downgrade_names_match(const char *list, guint image_index, const char *file_name)
{
	g_auto(GStrv) names = list != NULL ? g_strsplit(list, ",", -1) : NULL;

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const char *name = g_strstrip(names[i]);
		guint index = G_MAXUINT;

		if (((parse_index(name, &index) || core_index(name, &index)) && index == image_index) ||
		    (is_file_name(name) && g_strcmp0(name, file_name) == 0))
			return TRUE;
	}
	return FALSE;
}

char *
dfu_downgrade_names_unknown_file(const char *list, const char *const *file_names)
{
	g_auto(GStrv) names = list != NULL ? g_strsplit(list, ",", -1) : NULL;

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const char *name = g_strstrip(names[i]);

		if (is_file_name(name) && !g_strv_contains(file_names, name))
			return g_strdup(name);
	}
	return NULL;
}
