/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bundle-writer.h"
#include "dfu-bundle.h"
#include "dfu-error.h"
#include "dfu-manifest.h"
#include "dfu-zip-reader.h"
#include "nrf5-package.h"
#include "nrf5-writer.h"

static GBytes *
firmware(gsize size, guint8 fill)
{
	guint8 *data = g_malloc(size);

	memset(data, fill, size);
	return g_bytes_new_take(data, size);
}

static DfuPlan *
load(GBytes *zip, GError **error)
{
	return dfu_plan_load_bytes(zip, "pkg.zip", error);
}

static GBytes *
package(const Nrf5WriterImage *images, gsize n)
{
	g_autoptr(GError) error = NULL;
	GBytes *zip = nrf5_writer_zip(images, n, &error);

	g_assert_no_error(error);
	return zip;
}

/* A zip with a hand-written manifest and the given extra files. */
static GBytes *
custom_package(const char *manifest, const BundleWriterEntry *files, gsize n_files)
{
	g_autoptr(GBytes) manifest_bytes = g_bytes_new(manifest, strlen(manifest));
	g_autofree BundleWriterEntry *entries = g_new0(BundleWriterEntry, n_files + 1);
	g_autoptr(GError) error = NULL;
	GBytes *zip;

	if (n_files > 0)
		memcpy(entries, files, n_files * sizeof(*files));
	entries[n_files] = (BundleWriterEntry){.name = "manifest.json", .data = manifest_bytes};
	zip = bundle_writer_zip(entries, n_files + 1, &error);
	g_assert_no_error(error);
	return zip;
}

static void
expect_failure(GBytes *zip, gint code, const char *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = load(zip, &error);

	g_assert_null(plan);
	g_assert_error(error, DFU_ERROR, code);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, needle));
}

static void
test_application(void)
{
	g_autoptr(GBytes) app = firmware(3084, 0xa5);
	g_autoptr(GBytes) dat = nrf5_writer_init_packet(NRF5_IMAGE_APPLICATION, app);
	Nrf5WriterImage images[] = {{NRF5_IMAGE_APPLICATION, app, dat}};
	g_autoptr(GBytes) zip = package(images, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = load(zip, &error);
	Nrf5Image *image;

	g_assert_no_error(error);
	g_assert_cmpint(plan->kind, ==, DFU_BUNDLE_NRF5_ZIP);
	g_assert_cmpstr(dfu_bundle_kind_to_string(plan->kind), ==, "nrf5-zip");
	g_assert_cmpuint(plan->images->len, ==, 0);
	g_assert_nonnull(plan->nrf5);
	g_assert_cmpuint(plan->nrf5->images->len, ==, 1);
	image = g_ptr_array_index(plan->nrf5->images, 0);
	g_assert_cmpint(image->type, ==, NRF5_IMAGE_APPLICATION);
	g_assert_cmpstr(image->bin_file, ==, "application.bin");
	g_assert_cmpstr(image->dat_file, ==, "application.dat");
	g_assert_true(g_bytes_equal(image->firmware, app));
	g_assert_true(g_bytes_equal(image->init_packet, dat));
}

/* The doc's example: an unsigned INIT for a 3084-byte application starts so. */
static void
test_init_packet_layout(void)
{
	g_autoptr(GBytes) app = firmware(3084, 0);
	g_autoptr(GBytes) dat = nrf5_writer_init_packet(NRF5_IMAGE_APPLICATION, app);
	const guint8 head[] = {0x0a, 0x3c, 0x08, 0x01, 0x12, 0x38, 0x08, 0x01, 0x10, 0x34,
	                       0x1a, 0x01, 0x00, 0x20, 0x00, 0x28, 0x00, 0x30, 0x00, 0x38,
	                       0x8c, 0x18, 0x42, 0x24, 0x08, 0x03, 0x12, 0x20};
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(dat, &len);

	g_assert_cmpuint(len, ==, 0x3c + 2);
	g_assert_cmpmem(data, sizeof(head), head, sizeof(head));
	g_assert_cmpuint(data[len - 2], ==, 0x48);
}

static void
test_send_order(void)
{
	g_autoptr(GBytes) app = firmware(100, 1);
	g_autoptr(GBytes) bl = firmware(200, 2);
	g_autoptr(GBytes) sd = firmware(300, 3);
	Nrf5WriterImage images[] = {
	        {NRF5_IMAGE_APPLICATION, app, NULL},
	        {NRF5_IMAGE_BOOTLOADER, bl, NULL},
	        {NRF5_IMAGE_SOFTDEVICE, sd, NULL},
	};
	g_autoptr(GBytes) zip = package(images, G_N_ELEMENTS(images));
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = load(zip, &error);
	const Nrf5ImageType expected[] = {NRF5_IMAGE_SOFTDEVICE, NRF5_IMAGE_BOOTLOADER,
	                                  NRF5_IMAGE_APPLICATION};

	g_assert_no_error(error);
	g_assert_cmpuint(plan->nrf5->images->len, ==, G_N_ELEMENTS(expected));
	for (gsize i = 0; i < G_N_ELEMENTS(expected); i++) {
		Nrf5Image *image = g_ptr_array_index(plan->nrf5->images, i);
		g_assert_cmpint(image->type, ==, expected[i]);
	}
}

static void
test_missing_dat(void)
{
	g_autoptr(GBytes) app = firmware(64, 1);
	BundleWriterEntry files[] = {{.name = "app.bin", .data = app}};
	g_autoptr(GBytes) no_file = custom_package(
	        "{\"manifest\":{\"application\":{\"bin_file\":\"app.bin\",\"dat_file\":\"app.dat\"}}}", files,
	        1);
	g_autoptr(GBytes) no_key =
	        custom_package("{\"manifest\":{\"application\":{\"bin_file\":\"app.bin\"}}}", files, 1);
	g_autoptr(GBytes) not_object = custom_package("{\"manifest\":{\"bootloader\":\"bl.bin\"}}", files, 1);
	g_autoptr(GBytes) empty = custom_package("{\"manifest\":{}}", files, 1);

	expect_failure(no_file, DFU_STATUS_MALFORMED_MANIFEST, "application: app.dat");
	expect_failure(no_key, DFU_STATUS_MALFORMED_MANIFEST, "application: dat_file");
	expect_failure(not_object, DFU_STATUS_MALFORMED_MANIFEST, "bootloader");
	expect_failure(empty, DFU_STATUS_MALFORMED_MANIFEST, "no image");
}

static void
test_bad_sizes(void)
{
	g_autoptr(GBytes) app = firmware(64, 1);
	g_autoptr(GBytes) nothing = g_bytes_new(NULL, 0);
	g_autoptr(GBytes) big_dat = firmware(NRF5_INIT_PACKET_MAX + 1, 7);
	Nrf5WriterImage empty_bin[] = {{NRF5_IMAGE_APPLICATION, nothing, big_dat}};
	Nrf5WriterImage big[] = {{NRF5_IMAGE_BOOTLOADER, app, big_dat}};
	g_autoptr(GBytes) zip1 = package(empty_bin, 1);
	g_autoptr(GBytes) zip2 = package(big, 1);

	expect_failure(zip1, DFU_STATUS_MALFORMED_IMAGE, "application: application.bin is empty");
	expect_failure(zip2, DFU_STATUS_MALFORMED_IMAGE, "bootloader: init packet");
}

static void
test_softdevice_bootloader_split(void)
{
	g_autoptr(GBytes) bin = firmware(1000, 9);
	g_autoptr(GBytes) dat = firmware(40, 8);
	BundleWriterEntry files[] = {{.name = "sd_bl.bin", .data = bin}, {.name = "sd_bl.dat", .data = dat}};
	g_autoptr(GBytes) good = custom_package(
	        "{\"manifest\":{\"softdevice_bootloader\":{\"bin_file\":\"sd_bl.bin\",\"dat_file\":"
	        "\"sd_bl.dat\",\"info_read_only_metadata\":{\"bl_size\":400,\"sd_size\":600}}}}",
	        files, 2);
	g_autoptr(GBytes) bad = custom_package(
	        "{\"manifest\":{\"softdevice_bootloader\":{\"bin_file\":\"sd_bl.bin\",\"dat_file\":"
	        "\"sd_bl.dat\",\"info_read_only_metadata\":{\"bl_size\":400,\"sd_size\":601}}}}",
	        files, 2);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = load(good, &error);
	Nrf5Image *image;

	g_assert_no_error(error);
	image = g_ptr_array_index(plan->nrf5->images, 0);
	g_assert_cmpuint(image->sd_size, ==, 600);
	g_assert_cmpuint(image->bl_size, ==, 400);
	expect_failure(bad, DFU_STATUS_MALFORMED_IMAGE, "softdevice_bootloader: sd_size 601");
}

/* the init packet's fields, and its type and size held against the manifest's entry */
static void
test_init_packet_checks(void)
{
	g_autoptr(GBytes) app = firmware(3084, 0xa5);
	g_autoptr(GBytes) other = firmware(3000, 0xa5);
	g_autoptr(GBytes) dat = nrf5_writer_init_packet(NRF5_IMAGE_APPLICATION, app);
	g_autoptr(GBytes) bl_dat = nrf5_writer_init_packet(NRF5_IMAGE_BOOTLOADER, app);
	Nrf5WriterImage good[] = {{NRF5_IMAGE_APPLICATION, app, dat}};
	Nrf5WriterImage short_bin[] = {{NRF5_IMAGE_APPLICATION, other, dat}};
	Nrf5WriterImage wrong_type[] = {{NRF5_IMAGE_APPLICATION, app, bl_dat}};
	g_autoptr(GBytes) zip = package(good, 1);
	g_autoptr(GBytes) zip_short = package(short_bin, 1);
	g_autoptr(GBytes) zip_type = package(wrong_type, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = load(zip, &error);
	g_autofree char *hash = NULL;
	g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, app);
	Nrf5Image *image;

	g_assert_no_error(error);
	image = g_ptr_array_index(plan->nrf5->images, 0);
	g_assert_nonnull(image->init);
	g_assert_cmpuint(image->init->type, ==, NRF5_INIT_APPLICATION);
	g_assert_cmpuint(image->init->fw_version, ==, 1);
	g_assert_cmpuint(image->init->hw_version, ==, 52);
	g_assert_cmpuint(image->init->app_size, ==, 3084);
	g_assert_cmpuint(image->init->sd_req->len, ==, 1);
	g_assert_cmpuint(g_array_index(image->init->sd_req, guint32, 0), ==, 0);
	g_assert_false(image->init->is_signed);
	g_assert_cmpstr(nrf5_init_signature_to_string(image->init), ==, "unsigned");
	hash = nrf5_init_packet_hash_hex(image->init);
	/* stored byte-reversed, shown as sha256sum shows it */
	g_assert_cmpstr(hash, ==, sha);

	expect_failure(zip_short, DFU_STATUS_MALFORMED_IMAGE,
	               "application.dat is for 3084 bytes, application.bin has 3000");
	expect_failure(zip_type, DFU_STATUS_MALFORMED_IMAGE, "is for a bootloader image");
}

/* a signed init packet: the signature wraps the command */
static void
test_signed_init_packet(void)
{
	/* Packet { 2: SignedCommand { 1: Command { 1: 1, 2: InitCommand { 4: 2 } }, 2: 0, 3: 64 bytes } } */
	guint8 signed_packet[2 + 2 + 6 + 2 + 2 + 64] = {0x12, 0x4c, 0x0a, 0x06, 0x08, 0x01, 0x12,
	                                                0x02, 0x20, 0x02, 0x10, 0x00, 0x1a, 0x40};
	g_autoptr(GError) error = NULL;
	g_autoptr(Nrf5InitPacket) init = nrf5_init_packet_parse(signed_packet, sizeof(signed_packet), &error);
	const guint8 garbage[] = {0x0f, 0xff};

	g_assert_no_error(error);
	g_assert_true(init->is_signed);
	g_assert_cmpuint(init->type, ==, NRF5_INIT_BOOTLOADER);
	g_assert_cmpuint(init->signature_len, ==, 64);
	g_assert_cmpstr(nrf5_init_signature_to_string(init), ==, "ecdsa-p256-sha256");
	g_assert_null(nrf5_init_packet_parse(garbage, sizeof(garbage), NULL));
}

/* nrfutil before 1.5 made packages for the legacy bootloader: refused, saying so */
static void
test_legacy_package(void)
{
	g_autoptr(GBytes) app = firmware(64, 1);
	g_autoptr(GBytes) dat = firmware(14, 2);
	BundleWriterEntry files[] = {{.name = "app.bin", .data = app}, {.name = "app.dat", .data = dat}};
	g_autoptr(GBytes) zip = custom_package(
	        "{\"manifest\":{\"application\":{\"bin_file\":\"app.bin\",\"dat_file\":\"app.dat\","
	        "\"init_packet_data\":{\"application_version\":4294967295}},\"dfu_version\":0.5}}",
	        files, 2);

	expect_failure(zip, DFU_STATUS_UNSUPPORTED_BUNDLE, "legacy DFU package (dfu_version 0.5");
}

/* A Zephyr manifest is still read as one, even when it mentions "manifest" deeper down. */
static void
test_zephyr_not_nrf5(void)
{
	g_autoptr(GBytes) zip =
	        custom_package("{\"files\":[],\"name\":\"x\",\"firmware\":{\"manifest\":{}}}", NULL, 0);

	/* the Zephyr parser's own complaint, not the nRF5 one */
	expect_failure(zip, DFU_STATUS_MALFORMED_MANIFEST, "no application image");
}

/* an nRF5 manifest whose "application" nests a million arrays deep */
static void
test_deep_manifest(void)
{
	GString *text = g_string_new("{\"manifest\": {\"application\": ");
	g_autoptr(GBytes) json = NULL;
	g_autoptr(GBytes) zip = NULL;
	g_autoptr(DfuZipReader) reader = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(Nrf5Package) package = NULL;

	for (guint i = 0; i < 1000000; i++)
		g_string_append_c(text, '[');
	json = g_string_free_to_bytes(text);
	zip = bundle_writer_manifest_zip(json, NULL);
	reader = dfu_zip_reader_new(zip, "pkg.zip", NULL);
	g_assert_nonnull(reader);
	g_assert_false(nrf5_manifest_detect(json));
	package = nrf5_package_load(reader, json, &error);
	g_assert_null(package);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(error->message, ==, "manifest.json nests deeper than 32 levels");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nrf5-package/application", test_application);
	g_test_add_func("/nrf5-package/init-packet-layout", test_init_packet_layout);
	g_test_add_func("/nrf5-package/send-order", test_send_order);
	g_test_add_func("/nrf5-package/missing-dat", test_missing_dat);
	g_test_add_func("/nrf5-package/bad-sizes", test_bad_sizes);
	g_test_add_func("/nrf5-package/softdevice-bootloader-split", test_softdevice_bootloader_split);
	g_test_add_func("/nrf5-package/init-packet-checks", test_init_packet_checks);
	g_test_add_func("/nrf5-package/signed-init-packet", test_signed_init_packet);
	g_test_add_func("/nrf5-package/legacy", test_legacy_package);
	g_test_add_func("/nrf5-package/zephyr-not-nrf5", test_zephyr_not_nrf5);
	g_test_add_func("/nrf5-package/deep-manifest", test_deep_manifest);
	return g_test_run();
}
