/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>

#include "bundle-writer.h"
#include "dfu-error.h"
#include "dfu-verify.h"
#include "mcuboot-writer.h"
#include "mesh-writer.h"
#include "test-util.h"

/* Keys made and bundles signed with the openssl commands that the documentation gives. */
typedef struct {
	char *root;   /* holds the private keys and keys/, the trusted public ones */
	char *keys;   /* the trusted public keys */
	char *ec_key; /* private, trusted */
	char *ed_key; /* private, trusted */
	char *rogue;  /* private EC key that is not trusted */
} Keys;

typedef struct {
	char *root; /* this test's files */
	const char *keys;
	const char *ec_key;
	const char *ed_key;
	const char *rogue;
	GPtrArray *log; /* what verify logged */
} Fixture;

/* made once: key generation is the slow part */
static Keys keys;

static void
keys_make(Keys *k)
{
	k->root = g_dir_make_tmp("dfud-keys-XXXXXX", NULL);
	k->keys = g_build_filename(k->root, "keys", NULL);
	g_assert_cmpint(g_mkdir(k->keys, 0755), ==, 0);
	dfu_test_openssl(k->root,
	                 "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out release-ec.pem");
	dfu_test_openssl(k->root, "pkey -in release-ec.pem -pubout -out keys/release-ec.pem");
	dfu_test_openssl(k->root, "genpkey -algorithm ed25519 -out release-ed.pem");
	dfu_test_openssl(k->root, "pkey -in release-ed.pem -pubout -out keys/release-ed.pem");
	dfu_test_openssl(k->root, "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue.pem");
	k->ec_key = g_build_filename(k->root, "release-ec.pem", NULL);
	k->ed_key = g_build_filename(k->root, "release-ed.pem", NULL);
	k->rogue = g_build_filename(k->root, "rogue.pem", NULL);
}

static void
keys_clear(Keys *k)
{
	dfu_test_remove_tree(k->root);
	g_free(k->root);
	g_free(k->keys);
	g_free(k->ec_key);
	g_free(k->ed_key);
	g_free(k->rogue);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->root = g_dir_make_tmp("dfud-verify-XXXXXX", NULL);
	f->keys = keys.keys;
	f->ec_key = keys.ec_key;
	f->ed_key = keys.ed_key;
	f->rogue = keys.rogue;
	f->log = g_ptr_array_new_with_free_func(g_free);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->root);
	g_free(f->root);
	g_ptr_array_unref(f->log);
}

static char *
write_file(Fixture *f, const char *name, GBytes *bytes)
{
	char *path = g_build_filename(f->root, name, NULL);

	g_assert_true(
	        g_file_set_contents(path, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), NULL));
	return path;
}

/* Signs @bundle_path into <bundle_path>.sig, as the SIGNING section says. */
static char *
sign(Fixture *f, const char *bundle_path, const char *key)
{
	char *sig = g_strconcat(bundle_path, ".sig", NULL);
	g_autofree char *args = NULL;

	if (strstr(key, "-ed") != NULL)
		args = g_strdup_printf("pkeyutl -sign -inkey %s -rawin -in %s -out %s", key, bundle_path,
		                       sig);
	else
		args = g_strdup_printf("dgst -sha256 -sign %s -out %s %s", key, sig, bundle_path);
	dfu_test_openssl(f->root, args);
	return sig;
}

static GBytes *
make_image(const char *sign_key)
{
	McubootWriterOptions opts = {.version = {1, 2, 0, 0}, .payload_size = 700, .seed = 9};
	g_autoptr(GError) error = NULL;
	GBytes *image;

	opts.sign_key_path = sign_key;
	image = mcuboot_writer_build(&opts, &error);
	g_assert_no_error(error);
	return image;
}

static GBytes *
make_zip(const char *board, const char *soc)
{
	g_autoptr(GBytes) image = make_image(NULL);
	const BundleWriterImage images[] = {{"app.bin", image, 0}};
	const BundleWriterManifestOptions opts = {.board = board, .soc = soc};
	g_autoptr(GError) error = NULL;
	GBytes *zip = bundle_writer_dfu_zip(images, 1, &opts, &error);

	g_assert_no_error(error);
	return zip;
}

static gboolean
logged(Fixture *f, const char *needle)
{
	for (guint i = 0; i < f->log->len; i++) {
		if (strstr(g_ptr_array_index(f->log, i), needle) != NULL)
			return TRUE;
	}
	return FALSE;
}

/* Loads and verifies @path; returns the error, or NULL when it passed. */
static GError *
verify(Fixture *f, const char *path, const char *sig, DfuSignaturePolicy policy, const char *board)
{
	DfuVerifyOptions opts = {
	        .policy = policy,
	        .key_dir = f->keys,
	        .signature_path = sig,
	        .device_board = board,
	        .device = "kitchen-node",
	};
	GError *error = NULL;
	g_autoptr(DfuPlan) plan = dfu_verify_load_file(path, NULL, &opts, f->log, &error);

	g_assert_true((plan == NULL) == (error != NULL));
	for (guint i = 0; i < f->log->len; i++)
		g_test_message("log: %s", (const char *)g_ptr_array_index(f->log, i));
	if (error != NULL)
		g_test_message("error: %s", error->message);
	return error;
}

static void
expect_error(GError *error, DfuStatus code, const char *words)
{
	g_autoptr(GError) owned = error;

	g_assert_error(owned, DFU_ERROR, (gint)code);
	g_assert_nonnull(strstr(owned->message, words));
}

static void
test_required_unsigned(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(NULL);
	g_autofree char *path = write_file(f, "app.bin", image);

	expect_error(verify(f, path, NULL, DFU_SIGNATURE_POLICY_REQUIRED, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "came without one");
}

static void
test_required_valid(Fixture *f, gconstpointer data)
{
	const char *key = data != NULL ? f->ed_key : f->ec_key;
	g_autoptr(GBytes) zip = make_zip(NULL, NULL);
	g_autofree char *path = write_file(f, "app.zip", zip);
	g_autofree char *sig = sign(f, path, key);
	g_autofree char *trusted =
	        g_build_filename(f->keys, data != NULL ? "release-ed.pem" : "release-ec.pem", NULL);
	g_autofree char *line = g_strdup_printf("bundle signature verified with key %s", trusted);

	g_assert_null(verify(f, path, sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL));
	g_assert_true(logged(f, line));
	g_assert_true(logged(f, "app.bin carries no image signature; the bundle signature covers it"));
}

static void
test_required_untrusted_key(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) zip = make_zip(NULL, NULL);
	g_autofree char *path = write_file(f, "app.zip", zip);
	g_autofree char *sig = sign(f, path, f->rogue);

	expect_error(verify(f, path, sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "bundle signature does not verify");
}

/* a signature made for other bytes: the bundle changed after signing */
static void
test_required_tampered(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) zip = make_zip(NULL, NULL);
	g_autoptr(GBytes) other = make_zip("nrf52dk", NULL);
	g_autofree char *path = write_file(f, "app.zip", zip);
	g_autofree char *sig = sign(f, path, f->ed_key);
	g_autofree char *swapped = write_file(f, "app.zip", other);

	expect_error(verify(f, swapped, sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "does not verify");
}

static void
test_required_no_keys(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(NULL);
	g_autofree char *path = write_file(f, "app.bin", image);
	g_autofree char *sig = sign(f, path, f->ec_key);
	DfuVerifyOptions opts = {
	        .policy = DFU_SIGNATURE_POLICY_REQUIRED, .signature_path = sig, .device = "d"};
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_verify_load_file(path, NULL, &opts, f->log, &error);

	g_assert_null(plan);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_assert_nonnull(strstr(error->message, "KeyDirectory"));
	g_clear_error(&error);
	/* a directory without keys is no better */
	opts.key_dir = f->root;
	g_assert_null(dfu_verify_load_file(path, NULL, &opts, f->log, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_assert_nonnull(strstr(error->message, "KeyDirectory"));
}

static void
test_optional(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(NULL);
	g_autofree char *path = write_file(f, "app.bin", image);
	g_autofree char *sig = sign(f, path, f->rogue);

	g_assert_null(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, "bundle is not signed"));
	/* present, so checked */
	expect_error(verify(f, path, sig, DFU_SIGNATURE_POLICY_OPTIONAL, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "does not verify");
}

static void
test_optional_without_keys(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(NULL);
	g_autofree char *path = write_file(f, "app.bin", image);
	g_autofree char *sig = sign(f, path, f->rogue);

	f->keys = f->root;
	g_assert_null(verify(f, path, sig, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, "signatures not checked: key directory"));
	g_assert_true(logged(f, "holds no EC P-256 or Ed25519 public key"));
}

static void
test_off(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(NULL);
	g_autofree char *path = write_file(f, "app.bin", image);
	g_autofree char *sig = sign(f, path, f->rogue);

	g_assert_null(verify(f, path, sig, DFU_SIGNATURE_POLICY_OFF, NULL));
	g_assert_true(logged(f, "policy is off"));
}

static void
test_image_signature(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(f->ec_key);
	g_autofree char *path = write_file(f, "app.bin", image);
	g_autofree char *trusted = g_build_filename(f->keys, "release-ec.pem", NULL);
	g_autofree char *line = g_strdup_printf("app.bin: image signature verified with key %s", trusted);

	g_assert_null(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, line));
}

/* an image signed by a key that is not trusted cannot be checked here: MCUboot will */
static void
test_image_signature_other_key(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(f->rogue);
	g_autofree char *path = write_file(f, "app.bin", image);

	g_assert_null(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, "app.bin: no trusted key fits its image signature"));
}

/* a mesh package signed with key (NULL: unsigned), written to the fixture's folder */
static char *
write_mesh(Fixture *f, const char *name, const char *key_path)
{
	guint8 data[512];
	g_autoptr(GBytes) firmware = NULL;
	MeshWriterImage image = {.type = MESH_DFU_TYPE_APPLICATION,
	                         .fwid = {.company = 0x59, .app_id = 1, .app_version = 2}};
	EVP_PKEY *key = key_path != NULL ? mcuboot_writer_load_private_key(key_path, NULL) : NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = NULL;

	mcuboot_writer_fill_payload(data, sizeof(data), 3);
	firmware = g_bytes_new(data, sizeof(data));
	image.firmware = firmware;
	zip = mesh_writer_zip(&image, 1, key, &error);
	g_assert_no_error(error);
	EVP_PKEY_free(key);
	return write_file(f, name, zip);
}

/* the trusted P-256 keys check a mesh init packet's signature, as the nodes' key would */
static void
test_mesh_signature(Fixture *f, gconstpointer data)
{
	g_autofree char *good = write_mesh(f, "good.zip", f->ec_key);
	g_autofree char *rogue = write_mesh(f, "rogue.zip", f->rogue);
	g_autofree char *plain = write_mesh(f, "plain.zip", NULL);

	g_assert_null(verify(f, good, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, "mesh application: signature verified with key"));
	expect_error(verify(f, rogue, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "mesh application: the signature does not verify with the 1 EC P-256 key");
	g_assert_null(verify(f, plain, NULL, DFU_SIGNATURE_POLICY_OPTIONAL, NULL));
	g_assert_true(logged(f, "mesh application carries no signature"));
}

static void
test_image_signature_bad(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) image = make_image(f->ed_key);
	gsize len = 0;
	guint8 *bytes = g_bytes_unref_to_data(g_bytes_ref(image), &len);
	g_autoptr(GBytes) broken = NULL;
	McubootImageInfo info;
	g_autofree char *path = NULL;
	g_autofree char *sig = NULL;

	g_assert_true(mcuboot_image_parse(bytes, len, &info, NULL));
	bytes[info.sig_offset + 5] ^= 0x40;
	broken = g_bytes_new_take(bytes, len);
	path = write_file(f, "app.bin", broken);
	/* even a bundle signature over the broken image does not make it good */
	sig = sign(f, path, f->ec_key);
	expect_error(verify(f, path, sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL), DFU_STATUS_BAD_SIGNATURE,
	             "app.bin: image signature does not verify");
}

static void
test_board(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) zip = make_zip("nrf5340dk/nrf5340/cpuapp", "nrf5340");
	g_autoptr(GBytes) plain = make_image(NULL);
	g_autofree char *path = write_file(f, "app.zip", zip);
	g_autofree char *bare = write_file(f, "app.bin", plain);

	g_assert_null(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OFF, "nrf5340dk"));
	g_assert_true(logged(f, "board nrf5340dk matches the bundle"));
	g_assert_null(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OFF, NULL));
	g_assert_true(logged(f, "board not checked: kitchen-node declares no Board="));
	g_assert_null(verify(f, bare, NULL, DFU_SIGNATURE_POLICY_OFF, "nrf5340dk"));
	g_assert_true(logged(f, "board not checked: the bundle names no board"));
	expect_error(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OFF, "nrf52840dk"), DFU_STATUS_BOARD_MISMATCH,
	             "app.bin is built for board nrf5340dk/nrf5340/cpuapp (soc nrf5340), but kitchen-node is "
	             "a nrf52840dk");
}

static void
test_board_names(void)
{
	static const struct {
		const char *device;
		const char *board;
		gboolean match;
	} cases[] = {
	        {"nrf52840dk", "nrf52840dk", TRUE},
	        {"NRF52840DK", "nrf52840dk", TRUE},
	        {"nrf5340dk", "nrf5340dk/nrf5340/cpuapp", TRUE},
	        {"nrf5340dk/nrf5340/cpuapp", "nrf5340dk", TRUE},
	        {"nrf5340dk/nrf5340/cpuapp", "nrf5340dk/nrf5340/cpunet", TRUE},
	        {"nrf5340dk/nrf5340/cpuapp", "nrf5340dk_nrf5340_cpuapp", TRUE},
	        {"nrf52840dk/nrf52840", "nrf52840dk_nrf52840", TRUE},
	        {"nrf52840dk", "nrf52840dongle", FALSE},
	        {"nrf52840dk", "nrf52840dk_nrf52840", FALSE},
	        {"nrf52dk", "nrf52840dk/nrf52840", FALSE},
	        {"", "nrf52dk", FALSE},
	        {"nrf52dk", "", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s vs %s", cases[i].device, cases[i].board);
		g_assert_cmpint(dfu_verify_board_matches(cases[i].device, cases[i].board, NULL), ==,
		                cases[i].match);
	}
	g_assert_true(dfu_verify_board_matches("nrf52dk", NULL, "nrf52832"));
}

static GBytes *
make_deep_zip(void)
{
	g_autoptr(GBytes) json = dfu_test_repeat("[", 1, 1000000);
	g_autoptr(GError) error = NULL;
	GBytes *zip = bundle_writer_manifest_zip(json, &error);

	g_assert_no_error(error);
	return zip;
}

/* Signature=required: the signature is checked over the raw bytes before anything is parsed */
static void
test_required_before_parsing(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) deep = make_deep_zip();
	g_autoptr(GBytes) junk = g_bytes_new_static("neither an image nor a zip", 26);
	g_autofree char *deep_path = write_file(f, "deep.zip", deep);
	g_autofree char *junk_path = write_file(f, "junk.bin", junk);
	g_autofree char *rogue_sig = NULL;

	/* parsed, junk would fail as unsupported-bundle: the signature check never lets it get there */
	expect_error(verify(f, junk_path, NULL, DFU_SIGNATURE_POLICY_REQUIRED, NULL),
	             DFU_STATUS_BAD_SIGNATURE, "came without one");
	expect_error(verify(f, deep_path, NULL, DFU_SIGNATURE_POLICY_REQUIRED, NULL),
	             DFU_STATUS_BAD_SIGNATURE, "came without one");
	rogue_sig = sign(f, deep_path, f->rogue);
	expect_error(verify(f, deep_path, rogue_sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL),
	             DFU_STATUS_BAD_SIGNATURE, "bundle signature does not verify");
	/* optional: a signature that is there is checked first too */
	expect_error(verify(f, deep_path, rogue_sig, DFU_SIGNATURE_POLICY_OPTIONAL, NULL),
	             DFU_STATUS_BAD_SIGNATURE, "bundle signature does not verify");
}

/* a trusted signature lets the bundle be parsed, and the nesting limit still holds */
static void
test_signed_deep_manifest(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) deep = make_deep_zip();
	g_autofree char *path = write_file(f, "deep.zip", deep);
	g_autofree char *sig = sign(f, path, f->ec_key);

	expect_error(verify(f, path, sig, DFU_SIGNATURE_POLICY_REQUIRED, NULL), DFU_STATUS_MALFORMED_MANIFEST,
	             "manifest.json nests deeper than 32 levels");
	g_assert_true(logged(f, "bundle signature verified with key"));
	expect_error(verify(f, path, NULL, DFU_SIGNATURE_POLICY_OFF, NULL), DFU_STATUS_MALFORMED_MANIFEST,
	             "manifest.json nests deeper than 32 levels");
}

static void
add(const char *path, void (*func)(Fixture *, gconstpointer), gconstpointer data)
{
	g_test_add(path, Fixture, data, fixture_set_up, func, fixture_tear_down);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	add("/verify/required-unsigned", test_required_unsigned, NULL);
	add("/verify/required-valid-ecdsa", test_required_valid, NULL);
	add("/verify/required-valid-ed25519", test_required_valid, "ed25519");
	add("/verify/required-untrusted-key", test_required_untrusted_key, NULL);
	add("/verify/required-tampered", test_required_tampered, NULL);
	add("/verify/required-no-keys", test_required_no_keys, NULL);
	add("/verify/required-before-parsing", test_required_before_parsing, NULL);
	add("/verify/signed-deep-manifest", test_signed_deep_manifest, NULL);
	add("/verify/optional", test_optional, NULL);
	add("/verify/optional-without-keys", test_optional_without_keys, NULL);
	add("/verify/off", test_off, NULL);
	add("/verify/image-signature", test_image_signature, NULL);
	add("/verify/image-signature-other-key", test_image_signature_other_key, NULL);
	add("/verify/image-signature-bad", test_image_signature_bad, NULL);
	add("/verify/mesh-signature", test_mesh_signature, NULL);
	add("/verify/board", test_board, NULL);
	g_test_add_func("/verify/board-names", test_board_names);
	keys_make(&keys);
	rc = g_test_run();
	keys_clear(&keys);
	return rc;
}
