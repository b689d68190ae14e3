/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfu-file.h"
#include "dfu-sha256.h"

#define IMPORT_CHUNK_SIZE (64 * 1024)
/* what a memory file must promise so that its bytes cannot change under the copy */
#define IMPORT_REQUIRED_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

typedef struct {
	char *cache_dir;
	char *dir;
	int fd;
	guint64 size;
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

/* what a descriptor that is not a regular file is, for the error message */
static const char *
describe_mode(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a pipe";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFLNK:
		return "a symbolic link";
	default:
		/* eventfd, timerfd, signalfd and the like have no file type */
		return "an anonymous descriptor";
	}
}

static gboolean
check_unreadable(GError **error, const char *why)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
	            "the bundle descriptor %s; pass a regular file or a sealed memfd", why);
	return FALSE;
}

gboolean
dfu_bundle_import_check_fd(int fd, guint64 *size, GError **error)
{
	g_autofree char *why = NULL;
	struct stat st;
	int flags;
	int seals;

	if (fstat(fd, &st) != 0) {
		why = g_strdup_printf("cannot be inspected: %s", g_strerror(errno));
		return check_unreadable(error, why);
	}
	if (!S_ISREG(st.st_mode)) {
		why = g_strdup_printf("is %s", describe_mode(st.st_mode));
		return check_unreadable(error, why);
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
		return check_unreadable(error, "is not open for reading");
	/* an anonymous memory file (memfd) could change while it is copied unless sealed */
	seals = fcntl(fd, F_GET_SEALS);
	if (st.st_nlink == 0 && seals >= 0 && (seals & IMPORT_REQUIRED_SEALS) != IMPORT_REQUIRED_SEALS)
		return check_unreadable(error, "is a memfd without the write, shrink and grow seals");
	if (st.st_size == 0) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "the bundle is empty");
		return FALSE;
	}
	if ((guint64)st.st_size > DFU_BUNDLE_IMPORT_MAX_SIZE) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		            "the bundle has %" G_GUINT64_FORMAT " bytes, more than the %u MiB allowed",
		            (guint64)st.st_size, DFU_BUNDLE_IMPORT_MAX_SIZE / (1024 * 1024));
		return FALSE;
	}
	if (size != NULL)
		*size = (guint64)st.st_size;
	return TRUE;
}

/* a copy in the bundle folder; deleted when freed unless it was stored under its digest */
typedef struct {
	int fd;
	char *path;
	char *digest;
} TempFile;

static void
temp_file_free(TempFile *tmp)
{
	if (tmp->fd >= 0)
		close(tmp->fd);
	if (tmp->path != NULL)
		g_unlink(tmp->path);
	g_free(tmp->path);
	g_free(tmp->digest);
	g_free(tmp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TempFile, temp_file_free)

/* copies the first size bytes of src into the temporary file, hashing on the way */
static gboolean
copy_and_hash(int src, guint64 size, TempFile *tmp, GCancellable *cancellable, GError **error)
{
	g_autoptr(DfuSha256) checksum = dfu_sha256_new();
	g_autofree guint8 *buf = g_malloc(IMPORT_CHUNK_SIZE);
	guint64 offset = 0;

	while (offset < size) {
		gsize want = MIN((guint64)IMPORT_CHUNK_SIZE, size - offset);
		ssize_t n;

		if (g_cancellable_is_cancelled(cancellable)) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_CANCELLED,
			                    "the bundle import was cancelled");
			return FALSE;
		}
		n = pread(src, buf, want, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
			            "cannot read the bundle: %s", g_strerror(errno));
			return FALSE;
		}
		if (n == 0) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
			                    "the bundle file shrank while it was read");
			return FALSE;
		}
		dfu_sha256_update(checksum, buf, (gsize)n);
		if (!dfu_file_pwrite_all(tmp->fd, buf, (gsize)n, offset, tmp->path, error))
			return FALSE;
		offset += (guint64)n;
	}
	if (fsync(tmp->fd) != 0)
		return dfu_file_error(error, "sync", tmp->path, errno);
	tmp->digest = dfu_sha256_hex(checksum);
	return TRUE;
}

static TempFile *
import_bundle(ImportData *data, GCancellable *cancellable, GError **error)
{
	g_autoptr(TempFile) tmp = g_new0(TempFile, 1);

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
	if (!copy_and_hash(data->fd, data->size, tmp, cancellable, error))
		return NULL;
	return g_steal_pointer(&tmp);
}

static void
import_thread(GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
	GError *error = NULL;
	TempFile *tmp = import_bundle(task_data, cancellable, &error);

	if (tmp == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, tmp, (GDestroyNotify)temp_file_free);
}

void
dfu_bundle_import_async(const char *cache_dir, int fd, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	g_autoptr(ImportData) data = g_new0(ImportData, 1);
	GError *error = NULL;

	g_task_set_source_tag(task, dfu_bundle_import_async);
	/* cancellation is checked between chunks so that a failure still cleans up */
	g_task_set_return_on_cancel(task, FALSE);
	g_task_set_check_cancellable(task, FALSE);
	data->cache_dir = g_strdup(cache_dir);
	data->dir = dfu_bundle_import_dir(cache_dir);
	data->fd = -1;
	if (!dfu_bundle_import_check_fd(fd, &data->size, &error)) {
		g_task_return_error(task, error);
		return;
	}
	data->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (data->fd < 0) {
		g_task_return_new_error(task, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
		                        "cannot use the bundle descriptor: %s", g_strerror(errno));
		return;
	}
	g_task_set_task_data(task, g_steal_pointer(&data), (GDestroyNotify)import_data_free);
	g_task_run_in_thread(task, import_thread);
}

/*
 * The copy gets its name here, in the caller's thread, so that the cache,
 * trimmed in that thread too, never deletes a bundle between its naming and
 * the job taking it.
 */
char *
dfu_bundle_import_finish(GAsyncResult *result, GError **error)
{
	g_autoptr(TempFile) tmp = NULL;
	ImportData *data;
	g_autofree char *path = NULL;

	g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
	tmp = g_task_propagate_pointer(G_TASK(result), error);
	if (tmp == NULL)
		return NULL;
	if (g_cancellable_is_cancelled(g_task_get_cancellable(G_TASK(result)))) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_CANCELLED,
		                    "the bundle import was cancelled");
		return NULL;
	}
	data = g_task_get_task_data(G_TASK(result));
	path = dfu_bundle_import_path(data->cache_dir, tmp->digest);
	if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return g_steal_pointer(&path);
	if (g_rename(tmp->path, path) != 0) {
		dfu_file_error(error, "store", path, errno);
		return NULL;
	}
	g_clear_pointer(&tmp->path, g_free);
	return g_steal_pointer(&path);
}
