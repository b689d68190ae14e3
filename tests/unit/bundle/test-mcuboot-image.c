/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dfu-error.h"
#include "mcuboot-image.h"
#include "mcuboot-writer.h"

static GBytes *
build_image(const McubootWriterOptions *opts)
{
	g_autoptr(GError) error = NULL;
	GBytes *bytes = mcuboot_writer_build(opts, &error);

	g_assert_no_error(error);
	g_assert_nonnull(bytes);
	return bytes;
}

static gboolean
parse_bytes(GBytes *bytes, McubootImageInfo *info, GError **error)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);

	return mcuboot_image_parse(data, len, info, error);
}

static void
put_le16_at(guint8 *p, guint16 v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
test_valid_sha256(void)
{
	McubootWriterOptions opts = {
	        .version = {1, 2, 3, 4}, .payload_size = 4096, .seed = 7, .load_addr = 0x1000};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	g_autofree char *version = NULL;
	McubootImageInfo info;

	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.hdr_size, ==, 0x200);
	g_assert_cmpuint(info.img_size, ==, 4096);
	g_assert_cmpuint(info.load_addr, ==, 0x1000);
	g_assert_cmpuint(info.protect_tlv_size, ==, 0);
	g_assert_cmpuint(info.hash_tlv_type, ==, MCUBOOT_TLV_SHA256);
	g_assert_cmpuint(info.hash_len, ==, 32);
	g_assert_cmpuint(info.sig_tlv_type, ==, 0);
	g_assert_false(info.encrypted);
	/* header, payload, info header and one 32-byte hash TLV */
	g_assert_cmpuint(info.total_size, ==, 0x200 + 4096 + 4 + 4 + 32);
	g_assert_cmpuint(info.total_size, ==, g_bytes_get_size(bytes));
	version = mcuboot_version_to_string(&info.version);
	g_assert_cmpstr(version, ==, "1.2.3.4");
}

static void
test_valid_sha512(void)
{
	McubootWriterOptions opts = {.version = {2, 0, 0, 0}, .payload_size = 100, .sha512 = TRUE};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;

	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.hash_tlv_type, ==, MCUBOOT_TLV_SHA512);
	g_assert_cmpuint(info.hash_len, ==, 64);
}

static void
test_protected_tlv(void)
{
	McubootWriterOptions opts = {.payload_size = 33, .protected_tlv = TRUE, .security_counter = 5};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GBytes) broken = NULL;
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;
	guint8 *copy;
	gsize len;

	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.protect_tlv_size, ==, 12);
	g_assert_cmpuint(info.total_size, ==, g_bytes_get_size(bytes));

	/* the protected area is covered by the hash: changing the counter breaks it */
	copy = g_bytes_unref_to_data(g_bytes_ref(bytes), &len);
	copy[0x200 + 33 + 8] ^= 1;
	broken = g_bytes_new_take(copy, len);
	g_assert_false(parse_bytes(broken, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_CHECKSUM_MISMATCH);
}

static void
test_protected_size_mismatch(void)
{
	McubootWriterOptions opts = {.payload_size = 64, .protected_tlv = TRUE};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;
	gsize len;
	g_autofree guint8 *copy = g_bytes_unref_to_data(g_bytes_ref(bytes), &len);

	put_le16_at(copy + 10, 16);
	g_assert_false(mcuboot_image_parse(copy, len, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)

/* ECDSA over the image hash, checked with the key that made it */
static gboolean
verify_signature(const char *key_path, const McubootImageInfo *info, const guint8 *data)
{
	g_autoptr(BIO) bio = BIO_new_file(key_path, "r");
	g_autoptr(EVP_PKEY) key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new(key, NULL);

	g_assert_nonnull(ctx);
	return EVP_PKEY_verify_init(ctx) == 1 &&
	       EVP_PKEY_verify(ctx, data + info->sig_offset, info->sig_len, info->hash, info->hash_len) == 1;
}

static void
test_signed(void)
{
	g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
	g_autofree char *key = g_build_filename(dir, "key.pem", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	McubootWriterOptions opts = {.payload_size = 512, .sign_key_path = key};
	McubootImageInfo info;
	const guint8 *data;

	g_assert_nonnull(dir);
	g_assert_true(mcuboot_writer_generate_key(key, &error));
	g_assert_no_error(error);
	bytes = build_image(&opts);
	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.sig_tlv_type, ==, MCUBOOT_TLV_ECDSA_SIG);
	g_assert_cmpuint(info.sig_len, >=, 8);
	g_assert_cmpuint(info.sig_offset + info.sig_len, <=, info.total_size);
	/* a DER ECDSA signature starts with a SEQUENCE */
	data = g_bytes_get_data(bytes, NULL);
	g_assert_cmpuint(data[info.sig_offset], ==, 0x30);
	g_assert_true(verify_signature(key, &info, data));

	g_assert_cmpint(g_unlink(key), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void
test_bad_magic(void)
{
	McubootWriterOptions opts = {.payload_size = 16, .bad_magic = TRUE};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;

	g_assert_false(parse_bytes(bytes, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	g_assert_nonnull(strstr(error->message, "magic"));
}

static void
test_bad_hash(void)
{
	McubootWriterOptions opts = {.payload_size = 16, .bad_hash = TRUE};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;

	g_assert_false(parse_bytes(bytes, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_CHECKSUM_MISMATCH);
	g_assert_cmpstr(error->message, ==, "image hash TLV does not match contents");
}

static void
test_encrypted(void)
{
	McubootWriterOptions opts = {
	        .payload_size = 16, .bad_hash = TRUE, .flags = MCUBOOT_FLAG_ENCRYPTED_AES128};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;

	/* the hash is of the plaintext, so it cannot be checked here */
	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	g_assert_true(info.encrypted);
}

static void
test_truncated(void)
{
	/* inside the header, inside the payload, inside the TLV info, inside the hash TLV */
	const gsize cuts[] = {0,
	                      10,
	                      31,
	                      32,
	                      0x200,
	                      0x200 + 100,
	                      0x200 + 256,
	                      0x200 + 258,
	                      0x200 + 256 + 6,
	                      0x200 + 256 + 20,
	                      0x200 + 256 + 39};

	for (gsize i = 0; i < G_N_ELEMENTS(cuts); i++) {
		McubootWriterOptions opts = {.payload_size = 256, .truncate = TRUE, .truncate_len = cuts[i]};
		g_autoptr(GBytes) bytes = build_image(&opts);
		g_autoptr(GError) error = NULL;
		McubootImageInfo info;

		g_assert_cmpuint(g_bytes_get_size(bytes), ==, cuts[i]);
		g_assert_false(parse_bytes(bytes, &info, &error));
		g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	}
}

static void
test_trailing_padding(void)
{
	McubootWriterOptions opts = {.payload_size = 64};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *copy = g_malloc(g_bytes_get_size(bytes) + 100);
	McubootImageInfo info;

	memcpy(copy, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	memset(copy + g_bytes_get_size(bytes), 0xff, 100);
	g_assert_true(mcuboot_image_parse(copy, g_bytes_get_size(bytes) + 100, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.total_size, ==, g_bytes_get_size(bytes));
}

/* Overwrites the TLV area of a fresh image and parses it. */
static void
check_tlv_area(const guint8 *area, gsize area_len, gint expected_code)
{
	McubootWriterOptions opts = {.payload_size = 8};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	gsize tlv_offset = 0x200 + 8;
	g_autofree guint8 *copy = g_malloc0(tlv_offset + area_len);
	McubootImageInfo info;

	memcpy(copy, g_bytes_get_data(bytes, NULL), tlv_offset);
	memcpy(copy + tlv_offset, area, area_len);
	g_assert_false(mcuboot_image_parse(copy, tlv_offset + area_len, &info, &error));
	g_assert_error(error, DFU_ERROR, expected_code);
}

static void
test_tlv_past_end(void)
{
	/* TLV length 0x20 but only 4 value bytes before the area ends */
	const guint8 value_past_area[] = {0x07, 0x69, 0x0c, 0x00, 0x10, 0x00, 0x20, 0x00, 1, 2, 3, 4};
	/* area total larger than the file */
	const guint8 area_past_file[] = {0x07, 0x69, 0xff, 0x00, 0x10, 0x00, 0x20, 0x00};
	/* a TLV header cut by the area end */
	const guint8 header_cut[] = {0x07, 0x69, 0x06, 0x00, 0x10, 0x00};
	/* total smaller than the info header */
	const guint8 tiny_total[] = {0x07, 0x69, 0x02, 0x00};
	/* no hash TLV at all */
	const guint8 no_hash[] = {0x07, 0x69, 0x08, 0x00, 0x50, 0x00, 0x00, 0x00};
	/* hash TLV of the wrong length */
	const guint8 short_hash[] = {0x07, 0x69, 0x0a, 0x00, 0x10, 0x00, 0x02, 0x00, 0xaa, 0xbb};
	/* wrong area magic */
	const guint8 bad_magic[] = {0x07, 0x70, 0x04, 0x00};
	/* protected magic where the header declares no protected area */
	const guint8 unexpected_prot[] = {0x08, 0x69, 0x04, 0x00};

	check_tlv_area(value_past_area, sizeof(value_past_area), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(area_past_file, sizeof(area_past_file), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(header_cut, sizeof(header_cut), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(tiny_total, sizeof(tiny_total), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(no_hash, sizeof(no_hash), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(short_hash, sizeof(short_hash), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(bad_magic, sizeof(bad_magic), DFU_STATUS_MALFORMED_IMAGE);
	check_tlv_area(unexpected_prot, sizeof(unexpected_prot), DFU_STATUS_MALFORMED_IMAGE);
}

static void
test_sha384_refused(void)
{
	guint8 area[4 + 4 + 48] = {0x07, 0x69, sizeof(area), 0x00, 0x11, 0x00, 48, 0x00};

	check_tlv_area(area, sizeof(area), DFU_STATUS_UNSUPPORTED_BUNDLE);
}

static void
test_two_hashes(void)
{
	McubootWriterOptions opts = {.payload_size = 8};
	g_autoptr(GBytes) bytes = build_image(&opts);
	gsize len = g_bytes_get_size(bytes);
	gsize tlv_offset = 0x200 + 8;
	g_autofree guint8 *copy = g_malloc(len + 36);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;

	/* repeat the hash TLV */
	memcpy(copy, g_bytes_get_data(bytes, NULL), len);
	memcpy(copy + len, copy + tlv_offset + 4, 36);
	put_le16_at(copy + tlv_offset + 2, 4 + 36 + 36);
	g_assert_false(mcuboot_image_parse(copy, len + 36, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
}

static void
test_small_hdr_size(void)
{
	McubootWriterOptions opts = {.payload_size = 8, .hdr_size = 32};
	g_autoptr(GBytes) bytes = build_image(&opts);
	g_autoptr(GError) error = NULL;
	McubootImageInfo info;
	gsize len;
	g_autofree guint8 *copy = NULL;

	g_assert_true(parse_bytes(bytes, &info, &error));
	g_assert_no_error(error);
	copy = g_bytes_unref_to_data(g_bytes_ref(bytes), &len);
	put_le16_at(copy + 8, 16);
	g_assert_false(mcuboot_image_parse(copy, len, &info, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
}

static void
test_version_parse(void)
{
	const struct {
		const char *str;
		gboolean ok;
		McubootVersion version;
	} cases[] = {
	        {"1.2.3", TRUE, {1, 2, 3, 0}},
	        {"1.2.3.4", TRUE, {1, 2, 3, 4}},
	        {"1.2.3+4", TRUE, {1, 2, 3, 4}},
	        {"255.255.65535+4294967295", TRUE, {255, 255, 65535, 4294967295u}},
	        {"0.0.0", TRUE, {0, 0, 0, 0}},
	        {"256.0.0", FALSE, {0}},
	        {"1.2.65536", FALSE, {0}},
	        {"1.2.3+4294967296", FALSE, {0}},
	        {"1.2", FALSE, {0}},
	        {"1.2.3.4.5", FALSE, {0}},
	        {"1.2.3.4+5", FALSE, {0}},
	        {"1.2.3+", FALSE, {0}},
	        {"1..3", FALSE, {0}},
	        {"-1.2.3", FALSE, {0}},
	        {"+1.2.3", FALSE, {0}},
	        {" 1.2.3", FALSE, {0}},
	        {"1.2.3 ", FALSE, {0}},
	        {"a.b.c", FALSE, {0}},
	        {"", FALSE, {0}},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		McubootVersion v = {9, 9, 9, 9};
		gboolean ok = mcuboot_version_parse(cases[i].str, &v);

		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok)
			g_assert_cmpint(mcuboot_version_compare(&v, &cases[i].version), ==, 0);
	}
	g_assert_false(mcuboot_version_parse(NULL, &(McubootVersion){0}));
}

static void
test_version_print(void)
{
	g_autofree char *a = mcuboot_version_to_string(&(McubootVersion){1, 2, 3, 0});
	g_autofree char *b = mcuboot_version_to_string(&(McubootVersion){255, 0, 65535, 4294967295u});

	g_assert_cmpstr(a, ==, "1.2.3");
	g_assert_cmpstr(b, ==, "255.0.65535.4294967295");
}

static void
test_version_compare(void)
{
	const McubootVersion ordered[] = {
	        {0, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 0, 256, 0},
	        {0, 1, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 5},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(ordered); i++) {
		for (gsize j = 0; j < G_N_ELEMENTS(ordered); j++) {
			int expected = i < j ? -1 : i > j ? 1 : 0;
			g_assert_cmpint(mcuboot_version_compare(&ordered[i], &ordered[j]), ==, expected);
		}
	}
}

/* an image followed by tail_len bytes, prepared by fill */
static gboolean
check_tail(gsize tail_len, void (*fill)(guint8 *tail, gsize len), GError **error)
{
	McubootWriterOptions opts = {.payload_size = 100};
	g_autoptr(GBytes) bytes = build_image(&opts);
	gsize len = g_bytes_get_size(bytes);
	g_autofree guint8 *copy = g_malloc(len + tail_len);
	McubootImageInfo info;

	memcpy(copy, g_bytes_get_data(bytes, NULL), len);
	fill(copy + len, tail_len);
	g_assert_true(mcuboot_image_parse(copy, len + tail_len, &info, NULL));
	return mcuboot_image_check_padding(copy, len + tail_len, &info, error);
}

static void
fill_ff(guint8 *tail, gsize len)
{
	memset(tail, 0xff, len);
}

static void
fill_zero(guint8 *tail, gsize len)
{
	memset(tail, 0x00, len);
}

/* imgtool --pad: 0xff, then the magic at the very end */
static void
fill_trailer(guint8 *tail, gsize len)
{
	fill_ff(tail, len);
	memcpy(tail + len - MCUBOOT_TRAILER_MAGIC_SIZE, mcuboot_trailer_magic, MCUBOOT_TRAILER_MAGIC_SIZE);
}

/* imgtool --pad --confirm: image_ok one alignment unit before the magic */
static void
fill_trailer_confirmed(guint8 *tail, gsize len)
{
	fill_trailer(tail, len);
	tail[len - 16 - 8] = 0x01;
}

/* BOOT_MAX_ALIGN 32: the magic starts with the alignment, image_ok 32 + 32 bytes from the end */
static void
fill_trailer_align32(guint8 *tail, gsize len)
{
	static const guint8 magic[] = {0x20, 0x00, 0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b,
	                               0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

	fill_ff(tail, len);
	memcpy(tail + len - sizeof(magic), magic, sizeof(magic));
	tail[len - 64] = 0x01;
}

static void
fill_stray_byte(guint8 *tail, gsize len)
{
	fill_ff(tail, len);
	tail[len / 2] = 0x42;
}

/* image_ok where no trailer says it is one */
static void
fill_ok_without_magic(guint8 *tail, gsize len)
{
	fill_ff(tail, len);
	tail[len - 24] = 0x01;
}

static void
fill_other_image(guint8 *tail, gsize len)
{
	for (gsize i = 0; i < len; i++)
		tail[i] = (guint8)(i * 7 + 3);
}

static void
test_padding(void)
{
	static const struct {
		void (*fill)(guint8 *tail, gsize len);
		gsize len;
		gboolean ok;
	} cases[] = {
	        {fill_ff, 0, TRUE},
	        {fill_ff, 1000, TRUE},
	        {fill_zero, 1000, TRUE},
	        {fill_trailer, 1000, TRUE},
	        {fill_trailer, MCUBOOT_TRAILER_MAGIC_SIZE, TRUE},
	        {fill_trailer_confirmed, 1000, TRUE},
	        {fill_trailer_align32, 1000, TRUE},
	        {fill_stray_byte, 1000, FALSE},
	        {fill_ok_without_magic, 1000, FALSE},
	        {fill_other_image, 1000, FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean ok = check_tail(cases[i].len, cases[i].fill, &error);

		g_test_message("case %zu: %s", i, error != NULL ? error->message : "accepted");
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (!ok)
			g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mcuboot-image/valid-sha256", test_valid_sha256);
	g_test_add_func("/mcuboot-image/valid-sha512", test_valid_sha512);
	g_test_add_func("/mcuboot-image/protected-tlv", test_protected_tlv);
	g_test_add_func("/mcuboot-image/protected-size-mismatch", test_protected_size_mismatch);
	g_test_add_func("/mcuboot-image/signed", test_signed);
	g_test_add_func("/mcuboot-image/bad-magic", test_bad_magic);
	g_test_add_func("/mcuboot-image/bad-hash", test_bad_hash);
	g_test_add_func("/mcuboot-image/encrypted", test_encrypted);
	g_test_add_func("/mcuboot-image/truncated", test_truncated);
	g_test_add_func("/mcuboot-image/trailing-padding", test_trailing_padding);
	g_test_add_func("/mcuboot-image/tlv-past-end", test_tlv_past_end);
	g_test_add_func("/mcuboot-image/sha384-refused", test_sha384_refused);
	g_test_add_func("/mcuboot-image/two-hashes", test_two_hashes);
	g_test_add_func("/mcuboot-image/small-hdr-size", test_small_hdr_size);
	g_test_add_func("/mcuboot-image/padding", test_padding);
	g_test_add_func("/mcuboot-version/parse", test_version_parse);
	g_test_add_func("/mcuboot-version/print", test_version_print);
	g_test_add_func("/mcuboot-version/compare", test_version_compare);
	return g_test_run();
}
