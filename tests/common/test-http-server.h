/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* lighttpd serving one file as /app.bundle, with or without TLS, in its own temporary folder */
typedef struct {
	char *dir;     /* the server's folder; files in dir/www are served */
	char *ca_file; /* the throw-away CA that signed the server's certificate, NULL without TLS */
	guint16 port;
	GSubprocess *proc;
} DfuTestServer;

DfuTestServer *dfu_test_server_start(GBytes *bundle, gboolean tls);
/* stops the server, which also flushes its access log */
void dfu_test_server_stop(DfuTestServer *s);
void dfu_test_server_free(DfuTestServer *s);
/* the URL of a path below the document root */
char *dfu_test_server_url(DfuTestServer *s, const char *path);
/* access log lines that contain needle; the server must be stopped */
guint dfu_test_server_log_count(DfuTestServer *s, const char *needle);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuTestServer, dfu_test_server_free)

G_END_DECLS
