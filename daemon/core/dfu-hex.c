/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-hex.h"

char *
dfu_hex_encode(const guint8 *data, gsize len)
{
	GString *text = g_string_sized_new(2 * len);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(text, "%02x", data[i]);
	return g_string_free(text, FALSE);
}
