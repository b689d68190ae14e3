/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/stat.h>

#include <zip.h>

#include "dfu-error.h"
#include "dfu-zip-reader.h"

struct _DfuZipReader {
	GBytes *bytes; /* the buffer libzip reads from must outlive the archive */
	zip_t *archive;
	GHashTable *entries; /* name -> index + 1 */
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC(zip_file_t, zip_fclose)

static gboolean
name_is_safe(const char *name, const char **why)
{
	g_auto(GStrv) parts = NULL;

	if (name[0] == '\0') {
		*why = "empty entry name";
		return FALSE;
	}
	/* a drive letter makes a name absolute for archivers on Windows */
	if (name[0] == '/' || (g_ascii_isalpha(name[0]) && name[1] == ':')) {
		*why = "absolute entry name";
		return FALSE;
	}
	if (strchr(name, '\\') != NULL) {
		*why = "backslash in entry name";
		return FALSE;
	}
	parts = g_strsplit(name, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (g_str_equal(parts[i], "..")) {
			*why = "entry name leaves the archive";
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
is_symlink(zip_t *archive, zip_uint64_t index)
{
	zip_uint8_t opsys = 0;
	zip_uint32_t attributes = 0;

	if (zip_file_get_external_attributes(archive, index, 0, &opsys, &attributes) != 0)
		return FALSE;
	/* Unix archivers keep st_mode in the high half of the external attributes */
	return opsys == ZIP_OPSYS_UNIX && ((attributes >> 16) & S_IFMT) == S_IFLNK;
}

/* Checks every entry before anything is read, so limits hold whatever the manifest names. */
static gboolean
check_entries(DfuZipReader *reader, const char *archive_name, GError **error)
{
	zip_int64_t n = zip_get_num_entries(reader->archive, 0);
	guint64 total = 0;

	if (n < 0 || n > DFU_ZIP_MAX_ENTRIES) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
		            "%s: archive has %" G_GINT64_FORMAT " entries, at most %d are allowed",
		            archive_name, (gint64)n, DFU_ZIP_MAX_ENTRIES);
		return FALSE;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		zip_stat_t st;
		const char *why = NULL;

		zip_stat_init(&st);
		if (zip_stat_index(reader->archive, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
		    !(st.valid & ZIP_STAT_SIZE)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: entry %" G_GINT64_FORMAT " cannot be read: %s", archive_name,
			            (gint64)i, zip_strerror(reader->archive));
			return FALSE;
		}
		if (!name_is_safe(st.name, &why)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: %s", st.name, why);
			return FALSE;
		}
		if (g_hash_table_contains(reader->entries, st.name)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: duplicate entry name",
			            st.name);
			return FALSE;
		}
		if (is_symlink(reader->archive, i)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: entry is a symbolic link", st.name);
			return FALSE;
		}
		if (st.size > DFU_ZIP_MAX_ENTRY_SIZE) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: entry is %" G_GUINT64_FORMAT " bytes, more than %u MiB", st.name,
			            (guint64)st.size, DFU_ZIP_MAX_ENTRY_SIZE >> 20);
			return FALSE;
		}
		total += st.size;
		if (total > DFU_ZIP_MAX_TOTAL_SIZE) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: archive holds more than %u MiB uncompressed", archive_name,
			            DFU_ZIP_MAX_TOTAL_SIZE >> 20);
			return FALSE;
		}
		g_hash_table_insert(reader->entries, g_strdup(st.name), GSIZE_TO_POINTER(i + 1));
	}
	return TRUE;
}

DfuZipReader *
dfu_zip_reader_new(GBytes *bytes, const char *archive_name, GError **error)
{
	g_autoptr(DfuZipReader) reader = g_new0(DfuZipReader, 1);
	zip_error_t zerr;
	zip_source_t *source;
	gsize len = 0;
	const void *data = g_bytes_get_data(bytes, &len);

	reader->bytes = g_bytes_ref(bytes);
	reader->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	zip_error_init(&zerr);
	source = zip_source_buffer_create(data, len, 0, &zerr);
	if (source != NULL)
		reader->archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (reader->archive == NULL) {
		/* libzip refuses duplicate names itself when checking consistency */
		if (zip_error_code_zip(&zerr) == ZIP_ER_EXISTS)
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: duplicate entry names",
			            archive_name);
		else
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: not a readable zip archive: %s", archive_name,
			            zip_error_strerror(&zerr));
		zip_source_free(source);
		zip_error_fini(&zerr);
		return NULL;
	}
	zip_error_fini(&zerr);
	if (!check_entries(reader, archive_name, error))
		return NULL;
	return g_steal_pointer(&reader);
}

gboolean
dfu_zip_reader_has_entry(DfuZipReader *reader, const char *name)
{
	return g_hash_table_contains(reader->entries, name);
}

GBytes *
dfu_zip_reader_read(DfuZipReader *reader, const char *name, GError **error)
{
	gsize index = GPOINTER_TO_SIZE(g_hash_table_lookup(reader->entries, name));
	g_autoptr(zip_file_t) file = NULL;
	g_autofree guint8 *buf = NULL;
	zip_stat_t st;
	gsize got = 0;

	if (index == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: no such entry in the archive",
		            name);
		return NULL;
	}
	index--;
	zip_stat_init(&st);
	if (zip_stat_index(reader->archive, index, 0, &st) != 0 ||
	    (file = zip_fopen_index(reader->archive, index, 0)) == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: cannot open entry: %s", name,
		            zip_strerror(reader->archive));
		return NULL;
	}
	/* one spare byte shows whether the data runs past its declared size */
	buf = g_malloc(st.size + 1);
	for (;;) {
		zip_int64_t n = zip_fread(file, buf + got, st.size + 1 - got);

		if (n < 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP, "%s: %s", name,
			            zip_file_strerror(file));
			return NULL;
		}
		if (n == 0)
			break;
		got += n;
		if (got > st.size) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
			            "%s: data runs past the declared size of %" G_GUINT64_FORMAT " bytes",
			            name, (guint64)st.size);
			return NULL;
		}
	}
	if (got != st.size) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_ZIP,
		            "%s: entry holds %zu bytes, %" G_GUINT64_FORMAT " declared", name, got,
		            (guint64)st.size);
		return NULL;
	}
	return g_bytes_new_take(g_steal_pointer(&buf), got);
}

void
dfu_zip_reader_free(DfuZipReader *reader)
{
	if (reader == NULL)
		return;
	if (reader->archive != NULL)
		zip_discard(reader->archive);
	g_clear_pointer(&reader->entries, g_hash_table_unref);
	g_bytes_unref(reader->bytes);
	g_free(reader);
}
