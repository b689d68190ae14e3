/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "dfu-zip-reader.h"

/* the names bundles use; reading them runs the size checks on real inflated data */
static const char *const entry_names[] = {"manifest.json",           "app.bin",         "app_update.bin",
                                          "net_core_app_update.bin", "application.bin", "application.dat"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) bytes = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuZipReader) reader = dfu_zip_reader_new(bytes, "fuzz.zip", &error);

	if ((reader == NULL) == (error == NULL))
		__builtin_trap();
	for (gsize i = 0; reader != NULL && i < G_N_ELEMENTS(entry_names); i++) {
		g_autoptr(GError) read_error = NULL;
		g_autoptr(GBytes) entry = NULL;

		if (!dfu_zip_reader_has_entry(reader, entry_names[i]))
			continue;
		entry = dfu_zip_reader_read(reader, entry_names[i], &read_error);
		if ((entry == NULL) == (read_error == NULL) ||
		    (entry != NULL && g_bytes_get_size(entry) > DFU_ZIP_MAX_ENTRY_SIZE))
			__builtin_trap();
	}
	return 0;
}
