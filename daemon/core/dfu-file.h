/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* sets a STORAGE_ERROR naming the operation, the path and errno's text; returns FALSE */
gboolean dfu_file_error(GError **error, const char *what, const char *path, int errsv);
/* writes all of buf at offset, retrying short writes and EINTR */
gboolean dfu_file_pwrite_all(int fd, const guint8 *buf, gsize len, guint64 offset, const char *path,
                             GError **error);
/*
 * Makes a completely written file visible under its final name: fsync, then
 * rename within one file system, so that no half file is ever taken for a
 * whole one.
 */
gboolean dfu_file_commit(int fd, const char *tmp_path, const char *final_path, GError **error);

G_END_DECLS
