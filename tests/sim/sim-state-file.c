/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sim-state-file.h"

static void
add_slot(JsonBuilder *b, SimMcuboot *model, guint image, guint slot)
{
	SimSlotState state = {0};
	gboolean present = sim_mcuboot_slot_state(model, image, slot, &state);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "slot");
	json_builder_add_int_value(b, slot);
	json_builder_set_member_name(b, "version");
	if (present) {
		g_autofree char *version = mcuboot_version_to_string(&state.info.version);
		g_autofree char *hash = g_malloc(state.info.hash_len * 2 + 1);

		for (gsize i = 0; i < state.info.hash_len; i++)
			g_snprintf(hash + i * 2, 3, "%02x", state.info.hash[i]);
		hash[state.info.hash_len * 2] = '\0';
		json_builder_add_string_value(b, version);
		json_builder_set_member_name(b, "hash");
		json_builder_add_string_value(b, hash);
	} else {
		json_builder_add_null_value(b);
		json_builder_set_member_name(b, "hash");
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "bootable");
	json_builder_add_boolean_value(b, state.bootable);
	json_builder_set_member_name(b, "pending");
	json_builder_add_boolean_value(b, state.pending);
	json_builder_set_member_name(b, "confirmed");
	json_builder_add_boolean_value(b, state.confirmed);
	json_builder_set_member_name(b, "active");
	json_builder_add_boolean_value(b, state.active);
	json_builder_set_member_name(b, "permanent");
	json_builder_add_boolean_value(b, state.permanent);
	json_builder_end_object(b);
}

void
sim_state_file_add_counter(JsonBuilder *b, const char *name, guint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)MIN(value, (guint64)G_MAXINT64));
}

gboolean
sim_state_file_write(const char *path, SimMcuboot *model, const SimCounters *counters, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "images");
	json_builder_begin_array(b);
	for (guint image = 0; image < sim_mcuboot_get_images(model); image++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "image");
		json_builder_add_int_value(b, image);
		json_builder_set_member_name(b, "slots");
		json_builder_begin_array(b);
		add_slot(b, model, image, 0);
		add_slot(b, model, image, 1);
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "counters");
	json_builder_begin_object(b);
	sim_state_file_add_counter(b, "requests", counters->requests);
	sim_state_file_add_counter(b, "dropped_requests", counters->dropped_requests);
	sim_state_file_add_counter(b, "upload_bytes", counters->upload_bytes);
	sim_state_file_add_counter(b, "resets", counters->resets);
	sim_state_file_add_counter(b, "bad_frames", counters->bad_frames);
	sim_state_file_add_counter(b, "lost_datagrams", counters->lost_datagrams);
	json_builder_end_object(b);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	return sim_state_file_replace(path, text, error);
}

gboolean
sim_state_file_replace(const char *path, const char *text, GError **error)
{
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);

	if (!g_file_set_contents_full(tmp, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, error))
		return FALSE;
	if (g_rename(tmp, path) < 0) {
		int saved = errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
		            g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}
