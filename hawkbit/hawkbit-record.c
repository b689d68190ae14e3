/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <string.h>

#include "dfu-error.h"
#include "hawkbit-record.h"

static const char *const stage_names[] = {
        [HB_STAGE_NONE] = "none",
        [HB_STAGE_SUBMITTING] = "submitting",
        [HB_STAGE_FETCHING] = "fetching",
        [HB_STAGE_FETCHED] = "fetched",
        [HB_STAGE_INSTALLING] = "installing",
        [HB_STAGE_FINISHED] = "finished",
        [HB_STAGE_CLOSED] = "closed",
};

const char *
hb_stage_to_string(HbStage stage)
{
	return stage < G_N_ELEMENTS(stage_names) ? stage_names[stage] : "unknown";
}

void
hb_record_free(HbRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->action);
	g_free(record->job);
	g_free(record->status_name);
	g_free(record->message);
	g_free(record->facts);
	g_free(record->local_job);
	g_free(record);
}

void
hb_record_reset(HbRecord *r, const char *action)
{
	g_clear_pointer(&r->job, g_free);
	g_clear_pointer(&r->status_name, g_free);
	g_clear_pointer(&r->message, g_free);
	g_free(r->action);
	r->action = g_strdup(action);
	r->stage = HB_STAGE_NONE;
	r->fetch_only = FALSE;
	r->cancel_requested = FALSE;
	r->cancelled = FALSE;
	r->code = 0;
}

static char *
dup_member(JsonObject *o, const char *name)
{
	return g_strdup(json_object_get_string_member_with_default(o, name, NULL));
}

HbRecord *
hb_record_load(const char *path, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(HbRecord) r = g_new0(HbRecord, 1);
	g_autoptr(GError) local = NULL;
	const char *stage;
	JsonNode *root;
	JsonObject *o;

	if (!json_parser_load_from_mapped_file(parser, path, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&r);
		g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "%s: %s", path, local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "%s: not a JSON object", path);
		return NULL;
	}
	o = json_node_get_object(root);
	r->action = dup_member(o, "action");
	stage = json_object_get_string_member_with_default(o, "stage", "none");
	for (guint i = 0; i < G_N_ELEMENTS(stage_names); i++) {
		if (strcmp(stage, stage_names[i]) == 0)
			r->stage = i;
	}
	r->fetch_only = json_object_get_boolean_member_with_default(o, "fetch-only", FALSE);
	r->job = dup_member(o, "job");
	r->cancel_requested = json_object_get_boolean_member_with_default(o, "cancel-requested", FALSE);
	r->cancelled = json_object_get_boolean_member_with_default(o, "cancelled", FALSE);
	r->code = (guint)json_object_get_int_member_with_default(o, "code", 0);
	r->status_name = dup_member(o, "status-name");
	r->message = dup_member(o, "message");
	r->facts = dup_member(o, "facts");
	r->local_job = dup_member(o, "local-job");
	return g_steal_pointer(&r);
}

static void
add_string(JsonBuilder *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
}

static void
add_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

gboolean
hb_record_save(const HbRecord *r, const char *path, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	json_builder_begin_object(b);
	add_string(b, "action", r->action);
	add_string(b, "stage", hb_stage_to_string(r->stage));
	add_bool(b, "fetch-only", r->fetch_only);
	add_string(b, "job", r->job);
	add_bool(b, "cancel-requested", r->cancel_requested);
	add_bool(b, "cancelled", r->cancelled);
	json_builder_set_member_name(b, "code");
	json_builder_add_int_value(b, r->code);
	add_string(b, "status-name", r->status_name);
	add_string(b, "message", r->message);
	add_string(b, "facts", r->facts);
	add_string(b, "local-job", r->local_job);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	text = json_to_string(root, TRUE);
	/* g_file_set_contents writes a temporary file, syncs and renames it */
	if (!g_file_set_contents(path, text, -1, &local)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "%s", local->message);
		return FALSE;
	}
	return TRUE;
}
