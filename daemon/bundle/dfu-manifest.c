/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "dfu-manifest.h"
#include "dfu-nesting.h"

/* MCUboot keeps the image number in four bits of the swap info */
#define MAX_IMAGE_INDEX 15

void
dfu_manifest_entry_free(DfuManifestEntry *entry)
{
	if (entry == NULL)
		return;
	g_free(entry->file);
	g_free(entry->board);
	g_free(entry->soc);
	g_free(entry->version);
	g_free(entry);
}

static const char *
member_string(JsonObject *object, const char *key)
{
	JsonNode *node = json_object_get_member(object, key);

	if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

/* The NCS generator writes "0" (a string) unless the value was hex, so take both. */
static gboolean
parse_image_index(JsonObject *object, const char *file, guint *index, GError **error)
{
	JsonNode *node = json_object_get_member(object, "image_index");
	guint64 value = 0;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		*index = 0;
		return TRUE;
	}
	if (json_node_get_value_type(node) == G_TYPE_INT64) {
		gint64 v = json_node_get_int(node);

		if (v < 0 || v > MAX_IMAGE_INDEX) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
			            "%s: image_index %" G_GINT64_FORMAT " is out of range", file, v);
			return FALSE;
		}
		*index = (guint)v;
		return TRUE;
	}
	if (json_node_get_value_type(node) != G_TYPE_STRING ||
	    !g_ascii_string_to_unsigned(json_node_get_string(node), 10, 0, MAX_IMAGE_INDEX, &value, NULL)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            "%s: image_index is not a number from 0 to %d", file, MAX_IMAGE_INDEX);
		return FALSE;
	}
	*index = (guint)value;
	return TRUE;
}

/* "slot": 0 or 1, or NCS's global number image × 2 + slot; either a number or a decimal string */
static gboolean
parse_slot(JsonObject *object, const char *file, guint image_index, int *slot, GError **error)
{
	JsonNode *node = json_object_get_member(object, "slot");
	guint64 value = G_MAXUINT64;

	*slot = -1;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (json_node_get_value_type(node) == G_TYPE_INT64 && json_node_get_int(node) >= 0)
		value = (guint64)json_node_get_int(node);
	else if (json_node_get_value_type(node) == G_TYPE_STRING)
		g_ascii_string_to_unsigned(json_node_get_string(node), 10, 0, G_MAXUINT32, &value, NULL);
	if (value < 2)
		*slot = (int)value;
	else if (value / 2 == image_index)
		*slot = (int)(value % 2);
	else {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            "%s: slot is neither 0 nor 1 nor a slot of image %u", file, image_index);
		return FALSE;
	}
	return TRUE;
}

/* Returns NULL without error for an entry that is not an application image. */
static DfuManifestEntry *
parse_entry(JsonNode *node, guint position, GError **error)
{
	g_autoptr(DfuManifestEntry) entry = g_new0(DfuManifestEntry, 1);
	JsonObject *object;
	const char *file;
	const char *type;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": files[%u] is not an object", position);
		return NULL;
	}
	object = json_node_get_object(node);
	file = member_string(object, "file");
	if (file == NULL || file[0] == '\0') {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": files[%u] has no \"file\" name", position);
		return NULL;
	}
	type = member_string(object, "type");
	if (json_object_has_member(object, "type") && g_strcmp0(type, "application") != 0) {
		g_info("%s: skipping image of type %s", file, type != NULL ? type : "(not a string)");
		return NULL;
	}
	entry->file = g_strdup(file);
	if (!parse_image_index(object, file, &entry->image_index, error))
		return NULL;
	entry->board = g_strdup(member_string(object, "board"));
	entry->soc = g_strdup(member_string(object, "soc"));
	entry->version = g_strdup(member_string(object, "version_MCUBOOT"));
	if (entry->version == NULL)
		entry->version = g_strdup(member_string(object, "version_MCUBOOT+XIP"));
	if (!parse_slot(object, file, entry->image_index, &entry->slot, error))
		return NULL;
	return g_steal_pointer(&entry);
}

static gboolean
check_unique_indices(GPtrArray *entries, GError **error)
{
	for (guint i = 0; i < entries->len; i++) {
		const DfuManifestEntry *a = g_ptr_array_index(entries, i);

		for (guint j = 0; j < i; j++) {
			const DfuManifestEntry *b = g_ptr_array_index(entries, j);

			/* one build per slot of a direct-XIP image: each names its own */
			if (a->image_index == b->image_index &&
			    (a->slot < 0 || b->slot < 0 || a->slot == b->slot)) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
				            DFU_MANIFEST_NAME ": %s and %s are both image_index %u%s",
				            b->file, a->file, a->image_index,
				            a->slot >= 0 && a->slot == b->slot ? " for the same slot" : "");
				return FALSE;
			}
		}
	}
	return TRUE;
}

static const DfuNestingLimits manifest_limits = {
        .what = DFU_MANIFEST_NAME,
        .max_size = DFU_MANIFEST_MAX_SIZE,
        .max_depth = DFU_MANIFEST_MAX_DEPTH,
        .code = DFU_STATUS_MALFORMED_MANIFEST,
};

JsonParser *
dfu_manifest_load_json(GBytes *json, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) json_error = NULL;
	gsize len = 0;
	const char *data = g_bytes_get_data(json, &len);

	/* json-glib recurses once per level: bound the depth before it sees the bytes */
	if (!dfu_json_check_limits(data, len, &manifest_limits, error))
		return NULL;
	/* an empty GBytes may hand out no data at all */
	if (!json_parser_load_from_data(parser, data != NULL ? data : "", len, &json_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST, DFU_MANIFEST_NAME ": %s",
		            json_error->message);
		return NULL;
	}
	return g_steal_pointer(&parser);
}

GPtrArray *
dfu_manifest_parse(GBytes *json, GError **error)
{
	g_autoptr(JsonParser) parser = dfu_manifest_load_json(json, error);
	g_autoptr(GPtrArray) entries =
	        g_ptr_array_new_with_free_func((GDestroyNotify)dfu_manifest_entry_free);
	JsonNode *root;
	JsonNode *files;
	JsonArray *list;

	if (parser == NULL)
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": top level is not an object");
		return NULL;
	}
	files = json_object_get_member(json_node_get_object(root), "files");
	if (files == NULL || !JSON_NODE_HOLDS_ARRAY(files)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": no \"files\" list");
		return NULL;
	}
	list = json_node_get_array(files);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		g_autoptr(GError) entry_error = NULL;
		DfuManifestEntry *entry = parse_entry(json_array_get_element(list, i), i, &entry_error);

		if (entry_error != NULL) {
			g_propagate_error(error, g_steal_pointer(&entry_error));
			return NULL;
		}
		if (entry != NULL)
			g_ptr_array_add(entries, entry);
	}
	if (entries->len == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": lists no application image");
		return NULL;
	}
	if (!check_unique_indices(entries, error))
		return NULL;
	return g_steal_pointer(&entries);
}
