/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>

#include "dfu-bundle.h"
#include "dfu-error.h"
#include "dfu-file.h"
#include "dfu-manifest.h"
#include "dfu-sha256.h"
#include "dfu-zip-reader.h"

#define DFU_BUNDLE_MAX_SIZE (256u * 1024 * 1024)

static const guint8 zip_local_magic[] = {'P', 'K', 3, 4};
/* an archive without entries starts with its end-of-central-directory record */
static const guint8 zip_empty_magic[] = {'P', 'K', 5, 6};

static const char *const kind_names[] = {
        [DFU_BUNDLE_MCUBOOT_IMAGE] = "mcuboot-image",
        [DFU_BUNDLE_ZEPHYR_ZIP] = "zephyr-zip",
        [DFU_BUNDLE_NRF5_ZIP] = "nrf5-zip",
        [DFU_BUNDLE_MESH_ZIP] = "mesh-zip",
};

const char *
dfu_bundle_kind_to_string(DfuBundleKind kind)
{
	if ((guint)kind >= G_N_ELEMENTS(kind_names))
		return "unknown";
	return kind_names[kind];
}

static void
dfu_plan_image_free(DfuPlanImage *image)
{
	if (image == NULL)
		return;
	g_free(image->name);
	g_clear_pointer(&image->data, g_bytes_unref);
	g_clear_pointer(&image->stream, dfu_image_data_unref);
	g_free(image->version);
	g_free(image->board);
	g_free(image->soc);
	g_free(image);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuPlanImage, dfu_plan_image_free)

void
dfu_plan_free(DfuPlan *plan)
{
	if (plan == NULL)
		return;
	g_clear_pointer(&plan->images, g_ptr_array_unref);
	g_clear_pointer(&plan->nrf5, nrf5_package_free);
	g_clear_pointer(&plan->mesh, mesh_package_free);
	g_free(plan);
}

DfuPlan *
dfu_plan_new_empty(void)
{
	DfuPlan *plan = g_new0(DfuPlan, 1);

	plan->kind = DFU_BUNDLE_MCUBOOT_IMAGE;
	plan->images = g_ptr_array_new_with_free_func((GDestroyNotify)dfu_plan_image_free);
	return plan;
}

DfuPlanImage *
dfu_plan_image_new_held(guint image_index, const guint8 *hash, gsize hash_len, const char *version)
{
	DfuPlanImage *image = g_new0(DfuPlanImage, 1);

	image->image_index = image_index;
	image->slot = -1;
	image->name = g_strdup_printf("image %u", image_index);
	image->data = g_bytes_new(NULL, 0);
	image->stream = dfu_image_data_new_bytes(image->data);
	image->info.hash_len = MIN(hash_len, sizeof(image->info.hash));
	memcpy(image->info.hash, hash, image->info.hash_len);
	image->version = g_strdup(version != NULL ? version : "");
	if (version != NULL)
		mcuboot_version_parse(version, &image->info.version);
	return image;
}

/* Parses and checks one image; errors name the file. data_sha256, when known, is the digest
 * of all of data: a bare image without padding needs no second pass over its bytes. */
static DfuPlanImage *
plan_image_new(const char *name, GBytes *data, const guint8 *data_sha256, guint image_index, GError **error)
{
	g_autoptr(DfuPlanImage) image = g_new0(DfuPlanImage, 1);
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(data, &len);

	if (!mcuboot_image_parse(bytes, len, &image->info, error) ||
	    !mcuboot_image_check_padding(bytes, len, &image->info, error)) {
		g_prefix_error(error, "%s: ", name);
		return NULL;
	}
	/* the device needs the image, not imgtool's padding up to the slot size */
	image->padding = len - image->info.total_size;
	if (image->padding > 0)
		g_info("%s: %zu bytes of padding after the image are not sent", name, image->padding);
	if (data_sha256 != NULL && image->padding == 0)
		memcpy(image->file_sha256, data_sha256, DFU_SHA256_LEN);
	else if (!dfu_sha256_digest(bytes, image->info.total_size, image->file_sha256, error))
		return NULL;
	if (image->info.encrypted)
		g_info("%s: encrypted image, its hash could not be checked", name);
	image->image_index = image_index;
	image->slot = -1;
	image->name = g_strdup(name);
	image->data = g_bytes_new_from_bytes(data, 0, image->info.total_size);
	image->stream = dfu_image_data_new_bytes(image->data);
	image->version = mcuboot_version_to_string(&image->info.version);
	return g_steal_pointer(&image);
}

static gint
compare_image_index(gconstpointer a, gconstpointer b)
{
	const DfuPlanImage *ia = *(DfuPlanImage *const *)a;
	const DfuPlanImage *ib = *(DfuPlanImage *const *)b;

	if (ia->image_index != ib->image_index)
		return (ia->image_index > ib->image_index) - (ia->image_index < ib->image_index);
	return (ia->slot > ib->slot) - (ia->slot < ib->slot);
}

/* A manifest that names another version than the image header is not to be trusted for either. */
static gboolean
check_manifest_version(const DfuManifestEntry *entry, const DfuPlanImage *image, GError **error)
{
	McubootVersion listed = {0};

	if (entry->version == NULL)
		return TRUE;
	if (!mcuboot_version_parse(entry->version, &listed)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: version_MCUBOOT \"%s\" is not a version", entry->file,
		            entry->version);
		return FALSE;
	}
	if (mcuboot_version_compare(&listed, &image->info.version) != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		            DFU_MANIFEST_NAME ": %s: version_MCUBOOT is %s but the image header says %s",
		            entry->file, entry->version, image->version);
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_zip(DfuPlan *plan, GBytes *bundle, const char *name, GError **error)
{
	g_autoptr(DfuZipReader) reader = dfu_zip_reader_new(bundle, name, error);
	g_autoptr(GBytes) manifest_bytes = NULL;
	g_autoptr(GPtrArray) entries = NULL;

	if (reader == NULL)
		return FALSE;
	if (!dfu_zip_reader_has_entry(reader, DFU_MANIFEST_NAME)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
		                    DFU_MANIFEST_NAME ": missing from the archive");
		return FALSE;
	}
	manifest_bytes = dfu_zip_reader_read(reader, DFU_MANIFEST_NAME, error);
	if (manifest_bytes == NULL)
		return FALSE;
	/* the files of an nRF5 package, but .dat files of the mesh's own making */
	if (mesh_manifest_detect(manifest_bytes)) {
		g_autoptr(Nrf5Package) files = nrf5_package_load_files(reader, manifest_bytes, error);

		plan->kind = DFU_BUNDLE_MESH_ZIP;
		plan->mesh = files != NULL ? mesh_package_load(files, manifest_bytes, error) : NULL;
		return plan->mesh != NULL;
	}
	if (nrf5_manifest_detect(manifest_bytes)) {
		plan->kind = DFU_BUNDLE_NRF5_ZIP;
		plan->nrf5 = nrf5_package_load(reader, manifest_bytes, error);
		return plan->nrf5 != NULL;
	}
	entries = dfu_manifest_parse(manifest_bytes, error);
	if (entries == NULL)
		return FALSE;

	for (guint i = 0; i < entries->len; i++) {
		DfuManifestEntry *entry = g_ptr_array_index(entries, i);
		g_autoptr(GBytes) data = NULL;
		DfuPlanImage *image;

		if (!dfu_zip_reader_has_entry(reader, entry->file)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST,
			            "%s: listed in " DFU_MANIFEST_NAME " but not in the archive",
			            entry->file);
			return FALSE;
		}
		data = dfu_zip_reader_read(reader, entry->file, error);
		if (data == NULL)
			return FALSE;
		image = plan_image_new(entry->file, data, NULL, entry->image_index, error);
		if (image == NULL)
			return FALSE;
		g_ptr_array_add(plan->images, image);
		if (!check_manifest_version(entry, image, error))
			return FALSE;
		image->slot = entry->slot;
		image->board = g_steal_pointer(&entry->board);
		image->soc = g_steal_pointer(&entry->soc);
	}
	g_ptr_array_sort(plan->images, compare_image_index);
	return TRUE;
}

static gboolean
has_prefix(const guint8 *data, gsize len, const guint8 *prefix, gsize prefix_len)
{
	return len >= prefix_len && memcmp(data, prefix, prefix_len) == 0;
}

DfuPlan *
dfu_plan_load_bytes(GBytes *bundle, const char *name, GError **error)
{
	g_autoptr(DfuPlan) plan = g_new0(DfuPlan, 1);
	gsize len = 0;
	const guint8 *data;
	const guint8 image_magic[] = {MCUBOOT_IMAGE_MAGIC & 0xff, (MCUBOOT_IMAGE_MAGIC >> 8) & 0xff,
	                              (MCUBOOT_IMAGE_MAGIC >> 16) & 0xff, MCUBOOT_IMAGE_MAGIC >> 24};

	g_return_val_if_fail(bundle != NULL, NULL);
	if (name == NULL)
		name = "bundle";
	data = g_bytes_get_data(bundle, &len);
	plan->images = g_ptr_array_new_with_free_func((GDestroyNotify)dfu_plan_image_free);

	if (len == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: bundle is empty", name);
		return NULL;
	}
	if (len > DFU_BUNDLE_MAX_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		            "%s: bundle is larger than %u MiB", name, DFU_BUNDLE_MAX_SIZE >> 20);
		return NULL;
	}
	if (!dfu_sha256_digest(data, len, plan->bundle_sha256, error))
		return NULL;

	if (has_prefix(data, len, zip_local_magic, sizeof(zip_local_magic)) ||
	    has_prefix(data, len, zip_empty_magic, sizeof(zip_empty_magic))) {
		plan->kind = DFU_BUNDLE_ZEPHYR_ZIP;
		if (!load_zip(plan, bundle, name, error))
			return NULL;
	} else if (has_prefix(data, len, image_magic, sizeof(image_magic))) {
		DfuPlanImage *image = plan_image_new(name, bundle, plan->bundle_sha256, 0, error);

		if (image == NULL)
			return NULL;
		plan->kind = DFU_BUNDLE_MCUBOOT_IMAGE;
		g_ptr_array_add(plan->images, image);
	} else {
		g_set_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		            "%s: neither an MCUboot image nor a zip archive", name);
		return NULL;
	}
	return g_steal_pointer(&plan);
}

DfuPlan *
dfu_plan_load_file(const char *path, const char *name, GError **error)
{
	g_autoptr(GError) read_error = NULL;
	g_autofree char *base = g_path_get_basename(path);
	g_autoptr(GMappedFile) mapped = NULL;
	g_autoptr(GBytes) bytes = NULL;

	if (name == NULL)
		name = base;
	/* mapped, not read: a large bundle costs page cache, not heap */
	mapped = g_mapped_file_new(path, FALSE, &read_error);
	if (mapped == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: %s", name,
		            read_error->message);
		return NULL;
	}
	if (g_mapped_file_get_length(mapped) > DFU_BUNDLE_MAX_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		            "%s: bundle is larger than %u MiB", name, DFU_BUNDLE_MAX_SIZE >> 20);
		return NULL;
	}
	bytes = g_mapped_file_get_bytes(mapped);
	return dfu_plan_load_bytes(bytes, name, error);
}

/* the image's bytes from fd from now on, out of memory */
static void
stream_from(GBytes **data, DfuImageData **stream, int fd)
{
	gsize size = g_bytes_get_size(*data);

	g_clear_pointer(stream, dfu_image_data_unref);
	*stream = dfu_image_data_new_file(fd, 0, size);
	g_clear_pointer(data, g_bytes_unref);
}

/* an archive's image, inflated into a file that has no name and goes with its descriptor;
 * kept in memory where the file system cannot make such a file */
static gboolean
spill_image(GBytes **data, DfuImageData **stream, const char *name, const char *dir, GError **error)
{
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(*data, &len);
	int fd = g_open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR)
			return TRUE;
		dfu_file_error(error, "create an image file in", dir, errno);
		return FALSE;
	}
	if (!dfu_file_pwrite_all(fd, bytes, len, 0, name, error)) {
		close(fd);
		return FALSE;
	}
	stream_from(data, stream, fd);
	return TRUE;
}

/* the images of an archive, each in an unnamed file beside it */
static gboolean
spill_images(DfuPlan *plan, const char *dir, GError **error)
{
	for (guint i = 0; i < plan->images->len; i++) {
		DfuPlanImage *img = g_ptr_array_index(plan->images, i);

		if (!spill_image(&img->data, &img->stream, img->name, dir, error))
			return FALSE;
	}
	for (guint i = 0; plan->nrf5 != NULL && i < plan->nrf5->images->len; i++) {
		Nrf5Image *img = g_ptr_array_index(plan->nrf5->images, i);

		if (!spill_image(&img->firmware, &img->stream, img->bin_file, dir, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
dfu_plan_stream_from_file(DfuPlan *plan, const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	DfuPlanImage *img;
	int fd;

	if (plan->kind != DFU_BUNDLE_MCUBOOT_IMAGE)
		return spill_images(plan, dir, error);
	if (plan->images->len == 0)
		return TRUE;
	/* a bare image is the start of the bundle file itself */
	img = g_ptr_array_index(plan->images, 0);
	fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "cannot open %s: %s", path,
		            g_strerror(errno));
		return FALSE;
	}
	stream_from(&img->data, &img->stream, fd);
	return TRUE;
}
