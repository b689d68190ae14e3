/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-error.h"
#include "dfuctl-variant.h"

static gboolean
check(int r, GError **error)
{
	if (r >= 0)
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "malformed reply from the daemon: %s",
	            g_strerror(-r));
	return FALSE;
}

static GVariant *
read_basic(sd_bus_message *m, char type, GError **error)
{
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
		const char *s;
	} v = {0};

	if (!check(sd_bus_message_read_basic(m, type, &v), error))
		return NULL;
	switch (type) {
	case 'y':
		return g_variant_new_byte(v.y);
	case 'b':
		return g_variant_new_boolean(v.b);
	case 'n':
		return g_variant_new_int16(v.n);
	case 'q':
		return g_variant_new_uint16(v.q);
	case 'i':
		return g_variant_new_int32(v.i);
	case 'u':
		return g_variant_new_uint32(v.u);
	case 'x':
		return g_variant_new_int64(v.x);
	case 't':
		return g_variant_new_uint64(v.t);
	case 'd':
		return g_variant_new_double(v.d);
	case 's':
		return g_variant_new_string(v.s);
	case 'o':
		return g_variant_new_object_path(v.s);
	case 'g':
		return g_variant_new_signature(v.s);
	default:
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "unexpected value of type '%c'",
		            type);
		return NULL;
	}
}

/* builds a container of type from the values up to the end of the one m is in */
static GVariant *
read_children(sd_bus_message *m, const GVariantType *type, GError **error)
{
	g_autoptr(GVariantBuilder) builder = g_variant_builder_new(type);
	int r;

	while ((r = sd_bus_message_at_end(m, FALSE)) == 0) {
		g_autoptr(GVariant) child = dfuctl_message_read_variant(m, error);
		if (child == NULL)
			return NULL;
		g_variant_builder_add_value(builder, child);
	}
	if (!check(r, error))
		return NULL;
	return g_variant_builder_end(builder);
}

static GVariant *
read_container(sd_bus_message *m, char type, const char *contents, GError **error)
{
	g_autoptr(GVariantType) array_type = NULL;
	g_autoptr(GVariant) inner = NULL;
	GVariant *result = NULL;

	if (!check(sd_bus_message_enter_container(m, type, contents), error))
		return NULL;
	if (type == 'v') {
		inner = dfuctl_message_read_variant(m, error);
		if (inner != NULL)
			result = g_variant_new_variant(inner);
	} else if (type == 'a') {
		array_type = g_variant_type_new_array((const GVariantType *)contents);
		result = read_children(m, array_type, error);
	} else {
		/* 'r' struct and 'e' dict entry: both are tuples of their children */
		result = read_children(m, type == 'e' ? G_VARIANT_TYPE_DICT_ENTRY : G_VARIANT_TYPE_TUPLE,
		                       error);
	}
	if (result == NULL)
		return NULL;
	g_variant_ref_sink(result);
	if (!check(sd_bus_message_exit_container(m), error)) {
		g_variant_unref(result);
		return NULL;
	}
	return result;
}

GVariant *
dfuctl_message_read_variant(sd_bus_message *m, GError **error)
{
	const char *contents = NULL;
	GVariant *value;
	char type = 0;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (!check(r, error))
		return NULL;
	if (r == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                    "reply from the daemon is too short");
		return NULL;
	}
	if (contents != NULL)
		return read_container(m, type, contents, error);
	value = read_basic(m, type, error);
	return value != NULL ? g_variant_ref_sink(value) : NULL;
}
