/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>

#include "bundle-writer.h"
#include "dfu-bundle.h"
#include "dfu-error.h"
#include "dfu-manifest.h"
#include "dfu-sha256.h"
#include "mcuboot-writer.h"
#include "test-util.h"

static GBytes *
make_image(guint8 major, gsize size, guint32 seed)
{
	McubootWriterOptions opts = {.version = {major, 0, 0, 0}, .payload_size = size, .seed = seed};
	g_autoptr(GError) error = NULL;
	GBytes *bytes = mcuboot_writer_build(&opts, &error);

	g_assert_no_error(error);
	return bytes;
}

static GBytes *
make_zip(const BundleWriterEntry *entries, gsize n)
{
	g_autoptr(GError) error = NULL;
	GBytes *zip = bundle_writer_zip(entries, n, &error);

	g_assert_no_error(error);
	g_assert_nonnull(zip);
	return zip;
}

/* Loads a bundle that must fail with @code; returns the message for further checks. */
static char *
expect_failure(GBytes *bundle, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(bundle, "test.zip", &error);

	g_assert_null(plan);
	g_assert_error(error, DFU_ERROR, code);
	g_test_message("%s", error->message);
	return g_strdup(error->message);
}

/* A zip with manifest.json holding @manifest and the given images. */
static GBytes *
make_zip_with_manifest(const char *manifest, const BundleWriterEntry *images, gsize n_images)
{
	g_autoptr(GBytes) manifest_bytes = g_bytes_new(manifest, strlen(manifest));
	g_autofree BundleWriterEntry *entries = g_new0(BundleWriterEntry, n_images + 1);

	if (n_images > 0)
		memcpy(entries, images, n_images * sizeof(*images));
	entries[n_images].name = "manifest.json";
	entries[n_images].data = manifest_bytes;
	return make_zip(entries, n_images + 1);
}

/* a TF-M-like build: 512 KiB of which most is imgtool padding ending in the trailer */
static void
test_padded_image(void)
{
	McubootWriterOptions opts = {.version = {2, 0, 0, 0}, .payload_size = 110000, .seed = 5};
	g_autoptr(GBytes) image = make_image(2, 110000, 5);
	g_autoptr(GBytes) padded = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;
	DfuPlanImage *pi;
	guint8 sha[32];
	unsigned int sha_len = 0;

	opts.pad_size = 512 * 1024;
	padded = mcuboot_writer_build(&opts, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_bytes_get_size(padded), ==, 512 * 1024);
	plan = dfu_plan_load_bytes(padded, "tfm_s_ns_signed.bin", &error);
	g_assert_no_error(error);
	pi = g_ptr_array_index(plan->images, 0);
	/* what is uploaded is the image alone, and its upload sha is over those bytes */
	g_assert_cmpmem(g_bytes_get_data(pi->data, NULL), g_bytes_get_size(pi->data),
	                g_bytes_get_data(image, NULL), g_bytes_get_size(image));
	g_assert_cmpuint(pi->padding, ==, 512 * 1024 - g_bytes_get_size(image));
	g_assert_true(EVP_Digest(g_bytes_get_data(image, NULL), g_bytes_get_size(image), sha, &sha_len,
	                         EVP_sha256(), NULL));
	g_assert_cmpmem(pi->file_sha256, 32, sha, sha_len);
}

/* bytes after the image that are not padding are refused, naming the file */
static void
test_image_with_trailing_data(void)
{
	g_autoptr(GBytes) image = make_image(2, 1000, 5);
	g_autoptr(GByteArray) joined = g_byte_array_new();
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;

	g_byte_array_append(joined, g_bytes_get_data(image, NULL), g_bytes_get_size(image));
	g_byte_array_append(joined, g_bytes_get_data(image, NULL), g_bytes_get_size(image));
	bytes = g_byte_array_free_to_bytes(g_steal_pointer(&joined));
	plan = dfu_plan_load_bytes(bytes, "twice.bin", &error);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	g_assert_true(g_str_has_prefix(error->message, "twice.bin: "));
	g_assert_null(plan);
}

static void
test_bare_image(void)
{
	g_autoptr(GBytes) image = make_image(3, 1000, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(image, "app.bin", &error);
	DfuPlanImage *pi;
	guint8 sha[32];
	unsigned int sha_len = 0;

	g_assert_no_error(error);
	g_assert_nonnull(plan);
	g_assert_cmpint(plan->kind, ==, DFU_BUNDLE_MCUBOOT_IMAGE);
	g_assert_cmpuint(plan->images->len, ==, 1);
	pi = g_ptr_array_index(plan->images, 0);
	g_assert_cmpstr(pi->name, ==, "app.bin");
	g_assert_cmpuint(pi->image_index, ==, 0);
	g_assert_cmpstr(pi->version, ==, "3.0.0");
	g_assert_true(g_bytes_equal(pi->data, image));
	g_assert_null(pi->board);
	g_assert_cmpuint(pi->info.img_size, ==, 1000);
	g_assert_true(EVP_Digest(g_bytes_get_data(image, NULL), g_bytes_get_size(image), sha, &sha_len,
	                         EVP_sha256(), NULL));
	g_assert_cmpmem(pi->file_sha256, 32, sha, sha_len);
	g_assert_cmpmem(plan->bundle_sha256, 32, sha, sha_len);
}

static void
check_two_image_zip(gboolean string_index)
{
	g_autoptr(GBytes) app = make_image(1, 2048, 1);
	g_autoptr(GBytes) net = make_image(2, 512, 2);
	/* listed net first: the plan must still be ordered by index */
	const BundleWriterImage images[] = {
	        {"net.bin", net, 1},
	        {"app.bin", app, 0},
	};
	BundleWriterManifestOptions opts = {
	        .board = "nrf5340dk", .soc = "nrf5340", .string_index = string_index};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = bundle_writer_dfu_zip(images, G_N_ELEMENTS(images), &opts, &error);
	g_autoptr(DfuPlan) plan = NULL;
	DfuPlanImage *first, *second;

	g_assert_no_error(error);
	plan = dfu_plan_load_bytes(zip, "dfu_application.zip", &error);
	g_assert_no_error(error);
	g_assert_nonnull(plan);
	g_assert_cmpint(plan->kind, ==, DFU_BUNDLE_ZEPHYR_ZIP);
	g_assert_cmpuint(plan->images->len, ==, 2);
	first = g_ptr_array_index(plan->images, 0);
	second = g_ptr_array_index(plan->images, 1);
	g_assert_cmpuint(first->image_index, ==, 0);
	g_assert_cmpstr(first->name, ==, "app.bin");
	g_assert_cmpstr(first->version, ==, "1.0.0");
	g_assert_true(g_bytes_equal(first->data, app));
	g_assert_cmpstr(first->board, ==, "nrf5340dk");
	g_assert_cmpstr(first->soc, ==, "nrf5340");
	g_assert_cmpuint(second->image_index, ==, 1);
	g_assert_cmpstr(second->name, ==, "net.bin");
	g_assert_cmpstr(second->version, ==, "2.0.0");
	g_assert_true(g_bytes_equal(second->data, net));
}

static void
test_zip_string_index(void)
{
	check_two_image_zip(TRUE);
}

static void
test_zip_int_index(void)
{
	check_two_image_zip(FALSE);
}

static void
test_zip_skips_other_types(void)
{
	g_autoptr(GBytes) app = make_image(1, 64, 1);
	const BundleWriterEntry images[] = {{"app.bin", app, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest(
	        "{\"files\":[{\"type\":\"mcuboot\",\"file\":\"mcuboot.bin\"},{\"file\":\"app.bin\"}]}",
	        images, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(zip, NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(plan->images->len, ==, 1);
	g_assert_cmpuint(((DfuPlanImage *)g_ptr_array_index(plan->images, 0))->image_index, ==, 0);
}

static void
test_missing_manifest(void)
{
	g_autoptr(GBytes) app = make_image(1, 64, 1);
	const BundleWriterEntry entries[] = {{"app.bin", app, FALSE}};
	g_autoptr(GBytes) zip = make_zip(entries, 1);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_MANIFEST);

	g_assert_nonnull(strstr(message, "manifest.json"));
}

static void
test_bad_manifests(void)
{
	const char *manifests[] = {
	        "{\"files\": [",
	        "",
	        "[]",
	        "{}",
	        "{\"files\": {}}",
	        "{\"files\": []}",
	        "{\"files\": [42]}",
	        "{\"files\": [{\"image_index\": 0}]}",
	        "{\"files\": [{\"file\": 7}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"image_index\": \"zero\"}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"image_index\": \"-1\"}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"image_index\": 99}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"image_index\": 1.5}]}",
	        "{\"files\": [{\"file\": \"app.bin\"}, {\"file\": \"app2.bin\", \"image_index\": \"0\"}]}",
	        /* builds per slot: each must name a slot of its image, another than the other's */
	        "{\"files\": [{\"file\": \"app.bin\", \"slot\": \"0\"}, {\"file\": \"app2.bin\", \"slot\": "
	        "0}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"slot\": \"0\"}, {\"file\": \"app2.bin\"}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"slot\": \"5\"}]}",
	        "{\"files\": [{\"file\": \"app.bin\", \"slot\": \"one\"}]}",
	};
	g_autoptr(GBytes) app = make_image(1, 64, 1);
	const BundleWriterEntry images[] = {{"app.bin", app, FALSE}, {"app2.bin", app, FALSE}};

	for (gsize i = 0; i < G_N_ELEMENTS(manifests); i++) {
		g_autoptr(GBytes) zip = make_zip_with_manifest(manifests[i], images, G_N_ELEMENTS(images));
		g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_MANIFEST);

		g_assert_cmpstr(message, !=, "");
	}
}

/* an NCS direct-XIP bundle: one build per slot of one image, the slot as NCS writes it */
static void
test_zip_slot_variants(void)
{
	g_autoptr(GBytes) s0 = make_image(2, 64, 1);
	g_autoptr(GBytes) s1 = make_image(2, 64, 2);
	const BundleWriterEntry images[] = {{"s1.bin", s1, FALSE}, {"s0.bin", s0, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest(
	        "{\"files\": [{\"file\": \"s1.bin\", \"image_index\": \"0\", \"slot\": \"1\", "
	        "\"version_MCUBOOT+XIP\": \"2.0.0+0\"}, {\"file\": \"s0.bin\", \"image_index\": \"0\", "
	        "\"slot\": 0, \"version_MCUBOOT+XIP\": \"2.0.0+0\"}]}",
	        images, G_N_ELEMENTS(images));
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(zip, "dfu_application.zip", &error);
	const DfuPlanImage *first;
	const DfuPlanImage *second;

	g_assert_no_error(error);
	g_assert_cmpuint(plan->images->len, ==, 2);
	first = g_ptr_array_index(plan->images, 0);
	second = g_ptr_array_index(plan->images, 1);
	g_assert_cmpstr(first->name, ==, "s0.bin");
	g_assert_cmpint(first->slot, ==, 0);
	g_assert_cmpstr(second->name, ==, "s1.bin");
	g_assert_cmpint(second->slot, ==, 1);
}

static void
test_missing_file(void)
{
	g_autoptr(GBytes) zip = make_zip_with_manifest(
	        "{\"files\": [{\"file\": \"app.bin\", \"image_index\": \"0\"}]}", NULL, 0);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_MANIFEST);

	g_assert_true(g_str_has_prefix(message, "app.bin: "));
}

static void
test_bad_image_in_zip(void)
{
	McubootWriterOptions opts = {.payload_size = 64, .bad_hash = TRUE};
	g_autoptr(GBytes) bad = mcuboot_writer_build(&opts, NULL);
	const BundleWriterEntry images[] = {{"app.bin", bad, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 1);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_CHECKSUM_MISMATCH);

	g_assert_cmpstr(message, ==, "app.bin: image hash TLV does not match contents");
}

static void
check_unsafe_name(const char *name)
{
	g_autoptr(GBytes) data = g_bytes_new_static("x", 1);
	const BundleWriterEntry images[] = {{name, data, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 1);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_ZIP);

	g_assert_true(g_str_has_prefix(message, name));
}

static void
test_traversal_name(void)
{
	check_unsafe_name("../app.bin");
	check_unsafe_name("dir/../../app.bin");
	check_unsafe_name("..");
}

static void
test_absolute_name(void)
{
	check_unsafe_name("/etc/app.bin");
	check_unsafe_name("C:/app.bin");
	check_unsafe_name("c:app.bin");
}

static void
test_backslash_name(void)
{
	check_unsafe_name("dir\\app.bin");
}

/* Replaces every occurrence of @from by @to (same length) in a copy of @bytes. */
static GBytes *
patch_all(GBytes *bytes, const char *from, const char *to)
{
	gsize len = 0;
	guint8 *data = g_bytes_unref_to_data(g_bytes_ref(bytes), &len);
	gsize n = strlen(from);
	guint hits = 0;

	g_assert_cmpuint(n, ==, strlen(to));
	for (gsize i = 0; i + n <= len; i++) {
		if (memcmp(data + i, from, n) == 0) {
			memcpy(data + i, to, n);
			hits++;
		}
	}
	g_assert_cmpuint(hits, >=, 2);
	return g_bytes_new_take(data, len);
}

static void
test_duplicate_name(void)
{
	g_autoptr(GBytes) app = make_image(1, 64, 1);
	const BundleWriterEntry images[] = {{"app.bin", app, FALSE}, {"bpp.bin", app, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 2);
	g_autoptr(GBytes) patched = patch_all(zip, "bpp.bin", "app.bin");
	g_autofree char *message = expect_failure(patched, DFU_STATUS_MALFORMED_ZIP);

	g_assert_nonnull(strstr(message, "duplicate"));
}

static void
test_too_many_entries(void)
{
	g_autoptr(GBytes) data = g_bytes_new_static("x", 1);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	BundleWriterEntry entries[65];
	g_autoptr(GBytes) zip = NULL;
	g_autofree char *message = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(entries); i++) {
		g_ptr_array_add(names, g_strdup_printf("f%zu", i));
		entries[i] = (BundleWriterEntry){g_ptr_array_index(names, i), data, FALSE};
	}
	zip = make_zip(entries, G_N_ELEMENTS(entries));
	message = expect_failure(zip, DFU_STATUS_MALFORMED_ZIP);
	g_assert_cmpstr(message, ==, "test.zip: archive has 65 entries, at most 64 are allowed");
}

static void
put_le32(guint8 *p, guint32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Sets the declared uncompressed size of app.bin, the first entry, in both its headers. */
static GBytes *
zip_with_declared_size(guint32 declared)
{
	g_autoptr(GBytes) data = g_bytes_new_static("0123456789abcdef", 16);
	const BundleWriterEntry images[] = {{"app.bin", data, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 1);
	gsize len = 0;
	guint8 *bytes = g_bytes_unref_to_data(g_bytes_ref(zip), &len);
	const guint8 central_magic[] = {'P', 'K', 1, 2};
	guint8 *central = memmem(bytes, len, central_magic, sizeof(central_magic));

	g_assert_true(memcmp(bytes, "PK\3\4", 4) == 0);
	g_assert_nonnull(central);
	put_le32(bytes + 22, declared);
	put_le32(central + 24, declared);
	return g_bytes_new_take(bytes, len);
}

static void
test_oversize_declared(void)
{
	g_autoptr(GBytes) zip = zip_with_declared_size(65u * 1024 * 1024);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_ZIP);

	g_assert_cmpstr(message, ==, "app.bin: entry is 68157440 bytes, more than 64 MiB");
}

static void
test_undersize_declared(void)
{
	g_autoptr(GBytes) zip = zip_with_declared_size(4);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_ZIP);

	g_assert_cmpstr(message, ==, "app.bin: data runs past the declared size of 4 bytes");
}

static guint32
get_le32(const guint8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24;
}

/* Declares the entry @name (every entry when NULL) @declared bytes long, in its local and central header. */
static GBytes *
declare_size(GBytes *zip, const char *name, guint32 declared)
{
	gsize len = 0;
	guint8 *bytes = g_bytes_unref_to_data(g_bytes_ref(zip), &len);
	guint patched = 0;

	for (gsize i = 0; i + 46 <= len; i++) {
		guint32 local;
		gsize name_len;

		if (memcmp(bytes + i, "PK\1\2", 4) != 0)
			continue;
		name_len = bytes[i + 28] | bytes[i + 29] << 8;
		if (name != NULL && (i + 46 + name_len > len || name_len != strlen(name) ||
		                     memcmp(bytes + i + 46, name, name_len) != 0))
			continue;
		local = get_le32(bytes + i + 42);
		g_assert_cmpuint(local + 30, <=, len);
		put_le32(bytes + i + 24, declared);
		put_le32(bytes + local + 22, declared);
		patched++;
	}
	g_assert_cmpuint(patched, >, 0);
	return g_bytes_new_take(bytes, len);
}

/* each entry is within its limit, but together they would fill memory */
static void
test_total_size(void)
{
	g_autoptr(GBytes) data = g_bytes_new_static("x", 1);
	const BundleWriterEntry entries[] = {
	        {"a.bin", data, FALSE}, {"b.bin", data, FALSE}, {"c.bin", data, FALSE},
	        {"d.bin", data, FALSE}, {"e.bin", data, FALSE},
	};
	g_autoptr(GBytes) zip = make_zip(entries, G_N_ELEMENTS(entries));
	g_autoptr(GBytes) patched = declare_size(zip, NULL, 60u * 1024 * 1024);
	g_autofree char *message = expect_failure(patched, DFU_STATUS_MALFORMED_ZIP);

	g_assert_cmpstr(message, ==, "test.zip: archive holds more than 256 MiB uncompressed");
}

/* a small deflated entry that inflates far past what its headers declare */
static void
test_inflates_past_declared(void)
{
	gsize big = 2 * 1024 * 1024;
	g_autoptr(GBytes) zeros = g_bytes_new_take(g_malloc0(big), big);
	const BundleWriterEntry images[] = {{"app.bin", zeros, FALSE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 1);
	g_autoptr(GBytes) patched = NULL;
	g_autofree char *message = NULL;

	/* deflate shrinks it to a few kilobytes */
	g_assert_cmpuint(g_bytes_get_size(zip), <, big / 100);
	patched = declare_size(zip, "app.bin", 1000);
	message = expect_failure(patched, DFU_STATUS_MALFORMED_ZIP);
	g_assert_cmpstr(message, ==, "app.bin: data runs past the declared size of 1000 bytes");
}

static void
test_manifest_version(void)
{
	g_autoptr(GBytes) app = make_image(1, 64, 1);
	const BundleWriterEntry images[] = {{"app.bin", app, FALSE}};
	g_autoptr(GBytes) good = make_zip_with_manifest(
	        "{\"files\": [{\"file\": \"app.bin\", \"version_MCUBOOT\": \"1.0.0+0\"}]}", images, 1);
	g_autoptr(GBytes) other = make_zip_with_manifest(
	        "{\"files\": [{\"file\": \"app.bin\", \"version_MCUBOOT\": \"1.0.1\"}]}", images, 1);
	g_autoptr(GBytes) junk = make_zip_with_manifest(
	        "{\"files\": [{\"file\": \"app.bin\", \"version_MCUBOOT\": \"one\"}]}", images, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(good, "good.zip", &error);
	g_autofree char *message = NULL;
	g_autofree char *junk_message = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(plan);
	message = expect_failure(other, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(message, ==,
	                "manifest.json: app.bin: version_MCUBOOT is 1.0.1 but the image header says 1.0.0");
	junk_message = expect_failure(junk, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(junk_message, ==, "manifest.json: app.bin: version_MCUBOOT \"one\" is not a version");
}

static void
test_symlink(void)
{
	g_autoptr(GBytes) target = g_bytes_new_static("/etc/passwd", 11);
	const BundleWriterEntry images[] = {{"app.bin", target, TRUE}};
	g_autoptr(GBytes) zip = make_zip_with_manifest("{\"files\": [{\"file\": \"app.bin\"}]}", images, 1);
	g_autofree char *message = expect_failure(zip, DFU_STATUS_MALFORMED_ZIP);

	g_assert_cmpstr(message, ==, "app.bin: entry is a symbolic link");
}

static void
test_garbage(void)
{
	const char *inputs[] = {"hello world", "\x3d\xb8", "PK", "\177ELF\2\1\1", "\x3d\xb8\xf3"};
	g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
	g_autoptr(GBytes) fake_zip = g_bytes_new_static("PK\3\4garbage garbage garbage", 27);
	g_autofree char *empty_message = expect_failure(empty, DFU_STATUS_BUNDLE_UNREADABLE);
	g_autofree char *zip_message = expect_failure(fake_zip, DFU_STATUS_MALFORMED_ZIP);

	for (gsize i = 0; i < G_N_ELEMENTS(inputs); i++) {
		g_autoptr(GBytes) bytes = g_bytes_new_static(inputs[i], strlen(inputs[i]));
		g_autofree char *message = expect_failure(bytes, DFU_STATUS_UNSUPPORTED_BUNDLE);

		g_assert_true(g_str_has_prefix(message, "test.zip: "));
	}
	g_assert_cmpstr(empty_message, ==, "test.zip: bundle is empty");
	g_assert_true(g_str_has_prefix(zip_message, "test.zip: not a readable zip archive"));
}

static void
test_truncated_image(void)
{
	McubootWriterOptions opts = {.payload_size = 64, .truncate = TRUE, .truncate_len = 100};
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, NULL);
	g_autofree char *message = expect_failure(image, DFU_STATUS_MALFORMED_IMAGE);

	g_assert_true(g_str_has_prefix(message, "test.zip: "));
}

static void
test_load_file(void)
{
	g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
	g_autofree char *path = g_build_filename(dir, "app.bin", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing.bin", NULL);
	g_autoptr(GBytes) image = make_image(4, 100, 9);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;
	g_autoptr(DfuPlan) none = NULL;

	g_assert_true(
	        g_file_set_contents(path, g_bytes_get_data(image, NULL), g_bytes_get_size(image), NULL));
	plan = dfu_plan_load_file(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((DfuPlanImage *)g_ptr_array_index(plan->images, 0))->name, ==, "app.bin");
	none = dfu_plan_load_file(missing, NULL, &error);
	g_assert_null(none);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE);
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* the stream reads back exactly the image, from the file it was put in */
static void
assert_streams(DfuPlanImage *img, GBytes *expected)
{
	gsize len = g_bytes_get_size(expected);
	g_autofree guint8 *buf = g_malloc(len);
	g_autoptr(GError) error = NULL;

	g_assert_null(img->data);
	g_assert_cmpuint(dfu_image_data_get_size(img->stream), ==, len);
	g_assert_true(dfu_image_data_read(img->stream, 0, buf, len, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(buf, len, g_bytes_get_data(expected, NULL), len);
}

/* a checked plan sends its images from files: the bare bundle itself, an archive's inflated beside it */
static void
test_stream_from_file(void)
{
	g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
	g_autofree char *bare = g_build_filename(dir, "app.bin", NULL);
	g_autofree char *archive = g_build_filename(dir, "dfu_application.zip", NULL);
	g_autoptr(GBytes) app = make_image(1, 3000, 5);
	g_autoptr(GBytes) net = make_image(2, 700, 6);
	const BundleWriterImage images[] = {{"app.bin", app, 0}, {"net.bin", net, 1}};
	BundleWriterManifestOptions opts = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = bundle_writer_dfu_zip(images, G_N_ELEMENTS(images), &opts, &error);
	g_autoptr(DfuPlan) bare_plan = NULL;
	g_autoptr(DfuPlan) zip_plan = NULL;

	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(bare, g_bytes_get_data(app, NULL), g_bytes_get_size(app), NULL));
	g_assert_true(g_file_set_contents(archive, g_bytes_get_data(zip, NULL), g_bytes_get_size(zip), NULL));
	bare_plan = dfu_plan_load_file(bare, NULL, &error);
	g_assert_no_error(error);
	zip_plan = dfu_plan_load_file(archive, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(dfu_plan_stream_from_file(bare_plan, bare, &error));
	g_assert_no_error(error);
	g_assert_true(dfu_plan_stream_from_file(zip_plan, archive, &error));
	g_assert_no_error(error);
	assert_streams(g_ptr_array_index(bare_plan->images, 0), app);
	assert_streams(g_ptr_array_index(zip_plan->images, 0), app);
	assert_streams(g_ptr_array_index(zip_plan->images, 1), net);
	/* the inflated images have no name: the folder holds only what was put there */
	g_assert_cmpint(g_unlink(archive), ==, 0);
	g_assert_cmpint(g_unlink(bare), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* message-sized reads, in order and back, return the file's bytes across the read-ahead's edges */
static void
test_stream_small_reads(void)
{
	g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
	g_autofree char *bare = g_build_filename(dir, "app.bin", NULL);
	g_autoptr(GBytes) app = make_image(1, 70000, 9);
	gsize len = g_bytes_get_size(app);
	const guint8 *want = g_bytes_get_data(app, NULL);
	g_autofree guint8 *buf = g_malloc(len);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;
	DfuImageData *stream;

	g_assert_true(g_file_set_contents(bare, (const char *)want, len, NULL));
	plan = dfu_plan_load_file(bare, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(dfu_plan_stream_from_file(plan, bare, &error));
	g_assert_no_error(error);
	stream = ((DfuPlanImage *)g_ptr_array_index(plan->images, 0))->stream;
	for (gsize off = 0; off < len; off += 389) {
		gsize n = MIN((gsize)389, len - off);
		g_assert_true(dfu_image_data_read(stream, off, buf + off, n, &error));
		g_assert_no_error(error);
	}
	g_assert_cmpmem(buf, len, want, len);
	/* a resumed upload goes back to what the device acknowledged */
	memset(buf, 0, len);
	g_assert_true(dfu_image_data_read(stream, 1000, buf, 500, &error));
	g_assert_cmpmem(buf, 500, want + 1000, 500);
	g_assert_true(dfu_image_data_read(stream, len - 10, buf, 10, &error));
	g_assert_cmpmem(buf, 10, want + len - 10, 10);
	/* a bundle cut short under a running job is an error, past the bytes already read ahead */
	g_assert_cmpint(truncate(bare, 100), ==, 0);
	g_assert_false(dfu_image_data_read(stream, 1000, buf, 1, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE);
	g_assert_cmpint(g_unlink(bare), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void
test_kind_names(void)
{
	g_assert_cmpstr(dfu_bundle_kind_to_string(DFU_BUNDLE_MCUBOOT_IMAGE), ==, "mcuboot-image");
	g_assert_cmpstr(dfu_bundle_kind_to_string(DFU_BUNDLE_ZEPHYR_ZIP), ==, "zephyr-zip");
	g_assert_cmpstr(dfu_bundle_kind_to_string((DfuBundleKind)42), ==, "unknown");
}

/* a million nested arrays: refused before json-glib's recursion can run out of stack */
static void
test_deep_manifest(void)
{
	g_autoptr(GBytes) json = dfu_test_repeat("[", 1, 1000000);
	g_autoptr(GBytes) zip = bundle_writer_manifest_zip(json, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = dfu_manifest_parse(json, &error);
	g_autoptr(DfuPlan) plan = NULL;

	g_assert_null(entries);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(error->message, ==, "manifest.json nests deeper than 32 levels");
	g_clear_error(&error);
	g_assert_nonnull(zip);
	plan = dfu_plan_load_bytes(zip, "dfu_application.zip", &error);
	g_assert_null(plan);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(error->message, ==, "manifest.json nests deeper than 32 levels");
}

static void
test_sha256_is_hex(void)
{
	g_autofree char *digits = g_strnfill(DFU_SHA256_HEX_LEN, 'a');

	g_assert_true(dfu_sha256_is_hex(digits));
	digits[7] = 'F';
	g_assert_true(dfu_sha256_is_hex(digits));
	digits[7] = 'g';
	g_assert_false(dfu_sha256_is_hex(digits));
	digits[7] = '0';
	digits[DFU_SHA256_HEX_LEN - 1] = '\0';
	g_assert_false(dfu_sha256_is_hex(digits));
	g_assert_false(dfu_sha256_is_hex(""));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bundle/bare-image", test_bare_image);
	g_test_add_func("/bundle/sha256-is-hex", test_sha256_is_hex);
	g_test_add_func("/bundle/stream-from-file", test_stream_from_file);
	g_test_add_func("/bundle/stream-small-reads", test_stream_small_reads);
	g_test_add_func("/bundle/padded-image", test_padded_image);
	g_test_add_func("/bundle/image-with-trailing-data", test_image_with_trailing_data);
	g_test_add_func("/bundle/zip-string-index", test_zip_string_index);
	g_test_add_func("/bundle/zip-int-index", test_zip_int_index);
	g_test_add_func("/bundle/zip-skips-other-types", test_zip_skips_other_types);
	g_test_add_func("/bundle/missing-manifest", test_missing_manifest);
	g_test_add_func("/bundle/zip-slot-variants", test_zip_slot_variants);
	g_test_add_func("/bundle/bad-manifests", test_bad_manifests);
	g_test_add_func("/bundle/deep-manifest", test_deep_manifest);
	g_test_add_func("/bundle/missing-file", test_missing_file);
	g_test_add_func("/bundle/bad-image-in-zip", test_bad_image_in_zip);
	g_test_add_func("/bundle/traversal-name", test_traversal_name);
	g_test_add_func("/bundle/absolute-name", test_absolute_name);
	g_test_add_func("/bundle/backslash-name", test_backslash_name);
	g_test_add_func("/bundle/duplicate-name", test_duplicate_name);
	g_test_add_func("/bundle/too-many-entries", test_too_many_entries);
	g_test_add_func("/bundle/oversize-declared", test_oversize_declared);
	g_test_add_func("/bundle/undersize-declared", test_undersize_declared);
	g_test_add_func("/bundle/symlink", test_symlink);
	g_test_add_func("/bundle/total-size", test_total_size);
	g_test_add_func("/bundle/inflates-past-declared", test_inflates_past_declared);
	g_test_add_func("/bundle/manifest-version", test_manifest_version);
	g_test_add_func("/bundle/garbage", test_garbage);
	g_test_add_func("/bundle/truncated-image", test_truncated_image);
	g_test_add_func("/bundle/load-file", test_load_file);
	g_test_add_func("/bundle/kind-names", test_kind_names);
	return g_test_run();
}
