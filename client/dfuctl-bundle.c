/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfuctl-bundle.h"

gboolean
dfuctl_bundle_is_url(const char *arg)
{
	return g_uri_peek_scheme(arg) != NULL && strstr(arg, "://") != NULL;
}

static int
bundle_error(GError **error, const char *file, int errsv)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: %s", file, g_strerror(errsv));
	return -1;
}

/*
 * open(2) that refuses a directory, which open takes for reading. A file that
 * cannot be opened is not-found for whatever reason, so that every command
 * gives it the same exit status.
 */
static int
open_file(const char *file, int flags, GError **error)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | flags);
	struct stat st;

	if (fd < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "%s: %s", file, g_strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "%s: is a directory, not a bundle file",
		            file);
		return -1;
	}
	return fd;
}

gboolean
dfuctl_bundle_check(const char *file, GError **error)
{
	/* non-blocking: opening a pipe must neither wait for a writer nor take its data */
	int fd = open_file(file, O_NONBLOCK, error);

	if (fd < 0)
		return FALSE;
	close(fd);
	return TRUE;
}

/*
 * The daemon takes only files whose size is known and cannot change: what
 * comes through a pipe (stdin, <(...)) is read here into a sealed memfd.
 * Closes src.
 */
static int
bundle_to_memfd(int src, const char *file, GError **error)
{
	g_autofree guint8 *buf = g_malloc(64 * 1024);
	int memfd = memfd_create("dfuctl-bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	guint64 total = 0;
	ssize_t n;

	if (memfd < 0) {
		close(src);
		return bundle_error(error, file, errno);
	}
	while ((n = read(src, buf, 64 * 1024)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && total + (guint64)n > DFU_BUNDLE_IMPORT_MAX_SIZE) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s: larger than %u MiB",
			            file, DFU_BUNDLE_IMPORT_MAX_SIZE / (1024 * 1024));
			break;
		}
		if (n < 0 || write(memfd, buf, (size_t)n) != n) {
			bundle_error(error, file, errno);
			break;
		}
		total += (guint64)n;
	}
	close(src);
	if (n == 0 &&
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		return memfd;
	if (n == 0)
		bundle_error(error, file, errno);
	close(memfd);
	return -1;
}

int
dfuctl_bundle_open(const char *file, GError **error)
{
	int fd = open_file(file, 0, error);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)))
		return bundle_to_memfd(fd, file, error);
	return fd;
}
