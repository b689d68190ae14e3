/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-variant.h"
#include "dfu-error.h"

/* room for any basic value as sd-bus reads and writes it in memory */
typedef union {
	guint64 fixed;
	double d;
	int b;
	const char *s;
} BasicValue;

/*
 * The basic types whose GVariant serialised form is the very value sd-bus
 * takes (both native byte order): converted by copying bytes. Booleans are
 * not among them: one byte in GVariant, an int in sd-bus.
 */
static const struct {
	char type;
	guint8 size;
} fixed_types[] = {
        {'y', 1}, {'n', 2}, {'q', 2}, {'i', 4}, {'u', 4}, {'x', 8}, {'t', 8}, {'d', 8},
};

/* 0 when type is not a fixed type */
static gsize
fixed_size(char type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(fixed_types); i++) {
		if (fixed_types[i].type == type)
			return fixed_types[i].size;
	}
	return 0;
}

static gboolean
is_string_type(char type)
{
	return type == 's' || type == 'o' || type == 'g';
}

static int
append_basic(sd_bus_message *m, GVariant *value)
{
	char type = g_variant_get_type_string(value)[0];
	BasicValue v = {0};

	if (fixed_size(type) != 0)
		g_variant_store(value, &v);
	else if (type == 'b')
		v.b = g_variant_get_boolean(value);
	else if (is_string_type(type))
		return sd_bus_message_append_basic(m, type, g_variant_get_string(value, NULL));
	else
		/* handles (h) mean nothing outside the message that carried them */
		return -EINVAL;
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
	const char type_string[] = {type, '\0'};
	gsize size = fixed_size(type);
	BasicValue v = {0};
	int r;

	if (size == 0 && type != 'b' && !is_string_type(type)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "unexpected D-Bus type '%c'", type);
		return NULL;
	}
	r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0) {
		set_bus_error(error, r, "basic value");
		return NULL;
	}
	if (size != 0) {
		g_autoptr(GBytes) bytes = g_bytes_new(&v, size);
		return g_variant_new_from_bytes(G_VARIANT_TYPE(type_string), bytes, TRUE);
	}
	if (type == 'b')
		return g_variant_new_boolean(v.b);
	/* sd-bus checks these too, but GVariant must never be handed a bad one */
	if (type == 'o' && !g_variant_is_object_path(v.s))
		return NULL;
	if (type == 'g' && !g_variant_is_signature(v.s))
		return NULL;
	return g_variant_new(type_string, v.s);
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
