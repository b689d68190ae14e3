/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "mcuboot-image.h"

char *
mcuboot_version_to_string(const McubootVersion *version)
{
	g_return_val_if_fail(version != NULL, NULL);

	if (version->build != 0)
		return g_strdup_printf("%u.%u.%u.%u", version->major, version->minor, version->revision,
		                       version->build);
	return g_strdup_printf("%u.%u.%u", version->major, version->minor, version->revision);
}

int
mcuboot_version_compare(const McubootVersion *a, const McubootVersion *b)
{
	const guint64 fields_a[] = {a->major, a->minor, a->revision, a->build};
	const guint64 fields_b[] = {b->major, b->minor, b->revision, b->build};

	for (gsize i = 0; i < G_N_ELEMENTS(fields_a); i++) {
		if (fields_a[i] != fields_b[i])
			return fields_a[i] < fields_b[i] ? -1 : 1;
	}
	return 0;
}

static gboolean
parse_field(const char *str, guint64 max, guint64 *out)
{
	/* plain digits only: no sign, spaces or empty fields */
	if (*str == '\0' || strspn(str, "0123456789") != strlen(str))
		return FALSE;
	return g_ascii_string_to_unsigned(str, 10, 0, max, out, NULL);
}

/* Accepts "1.2.3", "1.2.3.4" and imgtool's "1.2.3+4". */
gboolean
mcuboot_version_parse(const char *str, McubootVersion *version)
{
	static const guint64 limits[] = {G_MAXUINT8, G_MAXUINT8, G_MAXUINT16, G_MAXUINT32};
	g_auto(GStrv) parts = NULL;
	g_autofree char *dotted = NULL;
	const char *plus;
	guint64 fields[4] = {0};
	guint n_dotted;

	g_return_val_if_fail(version != NULL, FALSE);
	if (str == NULL)
		return FALSE;

	plus = strchr(str, '+');
	dotted = plus != NULL ? g_strndup(str, plus - str) : g_strdup(str);
	parts = g_strsplit(dotted, ".", -1);
	n_dotted = g_strv_length(parts);
	/* a '+build' suffix needs exactly three dotted fields before it */
	if (n_dotted < 3 || n_dotted > 4 || (plus != NULL && n_dotted != 3))
		return FALSE;
	for (guint i = 0; i < n_dotted; i++) {
		if (!parse_field(parts[i], limits[i], &fields[i]))
			return FALSE;
	}
	if (plus != NULL && !parse_field(plus + 1, limits[3], &fields[3]))
		return FALSE;

	version->major = (guint8)fields[0];
	version->minor = (guint8)fields[1];
	version->revision = (guint16)fields[2];
	version->build = (guint32)fields[3];
	return TRUE;
}
