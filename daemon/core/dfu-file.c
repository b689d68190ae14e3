/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "dfu-error.h"

gboolean
dfu_file_error(GError **error, const char *what, const char *path, int errsv)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "cannot %s %s: %s", what, path,
	            g_strerror(errsv));
	return FALSE;
}

gboolean
dfu_file_pwrite_all(int fd, const guint8 *buf, gsize len, guint64 offset, const char *path, GError **error)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dfu_file_error(error, "write", path, errno);
		}
		buf += n;
		len -= (gsize)n;
		offset += (guint64)n;
	}
	return TRUE;
}

gboolean
dfu_file_commit(int fd, const char *tmp_path, const char *final_path, GError **error)
{
	if (fsync(fd) != 0)
		return dfu_file_error(error, "sync", tmp_path, errno);
	if (g_rename(tmp_path, final_path) != 0)
		return dfu_file_error(error, "store", final_path, errno);
	return TRUE;
}
