/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "dfu-error.h"
#include "hawkbit-ddi.h"

static const char *const mode_names[] = {
        [HB_MODE_SKIP] = "skip",
        [HB_MODE_ATTEMPT] = "attempt",
        [HB_MODE_FORCED] = "forced",
};

gboolean
hb_ddi_parse_sleep(const char *text, guint *seconds)
{
	guint h = 0, m = 0, s = 0;
	int end = 0;

	if (text == NULL || sscanf(text, "%2u:%2u:%2u%n", &h, &m, &s, &end) != 3 || text[end] != '\0' ||
	    m > 59 || s > 59)
		return FALSE;
	*seconds = h * 3600 + m * 60 + s;
	return TRUE;
}

static JsonObject *
parse_object(GBytes *body, JsonParser *parser, GError **error)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);
	g_autoptr(GError) json_error = NULL;
	JsonNode *root;

	if (!json_parser_load_from_data(parser, data != NULL ? data : "", (gssize)len, &json_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "the server's answer is no JSON: %s",
		            json_error->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "the server's answer is no JSON object");
		return NULL;
	}
	return json_node_get_object(root);
}

/* a string member, or NULL when absent or of another type */
static const char *
member_string(JsonObject *o, const char *name)
{
	JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;

	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

static JsonObject *
member_object(JsonObject *o, const char *name)
{
	JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;

	return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *
member_array(JsonObject *o, const char *name)
{
	JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;

	return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static char *
link_href(JsonObject *links, const char *name)
{
	return g_strdup(member_string(member_object(links, name), "href"));
}

gboolean
hb_ddi_parse_poll(GBytes *body, HbPoll *poll, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonObject *root = parse_object(body, parser, error);
	JsonObject *links;
	const char *sleep;

	memset(poll, 0, sizeof(*poll));
	if (root == NULL)
		return FALSE;
	sleep = member_string(member_object(member_object(root, "config"), "polling"), "sleep");
	if (sleep != NULL && !hb_ddi_parse_sleep(sleep, &poll->sleep_s)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "the polling sleep '%s' is no HH:MM:SS", sleep);
		return FALSE;
	}
	links = member_object(root, "_links");
	poll->deployment_href = link_href(links, "deploymentBase");
	poll->cancel_href = link_href(links, "cancelAction");
	poll->config_href = link_href(links, "configData");
	poll->installed_href = link_href(links, "installedBase");
	poll->confirmation_href = link_href(links, "confirmationBase");
	return TRUE;
}

void
hb_poll_clear(HbPoll *poll)
{
	g_clear_pointer(&poll->deployment_href, g_free);
	g_clear_pointer(&poll->cancel_href, g_free);
	g_clear_pointer(&poll->config_href, g_free);
	g_clear_pointer(&poll->installed_href, g_free);
	g_clear_pointer(&poll->confirmation_href, g_free);
}

static gboolean
parse_mode(JsonObject *deployment, const char *name, HbMode *mode, GError **error)
{
	const char *value = member_string(deployment, name);

	for (guint i = 0; value != NULL && i < G_N_ELEMENTS(mode_names); i++) {
		if (strcmp(mode_names[i], value) == 0) {
			*mode = i;
			return TRUE;
		}
	}
	g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
	            "deployment.%s is '%s', not skip, attempt or forced", name,
	            value != NULL ? value : "(missing)");
	return FALSE;
}

static gboolean
is_sha256(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return FALSE;
	for (const char *p = s; *p != '\0'; p++) {
		if (!g_ascii_isxdigit(*p))
			return FALSE;
	}
	return TRUE;
}

static gboolean
parse_artifact(JsonObject *artifact, gboolean allow_http, HbDeployment *d, GError **error)
{
	JsonObject *links = member_object(artifact, "_links");
	const char *sha256 = member_string(member_object(artifact, "hashes"), "sha256");
	JsonNode *size = artifact != NULL ? json_object_get_member(artifact, "size") : NULL;

	d->filename = g_strdup(member_string(artifact, "filename"));
	d->url = link_href(links, "download");
	if (d->url == NULL && allow_http)
		d->url = link_href(links, "download-http");
	if (d->filename == NULL || d->url == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		            "the artifact has no file name or no %s download link",
		            allow_http ? "usable" : "https");
		return FALSE;
	}
	if (!is_sha256(sha256)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		            "the artifact %s comes without a SHA-256 to check it against", d->filename);
		return FALSE;
	}
	d->sha256 = g_ascii_strdown(sha256, -1);
	if (size != NULL && JSON_NODE_HOLDS_VALUE(size) && json_node_get_value_type(size) == G_TYPE_INT64)
		d->size = (guint64)MAX(json_node_get_int(size), 0);
	return TRUE;
}

gboolean
hb_ddi_parse_deployment(GBytes *body, gboolean allow_http, HbDeployment *d, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonObject *root = parse_object(body, parser, error);
	JsonObject *deployment = member_object(root, "deployment");
	JsonArray *chunks = member_array(deployment, "chunks");
	JsonObject *chunk = NULL;
	JsonArray *artifacts = NULL;
	guint n_artifacts = 0;

	memset(d, 0, sizeof(*d));
	if (root == NULL)
		return FALSE;
	d->id = g_strdup(member_string(root, "id"));
	if (d->id == NULL || deployment == NULL || chunks == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		            "the deploymentBase lacks id or chunks");
		return FALSE;
	}
	if (!parse_mode(deployment, "download", &d->download, error) ||
	    !parse_mode(deployment, "update", &d->update, error))
		return FALSE;
	d->window_closed = g_strcmp0(member_string(deployment, "maintenanceWindow"), "unavailable") == 0;
	for (guint i = 0; i < json_array_get_length(chunks); i++) {
		JsonObject *c = json_array_get_object_element(chunks, i);
		JsonArray *a = member_array(c, "artifacts");

		n_artifacts += a != NULL ? json_array_get_length(a) : 0;
		if (a != NULL && json_array_get_length(a) > 0) {
			chunk = c;
			artifacts = a;
		}
	}
	if (n_artifacts != 1) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		            "the action carries %u artifacts; a node takes one bundle (put the images of a "
		            "node into one dfu_application.zip)",
		            n_artifacts);
		return FALSE;
	}
	d->name = g_strdup(member_string(chunk, "name"));
	d->version = g_strdup(member_string(chunk, "version"));
	return parse_artifact(json_array_get_object_element(artifacts, 0), allow_http, d, error);
}

void
hb_deployment_clear(HbDeployment *d)
{
	g_clear_pointer(&d->id, g_free);
	g_clear_pointer(&d->name, g_free);
	g_clear_pointer(&d->version, g_free);
	g_clear_pointer(&d->filename, g_free);
	g_clear_pointer(&d->url, g_free);
	g_clear_pointer(&d->sha256, g_free);
}

char *
hb_ddi_parse_cancel(GBytes *body, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonObject *root = parse_object(body, parser, error);
	const char *stop = member_string(member_object(root, "cancelAction"), "stopId");

	if (root == NULL)
		return NULL;
	if (stop == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "the cancelAction lacks its stopId");
		return NULL;
	}
	return g_strdup(stop);
}

char *
hb_ddi_href_action(const char *href)
{
	g_autofree char *path = g_strndup(href, strcspn(href, "?#"));
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? g_strdup(slash + 1) : NULL;
}

char *
hb_ddi_feedback(const char *execution, const char *finished, int code, const char *const *details, guint cnt,
                guint of)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "timestamp");
	json_builder_add_int_value(b, g_get_real_time() / 1000);
	json_builder_set_member_name(b, "status");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "execution");
	json_builder_add_string_value(b, execution);
	json_builder_set_member_name(b, "result");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "finished");
	json_builder_add_string_value(b, finished);
	if (of > 0) {
		json_builder_set_member_name(b, "progress");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "cnt");
		json_builder_add_int_value(b, cnt);
		json_builder_set_member_name(b, "of");
		json_builder_add_int_value(b, of);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	if (code >= 0) {
		json_builder_set_member_name(b, "code");
		json_builder_add_int_value(b, code);
	}
	json_builder_set_member_name(b, "details");
	json_builder_begin_array(b);
	for (guint i = 0; details != NULL && details[i] != NULL; i++)
		json_builder_add_string_value(b, details[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

char *
hb_ddi_confirmation(const char *detail)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "confirmation");
	json_builder_add_string_value(b, "confirmed");
	json_builder_set_member_name(b, "details");
	json_builder_begin_array(b);
	json_builder_add_string_value(b, detail);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

char *
hb_ddi_installed_base(const char *name, const char *version)
{
	g_autoptr(JsonObject) o = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);

	json_object_set_string_member(o, "name", name);
	json_object_set_string_member(o, "version", version);
	json_node_set_object(root, o);
	return json_to_string(root, FALSE);
}

char *
hb_ddi_config_data(GHashTable *facts)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(facts), (GCompareFunc)strcmp);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, "merge");
	json_builder_set_member_name(b, "data");
	json_builder_begin_object(b);
	for (GList *l = keys; l != NULL; l = l->next) {
		json_builder_set_member_name(b, l->data);
		json_builder_add_string_value(b, g_hash_table_lookup(facts, l->data));
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}
