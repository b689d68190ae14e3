/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dfu-error.h"
#include "mcuboot-writer.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)

#define SEC_CNT_AREA_SIZE (4 + 4 + 4)

static void
put_le16(GByteArray *buf, guint16 v)
{
	const guint8 b[] = {v & 0xff, v >> 8};
	g_byte_array_append(buf, b, sizeof(b));
}

static void
put_le32(GByteArray *buf, guint32 v)
{
	const guint8 b[] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
	g_byte_array_append(buf, b, sizeof(b));
}

static void
put_tlv(GByteArray *buf, guint16 type, const guint8 *value, gsize len)
{
	put_le16(buf, type);
	put_le16(buf, (guint16)len);
	g_byte_array_append(buf, value, len);
}

void
mcuboot_writer_fill_payload(guint8 *buf, gsize len, guint32 seed)
{
	/* xorshift32; a zero state would stay zero, so mix the seed first */
	guint32 x = seed * 2654435761u ^ 0x9e3779b9u;

	if (x == 0)
		x = 1;
	for (gsize i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (guint8)(x >> 24);
	}
}

EVP_PKEY *
mcuboot_writer_load_private_key(const char *path, GError **error)
{
	g_autoptr(BIO) bio = BIO_new_file(path, "r");
	g_autoptr(EVP_PKEY) key = NULL;

	if (bio == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "%s: cannot open key", path);
		return NULL;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (key == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: not a PEM private key", path);
		return NULL;
	}
	return g_steal_pointer(&key);
}

/* ECDSA signs the digest as it is; Ed25519 signs the digest as its message, as imgtool does. */
static guint8 *
sign_digest(EVP_PKEY *key, const guint8 *digest, gsize digest_len, gsize *sig_len)
{
	g_autoptr(EVP_PKEY_CTX) ctx = NULL;
	g_autoptr(EVP_MD_CTX) mctx = NULL;
	g_autofree guint8 *sig = NULL;

	if (EVP_PKEY_is_a(key, "ED25519")) {
		mctx = EVP_MD_CTX_new();
		if (mctx == NULL || EVP_DigestSignInit(mctx, NULL, NULL, NULL, key) <= 0 ||
		    EVP_DigestSign(mctx, NULL, sig_len, digest, digest_len) <= 0)
			return NULL;
		sig = g_malloc(*sig_len);
		if (EVP_DigestSign(mctx, sig, sig_len, digest, digest_len) <= 0)
			return NULL;
		return g_steal_pointer(&sig);
	}
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_sign(ctx, NULL, sig_len, digest, digest_len) <= 0)
		return NULL;
	sig = g_malloc(*sig_len);
	if (EVP_PKEY_sign(ctx, sig, sig_len, digest, digest_len) <= 0)
		return NULL;
	return g_steal_pointer(&sig);
}

/* Appends KEYHASH and ECDSA_SIG or ED25519: the signature is over the image digest, as MCUboot checks it. */
static gboolean
append_signature(GByteArray *buf, const char *key_path, const EVP_MD *md, const guint8 *digest,
                 gsize digest_len, GError **error)
{
	g_autoptr(EVP_PKEY) key = mcuboot_writer_load_private_key(key_path, error);
	g_autofree guint8 *pub = NULL;
	g_autofree guint8 *sig = NULL;
	guint8 keyhash[EVP_MAX_MD_SIZE];
	unsigned int keyhash_len = 0;
	guint8 *p;
	gsize sig_len = 0;
	int pub_len;
	gboolean ed25519;

	if (key == NULL)
		return FALSE;
	ed25519 = EVP_PKEY_is_a(key, "ED25519");
	if (!ed25519 && (!EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "%s: not an EC P-256 or Ed25519 key", key_path);
		return FALSE;
	}
	pub_len = i2d_PUBKEY(key, NULL);
	if (pub_len <= 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: cannot encode public key",
		            key_path);
		return FALSE;
	}
	pub = g_malloc(pub_len);
	p = pub;
	i2d_PUBKEY(key, &p);
	if (!EVP_Digest(pub, pub_len, keyhash, &keyhash_len, md, NULL) ||
	    (sig = sign_digest(key, digest, digest_len, &sig_len)) == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: cannot sign", key_path);
		return FALSE;
	}
	put_tlv(buf, MCUBOOT_TLV_KEYHASH, keyhash, keyhash_len);
	put_tlv(buf, ed25519 ? MCUBOOT_TLV_ED25519 : MCUBOOT_TLV_ECDSA_SIG, sig, sig_len);
	return TRUE;
}

static void
append_header(GByteArray *buf, const McubootWriterOptions *opts, guint16 hdr_size, guint16 protect_size)
{
	const guint8 zeros[4] = {0};

	put_le32(buf, opts->bad_magic ? ~MCUBOOT_IMAGE_MAGIC : MCUBOOT_IMAGE_MAGIC);
	put_le32(buf, opts->load_addr);
	put_le16(buf, hdr_size);
	put_le16(buf, protect_size);
	put_le32(buf, (guint32)opts->payload_size);
	put_le32(buf, opts->flags);
	g_byte_array_append(buf, &opts->version.major, 1);
	g_byte_array_append(buf, &opts->version.minor, 1);
	put_le16(buf, opts->version.revision);
	put_le32(buf, opts->version.build);
	g_byte_array_append(buf, zeros, sizeof(zeros));
	/* imgtool pads the header with zeros */
	g_byte_array_set_size(buf, hdr_size);
	memset(buf->data + MCUBOOT_HEADER_SIZE, 0, hdr_size - MCUBOOT_HEADER_SIZE);
}

/* as imgtool --pad: 0xff up to the slot size, the trailer magic in its last bytes */
static gboolean
pad_to_slot(GByteArray *buf, gsize pad_size, GError **error)
{
	gsize image_len = buf->len;

	if (pad_size < image_len + MCUBOOT_TRAILER_MAGIC_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "--pad %zu leaves no room for the trailer after %zu bytes of image", pad_size,
		            image_len);
		return FALSE;
	}
	g_byte_array_set_size(buf, pad_size);
	memset(buf->data + image_len, 0xff, pad_size - image_len - MCUBOOT_TRAILER_MAGIC_SIZE);
	memcpy(buf->data + pad_size - MCUBOOT_TRAILER_MAGIC_SIZE, mcuboot_trailer_magic,
	       MCUBOOT_TRAILER_MAGIC_SIZE);
	return TRUE;
}

GBytes *
mcuboot_writer_build(const McubootWriterOptions *opts, GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint16 hdr_size = opts->hdr_size != 0 ? opts->hdr_size : MCUBOOT_WRITER_DEFAULT_HDR_SIZE;
	guint16 protect_size = opts->protected_tlv ? SEC_CNT_AREA_SIZE : 0;
	const EVP_MD *md = opts->sha512 ? EVP_sha512() : EVP_sha256();
	guint8 digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	gsize unprot_start;

	if (hdr_size < MCUBOOT_HEADER_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "header size %u is below %d",
		            hdr_size, MCUBOOT_HEADER_SIZE);
		return NULL;
	}
	if (opts->payload_size > G_MAXUINT32 - hdr_size) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "payload of %zu bytes is too large", opts->payload_size);
		return NULL;
	}

	append_header(buf, opts, hdr_size, protect_size);
	g_byte_array_set_size(buf, hdr_size + opts->payload_size);
	mcuboot_writer_fill_payload(buf->data + hdr_size, opts->payload_size, opts->seed);

	if (opts->protected_tlv) {
		guint8 counter[4];

		put_le16(buf, MCUBOOT_TLV_PROT_INFO_MAGIC);
		put_le16(buf, protect_size);
		for (gsize i = 0; i < sizeof(counter); i++)
			counter[i] = (opts->security_counter >> (8 * i)) & 0xff;
		put_tlv(buf, MCUBOOT_TLV_SEC_CNT, counter, sizeof(counter));
	}

	if (!EVP_Digest(buf->data, buf->len, digest, &digest_len, md, NULL)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot hash image");
		return NULL;
	}

	unprot_start = buf->len;
	put_le16(buf, MCUBOOT_TLV_INFO_MAGIC);
	put_le16(buf, 0);
	put_tlv(buf, opts->sha512 ? MCUBOOT_TLV_SHA512 : MCUBOOT_TLV_SHA256, digest, digest_len);
	if (opts->bad_hash)
		buf->data[buf->len - 1] ^= 0xff;
	if (opts->sign_key_path != NULL &&
	    !append_signature(buf, opts->sign_key_path, md, digest, digest_len, error))
		return NULL;
	buf->data[unprot_start + 2] = (buf->len - unprot_start) & 0xff;
	buf->data[unprot_start + 3] = (buf->len - unprot_start) >> 8;

	if (opts->pad_size != 0 && !pad_to_slot(buf, opts->pad_size, error))
		return NULL;
	if (opts->truncate && opts->truncate_len < buf->len)
		g_byte_array_set_size(buf, opts->truncate_len);
	return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

static gboolean
write_pem(const char *path, EVP_PKEY *key, gboolean public_only, GError **error)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len;
	int ok;

	if (key == NULL || bio == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: no key to write", path);
		return FALSE;
	}
	ok = public_only ? PEM_write_bio_PUBKEY(bio, key)
	                 : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	if (!ok) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s: cannot encode key", path);
		return FALSE;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	return g_file_set_contents_full(path, pem, pem_len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

gboolean
mcuboot_writer_generate_key(const char *path, GError **error)
{
	g_autoptr(EVP_PKEY) key = EVP_EC_gen("P-256");

	return write_pem(path, key, FALSE, error);
}

gboolean
mcuboot_writer_generate_ed25519_key(const char *path, GError **error)
{
	g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	return write_pem(path, key, FALSE, error);
}

gboolean
mcuboot_writer_export_public_key(const char *key_path, const char *pub_path, GError **error)
{
	g_autoptr(EVP_PKEY) key = mcuboot_writer_load_private_key(key_path, error);

	return key != NULL && write_pem(pub_path, key, TRUE, error);
}
