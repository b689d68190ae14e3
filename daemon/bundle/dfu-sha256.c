/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>

#include "dfu-error.h"
#include "dfu-hex.h"
#include "dfu-sha256.h"

/* OpenSSL's SHA-256 uses the CPU's SHA instructions where GLib's runs a portable loop: a
 * bundle is hashed on import and again on every load, so this is per-MB cost */
struct _DfuSha256 {
	EVP_MD_CTX *ctx;
};

DfuSha256 *
dfu_sha256_new(void)
{
	DfuSha256 *self = g_new0(DfuSha256, 1);

	self->ctx = EVP_MD_CTX_new();
	if (self->ctx == NULL)
		g_error("cannot allocate a SHA-256 context");
	dfu_sha256_reset(self);
	return self;
}

void
dfu_sha256_free(DfuSha256 *self)
{
	if (self == NULL)
		return;
	EVP_MD_CTX_free(self->ctx);
	g_free(self);
}

void
dfu_sha256_reset(DfuSha256 *self)
{
	if (EVP_DigestInit_ex(self->ctx, EVP_sha256(), NULL) != 1)
		g_error("cannot start a SHA-256 digest");
}

void
dfu_sha256_update(DfuSha256 *self, const void *data, gsize len)
{
	if (len > 0 && EVP_DigestUpdate(self->ctx, data, len) != 1)
		g_error("cannot update a SHA-256 digest");
}

char *
dfu_sha256_hex(const DfuSha256 *self)
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	guint8 digest[DFU_SHA256_LEN];
	unsigned int len = 0;

	if (copy == NULL || EVP_MD_CTX_copy_ex(copy, self->ctx) != 1 ||
	    EVP_DigestFinal_ex(copy, digest, &len) != 1 || len != DFU_SHA256_LEN)
		g_error("cannot finish a SHA-256 digest");
	EVP_MD_CTX_free(copy);
	return dfu_hex_encode(digest, sizeof(digest));
}

gboolean
dfu_sha256_digest(const void *data, gsize len, guint8 out[DFU_SHA256_LEN], GError **error)
{
	unsigned int out_len = 0;

	if (!EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) || out_len != DFU_SHA256_LEN) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot compute SHA-256");
		return FALSE;
	}
	return TRUE;
}

gboolean
dfu_sha256_is_hex(const char *s)
{
	gsize i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!g_ascii_isxdigit(s[i]))
			return FALSE;
	}
	return i == DFU_SHA256_HEX_LEN;
}
