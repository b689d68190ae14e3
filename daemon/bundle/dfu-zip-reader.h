/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DFU_ZIP_MAX_ENTRIES 64
#define DFU_ZIP_MAX_ENTRY_SIZE (64u * 1024 * 1024)
#define DFU_ZIP_MAX_TOTAL_SIZE (256u * 1024 * 1024)

/*
 * A zip archive in memory whose every entry was checked on open: no unsafe
 * names ("..", absolute, backslashes, duplicates), no symlinks, and declared
 * sizes within the limits above. Errors are DFU_ERROR MALFORMED_ZIP and name
 * the entry, or @archive_name for the archive as a whole.
 */
typedef struct _DfuZipReader DfuZipReader;

DfuZipReader *dfu_zip_reader_new(GBytes *bytes, const char *archive_name, GError **error);
gboolean dfu_zip_reader_has_entry(DfuZipReader *reader, const char *name);
/* reads one entry, refusing data that runs past its declared size */
GBytes *dfu_zip_reader_read(DfuZipReader *reader, const char *name, GError **error);
void dfu_zip_reader_free(DfuZipReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuZipReader, dfu_zip_reader_free)

G_END_DECLS
