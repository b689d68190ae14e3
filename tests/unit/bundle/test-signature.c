/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dfu-error.h"
#include "dfu-signature.h"
#include "mcuboot-writer.h"
#include "test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)

/* A private key directory and a trusted (public) key directory. */
typedef struct {
	char *root;
	char *private_dir;
	char *trusted_dir;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	(void)data;
	fx->root = g_dir_make_tmp("dfu-signature-XXXXXX", &error);
	g_assert_no_error(error);
	fx->private_dir = g_build_filename(fx->root, "private", NULL);
	fx->trusted_dir = g_build_filename(fx->root, "trusted", NULL);
	g_assert_cmpint(g_mkdir(fx->private_dir, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(fx->trusted_dir, 0700), ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	dfu_test_remove_tree(fx->root);
	g_free(fx->root);
	g_free(fx->private_dir);
	g_free(fx->trusted_dir);
}

/* Makes a key pair @name; its public half goes to the trusted directory when @trust. */
static char *
make_key(Fixture *fx, const char *name, gboolean ed25519, gboolean trust)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *file = g_strconcat(name, ".pem", NULL);
	char *path = g_build_filename(fx->private_dir, file, NULL);
	g_autofree char *pub = g_build_filename(fx->trusted_dir, file, NULL);

	if (ed25519)
		g_assert_true(mcuboot_writer_generate_ed25519_key(path, &error));
	else
		g_assert_true(mcuboot_writer_generate_key(path, &error));
	g_assert_no_error(error);
	if (trust) {
		g_assert_true(mcuboot_writer_export_public_key(path, pub, &error));
		g_assert_no_error(error);
	}
	return path;
}

static char *
trusted_path(Fixture *fx, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".pem", NULL);

	return g_build_filename(fx->trusted_dir, file, NULL);
}

/* Signs the way a release tool would: ECDSA over SHA-256, Ed25519 over the bytes. */
static GBytes *
sign_bytes(const char *key_path, GBytes *data)
{
	g_autoptr(BIO) bio = BIO_new_file(key_path, "r");
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
	gsize len = 0, sig_len = 0;
	const guint8 *bytes = g_bytes_get_data(data, &len);
	guint8 *sig;

	g_assert_nonnull(bio);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	g_assert_nonnull(key);
	g_assert_cmpint(
	        EVP_DigestSignInit(ctx, NULL, EVP_PKEY_is_a(key, "EC") ? EVP_sha256() : NULL, NULL, key), ==,
	        1);
	g_assert_cmpint(EVP_DigestSign(ctx, NULL, &sig_len, bytes, len), ==, 1);
	sig = g_malloc(sig_len);
	g_assert_cmpint(EVP_DigestSign(ctx, sig, &sig_len, bytes, len), ==, 1);
	return g_bytes_new_take(sig, sig_len);
}

static GBytes *
bundle_bytes(void)
{
	static const char content[] = "a bundle, as opaque bytes";

	return g_bytes_new_static(content, sizeof(content) - 1);
}

static DfuKeyRing *
load_ring(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	DfuKeyRing *ring = dfu_key_ring_load(fx->trusted_dir, &error);

	g_assert_no_error(error);
	g_assert_nonnull(ring);
	return ring;
}

static void
expect_bundle_failure(Fixture *fx, GBytes *bundle, GBytes *sig)
{
	g_autoptr(DfuKeyRing) ring = load_ring(fx);
	g_autoptr(GError) error = NULL;

	g_assert_null(dfu_signature_verify_bundle(ring, bundle, sig, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_test_message("%s", error->message);
}

static void
test_bundle_valid(Fixture *fx, gconstpointer data)
{
	gboolean ed25519 = GPOINTER_TO_INT(data);
	g_autofree char *other = make_key(fx, "a-other", !ed25519, TRUE);
	g_autofree char *key = make_key(fx, "b-release", ed25519, TRUE);
	g_autofree char *expected = trusted_path(fx, "b-release");
	g_autoptr(GBytes) bundle = bundle_bytes();
	g_autoptr(GBytes) sig = sign_bytes(key, bundle);
	g_autoptr(DfuKeyRing) ring = load_ring(fx);
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(dfu_key_ring_get_size(ring), ==, 2);
	g_assert_cmpstr(dfu_signature_verify_bundle(ring, bundle, sig, &error), ==, expected);
	g_assert_no_error(error);
}

static void
test_bundle_tampered(Fixture *fx, gconstpointer data)
{
	g_autofree char *key = make_key(fx, "release", GPOINTER_TO_INT(data), TRUE);
	g_autoptr(GBytes) bundle = bundle_bytes();
	g_autoptr(GBytes) sig = sign_bytes(key, bundle);
	g_autoptr(GByteArray) copy = g_byte_array_new();
	g_autoptr(GBytes) tampered = NULL;

	g_byte_array_append(copy, g_bytes_get_data(bundle, NULL), g_bytes_get_size(bundle));
	copy->data[3] ^= 0x01;
	tampered = g_bytes_new(copy->data, copy->len);
	expect_bundle_failure(fx, tampered, sig);
}

static void
test_bundle_wrong_key(Fixture *fx, gconstpointer data)
{
	g_autofree char *trusted = make_key(fx, "trusted", FALSE, TRUE);
	g_autofree char *untrusted = make_key(fx, "untrusted", FALSE, FALSE);
	g_autoptr(GBytes) bundle = bundle_bytes();
	g_autoptr(GBytes) sig = sign_bytes(untrusted, bundle);

	(void)data;
	expect_bundle_failure(fx, bundle, sig);
}

static void
test_bundle_wrong_algorithm(Fixture *fx, gconstpointer data)
{
	g_autofree char *trusted = make_key(fx, "trusted", FALSE, TRUE);
	g_autofree char *ed = make_key(fx, "ed", TRUE, FALSE);
	g_autoptr(GBytes) bundle = bundle_bytes();
	g_autoptr(GBytes) sig = sign_bytes(ed, bundle);

	(void)data;
	expect_bundle_failure(fx, bundle, sig);
}

static void
test_bundle_garbage(Fixture *fx, gconstpointer data)
{
	g_autofree char *ec = make_key(fx, "ec", FALSE, TRUE);
	g_autofree char *ed = make_key(fx, "ed", TRUE, TRUE);
	g_autoptr(GBytes) bundle = bundle_bytes();
	guint8 junk[72];
	g_autoptr(GBytes) garbage = NULL;
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);

	(void)data;
	memset(junk, 0x30, sizeof(junk));
	garbage = g_bytes_new(junk, sizeof(junk));
	expect_bundle_failure(fx, bundle, garbage);
	expect_bundle_failure(fx, bundle, empty);
}

static void
test_empty_key_dir(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *junk = g_build_filename(fx->trusted_dir, "junk.pem", NULL);
	g_autofree char *priv = make_key(fx, "private", FALSE, FALSE);
	g_autofree char *priv_copy = g_build_filename(fx->trusted_dir, "private.pem", NULL);
	g_autofree char *contents = NULL;
	g_autofree char *missing = g_build_filename(fx->root, "missing", NULL);
	DfuKeyRing *ring;

	(void)data;
	ring = dfu_key_ring_load(fx->trusted_dir, &error);
	g_assert_null(ring);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_clear_error(&error);

	/* neither garbage nor a private key counts as a trusted key */
	g_assert_true(g_file_set_contents(junk, "not a key", -1, NULL));
	g_assert_true(g_file_get_contents(priv, &contents, NULL, NULL));
	g_assert_true(g_file_set_contents(priv_copy, contents, -1, NULL));
	ring = dfu_key_ring_load(fx->trusted_dir, &error);
	g_assert_null(ring);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_clear_error(&error);

	ring = dfu_key_ring_load(missing, &error);
	g_assert_null(ring);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
}

static void
test_verify_file(Fixture *fx, gconstpointer data)
{
	g_autofree char *key = make_key(fx, "release", FALSE, TRUE);
	g_autofree char *expected = trusted_path(fx, "release");
	g_autofree char *bundle_path = g_build_filename(fx->root, "app.zip", NULL);
	g_autofree char *sig_path = g_build_filename(fx->root, "app.zip.sig", NULL);
	g_autoptr(GBytes) bundle = bundle_bytes();
	g_autoptr(GBytes) sig = sign_bytes(key, bundle);
	g_autoptr(GError) error = NULL;
	g_autofree char *verified = NULL;
	g_autofree char *missing = NULL;

	(void)data;
	g_assert_true(g_file_set_contents(bundle_path, g_bytes_get_data(bundle, NULL),
	                                  g_bytes_get_size(bundle), NULL));
	g_assert_true(
	        g_file_set_contents(sig_path, g_bytes_get_data(sig, NULL), g_bytes_get_size(sig), NULL));
	verified = dfu_signature_verify_file(bundle_path, sig_path, fx->trusted_dir, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(verified, ==, expected);

	missing = dfu_signature_verify_file(bundle_path, bundle_path, fx->trusted_dir, &error);
	g_assert_null(missing);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
}

static GBytes *
signed_image(const char *key_path, McubootImageInfo *info)
{
	McubootWriterOptions opts = {
	        .version = {1, 2, 3, 0}, .payload_size = 700, .seed = 5, .sign_key_path = key_path};
	g_autoptr(GError) error = NULL;
	GBytes *image = mcuboot_writer_build(&opts, &error);
	gsize len = 0;
	const guint8 *data;

	g_assert_no_error(error);
	data = g_bytes_get_data(image, &len);
	g_assert_true(mcuboot_image_parse(data, len, info, &error));
	g_assert_no_error(error);
	return image;
}

static void
test_mcuboot_valid(Fixture *fx, gconstpointer data)
{
	gboolean ed25519 = GPOINTER_TO_INT(data);
	g_autofree char *other = make_key(fx, "a-other", ed25519, TRUE);
	g_autofree char *key = make_key(fx, "b-release", ed25519, TRUE);
	g_autofree char *expected = trusted_path(fx, "b-release");
	g_autoptr(DfuKeyRing) ring = load_ring(fx);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;
	g_autoptr(GBytes) image = signed_image(key, &info);
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(image, &len);

	g_assert_cmpuint(info.sig_tlv_type, ==, ed25519 ? MCUBOOT_TLV_ED25519 : MCUBOOT_TLV_ECDSA_SIG);
	g_assert_cmpstr(dfu_signature_verify_mcuboot(ring, bytes, len, &info, &error), ==, expected);
	g_assert_no_error(error);
}

static void
expect_mcuboot_failure(Fixture *fx, const guint8 *bytes, gsize len, const McubootImageInfo *info)
{
	g_autoptr(DfuKeyRing) ring = load_ring(fx);
	g_autoptr(GError) error = NULL;

	g_assert_null(dfu_signature_verify_mcuboot(ring, bytes, len, info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE);
	g_test_message("%s", error->message);
}

static void
test_mcuboot_wrong_key(Fixture *fx, gconstpointer data)
{
	g_autofree char *trusted = make_key(fx, "trusted", GPOINTER_TO_INT(data), TRUE);
	g_autofree char *untrusted = make_key(fx, "untrusted", GPOINTER_TO_INT(data), FALSE);
	McubootImageInfo info;
	g_autoptr(GBytes) image = signed_image(untrusted, &info);
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(image, &len);

	expect_mcuboot_failure(fx, bytes, len, &info);
}

static void
test_mcuboot_wrong_algorithm(Fixture *fx, gconstpointer data)
{
	g_autofree char *trusted = make_key(fx, "trusted", FALSE, TRUE);
	g_autofree char *ed = make_key(fx, "ed", TRUE, FALSE);
	McubootImageInfo info;
	g_autoptr(GBytes) image = signed_image(ed, &info);
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(image, &len);

	(void)data;
	expect_mcuboot_failure(fx, bytes, len, &info);
}

/* The KEYHASH matches a trusted key, but the signature bytes are damaged. */
static void
test_mcuboot_bad_signature(Fixture *fx, gconstpointer data)
{
	g_autofree char *key = make_key(fx, "release", GPOINTER_TO_INT(data), TRUE);
	McubootImageInfo info;
	g_autoptr(GBytes) image = signed_image(key, &info);
	g_autoptr(GByteArray) copy = g_byte_array_new();

	g_byte_array_append(copy, g_bytes_get_data(image, NULL), g_bytes_get_size(image));
	copy->data[info.sig_offset + info.sig_len - 2] ^= 0x5a;
	expect_mcuboot_failure(fx, copy->data, copy->len, &info);
}

/* A signature over other content: the image hash changed after signing. */
static void
test_mcuboot_tampered_hash(Fixture *fx, gconstpointer data)
{
	g_autofree char *key = make_key(fx, "release", GPOINTER_TO_INT(data), TRUE);
	McubootImageInfo info;
	g_autoptr(GBytes) image = signed_image(key, &info);
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(image, &len);

	info.hash[0] ^= 0x80;
	expect_mcuboot_failure(fx, bytes, len, &info);
}

static void
test_mcuboot_unsigned(Fixture *fx, gconstpointer data)
{
	g_autofree char *key = make_key(fx, "release", FALSE, TRUE);
	McubootWriterOptions opts = {.payload_size = 64};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, &error);
	McubootImageInfo info;
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(image, &len);

	(void)data;
	g_assert_true(mcuboot_image_parse(bytes, len, &info, &error));
	expect_mcuboot_failure(fx, bytes, len, &info);
	/* a signature that lies outside the buffer is refused, not read */
	info.sig_tlv_type = MCUBOOT_TLV_ECDSA_SIG;
	info.sig_offset = len - 4;
	info.sig_len = 64;
	{
		g_autoptr(DfuKeyRing) ring = load_ring(fx);

		g_assert_null(dfu_signature_verify_mcuboot(ring, bytes, len, &info, &error));
		g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	}
}

static void
add(const char *path, gboolean ed25519, void (*func)(Fixture *, gconstpointer))
{
	g_test_add(path, Fixture, GINT_TO_POINTER(ed25519), fixture_setup, func, fixture_teardown);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	add("/signature/bundle/ecdsa", FALSE, test_bundle_valid);
	add("/signature/bundle/ed25519", TRUE, test_bundle_valid);
	add("/signature/bundle/tampered-ecdsa", FALSE, test_bundle_tampered);
	add("/signature/bundle/tampered-ed25519", TRUE, test_bundle_tampered);
	add("/signature/bundle/wrong-key", FALSE, test_bundle_wrong_key);
	add("/signature/bundle/wrong-algorithm", FALSE, test_bundle_wrong_algorithm);
	add("/signature/bundle/garbage", FALSE, test_bundle_garbage);
	add("/signature/bundle/file", FALSE, test_verify_file);
	add("/signature/keys/empty-dir", FALSE, test_empty_key_dir);
	add("/signature/mcuboot/ecdsa", FALSE, test_mcuboot_valid);
	add("/signature/mcuboot/ed25519", TRUE, test_mcuboot_valid);
	add("/signature/mcuboot/wrong-key-ecdsa", FALSE, test_mcuboot_wrong_key);
	add("/signature/mcuboot/wrong-key-ed25519", TRUE, test_mcuboot_wrong_key);
	add("/signature/mcuboot/wrong-algorithm", FALSE, test_mcuboot_wrong_algorithm);
	add("/signature/mcuboot/bad-signature-ecdsa", FALSE, test_mcuboot_bad_signature);
	add("/signature/mcuboot/bad-signature-ed25519", TRUE, test_mcuboot_bad_signature);
	add("/signature/mcuboot/tampered-hash-ecdsa", FALSE, test_mcuboot_tampered_hash);
	add("/signature/mcuboot/tampered-hash-ed25519", TRUE, test_mcuboot_tampered_hash);
	add("/signature/mcuboot/unsigned", FALSE, test_mcuboot_unsigned);
	return g_test_run();
}
