/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "dfu-config-fetcher.h"
#include "dfu-error.h"
#include "dfu-file.h"
#include "dfu-hex.h"
#include "dfu-signature.h"
#include "dfuctl-args.h"
#include "dfuctl-bundle.h"
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

/* "0x00" for no SoftDevice, else the FWIDs in hex */
static char *
sd_req_text(const Nrf5InitPacket *init)
{
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < init->sd_req->len; i++)
		g_string_append_printf(text, "%s0x%04x", i > 0 ? "," : "",
		                       g_array_index(init->sd_req, guint32, i));
	return g_string_free(text, FALSE);
}

/* 0xFFFFFFFF is nrfutil's "not given" for both versions */
static char *
version_text(guint32 version)
{
	return version == G_MAXUINT32 ? g_strdup("not given") : g_strdup_printf("%u", version);
}

static void
append_init_packet(GString *text, const Nrf5InitPacket *init)
{
	g_autofree char *sd_req = NULL;
	g_autofree char *hash = NULL;
	g_autofree char *fw = NULL;
	g_autofree char *hw = NULL;
	const char *type;

	if (init == NULL) {
		g_string_append(text, "\n  init packet fields: unreadable");
		return;
	}
	sd_req = sd_req_text(init);
	hash = nrf5_init_packet_hash_hex(init);
	fw = version_text(init->fw_version);
	hw = version_text(init->hw_version);
	type = nrf5_init_type_to_string(init->type);
	g_string_append_printf(text,
	                       "\n  init type: %s\n  firmware version: %s\n  hardware version: %s\n"
	                       "  softdevice required: %s\n  init hash: %s %s\n  init signature: %s%s",
	                       type != NULL ? type : "unknown", fw, hw, sd_req[0] != '\0' ? sd_req : "none",
	                       nrf5_init_hash_type_to_string(init->hash_type), hash != NULL ? hash : "-",
	                       nrf5_init_signature_to_string(init), init->is_debug ? "\n  debug: yes" : "");
}

char *
dfuctl_format_plan(const DfuPlan *plan)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *bundle_sha = dfu_hex_encode(plan->bundle_sha256, sizeof(plan->bundle_sha256));

	g_string_append_printf(text, "kind: %s\nsha256: %s", dfu_bundle_kind_to_string(plan->kind),
	                       bundle_sha);
	for (guint i = 0; i < plan->images->len; i++) {
		const DfuPlanImage *img = g_ptr_array_index(plan->images, i);
		g_autofree char *hash = dfu_hex_encode(img->info.hash, img->info.hash_len);
		g_autofree char *file_sha = dfu_hex_encode(img->file_sha256, sizeof(img->file_sha256));

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
		g_autofree char *file_sha =
		        dfu_hex_encode(img->firmware_sha256, sizeof(img->firmware_sha256));

		g_string_append_printf(
		        text, "\n%s: %s\n  size: %zu\n  file sha256: %s\n  init packet: %s, %zu bytes",
		        nrf5_image_type_to_string(img->type), img->bin_file, g_bytes_get_size(img->firmware),
		        file_sha, img->dat_file, g_bytes_get_size(img->init_packet));
		append_init_packet(text, img->init);
	}
	for (guint i = 0; plan->mesh != NULL && i < plan->mesh->images->len; i++) {
		const MeshImage *img = g_ptr_array_index(plan->mesh->images, i);
		g_autofree char *fwid = mesh_fwid_to_string(img->init.type, &img->init.fwid);

		g_string_append_printf(
		        text,
		        "\nmesh %s: %s\n  size: %zu\n  firmware id: %s\n  init packet: %s, %s\n"
		        "  segments: %u",
		        mesh_dfu_type_to_string(img->init.type), img->files->bin_file,
		        g_bytes_get_size(img->files->firmware), fwid, img->files->dat_file,
		        img->init.is_signed ? "signed" : "unsigned", mesh_image_segments(img));
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
	g_autofree char *hash = dfu_hex_encode(img->info.hash, img->info.hash_len);
	g_autofree char *file_sha = dfu_hex_encode(img->file_sha256, sizeof(img->file_sha256));

	json_builder_begin_object(builder);
	add_int(builder, "Index", img->image_index);
	add_string(builder, "Name", img->name);
	add_string(builder, "Version", img->version);
	add_int(builder, "Size", (gint64)g_bytes_get_size(img->data));
	add_string(builder, "Hash", hash);
	add_string(builder, "FileSha256", file_sha);
	add_string(builder, "Board", img->board);
	add_string(builder, "Soc", img->soc);
	add_string(builder, "Signature", sig_name(img->info.sig_tlv_type));
	json_builder_end_object(builder);
}

static void
add_init_packet(JsonBuilder *builder, const Nrf5InitPacket *init)
{
	g_autofree char *hash = nrf5_init_packet_hash_hex(init);

	json_builder_begin_object(builder);
	add_string(builder, "Type", nrf5_init_type_to_string(init->type));
	add_int(builder, "FwVersion", init->fw_version);
	add_int(builder, "HwVersion", init->hw_version);
	json_builder_set_member_name(builder, "SdReq");
	json_builder_begin_array(builder);
	for (guint i = 0; i < init->sd_req->len; i++)
		json_builder_add_int_value(builder, g_array_index(init->sd_req, guint32, i));
	json_builder_end_array(builder);
	add_string(builder, "HashType", nrf5_init_hash_type_to_string(init->hash_type));
	add_string(builder, "Hash", hash);
	add_string(builder, "Signature", nrf5_init_signature_to_string(init));
	json_builder_set_member_name(builder, "Debug");
	json_builder_add_boolean_value(builder, init->is_debug);
	json_builder_end_object(builder);
}

static void
add_nrf5_image(JsonBuilder *builder, const Nrf5Image *img)
{
	g_autofree char *file_sha = dfu_hex_encode(img->firmware_sha256, sizeof(img->firmware_sha256));

	json_builder_begin_object(builder);
	add_string(builder, "Type", nrf5_image_type_to_string(img->type));
	add_string(builder, "Name", img->bin_file);
	add_int(builder, "Size", (gint64)g_bytes_get_size(img->firmware));
	add_string(builder, "FileSha256", file_sha);
	add_string(builder, "InitPacket", img->dat_file);
	add_int(builder, "InitPacketSize", (gint64)g_bytes_get_size(img->init_packet));
	json_builder_set_member_name(builder, "Init");
	if (img->init == NULL)
		json_builder_add_null_value(builder);
	else
		add_init_packet(builder, img->init);
	json_builder_end_object(builder);
}

static void
add_mesh_image(JsonBuilder *builder, const MeshImage *img)
{
	g_autofree char *fwid = mesh_fwid_to_string(img->init.type, &img->init.fwid);

	json_builder_begin_object(builder);
	add_string(builder, "type", mesh_dfu_type_to_string(img->init.type));
	add_string(builder, "name", img->files->bin_file);
	add_int(builder, "size", (gint64)g_bytes_get_size(img->files->firmware));
	add_string(builder, "firmware_id", fwid);
	add_string(builder, "init_packet", img->files->dat_file);
	json_builder_set_member_name(builder, "signed");
	json_builder_add_boolean_value(builder, img->init.is_signed);
	add_int(builder, "segments", mesh_image_segments(img));
	json_builder_end_object(builder);
}

/* the plan's members, into an object the caller began */
static void
add_plan_members(JsonBuilder *builder, const DfuPlan *plan)
{
	g_autofree char *bundle_sha = dfu_hex_encode(plan->bundle_sha256, sizeof(plan->bundle_sha256));

	add_string(builder, "Kind", dfu_bundle_kind_to_string(plan->kind));
	add_string(builder, "Sha256", bundle_sha);
	json_builder_set_member_name(builder, "Images");
	json_builder_begin_array(builder);
	for (guint i = 0; i < plan->images->len; i++)
		add_mcuboot_image(builder, g_ptr_array_index(plan->images, i));
	for (guint i = 0; plan->nrf5 != NULL && i < plan->nrf5->images->len; i++)
		add_nrf5_image(builder, g_ptr_array_index(plan->nrf5->images, i));
	for (guint i = 0; plan->mesh != NULL && i < plan->mesh->images->len; i++)
		add_mesh_image(builder, g_ptr_array_index(plan->mesh->images, i));
	json_builder_end_array(builder);
}

static char *
builder_to_json(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);

	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

char *
dfuctl_json_plan(const DfuPlan *plan)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	add_plan_members(builder, plan);
	json_builder_end_object(builder);
	return builder_to_json(builder);
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

void
dfuctl_signature_check_clear(DfuctlSignatureCheck *check)
{
	g_clear_pointer(&check->key, g_free);
	g_clear_pointer(&check->message, g_free);
}

/* how each state is named in JSON and told in text; the key or the reason follows the text */
static const struct {
	const char *name;
	const char *text;
} signature_states[] = {
        [DFUCTL_SIGNATURE_UNSIGNED] = {"unsigned", "unsigned"},
        [DFUCTL_SIGNATURE_VERIFIED] = {"verified", "signed, verified by "},
        [DFUCTL_SIGNATURE_BAD] = {"bad", "signature does not verify: "},
        [DFUCTL_SIGNATURE_UNCHECKED] = {"unchecked", "signed, not checked: "},
};

char *
dfuctl_format_signature(const DfuctlSignatureCheck *check)
{
	const char *detail = check->key != NULL ? check->key : check->message;

	return g_strconcat(signature_states[check->state].text, detail != NULL ? detail : "", NULL);
}

static GBytes *
read_file(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&data), len);
}

void
dfuctl_check_signature(const char *bundle_path, const char *sig_path, const char *key_dir,
                       DfuctlSignatureCheck *check)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuKeyRing) ring = NULL;
	g_autoptr(GMappedFile) mapped = NULL;
	g_autoptr(GBytes) bundle = NULL;
	g_autoptr(GBytes) signature = NULL;
	const char *key;

	dfuctl_signature_check_clear(check);
	check->state = DFUCTL_SIGNATURE_UNSIGNED;
	if (sig_path == NULL)
		return;
	check->state = DFUCTL_SIGNATURE_UNCHECKED;
	if (key_dir == NULL) {
		check->message = g_strdup("no readable key directory; give --keys DIR");
		return;
	}
	ring = dfu_key_ring_load(key_dir, &error);
	mapped = ring != NULL ? g_mapped_file_new(bundle_path, FALSE, &error) : NULL;
	signature = mapped != NULL ? read_file(sig_path, &error) : NULL;
	if (signature == NULL) {
		check->message = g_strdup(error->message);
		return;
	}
	bundle = g_mapped_file_get_bytes(mapped);
	key = dfu_signature_verify_bundle(ring, bundle, signature, &error);
	if (key == NULL) {
		check->state = DFUCTL_SIGNATURE_BAD;
		check->message = g_strdup_printf("none of the %u keys in %s verifies it",
		                                 dfu_key_ring_get_size(ring), key_dir);
		return;
	}
	check->state = DFUCTL_SIGNATURE_VERIFIED;
	check->key = g_strdup(key);
}

char *
dfuctl_json_inspection(const DfuPlan *plan, const DfuctlSignatureCheck *check)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	add_plan_members(builder, plan);
	json_builder_set_member_name(builder, "Signature");
	json_builder_begin_object(builder);
	add_string(builder, "Status", signature_states[check->state].name);
	add_string(builder, "Key", check->key);
	add_string(builder, "Message", check->message);
	json_builder_end_object(builder);
	json_builder_end_object(builder);
	return builder_to_json(builder);
}

/* ---- fetching a URL into a throw-away cache ---- */

typedef struct {
	GMainLoop *loop;
	char *path;
	GError *error;
	guint http_status;
} Download;

static void
on_fetched(DfuFetch *fetch, const char *path, const char *sha256, const GError *error, GVariant *device_error,
           gpointer user_data)
{
	Download *d = user_data;

	d->path = g_strdup(path);
	d->error = error != NULL ? g_error_copy(error) : NULL;
	if (device_error != NULL)
		g_variant_lookup(device_error, "http-status", "u", &d->http_status);
	g_main_loop_quit(d->loop);
}

/* Downloads @url into @cache_dir; NULL with error when it failed, http_status set when the server said why.
 */
static char *
download(DfuFetcher *fetcher, const char *url, const char *cache_dir, guint *http_status, GError **error)
{
	Download d = {.loop = g_main_loop_new(NULL, FALSE)};

	if (dfu_fetcher_fetch(fetcher, url, NULL, cache_dir, NULL, on_fetched, &d, error) == NULL) {
		g_main_loop_unref(d.loop);
		return NULL;
	}
	g_main_loop_run(d.loop);
	g_main_loop_unref(d.loop);
	*http_status = d.http_status;
	if (d.error != NULL)
		g_propagate_error(error, d.error);
	return d.path;
}

static void
remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

/* what a local inspection reads: the bundle and its signature, fetched or given */
typedef struct {
	char *cache_dir; /* removed on clear, when a URL was fetched */
	char *bundle_path;
	char *sig_path; /* NULL when there is none */
	char *name;
} InspectInput;

static void
inspect_input_clear(InspectInput *in)
{
	if (in->cache_dir != NULL)
		remove_tree(in->cache_dir);
	g_free(in->cache_dir);
	g_free(in->bundle_path);
	g_free(in->sig_path);
	g_free(in->name);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(InspectInput, inspect_input_clear)

static gboolean
fetch_input(const char *url, const DfuConfig *config, InspectInput *in, GError **error)
{
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new_for_config(config);
	g_autofree char *template = NULL;
	g_autofree char *sig_url = g_strconcat(url, ".sig", NULL);
	g_autoptr(GError) sig_error = NULL;
	g_autofree char *trimmed = g_strndup(url, strcspn(url, "?#"));
	const char *runtime = g_getenv("XDG_RUNTIME_DIR");
	guint http_status = 0;

	template = g_build_filename(
	        runtime != NULL && g_file_test(runtime, G_FILE_TEST_IS_DIR) ? runtime : g_get_tmp_dir(),
	        "dfuctl-inspect-XXXXXX", NULL);
	if (g_mkdtemp(template) == NULL)
		return dfu_file_error(error, "create", template, errno);
	in->cache_dir = g_steal_pointer(&template);
	in->name = g_path_get_basename(trimmed);
	in->bundle_path = download(fetcher, url, in->cache_dir, &http_status, error);
	if (in->bundle_path == NULL)
		return FALSE;
	in->sig_path = download(fetcher, sig_url, in->cache_dir, &http_status, &sig_error);
	/* no signature published is an answer too; anything else leaves the question open */
	if (in->sig_path == NULL && http_status != 404) {
		g_propagate_prefixed_error(error, g_steal_pointer(&sig_error), "%s: ", sig_url);
		return FALSE;
	}
	return TRUE;
}

static void
local_input(const char *path, InspectInput *in)
{
	g_autofree char *sig = g_strconcat(path, ".sig", NULL);

	in->bundle_path = g_strdup(path);
	in->name = g_path_get_basename(path);
	if (g_file_test(sig, G_FILE_TEST_IS_REGULAR))
		in->sig_path = g_steal_pointer(&sig);
}

/* --keys, else the configured key directory when this user can read it */
static const char *
pick_key_dir(const DfuctlArgs *args, const DfuConfig *config)
{
	if (args->keys != NULL)
		return args->keys;
	if (config->key_dir != NULL && g_access(config->key_dir, R_OK | X_OK) == 0)
		return config->key_dir;
	return NULL;
}

/*
 * The daemon's rule: with keys to check with, a signature that does not verify,
 * or none under Signature=required, refuses the bundle before it is parsed.
 */
static gboolean
check_trust(const DfuctlSignatureCheck *check, const char *key_dir, const DfuConfig *config, GError **error)
{
	if (check->state == DFUCTL_SIGNATURE_BAD) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "signature does not verify: %s",
		            check->message);
		return FALSE;
	}
	if (check->state == DFUCTL_SIGNATURE_UNSIGNED && key_dir != NULL &&
	    config->signature_policy == DFU_SIGNATURE_POLICY_REQUIRED) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		                    "signatures are required, but the bundle came without one "
		                    "(publish <bundle>.sig beside it)");
		return FALSE;
	}
	return TRUE;
}

int
dfuctl_cmd_inspect(const DfuctlArgs *args)
{
	const char *arg = args->positional[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuConfig) config = dfu_config_load(NULL, &error);
	g_auto(InspectInput) in = {0};
	g_auto(DfuctlSignatureCheck) check = {0};
	g_autoptr(DfuPlan) plan = NULL;
	g_autofree char *out = NULL;
	const char *key_dir;

	if (config == NULL) {
		g_printerr("dfuctl: %s; using the defaults\n", error->message);
		g_clear_error(&error);
		config = dfu_config_new_default();
	}
	if (dfuctl_bundle_is_url(arg)) {
		if (!fetch_input(arg, config, &in, &error)) {
			g_printerr("dfuctl: %s\n", error->message);
			return DFUCTL_EXIT_FAILURE;
		}
	} else {
		/* the same plain refusal as start gives, before any parsing */
		if (!dfuctl_bundle_check(arg, &error))
			return dfuctl_fail(error);
		local_input(arg, &in);
	}
	key_dir = pick_key_dir(args, config);
	/* the signature is checked over the raw bytes first: an untrusted bundle is never parsed */
	dfuctl_check_signature(in.bundle_path, in.sig_path, key_dir, &check);
	if (check_trust(&check, key_dir, config, &error))
		plan = dfu_plan_load_file(in.bundle_path, in.name, &error);
	if (plan == NULL) {
		g_autofree char *failure = dfuctl_format_bundle_failure(error);

		g_printerr("%s\n", failure);
		return DFUCTL_EXIT_FAILURE;
	}
	if (args->json) {
		out = dfuctl_json_inspection(plan, &check);
	} else {
		g_autofree char *text = dfuctl_format_plan(plan);
		g_autofree char *signature = dfuctl_format_signature(&check);

		out = g_strdup_printf("%s\nbundle signature: %s", text, signature);
	}
	g_print("%s\n", out);
	return DFUCTL_EXIT_SUCCESS;
}
