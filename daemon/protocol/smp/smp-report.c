/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-report.h"

#include "dfu-hex.h"
#include "smp-commands.h"

static GVariant *
slot_flags(const SmpImageSlot *slot)
{
	const struct {
		gboolean set;
		const char *name;
	} flags[] = {
	        {slot->active, "active"},       {slot->confirmed, "confirmed"}, {slot->pending, "pending"},
	        {slot->permanent, "permanent"}, {slot->bootable, "bootable"},
	};
	GVariantBuilder names;

	g_variant_builder_init(&names, G_VARIANT_TYPE_STRING_ARRAY);
	for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
		if (flags[i].set)
			g_variant_builder_add(&names, "s", flags[i].name);
	}
	return g_variant_builder_end(&names);
}

GVariant *
smp_report_images(GPtrArray *slots)
{
	GVariantBuilder images;

	g_variant_builder_init(&images, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gsize len = 0;
		const guint8 *hash = slot->hash != NULL ? g_bytes_get_data(slot->hash, &len) : NULL;
		g_autofree char *hex = hash != NULL ? dfu_hex_encode(hash, len) : g_strdup("");

		g_variant_builder_open(&images, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&images, "{sv}", "image", g_variant_new_uint32(slot->image));
		g_variant_builder_add(&images, "{sv}", "slot", g_variant_new_uint32(slot->slot));
		g_variant_builder_add(&images, "{sv}", "version",
		                      g_variant_new_string(slot->version != NULL ? slot->version : ""));
		g_variant_builder_add(&images, "{sv}", "hash", g_variant_new_string(hex));
		g_variant_builder_add(&images, "{sv}", "flags", slot_flags(slot));
		g_variant_builder_close(&images);
	}
	return g_variant_builder_end(&images);
}
