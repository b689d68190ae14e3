/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>

#include "bundle-writer.h"
#include "dfu-bundle.h"
#include "dfu-error.h"
#include "mcuboot-writer.h"
#include "mesh-writer.h"
#include "test-util.h"

static GBytes *
firmware(gsize size, guint32 seed)
{
	guint8 *data = g_malloc(size);

	mcuboot_writer_fill_payload(data, size, seed);
	return g_bytes_new_take(data, size);
}

static MeshWriterImage
app_image(GBytes *fw, guint32 version)
{
	return (MeshWriterImage){
	        .type = MESH_DFU_TYPE_APPLICATION,
	        .firmware = fw,
	        .fwid = {.company = 0x59, .app_id = 1, .app_version = version},
	};
}

static DfuPlan *
load_images(GBytes *zip, guint n_images)
{
	g_autoptr(GError) error = NULL;
	DfuPlan *plan = dfu_plan_load_bytes(zip, "mesh.zip", &error);

	g_assert_no_error(error);
	g_assert_cmpint(plan->kind, ==, DFU_BUNDLE_MESH_ZIP);
	g_assert_cmpstr(dfu_bundle_kind_to_string(plan->kind), ==, "mesh-zip");
	g_assert_null(plan->nrf5);
	g_assert_cmpuint(plan->mesh->images->len, ==, n_images);
	return plan;
}

static DfuPlan *
load_ok(GBytes *zip)
{
	return load_images(zip, 1);
}

/* the example of the reference: company 0x59, app 1, version 2, an unsigned 20-byte .dat */
static void
test_unsigned_application(void)
{
	g_autoptr(GBytes) fw = firmware(23280, 1);
	MeshWriterImage image = app_image(fw, 2);
	g_autoptr(GBytes) dat = mesh_writer_init_packet(&image, NULL, NULL);
	const guint8 want[] = {0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0x5A, 0x00, 0x00, 0x00,
	                       0x59, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00};
	g_autoptr(GBytes) zip = mesh_writer_zip(&image, 1, NULL, NULL);
	g_autoptr(DfuPlan) plan = load_ok(zip);
	const MeshImage *img = g_ptr_array_index(plan->mesh->images, 0);
	g_autofree char *fwid = mesh_fwid_to_string(img->init.type, &img->init.fwid);

	g_assert_cmpmem(g_bytes_get_data(dat, NULL), g_bytes_get_size(dat), want, sizeof(want));
	g_assert_cmpint(img->init.type, ==, MESH_DFU_TYPE_APPLICATION);
	g_assert_cmpuint(img->init.start_addr, ==, 0xFFFFFFFF);
	g_assert_cmpuint(img->init.length, ==, 23280);
	g_assert_false(img->init.is_signed);
	g_assert_cmpuint(img->init.fwid.app_version, ==, 2);
	g_assert_cmpuint(mesh_image_segments(img), ==, 1455);
	g_assert_cmpstr(fwid, ==, "application company 0x00000059 id 0x0001 version 2");
}

/* a signed .dat is 84 bytes and its four signature segments follow the firmware */
static void
test_signed_application(void)
{
	g_autofree char *dir = g_dir_make_tmp("mesh-XXXXXX", NULL);
	g_autofree char *key_path = g_build_filename(dir, "key.pem", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) fw = firmware(23280, 2);
	MeshWriterImage image = app_image(fw, 2);
	EVP_PKEY *key;
	g_autoptr(GBytes) zip = NULL;
	g_autoptr(DfuPlan) plan = NULL;
	const MeshImage *img;

	g_assert_true(mcuboot_writer_generate_key(key_path, &error));
	key = mcuboot_writer_load_private_key(key_path, &error);
	g_assert_no_error(error);
	zip = mesh_writer_zip(&image, 1, key, &error);
	g_assert_no_error(error);
	plan = load_ok(zip);
	img = g_ptr_array_index(plan->mesh->images, 0);
	g_assert_true(img->init.is_signed);
	g_assert_cmpuint(g_bytes_get_size(img->files->init_packet), ==, 84);
	g_assert_cmpuint(mesh_image_segments(img), ==, 1459);
	EVP_PKEY_free(key);
	dfu_test_remove_tree(dir);
}

static void
test_bootloader_fwid(void)
{
	g_autoptr(GBytes) fw = firmware(4096, 3);
	MeshWriterImage image = {
	        .type = MESH_DFU_TYPE_BOOTLOADER, .firmware = fw, .fwid = {.bl_id = 1, .bl_version = 2}};
	g_autoptr(GBytes) zip = mesh_writer_zip(&image, 1, NULL, NULL);
	g_autoptr(DfuPlan) plan = load_ok(zip);
	const MeshImage *img = g_ptr_array_index(plan->mesh->images, 0);

	g_assert_cmpint(img->init.type, ==, MESH_DFU_TYPE_BOOTLOADER);
	g_assert_cmpuint(img->init.fwid.bl_id, ==, 1);
	g_assert_cmpuint(img->init.fwid.bl_version, ==, 2);
}

/* a package whose manifest describes manifest_image while the files are of image */
static GBytes *
mixed_package(const MeshWriterImage *image, const MeshWriterImage *manifest_image, GBytes *bin)
{
	g_autoptr(GBytes) dat = mesh_writer_init_packet(image, NULL, NULL);
	g_autoptr(GBytes) manifest_dat = mesh_writer_init_packet(manifest_image, NULL, NULL);
	g_autofree char *manifest = mesh_writer_manifest(manifest_image, &manifest_dat, 1);
	g_autoptr(GBytes) manifest_bytes = g_bytes_new(manifest, strlen(manifest));
	const BundleWriterEntry entries[] = {
	        {.name = "application.bin", .data = bin},
	        {.name = "application.dat", .data = dat},
	        {.name = "manifest.json", .data = manifest_bytes},
	};
	g_autoptr(GError) error = NULL;
	GBytes *zip = bundle_writer_zip(entries, G_N_ELEMENTS(entries), &error);

	g_assert_no_error(error);
	return zip;
}

static void
expect_failure(GBytes *zip, gint code, const char *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(zip, "mesh.zip", &error);

	g_assert_null(plan);
	g_assert_error(error, DFU_ERROR, code);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, needle));
}

static void
test_cross_checks(void)
{
	g_autoptr(GBytes) fw = firmware(1024, 4);
	g_autoptr(GBytes) other = firmware(1024, 5);
	g_autoptr(GBytes) shorter = firmware(1020, 4);
	g_autoptr(GBytes) odd = firmware(1022, 4);
	MeshWriterImage image = app_image(fw, 2);
	MeshWriterImage other_version = app_image(fw, 3);
	MeshWriterImage other_company = app_image(fw, 2);
	MeshWriterImage other_content = app_image(other, 2);
	MeshWriterImage odd_image = app_image(odd, 2);
	g_autoptr(GBytes) short_bin = mixed_package(&image, &image, shorter);
	g_autoptr(GBytes) version = mixed_package(&image, &other_version, fw);
	g_autoptr(GBytes) company = NULL;
	g_autoptr(GBytes) hash = mixed_package(&image, &other_content, fw);
	g_autoptr(GBytes) unaligned = mixed_package(&odd_image, &odd_image, odd);

	other_company.fwid.company = 0x60;
	company = mixed_package(&image, &other_company, fw);
	expect_failure(short_bin, DFU_STATUS_MALFORMED_IMAGE,
	               "says 1024 bytes but application.bin holds 1020");
	expect_failure(version, DFU_STATUS_MALFORMED_MANIFEST, "application version");
	expect_failure(company, DFU_STATUS_MALFORMED_MANIFEST, "company ID");
	expect_failure(hash, DFU_STATUS_CHECKSUM_MISMATCH, "firmware_hash");
	expect_failure(unaligned, DFU_STATUS_MALFORMED_IMAGE, "32-bit words");
}

/* nrfutil joins SoftDevice and bootloader into one image, which no mesh transfer can carry */
static void
test_softdevice_bootloader(void)
{
	static const char manifest[] =
	        "{\"manifest\": {\"dfu_version\": 0.8,"
	        " \"application\": {\"bin_file\": \"application.bin\", \"dat_file\": \"application.dat\","
	        "  \"init_packet_data\": {\"company_id\": 89, \"start_addr\": 4294967295}},"
	        " \"softdevice_bootloader\": {\"bin_file\": \"sd_bl.bin\", \"dat_file\": \"sd_bl.dat\","
	        "  \"init_packet_data\": {\"start_addr\": 4294967295}}}}";
	g_autoptr(GBytes) fw = firmware(1024, 6);
	g_autoptr(GBytes) dat = g_bytes_new_static("\x03", 1);
	g_autoptr(GBytes) manifest_bytes = g_bytes_new_static(manifest, strlen(manifest));
	const BundleWriterEntry entries[] = {
	        {.name = "application.bin", .data = fw},
	        {.name = "application.dat", .data = dat},
	        {.name = "sd_bl.bin", .data = fw},
	        {.name = "sd_bl.dat", .data = dat},
	        {.name = "manifest.json", .data = manifest_bytes},
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = bundle_writer_zip(entries, G_N_ELEMENTS(entries), &error);

	g_assert_no_error(error);
	expect_failure(zip, DFU_STATUS_UNSUPPORTED_BUNDLE,
	               "build one package with --softdevice and another with --bootloader");
}

/* several types in one package go in the order the mesh takes them: SoftDevice, bootloader, application */
static void
test_send_order(void)
{
	g_autoptr(GBytes) fw = firmware(1024, 7);
	MeshWriterImage images[] = {
	        app_image(fw, 2),
	        {.type = MESH_DFU_TYPE_BOOTLOADER, .firmware = fw, .fwid = {.bl_id = 1, .bl_version = 2}},
	        {.type = MESH_DFU_TYPE_SOFTDEVICE, .firmware = fw, .fwid = {.sd = 0xCB}},
	};
	g_autoptr(GBytes) zip = mesh_writer_zip(images, G_N_ELEMENTS(images), NULL, NULL);
	g_autoptr(DfuPlan) plan = load_images(zip, 3);
	static const MeshDfuType order[] = {MESH_DFU_TYPE_SOFTDEVICE, MESH_DFU_TYPE_BOOTLOADER,
	                                    MESH_DFU_TYPE_APPLICATION};

	for (guint i = 0; i < G_N_ELEMENTS(order); i++)
		g_assert_cmpint(((const MeshImage *)g_ptr_array_index(plan->mesh->images, i))->init.type, ==,
		                order[i]);
}

static void
test_init_packet_parse(void)
{
	const guint8 bad_type[] = {0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0, 4, 0, 0, 0, 1, 2};
	const guint8 bad_sig[] = {0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0, 4, 0, 0, 32, 1, 2};
	const guint8 short_app[] = {0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0, 4, 0, 0, 0, 1, 2};
	const guint8 sd[] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0, 4, 0, 0, 0, 0xCB, 0x00};
	MeshInitPacket init;
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;

	g_assert_false(mesh_init_packet_parse(bad_type, sizeof(bad_type), &init, &e1));
	g_assert_error(e1, DFU_ERROR, DFU_STATUS_MALFORMED_IMAGE);
	g_assert_false(mesh_init_packet_parse(bad_sig, sizeof(bad_sig), &init, &e2));
	g_assert_false(mesh_init_packet_parse(short_app, sizeof(short_app), &init, &e3));
	g_assert_nonnull(strstr(e3->message, "not 20"));
	g_assert_true(mesh_init_packet_parse(sd, sizeof(sd), &init, NULL));
	g_assert_cmpuint(init.fwid.sd, ==, 0xCB);
	g_assert_cmpuint(init.length, ==, 1024);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mesh-package/unsigned-application", test_unsigned_application);
	g_test_add_func("/mesh-package/signed-application", test_signed_application);
	g_test_add_func("/mesh-package/bootloader", test_bootloader_fwid);
	g_test_add_func("/mesh-package/cross-checks", test_cross_checks);
	g_test_add_func("/mesh-package/init-packet", test_init_packet_parse);
	g_test_add_func("/mesh-package/softdevice-bootloader", test_softdevice_bootloader);
	g_test_add_func("/mesh-package/send-order", test_send_order);
	return g_test_run();
}
