/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle-writer.h"
#include "dfu-error.h"
#include "mcuboot-writer.h"
#include "mesh-writer.h"
#include "nrf5-writer.h"

typedef gboolean (*CommandFunc)(int argc, char **argv, GError **error);

static gboolean
write_output(const char *path, GBytes *bytes, GError **error)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(bytes, &len);

	if (path == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "-o is required");
		return FALSE;
	}
	return g_file_set_contents(path, data, len, error);
}

static gboolean
cmd_image(int argc, char **argv, GError **error)
{
	g_autofree char *output = NULL;
	g_autofree char *version = NULL;
	g_autofree char *sign_key = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("- write an MCUboot image");
	gint64 size = 0, seed = 0, truncate_len = -1, hdr_size = 0, rom_fixed = -1, ram_load = -1, pad = 0;
	McubootWriterOptions opts = {0};
	const GOptionEntry entries[] = {
	        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file", "FILE"},
	        {"version", 0, 0, G_OPTION_ARG_STRING, &version, "Image version (1.2.3+4)", "VERSION"},
	        {"size", 0, 0, G_OPTION_ARG_INT64, &size, "Payload size in bytes", "N"},
	        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the payload content", "N"},
	        {"header-size", 0, 0, G_OPTION_ARG_INT64, &hdr_size, "Header size (default 0x200)", "N"},
	        {"sha512", 0, 0, G_OPTION_ARG_NONE, &opts.sha512, "Use a SHA-512 hash TLV", NULL},
	        {"sign-key", 0, 0, G_OPTION_ARG_FILENAME, &sign_key, "Sign with this EC P-256 PEM key",
	         "FILE"},
	        {"protected-tlv", 0, 0, G_OPTION_ARG_NONE, &opts.protected_tlv, "Add a protected SEC_CNT TLV",
	         NULL},
	        {"bad-magic", 0, 0, G_OPTION_ARG_NONE, &opts.bad_magic, "Write a wrong header magic", NULL},
	        {"bad-hash", 0, 0, G_OPTION_ARG_NONE, &opts.bad_hash, "Write a wrong hash TLV", NULL},
	        {"truncate", 0, 0, G_OPTION_ARG_INT64, &truncate_len, "Keep only the first N bytes", "N"},
	        {"rom-fixed", 0, 0, G_OPTION_ARG_INT64, &rom_fixed,
	         "Direct-XIP: link for the slot at this flash address (ROM_FIXED)", "ADDR"},
	        {"ram-load", 0, 0, G_OPTION_ARG_INT64, &ram_load, "Run from RAM at this address (RAM_LOAD)",
	         "ADDR"},
	        {"pad", 0, 0, G_OPTION_ARG_INT64, &pad,
	         "Pad to SIZE bytes with 0xff and an MCUboot trailer, as imgtool --pad", "SIZE"},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	if (argc > 1) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "unexpected argument %s", argv[1]);
		return FALSE;
	}
	if (version != NULL && !mcuboot_version_parse(version, &opts.version)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "bad version %s", version);
		return FALSE;
	}
	if (size < 0 || size > G_MAXUINT32 || seed < 0 || seed > G_MAXUINT32 || hdr_size < 0 ||
	    hdr_size > G_MAXUINT16 || rom_fixed > G_MAXUINT32 || ram_load > G_MAXUINT32 ||
	    (rom_fixed >= 0 && ram_load >= 0) || pad < 0 || pad > G_MAXUINT32) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "--size, --seed, --header-size, --rom-fixed, --ram-load or --pad out of "
		                    "range, or both of --rom-fixed and --ram-load given");
		return FALSE;
	}
	/* IMAGE_F_ROM_FIXED and IMAGE_F_RAM_LOAD, with ih_load_addr */
	if (rom_fixed >= 0 || ram_load >= 0) {
		opts.flags = rom_fixed >= 0 ? 0x100 : 0x20;
		opts.load_addr = (guint32)(rom_fixed >= 0 ? rom_fixed : ram_load);
	}
	opts.payload_size = size;
	opts.seed = (guint32)seed;
	opts.hdr_size = (guint16)hdr_size;
	opts.sign_key_path = sign_key;
	opts.pad_size = (gsize)pad;
	opts.truncate = truncate_len >= 0;
	opts.truncate_len = opts.truncate ? (gsize)truncate_len : 0;
	bytes = mcuboot_writer_build(&opts, error);
	return bytes != NULL && write_output(output, bytes, error);
}

/* "app.bin", "app.bin:1" or "app.bin:0:1" (image 0, linked for slot 1); the index defaults to the
 * argument's position */
static gboolean
parse_image_arg(const char *arg, guint position, char **path, BundleWriterImage *image, GError **error)
{
	const char *base = strrchr(arg, '/');
	const char *colon = strchr(base != NULL ? base : arg, ':');
	g_auto(GStrv) fields = colon != NULL ? g_strsplit(colon + 1, ":", -1) : NULL;
	guint64 index = position;
	guint64 slot = 0;

	if ((fields != NULL && !g_ascii_string_to_unsigned(fields[0], 10, 0, 15, &index, NULL)) ||
	    (fields != NULL && fields[1] != NULL &&
	     (!g_ascii_string_to_unsigned(fields[1], 10, 0, 1, &slot, NULL) || fields[2] != NULL))) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: bad image index or slot",
		            arg);
		return FALSE;
	}
	*path = colon != NULL ? g_strndup(arg, colon - arg) : g_strdup(arg);
	image->image_index = (guint)index;
	image->has_slot = fields != NULL && fields[1] != NULL;
	image->slot = (guint)slot;
	return TRUE;
}

static gboolean
cmd_zip(int argc, char **argv, GError **error)
{
	g_autofree char *output = NULL;
	g_autofree char *board = NULL;
	g_autofree char *soc = NULL;
	gboolean string_index = FALSE;
	g_autoptr(GOptionContext) context =
	        g_option_context_new("IMAGE[:INDEX[:SLOT]]... - write a dfu_application.zip");
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) datas = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autofree BundleWriterImage *images = NULL;
	g_autoptr(GBytes) zip = NULL;
	BundleWriterManifestOptions manifest_opts = {0};
	const GOptionEntry entries[] = {
	        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file", "FILE"},
	        {"board", 0, 0, G_OPTION_ARG_STRING, &board, "Board name for the manifest", "BOARD"},
	        {"soc", 0, 0, G_OPTION_ARG_STRING, &soc, "SoC name for the manifest", "SOC"},
	        {"string-index", 0, 0, G_OPTION_ARG_NONE, &string_index,
	         "Write indices as strings (as NCS does)", NULL},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	if (argc < 2) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "no image given");
		return FALSE;
	}
	images = g_new0(BundleWriterImage, argc - 1);
	for (int i = 1; i < argc; i++) {
		g_autofree char *path = NULL;
		g_autofree char *contents = NULL;
		gsize len = 0;
		if (!parse_image_arg(argv[i], i - 1, &path, &images[i - 1], error) ||
		    !g_file_get_contents(path, &contents, &len, error))
			return FALSE;
		g_ptr_array_add(names, g_path_get_basename(path));
		g_ptr_array_add(datas, g_bytes_new_take(g_steal_pointer(&contents), len));
		images[i - 1].file = g_ptr_array_index(names, i - 1);
		images[i - 1].data = g_ptr_array_index(datas, i - 1);
	}
	manifest_opts.board = board;
	manifest_opts.soc = soc;
	manifest_opts.string_index = string_index;
	zip = bundle_writer_dfu_zip(images, argc - 1, &manifest_opts, error);
	return zip != NULL && write_output(output, zip, error);
}

static gboolean
cmd_keygen(int argc, char **argv, GError **error)
{
	g_autofree char *output = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("- write an EC P-256 signing key (PEM)");
	const GOptionEntry entries[] = {
	        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file", "FILE"},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	if (output == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "-o is required");
		return FALSE;
	}
	return mcuboot_writer_generate_key(output, error);
}

static gboolean
cmd_nrf5(int argc, char **argv, GError **error)
{
	g_autofree char *output = NULL;
	char *paths[] = {
	        [NRF5_IMAGE_SOFTDEVICE_BOOTLOADER] = NULL,
	        [NRF5_IMAGE_SOFTDEVICE] = NULL,
	        [NRF5_IMAGE_BOOTLOADER] = NULL,
	        [NRF5_IMAGE_APPLICATION] = NULL,
	};
	g_autoptr(GOptionContext) context =
	        g_option_context_new("- write an nRF5 DFU package with dummy init packets");
	g_autoptr(GPtrArray) datas = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	Nrf5WriterImage images[G_N_ELEMENTS(paths)];
	g_autoptr(GBytes) zip = NULL;
	gsize n_images = 0;
	gboolean ok = TRUE;
	const GOptionEntry entries[] = {
	        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file", "FILE"},
	        {"application", 0, 0, G_OPTION_ARG_FILENAME, &paths[NRF5_IMAGE_APPLICATION],
	         "Application binary", "FILE"},
	        {"bootloader", 0, 0, G_OPTION_ARG_FILENAME, &paths[NRF5_IMAGE_BOOTLOADER],
	         "Bootloader binary", "FILE"},
	        {"softdevice", 0, 0, G_OPTION_ARG_FILENAME, &paths[NRF5_IMAGE_SOFTDEVICE],
	         "SoftDevice binary", "FILE"},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	for (gsize type = 0; type < G_N_ELEMENTS(paths) && ok; type++) {
		g_autofree char *contents = NULL;
		gsize len = 0;

		if (paths[type] == NULL)
			continue;
		ok = g_file_get_contents(paths[type], &contents, &len, error);
		if (ok) {
			GBytes *data = g_bytes_new_take(g_steal_pointer(&contents), len);

			g_ptr_array_add(datas, data);
			images[n_images++] = (Nrf5WriterImage){.type = (Nrf5ImageType)type, .firmware = data};
		}
	}
	for (gsize type = 0; type < G_N_ELEMENTS(paths); type++)
		g_free(paths[type]);
	if (!ok)
		return FALSE;
	if (argc > 1 || n_images == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "give images with --application, --bootloader or --softdevice");
		return FALSE;
	}
	zip = nrf5_writer_zip(images, n_images, error);
	return zip != NULL && write_output(output, zip, error);
}

static const struct {
	const char *name;
	MeshDfuType type;
} mesh_types[] = {
        {"application", MESH_DFU_TYPE_APPLICATION},
        {"bootloader", MESH_DFU_TYPE_BOOTLOADER},
        {"softdevice", MESH_DFU_TYPE_SOFTDEVICE},
};

/* the firmware of a mesh package: a file, or --size bytes of a seeded pattern */
static GBytes *
mesh_firmware(const char *path, gint64 size, gint64 seed, GError **error)
{
	g_autofree char *contents = NULL;
	gsize len = 0;
	guint8 *data;

	if (path != NULL)
		return g_file_get_contents(path, &contents, &len, error)
		               ? g_bytes_new_take(g_steal_pointer(&contents), len)
		               : NULL;
	if (size <= 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "give --firmware or --size");
		return NULL;
	}
	data = g_malloc(size);
	mcuboot_writer_fill_payload(data, size, (guint32)seed);
	return g_bytes_new_take(data, size);
}

static gboolean
cmd_mesh(int argc, char **argv, GError **error)
{
	g_autofree char *output = NULL;
	g_autofree char *firmware_path = NULL;
	g_autofree char *type = NULL;
	g_autofree char *key_path = NULL;
	g_autoptr(GOptionContext) context =
	        g_option_context_new("- write a package as nrfutil dfu genpkg --mesh does");
	EVP_PKEY *key = NULL;
	g_autoptr(GBytes) zip = NULL;
	g_auto(GStrv) type_names = NULL;
	gint64 size = 0, seed = 1, company = 0x59, app_id = 1, app_version = 1, bl_id = 0x0101,
	       sd_id = 0x00CB;
	MeshWriterImage images[G_N_ELEMENTS(mesh_types)] = {0};
	gsize n_images = 0;
	gboolean ok = TRUE;
	const GOptionEntry entries[] = {
	        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file", "FILE"},
	        {"type", 0, 0, G_OPTION_ARG_STRING, &type,
	         "application (default), bootloader or softdevice, or several joined by commas", "TYPE"},
	        {"firmware", 0, 0, G_OPTION_ARG_FILENAME, &firmware_path, "Firmware binary", "FILE"},
	        {"size", 0, 0, G_OPTION_ARG_INT64, &size, "Generated firmware of this size", "N"},
	        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the generated firmware", "N"},
	        {"company-id", 0, 0, G_OPTION_ARG_INT64, &company, "Company ID", "N"},
	        {"application-id", 0, 0, G_OPTION_ARG_INT64, &app_id, "Application ID", "N"},
	        {"application-version", 0, 0, G_OPTION_ARG_INT64, &app_version, "Application version", "N"},
	        {"bootloader-id", 0, 0, G_OPTION_ARG_INT64, &bl_id, "Bootloader version << 8 | ID", "N"},
	        {"sd-id", 0, 0, G_OPTION_ARG_INT64, &sd_id, "The new SoftDevice's ID", "N"},
	        {"key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "EC P-256 private key (PEM) to sign with",
	         "FILE"},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	type_names = g_strsplit(type != NULL ? type : "application", ",", -1);
	for (gsize t = 0; type_names[t] != NULL; t++) {
		gsize i;

		for (i = 0; i < G_N_ELEMENTS(mesh_types) && g_strcmp0(type_names[t], mesh_types[i].name); i++)
			;
		if (i == G_N_ELEMENTS(mesh_types) || n_images == G_N_ELEMENTS(images)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "unknown type %s",
			            type_names[t]);
			return FALSE;
		}
		images[n_images++].type = mesh_types[i].type;
	}
	if (key_path != NULL && (key = mcuboot_writer_load_private_key(key_path, error)) == NULL)
		return FALSE;
	for (gsize i = 0; ok && i < n_images; i++) {
		images[i].firmware = mesh_firmware(firmware_path, size, seed + (gint64)i, error);
		ok = images[i].firmware != NULL;
		images[i].fwid = (MeshFwid){.sd = (guint16)sd_id,
		                            .bl_id = (guint8)bl_id,
		                            .bl_version = (guint8)(bl_id >> 8),
		                            .company = (guint32)company,
		                            .app_id = (guint16)app_id,
		                            .app_version = (guint32)app_version};
	}
	if (ok)
		zip = mesh_writer_zip(images, n_images, key, error);
	for (gsize i = 0; i < n_images; i++)
		g_clear_pointer(&images[i].firmware, g_bytes_unref);
	EVP_PKEY_free(key);
	return zip != NULL && write_output(output, zip, error);
}

static const struct {
	const char *name;
	CommandFunc func;
} commands[] = {
        {"image", cmd_image}, {"zip", cmd_zip},   {"keygen", cmd_keygen},
        {"nrf5", cmd_nrf5},   {"mesh", cmd_mesh},
};

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	if (argc < 2) {
		fprintf(stderr, "usage: %s image|zip|nrf5|mesh|keygen [OPTION...]\n", argv[0]);
		return EXIT_FAILURE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(argv[1], commands[i].name)) {
			/* the subcommand's options start after its name */
			if (!commands[i].func(argc - 1, argv + 1, &error)) {
				fprintf(stderr, "%s %s: %s\n", argv[0], argv[1], error->message);
				return EXIT_FAILURE;
			}
			return EXIT_SUCCESS;
		}
	}
	fprintf(stderr, "%s: unknown command %s (image, zip, nrf5, mesh or keygen)\n", argv[0], argv[1]);
	return EXIT_FAILURE;
}
