/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "dfuctl-json.h"

char *
dfuctl_json_from_variant(GVariant *value)
{
	g_autoptr(JsonNode) node = json_gvariant_serialize(value);

	return json_to_string(node, FALSE);
}

char *
dfuctl_json_job(const DfuctlJob *job, const char *event, GVariant *history)
{
	g_autoptr(GVariant) properties = g_variant_ref_sink(dfuctl_job_to_variant(job));
	g_autoptr(GVariant) object = NULL;
	GVariantBuilder builder;
	GVariantIter iter;
	GVariant *entry;

	/* a builder, not a dict, keeps the members in the order of the job's fields */
	g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
	g_variant_iter_init(&iter, properties);
	while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
		g_variant_builder_add_value(&builder, entry);
		g_variant_unref(entry);
	}
	if (event != NULL)
		g_variant_builder_add(&builder, "{sv}", "Event", g_variant_new_string(event));
	if (history != NULL)
		g_variant_builder_add(&builder, "{sv}", "History", history);
	object = g_variant_ref_sink(g_variant_builder_end(&builder));
	return dfuctl_json_from_variant(object);
}

void
dfuctl_json_print_job(FILE *out, const DfuctlJob *job, const char *event)
{
	g_autofree char *line = dfuctl_json_job(job, event, NULL);

	fprintf(out, "%s\n", line);
}

char *
dfuctl_json_status(const DfuStatusInfo *info)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "Code");
	json_builder_add_int_value(builder, info->code);
	json_builder_set_member_name(builder, "Name");
	json_builder_add_string_value(builder, info->name);
	json_builder_set_member_name(builder, "Kind");
	json_builder_add_string_value(builder, dfu_status_kind_to_string(dfu_status_kind(info->code)));
	json_builder_set_member_name(builder, "DbusError");
	json_builder_add_string_value(builder, info->dbus_error);
	json_builder_set_member_name(builder, "Summary");
	json_builder_add_string_value(builder, info->summary);
	json_builder_set_member_name(builder, "Hint");
	json_builder_add_string_value(builder, info->hint);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	return json_to_string(root, FALSE);
}
