/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* an argument like https://host/app.zip names a bundle to fetch rather than a file */
gboolean dfuctl_bundle_is_url(const char *arg);
/* FALSE with a plain message and not-found when file cannot be opened as a bundle: missing, a
 * directory, no permission */
gboolean dfuctl_bundle_check(const char *file, GError **error);
/* file opened for the daemon: a regular file as it is, a pipe read to its end into a sealed memfd;
 * -1 with the error of dfuctl_bundle_check, or bundle-unreadable when a pipe cannot be read */
int dfuctl_bundle_open(const char *file, GError **error);

G_END_DECLS
