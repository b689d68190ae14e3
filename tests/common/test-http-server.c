/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "test-http-server.h"
#include "test-util.h"

static guint16
free_port(void)
{
	g_autoptr(GSocket) sock =
	        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;

	g_assert_true(g_socket_bind(sock, any, TRUE, NULL));
	bound = g_socket_get_local_address(sock, NULL);
	return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
}

/* a throw-away CA and a server certificate for 127.0.0.1 */
static void
make_certificates(const char *dir)
{
	g_autofree char *ext = g_build_filename(dir, "ext.cnf", NULL);

	g_assert_true(g_file_set_contents(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n", -1, NULL));
	dfu_test_openssl(dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	                      "-keyout ca.key -out ca.pem -days 1 -subj /CN=dfud-test-ca");
	dfu_test_openssl(dir, "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	                      "-keyout server.key -out server.csr -subj /CN=localhost");
	dfu_test_openssl(dir, "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	                      "-out server.pem -days 1 -extfile ext.cnf");
}

static void
wait_for_port(guint16 port)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();

	for (guint i = 0; i < 500; i++) {
		g_autoptr(GSocketConnection) conn =
		        g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, NULL);
		if (conn != NULL)
			return;
		g_usleep(10 * 1000);
	}
	g_assert_not_reached();
}

/* a failed assertion must not leave the server running */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

DfuTestServer *
dfu_test_server_start(GBytes *bundle, gboolean tls)
{
	DfuTestServer *s = g_new0(DfuTestServer, 1);
	g_autofree char *www = NULL;
	g_autofree char *file = NULL;
	g_autofree char *conf = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;

	s->dir = g_dir_make_tmp("dfud-fetch-XXXXXX", NULL);
	www = g_build_filename(s->dir, "www", NULL);
	g_assert_cmpint(g_mkdir(www, 0755), ==, 0);
	file = g_build_filename(www, "app.bundle", NULL);
	g_assert_true(g_file_set_contents(file, g_bytes_get_data(bundle, NULL),
	                                  (gssize)g_bytes_get_size(bundle), NULL));
	s->port = free_port();
	g_string_append_printf(text,
	                       "server.document-root = \"%s\"\n"
	                       "server.bind = \"127.0.0.1\"\n"
	                       "server.port = %u\n"
	                       "server.errorlog = \"%s/error.log\"\n"
	                       "server.modules = (\"mod_accesslog\"%s)\n"
	                       "accesslog.filename = \"%s/access.log\"\n",
	                       www, s->port, s->dir, tls ? ", \"mod_openssl\"" : "", s->dir);
	if (tls) {
		make_certificates(s->dir);
		s->ca_file = g_build_filename(s->dir, "ca.pem", NULL);
		g_string_append_printf(text,
		                       "ssl.engine = \"enable\"\n"
		                       "ssl.pemfile = \"%s/server.pem\"\n"
		                       "ssl.privkey = \"%s/server.key\"\n",
		                       s->dir, s->dir);
	}
	conf = g_build_filename(s->dir, "lighttpd.conf", NULL);
	g_assert_true(g_file_set_contents(conf, text->str, -1, NULL));
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
	                                     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	s->proc = g_subprocess_launcher_spawn(launcher, &error, "lighttpd", "-D", "-f", conf, NULL);
	g_assert_no_error(error);
	wait_for_port(s->port);
	return s;
}

/* stops the server, which also flushes its access log */
void
dfu_test_server_stop(DfuTestServer *s)
{
	if (s->proc == NULL)
		return;
	g_subprocess_send_signal(s->proc, SIGTERM);
	g_assert_true(g_subprocess_wait(s->proc, NULL, NULL));
	g_clear_object(&s->proc);
}

void
dfu_test_server_free(DfuTestServer *s)
{
	dfu_test_server_stop(s);
	dfu_test_remove_tree(s->dir);
	g_free(s->dir);
	g_free(s->ca_file);
	g_free(s);
}

char *
dfu_test_server_url(DfuTestServer *s, const char *path)
{
	return g_strdup_printf("%s://127.0.0.1:%u/%s", s->ca_file != NULL ? "https" : "http", s->port, path);
}

/* access log lines that contain needle; the server must be stopped */
guint
dfu_test_server_log_count(DfuTestServer *s, const char *needle)
{
	g_autofree char *log = g_build_filename(s->dir, "access.log", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0;

	g_assert_null(s->proc);
	g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		n += strstr(lines[i], needle) != NULL;
	return n;
}
