/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-verify.h"

#include <string.h>

#include "dfu-error.h"
#include "dfu-signature.h"

#define KEY_HINT "put the trusted public keys (*.pem) in the [verify] KeyDirectory"

static void log_line(GPtrArray *log, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
log_line(GPtrArray *log, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(log, g_strdup_vprintf(format, args));
	va_end(args);
}

static char *
first_part(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash != NULL ? g_strndup(name, slash - name) : g_strdup(name);
}

gboolean
dfu_verify_board_matches(const char *board, const char *manifest_board, const char *manifest_soc)
{
	g_autofree char *board_base = NULL;
	g_autofree char *manifest_base = NULL;
	g_autofree char *underscored = NULL;

	g_return_val_if_fail(board != NULL, FALSE);
	if (manifest_board == NULL)
		return TRUE;
	/* the soc does not tell boards apart: two boards may share one */
	board_base = first_part(board);
	manifest_base = first_part(manifest_board);
	if (g_ascii_strcasecmp(board_base, manifest_base) == 0)
		return TRUE;
	/* Zephyr before hardware model v2 wrote "board/soc/cpu" as "board_soc_cpu" */
	underscored = g_strdelimit(g_strdup(board), "/", '_');
	return g_ascii_strcasecmp(underscored, manifest_board) == 0;
}

static gboolean
check_board(const DfuPlan *plan, const DfuVerifyOptions *opt, GPtrArray *log, GError **error)
{
	gboolean named = FALSE;

	if (opt->device_board == NULL) {
		log_line(log, "board not checked: %s declares no Board=", opt->device);
		return TRUE;
	}
	for (guint i = 0; i < plan->images->len; i++) {
		const DfuPlanImage *img = g_ptr_array_index(plan->images, i);

		if (img->board == NULL)
			continue;
		named = TRUE;
		if (!dfu_verify_board_matches(opt->device_board, img->board, img->soc)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BOARD_MISMATCH,
			            "%s is built for board %s%s%s%s, but %s is a %s", img->name, img->board,
			            img->soc != NULL ? " (soc " : "", img->soc != NULL ? img->soc : "",
			            img->soc != NULL ? ")" : "", opt->device, opt->device_board);
			return FALSE;
		}
	}
	if (named)
		log_line(log, "board %s matches the bundle", opt->device_board);
	else
		log_line(log, "board not checked: the bundle names no board");
	return TRUE;
}

static GBytes *
read_signature(const char *path, GError **error)
{
	g_autoptr(GError) read_error = NULL;
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, &read_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "bundle signature: %s",
		            read_error->message);
		return NULL;
	}
	return g_bytes_new_take(g_steal_pointer(&data), len);
}

/* Loads the trusted keys into @ring; without any, only a required policy fails. */
static gboolean
load_keys(const DfuVerifyOptions *opt, GPtrArray *log, DfuKeyRing **ring, GError **error)
{
	g_autoptr(GError) ring_error = NULL;

	if (opt->key_dir != NULL)
		*ring = dfu_key_ring_load(opt->key_dir, &ring_error);
	else
		g_set_error_literal(&ring_error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		                    "no key directory is set");
	if (*ring != NULL)
		return TRUE;
	if (opt->policy == DFU_SIGNATURE_POLICY_REQUIRED) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "signatures are required, but %s: " KEY_HINT, ring_error->message);
		return FALSE;
	}
	log_line(log, "signatures not checked: %s", ring_error->message);
	return TRUE;
}

static gboolean
check_bundle_signature(DfuKeyRing *ring, GBytes *bundle, const DfuVerifyOptions *opt, GPtrArray *log,
                       gboolean *verified, GError **error)
{
	g_autoptr(GBytes) signature = NULL;
	const char *key;

	*verified = FALSE;
	if (opt->signature_path == NULL) {
		if (opt->policy == DFU_SIGNATURE_POLICY_REQUIRED) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
			                    "signatures are required, but the bundle came without one "
			                    "(publish <bundle>.sig beside it)");
			return FALSE;
		}
		log_line(log, "bundle is not signed");
		return TRUE;
	}
	signature = read_signature(opt->signature_path, error);
	if (signature == NULL)
		return FALSE;
	key = dfu_signature_verify_bundle(ring, bundle, signature, error);
	if (key == NULL) {
		g_prefix_error(error, "bundle signature does not verify: ");
		return FALSE;
	}
	log_line(log, "bundle signature verified with key %s", key);
	*verified = TRUE;
	return TRUE;
}

/* A signature TLV that a trusted key fits must verify; one that no key fits is only logged. */
static gboolean
check_image_signatures(DfuKeyRing *ring, const DfuPlan *plan, gboolean bundle_verified, GPtrArray *log,
                       GError **error)
{
	for (guint i = 0; i < plan->images->len; i++) {
		const DfuPlanImage *img = g_ptr_array_index(plan->images, i);
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(img->data, &len);
		const char *key;

		if (img->info.sig_tlv_type == 0) {
			log_line(log, "%s carries no image signature%s", img->name,
			         bundle_verified ? "; the bundle signature covers it" : "");
			continue;
		}
		if (!dfu_signature_mcuboot_has_key(ring, data, len, &img->info)) {
			log_line(log, "%s: no trusted key fits its image signature (TLV 0x%02x); not checked",
			         img->name, img->info.sig_tlv_type);
			continue;
		}
		key = dfu_signature_verify_mcuboot(ring, data, len, &img->info, error);
		if (key == NULL) {
			g_prefix_error(error, "%s: ", img->name);
			return FALSE;
		}
		log_line(log, "%s: image signature verified with key %s", img->name, key);
	}
	return TRUE;
}

/*
 * Mesh init packets carry a raw P-256 signature for the nodes' device page
 * key: one that the trusted P-256 keys are there to check must verify.
 */
static gboolean
check_mesh_signatures(DfuKeyRing *ring, const MeshPackage *package, GPtrArray *log, GError **error)
{
	for (guint i = 0; i < package->images->len; i++) {
		const MeshImage *image = g_ptr_array_index(package->images, i);
		const char *type = mesh_dfu_type_to_string(image->init.type);
		const char *key;

		if (!image->init.is_signed) {
			log_line(log, "mesh %s carries no signature", type);
			continue;
		}
		if (!dfu_key_ring_has_p256(ring)) {
			log_line(log, "mesh %s: no trusted EC P-256 key to check its signature with", type);
			continue;
		}
		key = mesh_image_verify(image, ring, error);
		if (key == NULL) {
			g_prefix_error(error, "mesh %s: ", type);
			return FALSE;
		}
		log_line(log, "mesh %s: signature verified with key %s", type, key);
	}
	return TRUE;
}

/*
 * The checks over the bundle's raw bytes, run before any of its contents is
 * parsed: a hostile zip or manifest meets the parsers only when it is signed
 * by a trusted key or the policy lets unsigned bundles through. *ring is left
 * NULL when signatures are not checked.
 */
static gboolean
check_bundle_trust(GBytes *bundle, const DfuVerifyOptions *opt, GPtrArray *log, DfuKeyRing **ring,
                   gboolean *verified, GError **error)
{
	*verified = FALSE;
	if (opt->policy == DFU_SIGNATURE_POLICY_OFF) {
		log_line(log, "signatures not checked: the [verify] Signature policy is off");
		return TRUE;
	}
	if (!load_keys(opt, log, ring, error))
		return FALSE;
	return *ring == NULL || check_bundle_signature(*ring, bundle, opt, log, verified, error);
}

DfuPlan *
dfu_verify_load_file(const char *path, const char *name, const DfuVerifyOptions *options, GPtrArray *log,
                     GError **error)
{
	g_autoptr(GError) read_error = NULL;
	g_autoptr(GMappedFile) mapped = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(DfuPlan) plan = NULL;
	g_autoptr(DfuKeyRing) ring = NULL;
	g_autofree char *base = g_path_get_basename(path);
	gboolean verified = FALSE;

	g_return_val_if_fail(path != NULL && options != NULL && log != NULL, NULL);
	mapped = g_mapped_file_new(path, FALSE, &read_error);
	if (mapped == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: %s",
		            name != NULL ? name : base, read_error->message);
		return NULL;
	}
	bytes = g_mapped_file_get_bytes(mapped);
	if (!check_bundle_trust(bytes, options, log, &ring, &verified, error))
		return NULL;
	plan = dfu_plan_load_bytes(bytes, name != NULL ? name : base, error);
	if (plan == NULL)
		return NULL;
	/* nRF5 packages carry their signatures in the init packets, for the bootloader to check */
	if (ring != NULL && !check_image_signatures(ring, plan, verified, log, error))
		return NULL;
	if (ring != NULL && plan->mesh != NULL && !check_mesh_signatures(ring, plan->mesh, log, error))
		return NULL;
	if (!check_board(plan, options, log, error))
		return NULL;
	return g_steal_pointer(&plan);
}
