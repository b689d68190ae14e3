/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-file.h"
#include "dfu-error.h"

#define IMPORT_CHUNK_SIZE (64 * 1024)

typedef struct {
	char *cache_dir;
	char *dir;
	int fd;
} ImportData;

static void
import_data_free(ImportData *data)
{
	g_free(data->cache_dir);
	g_free(data->dir);
	if (data->fd >= 0)
		close(data->fd);
	g_free(data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImportData, import_data_free)

char *
dfu_bundle_import_dir(const char *cache_dir)
{
	return g_build_filename(cache_dir, "bundles", NULL);
}

char *
dfu_bundle_import_path(const char *cache_dir, const char *sha256)
{
	g_autofree char *name = g_strconcat(sha256, ".bundle", NULL);

	return g_build_filename(cache_dir, "bundles", name, NULL);
}

/* removes the temporary file unless the import succeeded and renamed it away */
typedef struct {
	int fd;
	char *path;
} TempFile;

static void
temp_file_free(TempFile *tmp)
{
	if (tmp->fd >= 0)
		close(tmp->fd);
	if (tmp->path != NULL)
		g_unlink(tmp->path);
	g_free(tmp->path);
	g_free(tmp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TempFile, temp_file_free)

/* copies src into the temporary file, hashing on the way; returns the hex digest */
static char *
copy_and_hash(int src, TempFile *tmp, GCancellable *cancellable, GError **error)
{
	g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree guint8 *buf = g_malloc(IMPORT_CHUNK_SIZE);
	struct stat st;
	gboolean seekable;
	guint64 offset = 0;

	if (fstat(src, &st) != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "cannot inspect the bundle: %s",
		            g_strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		                    "the bundle is a directory");
		return NULL;
	}
	seekable = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
	for (;;) {
		ssize_t n;

		if (g_cancellable_is_cancelled(cancellable)) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_CANCELLED,
			                    "the bundle import was cancelled");
			return NULL;
		}
		n = seekable ? pread(src, buf, IMPORT_CHUNK_SIZE, (off_t)offset)
		             : read(src, buf, IMPORT_CHUNK_SIZE);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
			            "cannot read the bundle: %s", g_strerror(errno));
			return NULL;
		}
		if (n == 0)
			break;
		if (offset + (guint64)n > DFU_BUNDLE_IMPORT_MAX_SIZE) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
			            "the bundle is larger than %u MiB",
			            DFU_BUNDLE_IMPORT_MAX_SIZE / (1024 * 1024));
			return NULL;
		}
		g_checksum_update(checksum, buf, n);
		if (!dfu_file_pwrite_all(tmp->fd, buf, (gsize)n, offset, tmp->path, error))
			return NULL;
		offset += (guint64)n;
	}
	if (offset == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "the bundle is empty");
		return NULL;
	}
	return g_strdup(g_checksum_get_string(checksum));
}

static char *
import_bundle(ImportData *data, GCancellable *cancellable, GError **error)
{
	g_autoptr(TempFile) tmp = g_new0(TempFile, 1);
	g_autofree char *digest = NULL;
	g_autofree char *path = NULL;

	if (g_mkdir_with_parents(data->dir, 0750) != 0) {
		dfu_file_error(error, "create", data->dir, errno);
		return NULL;
	}
	/* same folder as the result, so that the rename stays on one file system */
	tmp->path = g_build_filename(data->dir, ".import-XXXXXX", NULL);
	tmp->fd = g_mkstemp_full(tmp->path, O_RDWR | O_CLOEXEC, 0640);
	if (tmp->fd < 0) {
		dfu_file_error(error, "create a file in", data->dir, errno);
		g_clear_pointer(&tmp->path, g_free);
		return NULL;
	}
	digest = copy_and_hash(data->fd, tmp, cancellable, error);
	if (digest == NULL)
		return NULL;
	path = dfu_bundle_import_path(data->cache_dir, digest);
	if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return g_steal_pointer(&path);
	if (!dfu_file_commit(tmp->fd, tmp->path, path, error))
		return NULL;
	g_clear_pointer(&tmp->path, g_free);
	return g_steal_pointer(&path);
}

static void
import_thread(GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
	GError *error = NULL;
	char *path = import_bundle(task_data, cancellable, &error);

	if (path == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, path, g_free);
}

void
dfu_bundle_import_async(const char *cache_dir, int fd, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	g_autoptr(ImportData) data = g_new0(ImportData, 1);

	g_task_set_source_tag(task, dfu_bundle_import_async);
	/* cancellation is checked between chunks so that a failure still cleans up */
	g_task_set_return_on_cancel(task, FALSE);
	g_task_set_check_cancellable(task, FALSE);
	data->cache_dir = g_strdup(cache_dir);
	data->dir = dfu_bundle_import_dir(cache_dir);
	data->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (data->fd < 0) {
		g_task_return_new_error(task, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		                        "cannot use the bundle descriptor: %s", g_strerror(errno));
		return;
	}
	g_task_set_task_data(task, g_steal_pointer(&data), (GDestroyNotify)import_data_free);
	g_task_run_in_thread(task, import_thread);
}

char *
dfu_bundle_import_finish(GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
	return g_task_propagate_pointer(G_TASK(result), error);
}
