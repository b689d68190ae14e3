/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-commands.h"
#include "dfuctl-inspect.h"

static const struct {
	guint type;
	const char *name;
} sig_names[] = {
        {0, "none"},
        {MCUBOOT_TLV_RSA2048_PSS, "rsa2048-pss"},
        {MCUBOOT_TLV_ECDSA_SIG, "ecdsa"},
        {MCUBOOT_TLV_RSA3072_PSS, "rsa3072-pss"},
        {MCUBOOT_TLV_ED25519, "ed25519"},
};

static const char *
sig_name(guint type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(sig_names); i++) {
		if (sig_names[i].type == type)
			return sig_names[i].name;
	}
	return "unknown";
}

static char *
hex(const guint8 *data, gsize len)
{
	GString *text = g_string_sized_new(2 * len);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(text, "%02x", data[i]);
	return g_string_free(text, FALSE);
}

char *
dfuctl_format_plan(const DfuPlan *plan)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *bundle_sha = hex(plan->bundle_sha256, sizeof(plan->bundle_sha256));

	g_string_append_printf(text, "kind: %s\nsha256: %s", dfu_bundle_kind_to_string(plan->kind),
	                       bundle_sha);
	for (guint i = 0; i < plan->images->len; i++) {
		const DfuPlanImage *img = g_ptr_array_index(plan->images, i);
		g_autofree char *hash = hex(img->info.hash, img->info.hash_len);
		g_autofree char *file_sha = hex(img->file_sha256, sizeof(img->file_sha256));

		g_string_append_printf(text,
		                       "\nimage %u: %s\n  version: %s\n  size: %zu\n  hash: %s\n"
		                       "  file sha256: %s\n  signature: %s",
		                       img->image_index, img->name, img->version, g_bytes_get_size(img->data),
		                       hash, file_sha, sig_name(img->info.sig_tlv_type));
		if (img->board != NULL)
			g_string_append_printf(text, "\n  board: %s", img->board);
		if (img->soc != NULL)
			g_string_append_printf(text, "\n  soc: %s", img->soc);
	}
	for (guint i = 0; plan->nrf5 != NULL && i < plan->nrf5->images->len; i++) {
		const Nrf5Image *img = g_ptr_array_index(plan->nrf5->images, i);
		g_autofree char *file_sha = hex(img->firmware_sha256, sizeof(img->firmware_sha256));

		g_string_append_printf(
		        text, "\n%s: %s\n  size: %zu\n  file sha256: %s\n  init packet: %s, %zu bytes",
		        nrf5_image_type_to_string(img->type), img->bin_file, g_bytes_get_size(img->firmware),
		        file_sha, img->dat_file, g_bytes_get_size(img->init_packet));
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static void
add_string(JsonBuilder *builder, const char *key, const char *value)
{
	json_builder_set_member_name(builder, key);
	if (value != NULL)
		json_builder_add_string_value(builder, value);
	else
		json_builder_add_null_value(builder);
}

static void
add_int(JsonBuilder *builder, const char *key, gint64 value)
{
	json_builder_set_member_name(builder, key);
	json_builder_add_int_value(builder, value);
}

static void
add_mcuboot_image(JsonBuilder *builder, const DfuPlanImage *img)
{
	g_autofree char *hash = hex(img->info.hash, img->info.hash_len);
	g_autofree char *file_sha = hex(img->file_sha256, sizeof(img->file_sha256));

	json_builder_begin_object(builder);
	add_int(builder, "index", img->image_index);
	add_string(builder, "name", img->name);
	add_string(builder, "version", img->version);
	add_int(builder, "size", (gint64)g_bytes_get_size(img->data));
	add_string(builder, "hash", hash);
	add_string(builder, "file_sha256", file_sha);
	add_string(builder, "board", img->board);
	add_string(builder, "soc", img->soc);
	add_string(builder, "signature", sig_name(img->info.sig_tlv_type));
	json_builder_end_object(builder);
}

static void
add_nrf5_image(JsonBuilder *builder, const Nrf5Image *img)
{
	g_autofree char *file_sha = hex(img->firmware_sha256, sizeof(img->firmware_sha256));

	json_builder_begin_object(builder);
	add_string(builder, "type", nrf5_image_type_to_string(img->type));
	add_string(builder, "name", img->bin_file);
	add_int(builder, "size", (gint64)g_bytes_get_size(img->firmware));
	add_string(builder, "file_sha256", file_sha);
	add_string(builder, "init_packet", img->dat_file);
	add_int(builder, "init_packet_size", (gint64)g_bytes_get_size(img->init_packet));
	json_builder_end_object(builder);
}

char *
dfuctl_json_plan(const DfuPlan *plan)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *bundle_sha = hex(plan->bundle_sha256, sizeof(plan->bundle_sha256));

	json_builder_begin_object(builder);
	add_string(builder, "kind", dfu_bundle_kind_to_string(plan->kind));
	add_string(builder, "sha256", bundle_sha);
	json_builder_set_member_name(builder, "images");
	json_builder_begin_array(builder);
	for (guint i = 0; i < plan->images->len; i++)
		add_mcuboot_image(builder, g_ptr_array_index(plan->images, i));
	for (guint i = 0; plan->nrf5 != NULL && i < plan->nrf5->images->len; i++)
		add_nrf5_image(builder, g_ptr_array_index(plan->nrf5->images, i));
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

char *
dfuctl_format_bundle_failure(const GError *error)
{
	guint code = dfu_error_get_status(error);
	const DfuStatusInfo *info = dfu_status_lookup(code);
	g_autoptr(GString) text = g_string_new(NULL);

	g_string_append_printf(text, "dfuctl: bundle failed: %s (%u): %s", dfu_status_to_name(code), code,
	                       error->message);
	if (info != NULL && info->hint != NULL)
		g_string_append_printf(text, "\nhint: %s", info->hint);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

int
dfuctl_cmd_inspect(const DfuctlArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_file(args->positional[0], NULL, &error);
	g_autofree char *out = NULL;

	if (plan == NULL) {
		g_autofree char *failure = dfuctl_format_bundle_failure(error);

		g_printerr("%s\n", failure);
		return DFUCTL_EXIT_FAILURE;
	}
	out = args->json ? dfuctl_json_plan(plan) : dfuctl_format_plan(plan);
	g_print("%s\n", out);
	return DFUCTL_EXIT_SUCCESS;
}
