/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * One HTTP(S) GET as a module's download client makes it, in a thread of
 * its own, with everything reported on the main loop: from an offset (a
 * Range request resumes an earlier download), the body in pieces as they
 * come, then whether it came whole. Cancelling stops the transfer; no
 * callback follows.
 */
typedef struct _SimHttpDownload SimHttpDownload;

typedef struct {
	/* the next bytes of the body; total: the whole file's size, 0 while unknown */
	void (*data)(const guint8 *data, gsize len, guint64 total, gpointer user_data);
	/* error NULL: the body is whole; else why not, with the HTTP status when there was one */
	void (*done)(guint http_status, const GError *error, gpointer user_data);
} SimHttpDownloadCallbacks;

SimHttpDownload *sim_http_download_start(const char *url, guint64 offset, const char *ca_file,
                                         const SimHttpDownloadCallbacks *callbacks, gpointer user_data);
/* stops the transfer; the download frees itself once its thread is done */
void sim_http_download_cancel(SimHttpDownload *download);

G_END_DECLS
