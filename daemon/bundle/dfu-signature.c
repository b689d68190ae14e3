/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dfu-error.h"
#include "dfu-signature.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ECDSA_SIG, ECDSA_SIG_free)

#define TLV_HEADER_SIZE 4

typedef enum {
	KEY_ECDSA_P256,
	KEY_ED25519,
} KeyAlgorithm;

typedef struct {
	char *path;
	EVP_PKEY *key;
	KeyAlgorithm algorithm;
} TrustedKey;

struct _DfuKeyRing {
	GPtrArray *keys; /* TrustedKey* */
	char *dir;
};

/* What each MCUboot signature TLV needs from a key. */
typedef struct {
	guint tlv_type;
	KeyAlgorithm algorithm;
} McubootSigKind;

static const McubootSigKind mcuboot_sig_kinds[] = {
        {MCUBOOT_TLV_ECDSA_SIG, KEY_ECDSA_P256},
        {MCUBOOT_TLV_ED25519, KEY_ED25519},
};

static void
trusted_key_free(TrustedKey *tk)
{
	if (tk == NULL)
		return;
	g_free(tk->path);
	EVP_PKEY_free(tk->key);
	g_free(tk);
}

void
dfu_key_ring_free(DfuKeyRing *ring)
{
	if (ring == NULL)
		return;
	g_clear_pointer(&ring->keys, g_ptr_array_unref);
	g_free(ring->dir);
	g_free(ring);
}

guint
dfu_key_ring_get_size(DfuKeyRing *ring)
{
	g_return_val_if_fail(ring != NULL, 0);
	return ring->keys->len;
}

static gboolean
key_algorithm(EVP_PKEY *key, KeyAlgorithm *algorithm)
{
	if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256) {
		*algorithm = KEY_ECDSA_P256;
		return TRUE;
	}
	if (EVP_PKEY_is_a(key, "ED25519")) {
		*algorithm = KEY_ED25519;
		return TRUE;
	}
	return FALSE;
}

/* A key file that cannot be used is skipped, not fatal: the others may still verify. */
static TrustedKey *
trusted_key_load(const char *path)
{
	g_autoptr(BIO) bio = BIO_new_file(path, "r");
	g_autoptr(EVP_PKEY) key = NULL;
	TrustedKey *tk;
	KeyAlgorithm algorithm;

	if (bio == NULL) {
		g_info("%s: cannot open key file", path);
		return NULL;
	}
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (key == NULL) {
		g_info("%s: not a PEM public key", path);
		return NULL;
	}
	if (!key_algorithm(key, &algorithm)) {
		g_info("%s: not an EC P-256 or Ed25519 key", path);
		return NULL;
	}
	tk = g_new0(TrustedKey, 1);
	tk->path = g_strdup(path);
	tk->key = g_steal_pointer(&key);
	tk->algorithm = algorithm;
	return tk;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

DfuKeyRing *
dfu_key_ring_load(const char *dir, GError **error)
{
	g_autoptr(DfuKeyRing) ring = g_new0(DfuKeyRing, 1);
	g_autoptr(GError) dir_error = NULL;
	g_autoptr(GDir) gdir = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	g_return_val_if_fail(dir != NULL, NULL);
	ring->dir = g_strdup(dir);
	ring->keys = g_ptr_array_new_with_free_func((GDestroyNotify)trusted_key_free);
	gdir = g_dir_open(dir, 0, &dir_error);
	if (gdir == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "key directory %s: %s", dir,
		            dir_error->message);
		return NULL;
	}
	while ((name = g_dir_read_name(gdir)) != NULL) {
		if (g_str_has_suffix(name, ".pem"))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		TrustedKey *tk = trusted_key_load(path);

		if (tk != NULL)
			g_ptr_array_add(ring->keys, tk);
	}
	if (ring->keys->len == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "key directory %s holds no EC P-256 or Ed25519 public key (*.pem)", dir);
		return NULL;
	}
	return g_steal_pointer(&ring);
}

DfuKeyRing *
dfu_key_ring_load_file(const char *path, GError **error)
{
	g_autoptr(DfuKeyRing) ring = g_new0(DfuKeyRing, 1);
	TrustedKey *tk;

	g_return_val_if_fail(path != NULL, NULL);
	ring->dir = g_strdup(path);
	ring->keys = g_ptr_array_new_with_free_func((GDestroyNotify)trusted_key_free);
	tk = trusted_key_load(path);
	if (tk == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "%s is no readable EC P-256 or Ed25519 public key (PEM)", path);
		return NULL;
	}
	g_ptr_array_add(ring->keys, tk);
	return g_steal_pointer(&ring);
}

/* ECDSA hashes the message with SHA-256 first; Ed25519 takes the message itself. */
static gboolean
verify_message(const TrustedKey *tk, const guint8 *msg, gsize msg_len, const guint8 *sig, gsize sig_len)
{
	g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
	const EVP_MD *md = tk->algorithm == KEY_ECDSA_P256 ? EVP_sha256() : NULL;

	if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, md, NULL, tk->key) <= 0)
		return FALSE;
	return EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
}

/* ECDSA over an already computed digest, as MCUboot signs the image hash. */
static gboolean
verify_digest(const TrustedKey *tk, const guint8 *digest, gsize digest_len, const guint8 *sig, gsize sig_len)
{
	g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new(tk->key, NULL);

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
		return FALSE;
	return EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len) == 1;
}

const char *
dfu_signature_verify_bundle(DfuKeyRing *ring, GBytes *bundle, GBytes *signature, GError **error)
{
	gsize len = 0, sig_len = 0;
	const guint8 *data, *sig;

	g_return_val_if_fail(ring != NULL, NULL);
	g_return_val_if_fail(bundle != NULL && signature != NULL, NULL);
	data = g_bytes_get_data(bundle, &len);
	sig = g_bytes_get_data(signature, &sig_len);
	if (sig_len == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "signature is empty");
		return NULL;
	}
	for (guint i = 0; i < ring->keys->len; i++) {
		const TrustedKey *tk = g_ptr_array_index(ring->keys, i);

		if (verify_message(tk, data, len, sig, sig_len))
			return tk->path;
	}
	g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
	            "signature does not verify with any of the %u keys in %s", ring->keys->len, ring->dir);
	return NULL;
}

/* r||s as two 32-byte big-endian numbers, in the DER form OpenSSL verifies */
static guint8 *
raw_to_der(const guint8 *sig, gsize *der_len)
{
	g_autoptr(ECDSA_SIG) ecdsa = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL);
	BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
	guint8 *der = NULL;
	int len;

	if (ecdsa == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(ecdsa, r, s)) {
		BN_free(r);
		BN_free(s);
		return NULL;
	}
	len = i2d_ECDSA_SIG(ecdsa, &der);
	if (len <= 0)
		return NULL;
	*der_len = (gsize)len;
	return der;
}

const char *
dfu_signature_verify_raw_p256(DfuKeyRing *ring, GBytes *message, const guint8 *sig, GError **error)
{
	gsize len = 0, der_len = 0;
	const guint8 *data;
	guint8 *der;
	guint tried = 0;

	g_return_val_if_fail(ring != NULL && message != NULL && sig != NULL, NULL);
	data = g_bytes_get_data(message, &len);
	der = raw_to_der(sig, &der_len);
	for (guint i = 0; der != NULL && i < ring->keys->len; i++) {
		const TrustedKey *tk = g_ptr_array_index(ring->keys, i);

		if (tk->algorithm != KEY_ECDSA_P256)
			continue;
		tried++;
		if (verify_message(tk, data, len, der, der_len)) {
			OPENSSL_free(der);
			return tk->path;
		}
	}
	OPENSSL_free(der);
	if (tried == 0)
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "%s holds no EC P-256 key",
		            ring->dir);
	else
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "the signature does not verify with the %u EC P-256 key%s of %s", tried,
		            tried == 1 ? "" : "s", ring->dir);
	return NULL;
}

gboolean
dfu_key_ring_has_p256(DfuKeyRing *ring)
{
	g_return_val_if_fail(ring != NULL, FALSE);
	for (guint i = 0; i < ring->keys->len; i++) {
		if (((const TrustedKey *)g_ptr_array_index(ring->keys, i))->algorithm == KEY_ECDSA_P256)
			return TRUE;
	}
	return FALSE;
}

static guint16
read_le16(const guint8 *p)
{
	return (guint16)(p[0] | (p[1] << 8));
}

/* Finds KEYHASH in the unprotected TLV area; FALSE when absent or the area is unsound. */
static gboolean
find_keyhash(const guint8 *image, gsize len, const McubootImageInfo *info, const guint8 **value,
             gsize *value_len)
{
	gsize start = (gsize)info->hdr_size + info->img_size + info->protect_tlv_size;
	gsize end;

	if (start > len || len - start < TLV_HEADER_SIZE ||
	    read_le16(image + start) != MCUBOOT_TLV_INFO_MAGIC)
		return FALSE;
	end = start + read_le16(image + start + 2);
	if (end > len)
		return FALSE;
	for (gsize pos = start + TLV_HEADER_SIZE; end - pos >= TLV_HEADER_SIZE;) {
		guint type = read_le16(image + pos);
		gsize vlen = read_le16(image + pos + 2);

		pos += TLV_HEADER_SIZE;
		if (vlen > end - pos)
			return FALSE;
		if (type == MCUBOOT_TLV_KEYHASH) {
			*value = image + pos;
			*value_len = vlen;
			return TRUE;
		}
		pos += vlen;
	}
	return FALSE;
}

/* MCUboot's key hash: the image's hash algorithm over the DER SubjectPublicKeyInfo. */
static gboolean
key_matches_hash(const TrustedKey *tk, const guint8 *keyhash, gsize keyhash_len)
{
	const EVP_MD *md = keyhash_len == 64 ? EVP_sha512() : EVP_sha256();
	g_autofree guint8 *der = NULL;
	guint8 digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	guint8 *p;
	int der_len = i2d_PUBKEY(tk->key, NULL);

	if (der_len <= 0)
		return FALSE;
	der = g_malloc(der_len);
	p = der;
	if (i2d_PUBKEY(tk->key, &p) != der_len || !EVP_Digest(der, der_len, digest, &digest_len, md, NULL))
		return FALSE;
	return digest_len == keyhash_len && memcmp(digest, keyhash, keyhash_len) == 0;
}

static const McubootSigKind *
mcuboot_sig_kind_lookup(guint type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(mcuboot_sig_kinds); i++) {
		if (mcuboot_sig_kinds[i].tlv_type == type)
			return &mcuboot_sig_kinds[i];
	}
	return NULL;
}

/* Whether @tk is a key the image's signature may have been made with. */
static gboolean
key_fits(const TrustedKey *tk, const McubootSigKind *kind, const guint8 *keyhash, gsize keyhash_len)
{
	if (tk->algorithm != kind->algorithm)
		return FALSE;
	return keyhash == NULL || key_matches_hash(tk, keyhash, keyhash_len);
}

gboolean
dfu_signature_mcuboot_has_key(DfuKeyRing *ring, const guint8 *image, gsize len, const McubootImageInfo *info)
{
	const McubootSigKind *kind;
	const guint8 *keyhash = NULL;
	gsize keyhash_len = 0;

	g_return_val_if_fail(ring != NULL && info != NULL, FALSE);
	g_return_val_if_fail(image != NULL || len == 0, FALSE);
	kind = mcuboot_sig_kind_lookup(info->sig_tlv_type);
	if (kind == NULL)
		return FALSE;
	if (!find_keyhash(image, len, info, &keyhash, &keyhash_len))
		keyhash = NULL;
	for (guint i = 0; i < ring->keys->len; i++) {
		if (key_fits(g_ptr_array_index(ring->keys, i), kind, keyhash, keyhash_len))
			return TRUE;
	}
	return FALSE;
}

const char *
dfu_signature_verify_mcuboot(DfuKeyRing *ring, const guint8 *image, gsize len, const McubootImageInfo *info,
                             GError **error)
{
	const McubootSigKind *kind;
	const guint8 *keyhash = NULL;
	gsize keyhash_len = 0;
	gboolean has_keyhash;
	guint tried = 0;

	g_return_val_if_fail(ring != NULL && info != NULL, NULL);
	g_return_val_if_fail(image != NULL || len == 0, NULL);
	if (info->sig_tlv_type == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "image is not signed");
		return NULL;
	}
	kind = mcuboot_sig_kind_lookup(info->sig_tlv_type);
	if (kind == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "image signature TLV 0x%02x is of a kind that cannot be checked",
		            info->sig_tlv_type);
		return NULL;
	}
	if (info->sig_offset > len || info->sig_len > len - info->sig_offset || info->hash_len == 0 ||
	    info->hash_len > MCUBOOT_HASH_MAX) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		                    "image signature lies outside the image");
		return NULL;
	}
	has_keyhash = find_keyhash(image, len, info, &keyhash, &keyhash_len);
	for (guint i = 0; i < ring->keys->len; i++) {
		const TrustedKey *tk = g_ptr_array_index(ring->keys, i);
		const guint8 *sig = image + info->sig_offset;
		gboolean ok;

		if (!key_fits(tk, kind, has_keyhash ? keyhash : NULL, keyhash_len))
			continue;
		tried++;
		ok = kind->algorithm == KEY_ECDSA_P256
		             ? verify_digest(tk, info->hash, info->hash_len, sig, info->sig_len)
		             : verify_message(tk, info->hash, info->hash_len, sig, info->sig_len);
		if (ok)
			return tk->path;
	}
	if (tried == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
		            "no key in %s fits the image's %s signature%s", ring->dir,
		            kind->algorithm == KEY_ECDSA_P256 ? "ECDSA P-256" : "Ed25519",
		            has_keyhash ? " and KEYHASH" : "");
		return NULL;
	}
	g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE,
	            "image signature does not verify with any of the %u fitting keys in %s", tried,
	            ring->dir);
	return NULL;
}

char *
dfu_signature_verify_file(const char *bundle_path, const char *sig_path, const char *key_dir, GError **error)
{
	g_autoptr(DfuKeyRing) ring = NULL;
	g_autoptr(GMappedFile) bundle = NULL;
	g_autoptr(GBytes) bundle_bytes = NULL;
	g_autoptr(GBytes) sig_bytes = NULL;
	g_autoptr(GError) read_error = NULL;
	g_autofree char *sig = NULL;
	gsize sig_len = 0;
	const char *path;

	bundle = g_mapped_file_new(bundle_path, FALSE, &read_error);
	if (bundle == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s", read_error->message);
		return NULL;
	}
	if (!g_file_get_contents(sig_path, &sig, &sig_len, &read_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BAD_SIGNATURE, "%s", read_error->message);
		return NULL;
	}
	ring = dfu_key_ring_load(key_dir, error);
	if (ring == NULL)
		return NULL;
	bundle_bytes = g_mapped_file_get_bytes(bundle);
	sig_bytes = g_bytes_new_take(g_steal_pointer(&sig), sig_len);
	path = dfu_signature_verify_bundle(ring, bundle_bytes, sig_bytes, error);
	return g_strdup(path);
}
