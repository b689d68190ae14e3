/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "hawkbit-ddi.h"
#include "hawkbit-facts.h"

const char *
hb_facts_lookup(GVariant *props, const char *key)
{
	const char *value = NULL;

	return props != NULL && g_variant_lookup(props, key, "&s", &value) ? value : NULL;
}

static void
add_device_facts(GHashTable *facts, GVariant *device)
{
	static const char *const keys[][2] = {
	        {"Protocol", "protocol"},          {"Board", "board"},
	        {"Bootloader", "bootloader"},      {"BootloaderMode", "bootloader-mode"},
	        {"LastStatusName", "last-status"},
	};
	g_autoptr(GVariant) images = g_variant_lookup_value(device, "Images", G_VARIANT_TYPE("aa{sv}"));
	GVariantIter iter;
	GVariant *image;

	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		const char *value = hb_facts_lookup(device, keys[i][0]);

		if (value != NULL && value[0] != '\0')
			g_hash_table_insert(facts, g_strdup(keys[i][1]), g_strdup(value));
	}
	if (images == NULL)
		return;
	g_variant_iter_init(&iter, images);
	while ((image = g_variant_iter_next_value(&iter)) != NULL) {
		g_autoptr(GVariant) owned = image;
		guint32 number = 0, slot = 0;
		const char *version = hb_facts_lookup(image, "version");
		const char *hash = hb_facts_lookup(image, "hash");

		g_variant_lookup(image, "image", "u", &number);
		g_variant_lookup(image, "slot", "u", &slot);
		if (version != NULL)
			g_hash_table_insert(facts, g_strdup_printf("image%u.slot%u.version", number, slot),
			                    g_strdup(version));
		if (hash != NULL)
			g_hash_table_insert(facts, g_strdup_printf("image%u.slot%u.hash", number, slot),
			                    g_strdup(hash));
	}
}

char *
hb_facts_config_data(const HbNodeConfig *node, const char *gateway_id, GVariant *device,
                     const HbRecord *record)
{
	g_autoptr(GHashTable) facts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *colon = strchr(node->target, ':');

	g_hash_table_insert(facts, g_strdup("gateway"), g_strdup(gateway_id));
	g_hash_table_insert(facts, g_strdup("node"), g_strdup(node->name));
	g_hash_table_insert(facts, g_strdup("target"), g_strdup(node->target));
	if (colon != NULL)
		g_hash_table_insert(facts, g_strdup("transport"),
		                    g_strndup(node->target, (gsize)(colon - node->target)));
	/* without dfud's device objects, what the last job of an action said */
	if (record->status_name != NULL &&
	    (record->stage == HB_STAGE_FINISHED || record->stage == HB_STAGE_CLOSED)) {
		g_hash_table_insert(facts, g_strdup("last-status"), g_strdup(record->status_name));
		g_hash_table_insert(facts, g_strdup("last-action"), g_strdup(record->action));
	}
	if (device != NULL) {
		const char *target = hb_facts_lookup(device, "Target");
		const char *sep = target != NULL ? strchr(target, ':') : NULL;

		if (sep != NULL)
			g_hash_table_insert(facts, g_strdup("transport"),
			                    g_strndup(target, (gsize)(sep - target)));
		add_device_facts(facts, device);
	}
	return hb_ddi_config_data(facts);
}

const char *
hb_facts_running_version(GVariant *device)
{
	g_autoptr(GVariant) images =
	        device != NULL ? g_variant_lookup_value(device, "Images", G_VARIANT_TYPE("aa{sv}")) : NULL;
	const char *version = NULL;

	for (gsize i = 0; images != NULL && i < g_variant_n_children(images); i++) {
		g_autoptr(GVariant) image = g_variant_get_child_value(images, i);
		g_autofree const char **flags = NULL;
		guint32 number = 0;

		g_variant_lookup(image, "image", "u", &number);
		if (number != 0 || !g_variant_lookup(image, "flags", "^a&s", &flags) ||
		    !g_strv_contains(flags, "active"))
			continue;
		version = hb_facts_lookup(image, "version");
	}
	return version;
}
