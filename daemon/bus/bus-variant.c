/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-variant.h"

static int
append_basic(sd_bus_message *m, GVariant *value)
{
	char type = g_variant_get_type_string(value)[0];
	union {
		guint8 y;
		int b;
		gint16 n;
		guint16 q;
		gint32 i;
		guint32 u;
		gint64 x;
		guint64 t;
		double d;
	} v;

	switch (type) {
	case 'y':
		v.y = g_variant_get_byte(value);
		break;
	case 'b':
		v.b = g_variant_get_boolean(value);
		break;
	case 'n':
		v.n = g_variant_get_int16(value);
		break;
	case 'q':
		v.q = g_variant_get_uint16(value);
		break;
	case 'i':
		v.i = g_variant_get_int32(value);
		break;
	case 'u':
		v.u = g_variant_get_uint32(value);
		break;
	case 'x':
		v.x = g_variant_get_int64(value);
		break;
	case 't':
		v.t = g_variant_get_uint64(value);
		break;
	case 'd':
		v.d = g_variant_get_double(value);
		break;
	case 's':
	case 'o':
	case 'g':
		return sd_bus_message_append_basic(m, type, g_variant_get_string(value, NULL));
	default:
		/* handles (h) mean nothing outside the message that carried them */
		return -EINVAL;
	}
	return sd_bus_message_append_basic(m, type, &v);
}

static int
append_container(sd_bus_message *m, GVariant *value)
{
	const char *signature = g_variant_get_type_string(value);
	char kind = signature[0];
	g_autofree char *contents = NULL;
	GVariantIter iter;
	GVariant *child;
	int r;

	/* maybe types have no D-Bus form */
	if (kind == 'm')
		return -EINVAL;
	if (kind == 'v') {
		g_autoptr(GVariant) inner = g_variant_get_variant(value);
		contents = g_strdup(g_variant_get_type_string(inner));
		r = sd_bus_message_open_container(m, 'v', contents);
		if (r < 0)
			return r;
		r = dfu_bus_append_gvariant(m, inner);
		if (r < 0)
			return r;
		return sd_bus_message_close_container(m);
	}

	if (kind == 'a') {
		contents = g_strdup(signature + 1);
	} else {
		/* '(' and '{': the signature without its brackets */
		contents = g_strndup(signature + 1, strlen(signature) - 2);
		kind = kind == '(' ? 'r' : 'e';
	}
	r = sd_bus_message_open_container(m, kind, contents);
	if (r < 0)
		return r;
	g_variant_iter_init(&iter, value);
	while ((child = g_variant_iter_next_value(&iter)) != NULL) {
		r = dfu_bus_append_gvariant(m, child);
		g_variant_unref(child);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(m);
}

int
dfu_bus_append_gvariant(sd_bus_message *m, GVariant *value)
{
	if (g_variant_is_container(value))
		return append_container(m, value);
	return append_basic(m, value);
}
