/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "dfu-manifest.h"
#include "dfu-zip-reader.h"
#include "nrf5-package.h"

/* an archive without entries: the nRF5 manifest is parsed in full before any file is looked up */
static DfuZipReader *
empty_archive(void)
{
	static const guint8 end_of_directory[22] = {'P', 'K', 5, 6};
	g_autoptr(GBytes) bytes = g_bytes_new_static(end_of_directory, sizeof(end_of_directory));
	DfuZipReader *reader = dfu_zip_reader_new(bytes, "empty.zip", NULL);

	if (reader == NULL)
		__builtin_trap();
	return reader;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) json = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = NULL;

	fuzz_quiet_logs();
	entries = dfu_manifest_parse(json, &error);
	if ((entries == NULL) == (error == NULL))
		__builtin_trap();
	if (nrf5_manifest_detect(json)) {
		g_autoptr(DfuZipReader) reader = empty_archive();
		g_autoptr(GError) nrf5_error = NULL;
		g_autoptr(Nrf5Package) package = nrf5_package_load(reader, json, &nrf5_error);

		/* no file of the package is in the archive */
		if (package != NULL || nrf5_error == NULL)
			__builtin_trap();
	}
	return 0;
}
