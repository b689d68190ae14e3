/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-variant.h"
#include "dfu-error.h"

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

static gboolean
set_bus_error(GError **error, int r, const char *what)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "malformed D-Bus message (%s): %s", what,
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
	int r = sd_bus_message_read_basic(m, type, &v);

	if (r < 0) {
		set_bus_error(error, r, "basic value");
		return NULL;
	}
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
		return g_variant_is_object_path(v.s) ? g_variant_new_object_path(v.s) : NULL;
	case 'g':
		return g_variant_is_signature(v.s) ? g_variant_new_signature(v.s) : NULL;
	default:
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "unexpected D-Bus type '%c'", type);
		return NULL;
	}
}

/* the values of the container of type that m is at, read up to and past its end */
static GPtrArray *
read_items(sd_bus_message *m, char type, const char *contents, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	int r = sd_bus_message_enter_container(m, type, contents);

	if (r < 0) {
		set_bus_error(error, r, "container");
		return NULL;
	}
	while ((r = sd_bus_message_at_end(m, FALSE)) == 0) {
		GVariant *item = dfu_bus_read_gvariant(m, error);
		if (item == NULL)
			return NULL;
		g_ptr_array_add(items, item);
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
		set_bus_error(error, r, "container end");
		return NULL;
	}
	return g_steal_pointer(&items);
}

static GVariant *
read_array(sd_bus_message *m, const char *contents, GError **error)
{
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(GVariantType) element = NULL;

	if (!g_variant_type_string_is_valid(contents)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "bad array signature '%s'",
		            contents);
		return NULL;
	}
	/* byte arrays are the payload path: one copy, no element walk */
	if (g_strcmp0(contents, "y") == 0) {
		const void *ptr = NULL;
		size_t size = 0;
		int r = sd_bus_message_read_array(m, 'y', &ptr, &size);
		if (r < 0) {
			set_bus_error(error, r, "byte array");
			return NULL;
		}
		return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, ptr, size, 1);
	}
	items = read_items(m, SD_BUS_TYPE_ARRAY, contents, error);
	if (items == NULL)
		return NULL;
	element = g_variant_type_new(contents);
	return g_variant_new_array(element, (GVariant **)items->pdata, items->len);
}

static GVariant *
read_group(sd_bus_message *m, char type, const char *contents, GError **error)
{
	g_autoptr(GPtrArray) items = read_items(m, type, contents, error);

	if (items == NULL)
		return NULL;
	if (type == SD_BUS_TYPE_VARIANT)
		return items->len == 1 ? g_variant_new_variant(g_ptr_array_index(items, 0)) : NULL;
	if (type == SD_BUS_TYPE_DICT_ENTRY)
		return items->len == 2 ? g_variant_new_dict_entry(g_ptr_array_index(items, 0),
		                                                  g_ptr_array_index(items, 1))
		                       : NULL;
	return g_variant_new_tuple((GVariant **)items->pdata, items->len);
}

GVariant *
dfu_bus_read_gvariant(sd_bus_message *m, GError **error)
{
	const char *contents = NULL;
	char type = 0;
	GVariant *value;
	int r = sd_bus_message_peek_type(m, &type, &contents);

	if (r <= 0) {
		if (r == 0)
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
			                    "D-Bus message ends early");
		else
			set_bus_error(error, r, "type");
		return NULL;
	}
	if (type == SD_BUS_TYPE_ARRAY)
		value = read_array(m, contents, error);
	else if (type == SD_BUS_TYPE_VARIANT || type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_DICT_ENTRY)
		value = read_group(m, type, contents, error);
	else
		value = read_basic(m, type, error);
	if (value == NULL) {
		if (error != NULL && *error == NULL)
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
			                    "malformed value in D-Bus message");
		return NULL;
	}
	return g_variant_ref_sink(value);
}
