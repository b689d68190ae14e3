/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/evp.h>

#include "dfu-error.h"
#include "mcuboot-image.h"

#define TLV_INFO_SIZE 4
#define TLV_ENTRY_HEADER 4

typedef struct {
	guint type;
	const char *name;
	gsize digest_len;
	gboolean listable; /* img_mgmt can read it back in "image list" */
} HashKind;

static const HashKind hash_kinds[] = {
        {MCUBOOT_TLV_SHA256, "SHA-256", 32, TRUE},
        {MCUBOOT_TLV_SHA384, "SHA-384", 48, FALSE},
        {MCUBOOT_TLV_SHA512, "SHA-512", 64, TRUE},
};

/* bootutil's boot_img_magic for BOOT_MAX_ALIGN 8: words 0xf395c277 0x7fefd260 0x0f505235 0x8079b62c */
const guint8 mcuboot_trailer_magic[MCUBOOT_TRAILER_MAGIC_SIZE] = {
        0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
};

/* with a larger BOOT_MAX_ALIGN the magic is a u16 alignment followed by these */
static const guint8 trailer_magic_aligned[MCUBOOT_TRAILER_MAGIC_SIZE - 2] = {
        0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
};

#define TRAILER_DEFAULT_ALIGN 8
/* BOOT_MAX_ALIGN tops out well below this; a larger one is no trailer */
#define TRAILER_MAX_ALIGN 1024

static const guint signature_types[] = {
        MCUBOOT_TLV_RSA2048_PSS,
        MCUBOOT_TLV_ECDSA_SIG,
        MCUBOOT_TLV_RSA3072_PSS,
        MCUBOOT_TLV_ED25519,
};

/* What the walk over both TLV areas collected. */
typedef struct {
	const HashKind *hash;
	gsize hash_offset;
	guint n_hashes;
	guint sig_type;
	gsize sig_offset;
	gsize sig_len;
} TlvScan;

static guint16
read_le16(const guint8 *p)
{
	return (guint16)(p[0] | (p[1] << 8));
}

static guint32
read_le32(const guint8 *p)
{
	return (guint32)p[0] | ((guint32)p[1] << 8) | ((guint32)p[2] << 16) | ((guint32)p[3] << 24);
}

static const HashKind *
hash_kind_lookup(guint type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(hash_kinds); i++) {
		if (hash_kinds[i].type == type)
			return &hash_kinds[i];
	}
	return NULL;
}

static gboolean
is_signature_type(guint type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(signature_types); i++) {
		if (signature_types[i] == type)
			return TRUE;
	}
	return FALSE;
}

/*
 * Checks the info header at @offset and walks its TLVs; @size is set to the
 * area's total size (it_tlv_tot). Only the unprotected area may carry the hash
 * and the signature, as MCUboot only looks for them there.
 */
static gboolean
walk_tlv_area(const guint8 *data, gsize len, gsize offset, guint16 magic, TlvScan *scan, gsize *size,
              GError **error)
{
	const char *area = magic == MCUBOOT_TLV_PROT_INFO_MAGIC ? "protected TLV area" : "TLV area";
	gboolean protected = magic == MCUBOOT_TLV_PROT_INFO_MAGIC;
	gsize end;

	if (offset > len || len - offset < TLV_INFO_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE, "%s missing: image is truncated",
		            area);
		return FALSE;
	}
	if (read_le16(data + offset) != magic) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s has bad magic 0x%04x at offset %zu", area, read_le16(data + offset), offset);
		return FALSE;
	}
	*size = read_le16(data + offset + 2);
	if (*size < TLV_INFO_SIZE || *size > len - offset) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "%s size %zu does not fit the image (%zu bytes left)", area, *size, len - offset);
		return FALSE;
	}
	end = offset + *size;
	for (gsize pos = offset + TLV_INFO_SIZE; pos < end;) {
		guint type;
		gsize vlen;
		const HashKind *hash;

		if (end - pos < TLV_ENTRY_HEADER) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
			            "%s: TLV header at offset %zu runs past the area", area, pos);
			return FALSE;
		}
		type = read_le16(data + pos);
		vlen = read_le16(data + pos + 2);
		pos += TLV_ENTRY_HEADER;
		if (vlen > end - pos) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
			            "%s: TLV 0x%02x length %zu runs past the area", area, type, vlen);
			return FALSE;
		}
		hash = hash_kind_lookup(type);
		if (protected && (hash != NULL || is_signature_type(type))) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
			            "%s holds TLV 0x%02x, which belongs in the unprotected area", area, type);
			return FALSE;
		}
		if (hash != NULL) {
			if (vlen != hash->digest_len) {
				g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
				            "%s hash TLV is %zu bytes, expected %zu", hash->name, vlen,
				            hash->digest_len);
				return FALSE;
			}
			scan->hash = hash;
			scan->hash_offset = pos;
			scan->n_hashes++;
		} else if (is_signature_type(type) && scan->sig_type == 0) {
			scan->sig_type = type;
			scan->sig_offset = pos;
			scan->sig_len = vlen;
		}
		pos += vlen;
	}
	return TRUE;
}

static gboolean
parse_header(const guint8 *data, gsize len, McubootImageInfo *info, GError **error)
{
	guint32 magic;

	if (len < MCUBOOT_HEADER_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "image is %zu bytes, shorter than the %d-byte header", len, MCUBOOT_HEADER_SIZE);
		return FALSE;
	}
	magic = read_le32(data);
	if (magic != MCUBOOT_IMAGE_MAGIC) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "not an MCUboot image: bad magic 0x%08x", magic);
		return FALSE;
	}
	info->load_addr = read_le32(data + 4);
	info->hdr_size = read_le16(data + 8);
	info->protect_tlv_size = read_le16(data + 10);
	info->img_size = read_le32(data + 12);
	info->flags = read_le32(data + 16);
	info->version.major = data[20];
	info->version.minor = data[21];
	info->version.revision = read_le16(data + 22);
	info->version.build = read_le32(data + 24);
	info->encrypted =
	        (info->flags & (MCUBOOT_FLAG_ENCRYPTED_AES128 | MCUBOOT_FLAG_ENCRYPTED_AES256)) != 0;

	if (info->hdr_size < MCUBOOT_HEADER_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "header size %u is smaller than the header itself", info->hdr_size);
		return FALSE;
	}
	if (info->hdr_size > len || info->img_size > len - info->hdr_size) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "image is truncated: header says %u + %u bytes, file has %zu", info->hdr_size,
		            info->img_size, len);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_digest(const guint8 *data, gsize hashed_len, const HashKind *kind, const guint8 *expected,
             GError **error)
{
	const EVP_MD *md = kind->type == MCUBOOT_TLV_SHA512 ? EVP_sha512() : EVP_sha256();
	guint8 digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	if (!EVP_Digest(data, hashed_len, digest, &digest_len, md, NULL) || digest_len != kind->digest_len) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot compute %s", kind->name);
		return FALSE;
	}
	if (memcmp(digest, expected, digest_len) != 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_CHECKSUM_MISMATCH,
		                    "image hash TLV does not match contents");
		return FALSE;
	}
	return TRUE;
}

gboolean
mcuboot_image_parse(const guint8 *data, gsize len, McubootImageInfo *info, GError **error)
{
	TlvScan scan = {0};
	McubootImageInfo tmp = {0};
	gsize tlv_offset, prot_size = 0, unprot_size = 0;

	g_return_val_if_fail(data != NULL || len == 0, FALSE);
	g_return_val_if_fail(info != NULL, FALSE);

	if (!parse_header(data, len, &tmp, error))
		return FALSE;
	tlv_offset = (gsize)tmp.hdr_size + tmp.img_size;

	if (tmp.protect_tlv_size != 0) {
		if (!walk_tlv_area(data, len, tlv_offset, MCUBOOT_TLV_PROT_INFO_MAGIC, &scan, &prot_size,
		                   error))
			return FALSE;
		if (prot_size != tmp.protect_tlv_size) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
			            "protected TLV area is %zu bytes but the header says %u", prot_size,
			            tmp.protect_tlv_size);
			return FALSE;
		}
	}
	if (!walk_tlv_area(data, len, tlv_offset + prot_size, MCUBOOT_TLV_INFO_MAGIC, &scan, &unprot_size,
	                   error))
		return FALSE;

	if (scan.n_hashes == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE, "image has no hash TLV");
		return FALSE;
	}
	if (scan.n_hashes > 1) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		            "image has %u hash TLVs, expected one", scan.n_hashes);
		return FALSE;
	}
	if (!scan.hash->listable) {
		g_set_error(
		        error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		        "image is hashed with %s only, which devices cannot list; sign it with SHA-256 or "
		        "SHA-512",
		        scan.hash->name);
		return FALSE;
	}
	if (!tmp.encrypted &&
	    !check_digest(data, tlv_offset + prot_size, scan.hash, data + scan.hash_offset, error))
		return FALSE;

	memcpy(tmp.hash, data + scan.hash_offset, scan.hash->digest_len);
	tmp.hash_len = scan.hash->digest_len;
	tmp.hash_tlv_type = scan.hash->type;
	tmp.sig_tlv_type = scan.sig_type;
	tmp.sig_offset = scan.sig_offset;
	tmp.sig_len = scan.sig_len;
	tmp.total_size = tlv_offset + prot_size + unprot_size;
	*info = tmp;
	return TRUE;
}

/* the BOOT_MAX_ALIGN of a trailer magic at the end of [start, len), 0 when there is none */
static gsize
trailer_align(const guint8 *data, gsize start, gsize len)
{
	const guint8 *magic = data + len - MCUBOOT_TRAILER_MAGIC_SIZE;
	gsize align;

	if (len - start < MCUBOOT_TRAILER_MAGIC_SIZE)
		return 0;
	if (memcmp(magic, mcuboot_trailer_magic, MCUBOOT_TRAILER_MAGIC_SIZE) == 0)
		return TRAILER_DEFAULT_ALIGN;
	align = read_le16(magic);
	if (memcmp(magic + 2, trailer_magic_aligned, sizeof(trailer_magic_aligned)) == 0 && align > 0 &&
	    align <= TRAILER_MAX_ALIGN)
		return align;
	return 0;
}

gboolean
mcuboot_image_check_padding(const guint8 *data, gsize len, const McubootImageInfo *info, GError **error)
{
	gsize start = info->total_size;
	gsize end = len;
	gsize align = trailer_align(data, start, len);
	gsize image_ok = G_MAXSIZE;
	guint8 erased;

	if (start >= len)
		return TRUE;
	if (align != 0) {
		gsize magic_area = (MCUBOOT_TRAILER_MAGIC_SIZE + align - 1) / align * align;

		end -= MCUBOOT_TRAILER_MAGIC_SIZE;
		/* imgtool --confirm sets image_ok, one alignment unit before the magic's */
		if (len - start >= magic_area + align)
			image_ok = len - magic_area - align;
	}
	erased = start < end ? data[start] : 0xff;
	for (gsize pos = start; pos < end; pos++) {
		if ((erased == 0xff || erased == 0x00) &&
		    (data[pos] == erased || (pos == image_ok && data[pos] == 0x01)))
			continue;
		g_set_error(
		        error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE,
		        "%zu bytes follow the image's TLVs at offset %zu that are no padding (byte 0x%02x at "
		        "offset %zu); only the erased value and an MCUboot trailer may follow an image",
		        len - start, start, data[pos], pos);
		return FALSE;
	}
	return TRUE;
}
