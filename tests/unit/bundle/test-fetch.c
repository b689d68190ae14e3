/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfu-fetch.h"
#include "test-http-server.h"
#include "test-util.h"

#define BUNDLE_SIZE (256 * 1024)
#define CUT_SIZE (16 * 1024)
#define MANY_CALLERS 50

typedef struct {
	guint done_count;
	guint progress_count;
	guint64 last_total;
	char *path;
	char *digest;
	GError *error;
	GVariant *device_error;
	gboolean cancel_on_data;
	GMainLoop *loop;
} Result;

typedef struct {
	char *cache_dir;
	GBytes *bundle;
	char *bundle_sha256;
} Fixture;

static void
result_clear(Result *r)
{
	g_free(r->path);
	g_free(r->digest);
	g_clear_error(&r->error);
	g_clear_pointer(&r->device_error, g_variant_unref);
	g_clear_pointer(&r->loop, g_main_loop_unref);
}

static void
progress_cb(DfuFetch *fetch, guint64 done, guint64 total, gpointer user_data)
{
	Result *r = user_data;

	g_assert_cmpuint(done, <=, BUNDLE_SIZE);
	r->progress_count++;
	r->last_total = total;
	if (r->cancel_on_data && done > 0) {
		dfu_fetch_cancel(fetch);
		r->cancel_on_data = FALSE;
	}
}

static void
done_cb(DfuFetch *fetch, const char *path, const char *sha256, const GError *error, GVariant *device_error,
        gpointer user_data)
{
	Result *r = user_data;

	r->done_count++;
	r->path = g_strdup(path);
	r->digest = g_strdup(sha256);
	r->error = error != NULL ? g_error_copy(error) : NULL;
	r->device_error = device_error != NULL ? g_variant_ref(device_error) : NULL;
	if (r->loop != NULL)
		g_main_loop_quit(r->loop);
}

static void
fetch_and_wait(DfuFetcher *fetcher, const char *url, const char *expected, const char *cache_dir, Result *r)
{
	g_autoptr(GError) error = NULL;
	DfuFetch *fetch;

	r->loop = g_main_loop_new(NULL, FALSE);
	fetch = dfu_fetcher_fetch(fetcher, url, expected, cache_dir, progress_cb, done_cb, r, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fetch);
	g_main_loop_run(r->loop);
	g_assert_cmpuint(r->done_count, ==, 1);
}

static char *
part_path(const char *cache_dir, const char *url)
{
	g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, url, -1);
	g_autofree char *name = g_strconcat(digest, ".part", NULL);

	return g_build_filename(cache_dir, "partial", name, NULL);
}

static void
assert_bundle_cached(Fixture *f, const Result *r)
{
	g_autofree char *expected_path = dfu_bundle_import_path(f->cache_dir, f->bundle_sha256);
	g_autofree char *contents = NULL;
	gsize len = 0;

	g_assert_no_error(r->error);
	g_assert_cmpstr(r->digest, ==, f->bundle_sha256);
	g_assert_cmpstr(r->path, ==, expected_path);
	g_assert_true(g_file_get_contents(r->path, &contents, &len, NULL));
	g_assert_cmpmem(contents, len, g_bytes_get_data(f->bundle, NULL), g_bytes_get_size(f->bundle));
}

static void
assert_variant_u(GVariant *dict, const char *key, guint32 expected)
{
	guint32 value = 0;

	g_assert_nonnull(dict);
	g_assert_true(g_variant_lookup(dict, key, "u", &value));
	g_assert_cmpuint(value, ==, expected);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	guint8 *buf = g_malloc(BUNDLE_SIZE);

	for (gsize i = 0; i < BUNDLE_SIZE; i++)
		buf[i] = (guint8)g_rand_int(rand);
	f->bundle = g_bytes_new_take(buf, BUNDLE_SIZE);
	f->bundle_sha256 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, f->bundle);
	f->cache_dir = g_dir_make_tmp("dfud-cache-XXXXXX", NULL);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->cache_dir);
	g_free(f->cache_dir);
	g_free(f->bundle_sha256);
	g_bytes_unref(f->bundle);
}

static void
test_http(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *part = part_path(f->cache_dir, url);
	Result r = {0};

	fetch_and_wait(fetcher, url, f->bundle_sha256, f->cache_dir, &r);
	assert_bundle_cached(f, &r);
	g_assert_cmpuint(r.progress_count, >, 0);
	g_assert_cmpuint(r.last_total, ==, BUNDLE_SIZE);
	g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
	result_clear(&r);
}

static void
test_https(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, TRUE);
	DfuFetchSettings settings = {.ca_file = server->ca_file};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	Result r = {0};

	fetch_and_wait(fetcher, url, NULL, f->cache_dir, &r);
	assert_bundle_cached(f, &r);
	result_clear(&r);
}

static void
test_https_untrusted(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, TRUE);
	DfuFetchSettings settings = {0};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *cached = dfu_bundle_import_path(f->cache_dir, f->bundle_sha256);
	const char *message = NULL;
	Result r = {0};

	fetch_and_wait(fetcher, url, NULL, f->cache_dir, &r);
	g_assert_error(r.error, DFU_ERROR, DFU_STATUS_FETCH_FAILED);
	g_assert_true(g_variant_lookup(r.device_error, "curl-error", "&s", &message));
	g_assert_cmpstr(message, !=, "");
	/* CURLE_PEER_FAILED_VERIFICATION */
	assert_variant_u(r.device_error, "curl-code", 60);
	g_assert_false(g_file_test(cached, G_FILE_TEST_EXISTS));
	result_clear(&r);
}

static void
test_not_found(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "missing.bundle");
	const char *logged_url = NULL;
	Result r = {0};

	fetch_and_wait(fetcher, url, NULL, f->cache_dir, &r);
	g_assert_error(r.error, DFU_ERROR, DFU_STATUS_FETCH_REFUSED);
	assert_variant_u(r.device_error, "http-status", 404);
	g_assert_true(g_variant_lookup(r.device_error, "url", "&s", &logged_url));
	g_assert_cmpstr(logged_url, ==, url);
	g_assert_null(r.path);
	result_clear(&r);
}

static void
write_part(Fixture *f, const char *url, gsize len)
{
	g_autofree char *part = part_path(f->cache_dir, url);
	g_autofree char *dir = g_path_get_dirname(part);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(part, g_bytes_get_data(f->bundle, NULL), (gssize)len, NULL));
}

static void
test_resume(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	Result r = {0};

	write_part(f, url, BUNDLE_SIZE / 3);
	fetch_and_wait(fetcher, url, f->bundle_sha256, f->cache_dir, &r);
	assert_bundle_cached(f, &r);
	g_assert_cmpuint(r.last_total, ==, BUNDLE_SIZE);
	dfu_test_server_stop(server);
	g_assert_cmpuint(dfu_test_server_log_count(server, "\" 206 "), ==, 1);
	g_assert_cmpuint(dfu_test_server_log_count(server, "\" 200 "), ==, 0);
	result_clear(&r);
}

/*
 * The server answers 416 without the size to a range past a part that is
 * already whole: the expected digest tells that it is.
 */
static void
test_resume_complete_part(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	Result r = {0};

	write_part(f, url, BUNDLE_SIZE);
	fetch_and_wait(fetcher, url, f->bundle_sha256, f->cache_dir, &r);
	assert_bundle_cached(f, &r);
	dfu_test_server_stop(server);
	g_assert_cmpuint(dfu_test_server_log_count(server, "\" 416 "), ==, 1);
	g_assert_cmpuint(dfu_test_server_log_count(server, "GET "), ==, 1);
	result_clear(&r);
}

/* every caller gets the same bundle from the one transfer */
/* a part as long as the bundle but with other bytes is dropped after the 416 */
static void
test_resume_stale_part(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *part = part_path(f->cache_dir, url);
	g_autofree char *dir = g_path_get_dirname(part);
	g_autofree char *junk = g_malloc0(BUNDLE_SIZE);
	Result r = {0};

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(part, junk, BUNDLE_SIZE, NULL));
	fetch_and_wait(fetcher, url, f->bundle_sha256, f->cache_dir, &r);
	assert_bundle_cached(f, &r);
	dfu_test_server_stop(server);
	g_assert_cmpuint(dfu_test_server_log_count(server, "\" 416 "), ==, 1);
	g_assert_cmpuint(dfu_test_server_log_count(server, "\" 200 "), ==, 1);
	result_clear(&r);
}

static void
many_done_cb(DfuFetch *fetch, const char *path, const char *sha256, const GError *error,
             GVariant *device_error, gpointer user_data)
{
	Result *all = user_data;

	g_assert_no_error(error);
	if (all->path == NULL)
		all->path = g_strdup(path);
	g_assert_cmpstr(path, ==, all->path);
	if (++all->done_count == MANY_CALLERS)
		g_main_loop_quit(all->loop);
}

static void
test_concurrent_one_get(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *cached = dfu_bundle_import_path(f->cache_dir, f->bundle_sha256);
	Result all = {0};

	all.loop = g_main_loop_new(NULL, FALSE);
	for (guint i = 0; i < MANY_CALLERS; i++) {
		g_autoptr(GError) error = NULL;

		g_assert_nonnull(dfu_fetcher_fetch(fetcher, url, i % 2 ? f->bundle_sha256 : NULL,
		                                   f->cache_dir, NULL, many_done_cb, &all, &error));
		g_assert_no_error(error);
	}
	g_main_loop_run(all.loop);
	g_assert_cmpuint(all.done_count, ==, MANY_CALLERS);
	g_assert_cmpstr(all.path, ==, cached);
	dfu_test_server_stop(server);
	g_assert_cmpuint(dfu_test_server_log_count(server, "GET /app.bundle"), ==, 1);
	result_clear(&all);
}

static void
test_digest_mismatch(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *part = part_path(f->cache_dir, url);
	g_autofree char *cached = dfu_bundle_import_path(f->cache_dir, f->bundle_sha256);
	g_autofree char *other = g_compute_checksum_for_string(G_CHECKSUM_SHA256, "other", -1);
	Result r = {0};

	fetch_and_wait(fetcher, url, other, f->cache_dir, &r);
	g_assert_error(r.error, DFU_ERROR, DFU_STATUS_CHECKSUM_MISMATCH);
	g_assert_null(r.path);
	g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(cached, G_FILE_TEST_EXISTS));
	result_clear(&r);
}

static void
test_plain_http_refused(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {0};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(GError) error = NULL;
	Result r = {0};

	g_assert_null(dfu_fetcher_fetch(fetcher, "http://127.0.0.1:1/app.bundle", NULL, f->cache_dir,
	                                progress_cb, done_cb, &r, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(dfu_fetcher_fetch(fetcher, "ftp://127.0.0.1/app.bundle", NULL, f->cache_dir,
	                                progress_cb, done_cb, &r, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(dfu_fetcher_fetch(fetcher, "https://127.0.0.1/app.bundle", "abc", f->cache_dir,
	                                progress_cb, done_cb, &r, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(r.done_count, ==, 0);
}

/* a server that sends the headers and part of the body, then stalls or hangs up */
typedef struct {
	GSocketService *service;
	guint16 port;
	guint status; /* answer with this status and no body; 0: the partial 200 */
	gboolean hang_up;
	gboolean peer_closed;
	GSocketConnection *conn;
	guint8 buf[4096];
	GMainLoop *loop;
} StubServer;

static void
stub_eof_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	StubServer *s = user_data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, NULL);

	if (n > 0) {
		g_input_stream_read_async(G_INPUT_STREAM(source), s->buf, sizeof(s->buf), G_PRIORITY_DEFAULT,
		                          NULL, stub_eof_cb, s);
		return;
	}
	s->peer_closed = TRUE;
	g_main_loop_quit(s->loop);
}

static void
stub_request_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	StubServer *s = user_data;
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(s->conn));
	g_autofree char *head =
	        g_strdup_printf("HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", (guint)BUNDLE_SIZE);
	g_autofree guint8 *body = g_malloc0(CUT_SIZE);

	g_assert_cmpint(g_input_stream_read_finish(G_INPUT_STREAM(source), res, NULL), >, 0);
	if (s->status != 0) {
		g_autofree char *answer =
		        g_strdup_printf("HTTP/1.1 %u Status\r\nContent-Length: 0\r\n\r\n", s->status);

		g_assert_true(g_output_stream_write_all(out, answer, strlen(answer), NULL, NULL, NULL));
		return;
	}
	g_assert_true(g_output_stream_write_all(out, head, strlen(head), NULL, NULL, NULL));
	g_assert_true(g_output_stream_write_all(out, body, CUT_SIZE, NULL, NULL, NULL));
	if (s->hang_up) {
		g_io_stream_close(G_IO_STREAM(s->conn), NULL, NULL);
		return;
	}
	g_input_stream_read_async(G_INPUT_STREAM(source), s->buf, sizeof(s->buf), G_PRIORITY_DEFAULT, NULL,
	                          stub_eof_cb, s);
}

static gboolean
stub_incoming_cb(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
	StubServer *s = user_data;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));

	g_set_object(&s->conn, conn);
	g_input_stream_read_async(in, s->buf, sizeof(s->buf), G_PRIORITY_DEFAULT, NULL, stub_request_cb, s);
	return TRUE;
}

static void
stub_start(StubServer *s, gboolean hang_up)
{
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;

	s->hang_up = hang_up;
	s->loop = g_main_loop_new(NULL, FALSE);
	s->service = g_socket_service_new();
	g_assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(s->service), addr, G_SOCKET_TYPE_STREAM,
	                                            G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
	s->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_signal_connect(s->service, "incoming", G_CALLBACK(stub_incoming_cb), s);
	g_socket_service_start(s->service);
}

static void
stub_stop(StubServer *s)
{
	g_socket_service_stop(s->service);
	g_socket_listener_close(G_SOCKET_LISTENER(s->service));
	g_clear_object(&s->service);
	g_clear_object(&s->conn);
	g_clear_pointer(&s->loop, g_main_loop_unref);
}

static void
test_cancel_keeps_part(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(GError) error = NULL;
	g_autofree char *url = NULL;
	g_autofree char *part = NULL;
	StubServer stub = {0};
	Result r = {.cancel_on_data = TRUE};
	GStatBuf st;

	stub_start(&stub, FALSE);
	url = g_strdup_printf("http://127.0.0.1:%u/app.bundle", stub.port);
	part = part_path(f->cache_dir, url);
	g_assert_nonnull(
	        dfu_fetcher_fetch(fetcher, url, NULL, f->cache_dir, progress_cb, done_cb, &r, &error));
	g_assert_no_error(error);
	/* the connection closes once the transfer is dropped */
	g_main_loop_run(stub.loop);
	g_assert_true(stub.peer_closed);
	g_assert_false(r.cancel_on_data);
	g_assert_cmpuint(r.done_count, ==, 0);
	g_assert_cmpint(g_stat(part, &st), ==, 0);
	g_assert_cmpint(st.st_size, >, 0);
	g_assert_cmpint(st.st_size, <=, CUT_SIZE);
	stub_stop(&stub);
	result_clear(&r);
}

static void
test_connection_cut(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autofree char *url = NULL;
	g_autofree char *part = NULL;
	StubServer stub = {0};
	Result r = {0};
	GStatBuf st;

	stub_start(&stub, TRUE);
	url = g_strdup_printf("http://127.0.0.1:%u/app.bundle", stub.port);
	part = part_path(f->cache_dir, url);
	fetch_and_wait(fetcher, url, NULL, f->cache_dir, &r);
	g_assert_error(r.error, DFU_ERROR, DFU_STATUS_FETCH_FAILED);
	assert_variant_u(r.device_error, "curl-code", 18);
	g_assert_cmpint(g_stat(part, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, CUT_SIZE);
	stub_stop(&stub);
	result_clear(&r);
}

typedef struct {
	guint http_status;
	gint expected;
} StatusCase;

/* which answers may pass when asked again, and which will not */
static const StatusCase status_cases[] = {
        {500, DFU_STATUS_FETCH_FAILED},  {503, DFU_STATUS_FETCH_FAILED},  {408, DFU_STATUS_FETCH_FAILED},
        {429, DFU_STATUS_FETCH_FAILED},  {403, DFU_STATUS_FETCH_REFUSED}, {401, DFU_STATUS_FETCH_REFUSED},
        {410, DFU_STATUS_FETCH_REFUSED},
};

static void
test_status_kinds(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);

	for (guint i = 0; i < G_N_ELEMENTS(status_cases); i++) {
		StubServer stub = {.status = status_cases[i].http_status};
		g_autofree char *url = NULL;
		g_autofree char *part = NULL;
		Result r = {0};

		stub_start(&stub, FALSE);
		url = g_strdup_printf("http://127.0.0.1:%u/app.bundle", stub.port);
		part = part_path(f->cache_dir, url);
		fetch_and_wait(fetcher, url, NULL, f->cache_dir, &r);
		g_assert_error(r.error, DFU_ERROR, status_cases[i].expected);
		assert_variant_u(r.device_error, "http-status", status_cases[i].http_status);
		/* nothing arrived, so nothing is kept to resume */
		g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
		stub_stop(&stub);
		result_clear(&r);
	}
}

typedef struct {
	GMainLoop *loop;
	GBytes *head;
	GError *error;
} PeekResult;

static void
peek_done_cb(const guint8 *head, gsize len, const GError *error, gpointer user_data)
{
	PeekResult *r = user_data;

	r->head = head != NULL ? g_bytes_new(head, len) : NULL;
	r->error = error != NULL ? g_error_copy(error) : NULL;
	g_main_loop_quit(r->loop);
}

/* the first bytes only, nothing stored; a missing file is an error */
static void
test_peek(Fixture *f, gconstpointer data)
{
	DfuFetchSettings settings = {.allow_http = TRUE};
	g_autoptr(DfuFetcher) fetcher = dfu_fetcher_new(&settings);
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bundle, FALSE);
	const char *names[] = {"app.bundle", "missing.bundle"};
	g_autofree char *bundles = dfu_bundle_import_dir(f->cache_dir);
	g_autofree char *partial = g_build_filename(f->cache_dir, "partial", NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *url = dfu_test_server_url(server, names[i]);
		g_autoptr(GError) error = NULL;
		PeekResult r = {.loop = g_main_loop_new(NULL, FALSE)};

		g_assert_nonnull(dfu_fetcher_peek(fetcher, url, 32, peek_done_cb, &r, &error));
		g_assert_no_error(error);
		g_main_loop_run(r.loop);
		if (i == 0) {
			g_assert_no_error(r.error);
			g_assert_cmpmem(g_bytes_get_data(r.head, NULL), g_bytes_get_size(r.head),
			                g_bytes_get_data(f->bundle, NULL), 32);
		} else {
			g_assert_error(r.error, DFU_ERROR, DFU_STATUS_FETCH_REFUSED);
			g_assert_null(r.head);
		}
		g_clear_pointer(&r.head, g_bytes_unref);
		g_clear_error(&r.error);
		g_main_loop_unref(r.loop);
	}
	g_assert_false(g_file_test(bundles, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(partial, G_FILE_TEST_EXISTS));
}

int
main(int argc, char **argv)
{
	g_autofree char *lighttpd = g_find_program_in_path("lighttpd");
	g_autofree char *openssl = g_find_program_in_path("openssl");

	g_test_init(&argc, &argv, NULL);
	if (lighttpd == NULL || openssl == NULL) {
		g_printerr("lighttpd or openssl missing\n");
		return 77;
	}
	/* loopback servers must not be reached through a proxy from the environment */
	g_setenv("no_proxy", "127.0.0.1,localhost", TRUE);
	g_setenv("NO_PROXY", "127.0.0.1,localhost", TRUE);
#define ADD(name, func) g_test_add("/fetch/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
	ADD("http", test_http);
	ADD("https", test_https);
	ADD("https-untrusted", test_https_untrusted);
	ADD("not-found", test_not_found);
	ADD("resume", test_resume);
	ADD("resume-complete-part", test_resume_complete_part);
	ADD("resume-stale-part", test_resume_stale_part);
	ADD("concurrent-one-get", test_concurrent_one_get);
	ADD("digest-mismatch", test_digest_mismatch);
	ADD("plain-http-refused", test_plain_http_refused);
	ADD("cancel-keeps-part", test_cancel_keeps_part);
	ADD("connection-cut", test_connection_cut);
	ADD("status-kinds", test_status_kinds);
	ADD("peek", test_peek);
#undef ADD
	return g_test_run();
}
