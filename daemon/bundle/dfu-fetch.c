/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu-bundle-import.h"
#include "dfu-error.h"
#include "dfu-fetch.h"

#include "dfu-curl-loop.h"
#include "dfu-file.h"
#include "dfu-sha256.h"

#define FETCH_CHUNK_SIZE (64 * 1024)
#define FETCH_MAX_REDIRECTS 5L

struct _DfuFetcher {
	DfuCurlLoop *loop;
	DfuCurlLoop *peek_loop; /* the first bytes of a file, for a look at its kind */
	GHashTable *transfers;  /* partial file path → Transfer */
	char *ca_file;
	char *client_cert;
	char *client_key;
	char *proxy;
	struct curl_slist *headers;
	GSList *old_headers; /* replaced lists that running transfers may still point at */
	gboolean allow_http;
	guint connect_timeout_s;
	guint low_speed_limit;
	guint low_speed_time_s;
};

typedef struct {
	DfuFetcher *fetcher;
	CURL *easy;
	char *url;
	char *cache_dir;
	char *part_path;
	int fd;
	DfuSha256 *checksum; /* of the bytes in the partial file */
	guint64 offset;      /* bytes in the partial file */
	guint64 total;       /* expected final size, 0 when unknown */
	gboolean body_started;
	gboolean writing;   /* the response carries the bundle, not an error page */
	gboolean restarted; /* a stale partial file was dropped once already */
	gint64 range_first; /* Content-Range of the response, -1 when absent */
	gint64 range_total;
	GError *error;      /* why a callback aborted the transfer */
	GPtrArray *waiters; /* DfuFetch */
	guint reap_id;
	char errbuf[CURL_ERROR_SIZE];
} Transfer;

struct _DfuFetch {
	Transfer *transfer; /* NULL while the result is being delivered */
	char *expected;
	DfuFetchProgressFunc progress;
	DfuFetchDoneFunc done;
	gpointer user_data;
	gboolean cancelled;
};

typedef enum {
	OUTCOME_COMPLETE,
	OUTCOME_RESTART,
	OUTCOME_FAILED,
} Outcome;

static void
fetch_free(DfuFetch *fetch)
{
	g_free(fetch->expected);
	g_free(fetch);
}

static void
transfer_free(Transfer *t)
{
	g_clear_handle_id(&t->reap_id, g_source_remove);
	if (t->easy != NULL) {
		curl_multi_remove_handle(dfu_curl_loop_get_multi(t->fetcher->loop), t->easy);
		curl_easy_cleanup(t->easy);
	}
	if (t->fd >= 0)
		close(t->fd);
	g_clear_pointer(&t->checksum, dfu_sha256_free);
	g_clear_error(&t->error);
	g_ptr_array_unref(t->waiters);
	g_free(t->url);
	g_free(t->cache_dir);
	g_free(t->part_path);
	g_free(t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Transfer, transfer_free)

static gboolean
transfer_truncate(Transfer *t, GError **error)
{
	if (ftruncate(t->fd, 0) != 0)
		return dfu_file_error(error, "truncate", t->part_path, errno);
	t->offset = 0;
	dfu_sha256_reset(t->checksum);
	return TRUE;
}

/* hashes what an earlier download left so that the digest covers the whole file */
static gboolean
transfer_hash_part(Transfer *t, GError **error)
{
	g_autofree guint8 *buf = g_malloc(FETCH_CHUNK_SIZE);
	struct stat st;

	if (fstat(t->fd, &st) != 0)
		return dfu_file_error(error, "inspect", t->part_path, errno);
	if ((guint64)st.st_size > DFU_BUNDLE_IMPORT_MAX_SIZE)
		return transfer_truncate(t, error);
	for (;;) {
		ssize_t n = pread(t->fd, buf, FETCH_CHUNK_SIZE, (off_t)t->offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dfu_file_error(error, "read", t->part_path, errno);
		}
		if (n == 0)
			return TRUE;
		dfu_sha256_update(t->checksum, buf, (gsize)n);
		t->offset += (guint64)n;
	}
}

static char *
sha256_hex(const char *text)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

static gboolean
fetch_accepts(const DfuFetch *fetch, const char *digest)
{
	return fetch->expected == NULL || g_ascii_strcasecmp(fetch->expected, digest) == 0;
}

/* the digest so far, without closing the running checksum */
static char *
transfer_digest(Transfer *t)
{
	return dfu_sha256_hex(t->checksum);
}

static void
transfer_report_progress(Transfer *t)
{
	g_autoptr(GPtrArray) waiters = g_ptr_array_copy(t->waiters, NULL, NULL);

	g_ptr_array_set_free_func(waiters, NULL);

	/* a callback may cancel any fetch, its own or another's */
	for (guint i = 0; i < waiters->len; i++) {
		DfuFetch *fetch = waiters->pdata[i];

		if (fetch->progress != NULL && g_ptr_array_find(t->waiters, fetch, NULL))
			fetch->progress(fetch, t->offset, t->total, fetch->user_data);
	}
}

/* decides from the status line what the body is, once it starts */
static gboolean
transfer_begin_body(Transfer *t)
{
	long code = 0;
	curl_off_t length = -1;

	t->body_started = TRUE;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	if (code == 206) {
		if (t->range_first != (gint64)t->offset) {
			g_set_error(&t->error, DFU_ERROR, DFU_STATUS_FETCH_FAILED,
			            "%s resumed at another offset than %" G_GUINT64_FORMAT, t->url,
			            t->offset);
			return FALSE;
		}
	} else if (code == 200) {
		/* the server ignored the Range header: start over */
		if (t->offset > 0 && !transfer_truncate(t, &t->error))
			return FALSE;
	} else {
		return TRUE;
	}
	t->writing = TRUE;
	t->total = length >= 0 ? t->offset + (guint64)length : 0;
	transfer_report_progress(t);
	return TRUE;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	Transfer *t = user_data;
	gsize len = size * nmemb;

	if (t->waiters->len == 0)
		return 0;
	if (!t->body_started && !transfer_begin_body(t))
		return 0;
	if (!t->writing)
		return len;
	if (t->offset + len > DFU_BUNDLE_IMPORT_MAX_SIZE) {
		g_set_error(&t->error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s is larger than %u MiB",
		            t->url, DFU_BUNDLE_IMPORT_MAX_SIZE / (1024 * 1024));
		return 0;
	}
	if (!dfu_file_pwrite_all(t->fd, (const guint8 *)data, len, t->offset, t->part_path, &t->error))
		return 0;
	dfu_sha256_update(t->checksum, data, len);
	t->offset += len;
	transfer_report_progress(t);
	return len;
}

static gboolean
parse_u64(const char *s, const char **end, guint64 *value)
{
	char *stop = NULL;

	if (!g_ascii_isdigit(*s))
		return FALSE;
	*value = g_ascii_strtoull(s, &stop, 10);
	*end = stop;
	return *value <= G_MAXINT64;
}

/* "bytes 100-199/200" or "bytes * /200" (without the space) */
static void
parse_content_range(const char *value, Transfer *t)
{
	const char *p = value;
	guint64 first = 0;
	guint64 total = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (g_ascii_strncasecmp(p, "bytes ", 6) != 0)
		return;
	p += 6;
	if (*p == '*') {
		p++;
	} else {
		if (!parse_u64(p, &p, &first) || *p != '-')
			return;
		p = strchr(p, '/');
		if (p == NULL)
			return;
		t->range_first = (gint64)first;
	}
	if (*p == '/' && parse_u64(p + 1, &p, &total))
		t->range_total = (gint64)total;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	Transfer *t = user_data;
	gsize len = size * nmemb;
	g_autofree char *line = g_strndup(data, len);
	static const char content_range[] = "content-range:";

	/* each response of a redirect chain starts afresh */
	if (g_str_has_prefix(line, "HTTP/")) {
		t->range_first = -1;
		t->range_total = -1;
	} else if (g_ascii_strncasecmp(line, content_range, sizeof(content_range) - 1) == 0) {
		parse_content_range(line + sizeof(content_range) - 1, t);
	}
	return len;
}

static gboolean
transfer_start(Transfer *t, GError **error)
{
	g_autofree char *range = NULL;
	CURLMcode rc;

	t->body_started = FALSE;
	t->writing = FALSE;
	t->range_first = -1;
	t->range_total = -1;
	t->total = 0;
	if (t->offset > 0)
		range = g_strdup_printf("%" G_GUINT64_FORMAT "-", t->offset);
	curl_easy_setopt(t->easy, CURLOPT_RANGE, range);
	rc = curl_multi_add_handle(dfu_curl_loop_get_multi(t->fetcher->loop), t->easy);
	if (rc != CURLM_OK) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot start %s: %s", t->url,
		            curl_multi_strerror(rc));
		return FALSE;
	}
	return TRUE;
}

/* what every request of the fetcher's makes of its settings */
static void
configure_easy(DfuFetcher *f, CURL *easy, const char *url)
{
	const char *protocols = f->allow_http ? "http,https" : "https";

	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "dfud/" PACKAGE_VERSION);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
	/* a redirect must not downgrade to plain http when that is not allowed */
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DFU_BUNDLE_IMPORT_MAX_SIZE);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->headers != NULL)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, f->headers);
	if (f->ca_file != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, f->ca_file);
	if (f->client_cert != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLCERT, f->client_cert);
	if (f->client_key != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLKEY, f->client_key);
	if (f->proxy != NULL)
		curl_easy_setopt(easy, CURLOPT_PROXY, f->proxy);
	if (f->connect_timeout_s > 0)
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, (long)f->connect_timeout_s);
	if (f->low_speed_limit > 0 && f->low_speed_time_s > 0) {
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, (long)f->low_speed_limit);
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)f->low_speed_time_s);
	}
}

static void
transfer_configure(Transfer *t)
{
	CURL *easy = t->easy;

	configure_easy(t->fetcher, easy, t->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
}

static Transfer *
transfer_new(DfuFetcher *self, const char *url, const char *cache_dir, const char *part_path, GError **error)
{
	g_autoptr(Transfer) t = g_new0(Transfer, 1);
	g_autofree char *dir = g_path_get_dirname(part_path);

	t->fetcher = self;
	t->fd = -1;
	t->url = g_strdup(url);
	t->cache_dir = g_strdup(cache_dir);
	t->part_path = g_strdup(part_path);
	t->checksum = dfu_sha256_new();
	t->waiters = g_ptr_array_new_with_free_func((GDestroyNotify)fetch_free);
	if (g_mkdir_with_parents(dir, 0750) != 0) {
		dfu_file_error(error, "create", dir, errno);
		return NULL;
	}
	t->fd = g_open(part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (t->fd < 0) {
		dfu_file_error(error, "open", part_path, errno);
		return NULL;
	}
	if (!transfer_hash_part(t, error))
		return NULL;
	t->easy = curl_easy_init();
	if (t->easy == NULL) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot create a transfer");
		return NULL;
	}
	transfer_configure(t);
	return g_steal_pointer(&t);
}

static GVariant *
http_status_variant(long code, const char *url)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "http-status", g_variant_new_uint32((guint32)code));
	g_variant_builder_add(&b, "{sv}", "url", g_variant_new_string(url));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GVariant *
curl_error_variant(CURLcode res, const char *message)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "curl-error", g_variant_new_string(message));
	g_variant_builder_add(&b, "{sv}", "curl-code", g_variant_new_uint32((guint32)res));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* a client error will not go away by asking again, except these two */
static guint
http_status_to_dfu(long code)
{
	static const long transient_client_errors[] = {408 /* request timeout */,
	                                               429 /* too many requests */};

	if (code < 400 || code >= 500)
		return DFU_STATUS_FETCH_FAILED;
	for (guint i = 0; i < G_N_ELEMENTS(transient_client_errors); i++) {
		if (transient_client_errors[i] == code)
			return DFU_STATUS_FETCH_FAILED;
	}
	return DFU_STATUS_FETCH_REFUSED;
}

/* whether a 416 answer means the partial file already holds the whole bundle */
static gboolean
transfer_part_is_whole(Transfer *t)
{
	g_autofree char *digest = NULL;

	if (t->offset == 0)
		return FALSE;
	if (t->range_total >= 0)
		return (guint64)t->range_total == t->offset;
	digest = transfer_digest(t);
	for (guint i = 0; i < t->waiters->len; i++) {
		DfuFetch *fetch = t->waiters->pdata[i];

		if (fetch->expected != NULL && fetch_accepts(fetch, digest))
			return TRUE;
	}
	return FALSE;
}

/* frees a transfer that may already have left the table */
static void
transfer_drop(Transfer *t)
{
	if (g_hash_table_lookup(t->fetcher->transfers, t->part_path) == t)
		g_hash_table_remove(t->fetcher->transfers, t->part_path);
	else
		transfer_free(t);
}

static Outcome
transfer_judge(Transfer *t, CURLcode res, GError **error, GVariant **device_error)
{
	long code = 0;

	if (t->error != NULL) {
		g_propagate_error(error, g_steal_pointer(&t->error));
		return OUTCOME_FAILED;
	}
	if (res != CURLE_OK) {
		const char *message = t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(res);

		g_set_error(error, DFU_ERROR, DFU_STATUS_FETCH_FAILED, "cannot fetch %s: %s", t->url,
		            message);
		*device_error = curl_error_variant(res, message);
		return OUTCOME_FAILED;
	}
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200 || code == 206) {
		if (!t->body_started && !transfer_begin_body(t)) {
			g_propagate_error(error, g_steal_pointer(&t->error));
			return OUTCOME_FAILED;
		}
		if (t->offset == 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "%s is empty", t->url);
			return OUTCOME_FAILED;
		}
		return OUTCOME_COMPLETE;
	}
	if (code == 416 && t->offset > 0) {
		if (transfer_part_is_whole(t))
			return OUTCOME_COMPLETE;
		if (!t->restarted)
			return OUTCOME_RESTART;
	}
	g_set_error(error, DFU_ERROR, http_status_to_dfu(code), "cannot fetch %s: HTTP status %ld", t->url,
	            code);
	*device_error = http_status_variant(code, t->url);
	return OUTCOME_FAILED;
}

/* moves the finished partial file into the cache; returns its path */
static char *
transfer_store(Transfer *t, const char *digest, GError **error)
{
	g_autofree char *dir = dfu_bundle_import_dir(t->cache_dir);
	g_autofree char *path = dfu_bundle_import_path(t->cache_dir, digest);

	if (g_mkdir_with_parents(dir, 0750) != 0) {
		dfu_file_error(error, "create", dir, errno);
		return NULL;
	}
	if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_unlink(t->part_path);
		return g_steal_pointer(&path);
	}
	if (!dfu_file_commit(t->fd, t->part_path, path, error))
		return NULL;
	return g_steal_pointer(&path);
}

static void
deliver(GPtrArray *waiters, const char *path, const char *digest, const GError *error, GVariant *device_error)
{
	for (guint i = 0; i < waiters->len; i++)
		((DfuFetch *)waiters->pdata[i])->transfer = NULL;
	/* a done callback may cancel fetches that have not been told yet */
	for (guint i = 0; i < waiters->len; i++) {
		DfuFetch *fetch = waiters->pdata[i];
		g_autoptr(GError) mismatch = NULL;

		if (fetch->cancelled)
			continue;
		if (error == NULL && !fetch_accepts(fetch, digest)) {
			g_set_error(&mismatch, DFU_ERROR, DFU_STATUS_CHECKSUM_MISMATCH,
			            "the bundle has SHA-256 %s, expected %s", digest, fetch->expected);
			fetch->done(fetch, NULL, NULL, mismatch, NULL, fetch->user_data);
		} else if (error != NULL) {
			fetch->done(fetch, NULL, NULL, error, device_error, fetch->user_data);
		} else {
			fetch->done(fetch, path, digest, NULL, NULL, fetch->user_data);
		}
	}
}

static void
transfer_finish(Transfer *t, CURLcode res)
{
	DfuFetcher *self = t->fetcher;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) device_error = NULL;
	g_autoptr(GPtrArray) waiters = NULL;
	g_autofree char *digest = NULL;
	g_autofree char *path = NULL;
	gboolean wanted = FALSE;

	if (t->waiters->len == 0) {
		transfer_drop(t);
		return;
	}
	switch (transfer_judge(t, res, &error, &device_error)) {
	case OUTCOME_RESTART:
		t->restarted = TRUE;
		if (transfer_truncate(t, &error) && transfer_start(t, &error))
			return;
		break;
	case OUTCOME_COMPLETE:
		digest = transfer_digest(t);
		for (guint i = 0; i < t->waiters->len; i++)
			wanted |= fetch_accepts(t->waiters->pdata[i], digest);
		if (wanted)
			path = transfer_store(t, digest, &error);
		else
			g_unlink(t->part_path);
		break;
	case OUTCOME_FAILED:
		/* an empty partial file has nothing to resume */
		if (t->offset == 0)
			g_unlink(t->part_path);
		break;
	}
	/* the transfer leaves the table first, so that a callback may fetch the URL anew */
	waiters = g_steal_pointer(&t->waiters);
	t->waiters = g_ptr_array_new();
	g_hash_table_remove(self->transfers, t->part_path);
	deliver(waiters, path, digest, error, device_error);
}

static void
transfer_done_cb(CURL *easy, CURLcode res, gpointer user_data)
{
	Transfer *t = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	transfer_finish(t, res);
}

static gboolean check_url(DfuFetcher *self, const char *url, GError **error);

struct _DfuPeek {
	DfuFetcher *fetcher;
	CURL *easy;
	GByteArray *head;
	gsize want;
	DfuPeekDoneFunc done;
	gpointer user_data;
	char errbuf[CURL_ERROR_SIZE];
};

static void
peek_free(DfuPeek *peek)
{
	curl_easy_cleanup(peek->easy);
	g_byte_array_unref(peek->head);
	g_free(peek);
}

/* enough bytes end the transfer: the write error that follows is no failure */
static size_t
peek_write_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	DfuPeek *peek = user_data;
	gsize len = size * nmemb;

	g_byte_array_append(peek->head, (const guint8 *)data, MIN(len, peek->want - peek->head->len));
	return peek->head->len < peek->want ? len : 0;
}

static void
peek_done_cb(CURL *easy, CURLcode res, gpointer user_data)
{
	DfuPeek *peek = NULL;
	long code = 0;
	g_autoptr(GError) error = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&peek);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && peek->head->len == peek->want))
		error = g_error_new(DFU_ERROR, DFU_STATUS_FETCH_FAILED, "%s",
		                    peek->errbuf[0] != '\0' ? peek->errbuf : curl_easy_strerror(res));
	else if (code != 200 && code != 206)
		error = g_error_new(DFU_ERROR, http_status_to_dfu(code), "HTTP status %ld", code);
	peek->done(error == NULL ? peek->head->data : NULL, error == NULL ? peek->head->len : 0, error,
	           peek->user_data);
	peek_free(peek);
}

DfuPeek *
dfu_fetcher_peek(DfuFetcher *self, const char *url, gsize len, DfuPeekDoneFunc done, gpointer user_data,
                 GError **error)
{
	g_autofree char *range = g_strdup_printf("0-%" G_GSIZE_FORMAT, len - 1);
	DfuPeek *peek;

	if (!check_url(self, url, error))
		return NULL;
	peek = g_new0(DfuPeek, 1);
	peek->fetcher = self;
	peek->head = g_byte_array_sized_new(len);
	peek->want = len;
	peek->done = done;
	peek->user_data = user_data;
	peek->easy = curl_easy_init();
	configure_easy(self, peek->easy, url);
	curl_easy_setopt(peek->easy, CURLOPT_PRIVATE, peek);
	curl_easy_setopt(peek->easy, CURLOPT_RANGE, range);
	curl_easy_setopt(peek->easy, CURLOPT_WRITEFUNCTION, peek_write_cb);
	curl_easy_setopt(peek->easy, CURLOPT_WRITEDATA, peek);
	curl_easy_setopt(peek->easy, CURLOPT_ERRORBUFFER, peek->errbuf);
	curl_easy_setopt(peek->easy, CURLOPT_TIMEOUT, (long)DFU_PEEK_TIMEOUT_S);
	curl_multi_add_handle(dfu_curl_loop_get_multi(self->peek_loop), peek->easy);
	return peek;
}

void
dfu_peek_cancel(DfuPeek *peek)
{
	if (peek == NULL)
		return;
	curl_multi_remove_handle(dfu_curl_loop_get_multi(peek->fetcher->peek_loop), peek->easy);
	peek_free(peek);
}

DfuFetcher *
dfu_fetcher_new(const DfuFetchSettings *settings)
{
	DfuFetcher *self = g_new0(DfuFetcher, 1);

	self->loop = dfu_curl_loop_new(transfer_done_cb, self);
	self->peek_loop = dfu_curl_loop_new(peek_done_cb, self);
	self->transfers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)transfer_free);
	dfu_fetcher_set_settings(self, settings);
	return self;
}

void
dfu_fetcher_set_settings(DfuFetcher *self, const DfuFetchSettings *settings)
{
	g_return_if_fail(self != NULL);
	/* libcurl keeps the header list by reference: it outlives the transfers that use it */
	if (self->headers != NULL)
		self->old_headers = g_slist_prepend(self->old_headers, g_steal_pointer(&self->headers));
	if (g_hash_table_size(self->transfers) == 0)
		g_clear_slist(&self->old_headers, (GDestroyNotify)curl_slist_free_all);
	g_free(self->ca_file);
	g_free(self->client_cert);
	g_free(self->client_key);
	g_free(self->proxy);
	self->ca_file = g_strdup(settings->ca_file);
	self->client_cert = g_strdup(settings->client_cert);
	self->client_key = g_strdup(settings->client_key);
	self->proxy = g_strdup(settings->proxy);
	for (guint i = 0; settings->headers != NULL && settings->headers[i] != NULL; i++)
		self->headers = curl_slist_append(self->headers, settings->headers[i]);
	self->allow_http = settings->allow_http;
	self->connect_timeout_s = settings->connect_timeout_s;
	self->low_speed_limit = settings->low_speed_limit;
	self->low_speed_time_s = settings->low_speed_time_s;
}

void
dfu_fetcher_free(DfuFetcher *self)
{
	if (self == NULL)
		return;
	g_hash_table_destroy(self->transfers);
	dfu_curl_loop_free(self->loop);
	/* a peek still running is its owner's to cancel first */
	dfu_curl_loop_free(self->peek_loop);
	curl_slist_free_all(self->headers);
	g_slist_free_full(self->old_headers, (GDestroyNotify)curl_slist_free_all);
	g_free(self->ca_file);
	g_free(self->client_cert);
	g_free(self->client_key);
	g_free(self->proxy);
	g_free(self);
}

static gboolean
check_url(DfuFetcher *self, const char *url, GError **error)
{
	const char *scheme = g_uri_peek_scheme(url);

	if (g_strcmp0(scheme, "https") == 0 || (self->allow_http && g_strcmp0(scheme, "http") == 0))
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
	            g_strcmp0(scheme, "http") == 0 ? "plain http is not allowed: %s" : "not an https URL: %s",
	            url);
	return FALSE;
}

/* a live transfer that a job expects this digest from: one download for one content, whatever the URLs */
static Transfer *
fetcher_find_digest(DfuFetcher *self, const char *expected)
{
	GHashTableIter iter;
	Transfer *t;

	g_hash_table_iter_init(&iter, self->transfers);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&t)) {
		for (guint i = 0; t->reap_id == 0 && i < t->waiters->len; i++) {
			DfuFetch *waiter = g_ptr_array_index(t->waiters, i);

			if (waiter->expected != NULL && g_ascii_strcasecmp(waiter->expected, expected) == 0)
				return t;
		}
	}
	return NULL;
}

DfuFetch *
dfu_fetcher_fetch(DfuFetcher *self, const char *url, const char *expected_sha256, const char *cache_dir,
                  DfuFetchProgressFunc progress, DfuFetchDoneFunc done, gpointer user_data, GError **error)
{
	g_autofree char *url_digest = NULL;
	g_autofree char *part_name = NULL;
	g_autofree char *part_path = NULL;
	DfuFetch *fetch;
	Transfer *t;

	g_return_val_if_fail(self != NULL && url != NULL && cache_dir != NULL && done != NULL, NULL);
	if (!check_url(self, url, error))
		return NULL;
	if (expected_sha256 != NULL && !dfu_sha256_is_hex(expected_sha256)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "not a SHA-256 digest: %s",
		            expected_sha256);
		return NULL;
	}
	url_digest = sha256_hex(url);
	part_name = g_strconcat(url_digest, ".part", NULL);
	part_path = g_build_filename(cache_dir, "partial", part_name, NULL);
	t = g_hash_table_lookup(self->transfers, part_path);
	/* an abandoned transfer is on its way out: let it go and start afresh */
	if (t != NULL && t->reap_id != 0) {
		g_hash_table_steal(self->transfers, part_path);
		t = NULL;
	}
	if (t == NULL && expected_sha256 != NULL)
		t = fetcher_find_digest(self, expected_sha256);
	if (t == NULL) {
		g_autoptr(Transfer) fresh = transfer_new(self, url, cache_dir, part_path, error);

		if (fresh == NULL || !transfer_start(fresh, error))
			return NULL;
		t = g_steal_pointer(&fresh);
		g_hash_table_insert(self->transfers, t->part_path, t);
	}
	fetch = g_new0(DfuFetch, 1);
	fetch->transfer = t;
	fetch->expected = expected_sha256 != NULL ? g_ascii_strdown(expected_sha256, -1) : NULL;
	fetch->progress = progress;
	fetch->done = done;
	fetch->user_data = user_data;
	g_ptr_array_add(t->waiters, fetch);
	return fetch;
}

static gboolean
reap_cb(gpointer user_data)
{
	Transfer *t = user_data;

	t->reap_id = 0;
	transfer_drop(t);
	return G_SOURCE_REMOVE;
}

void
dfu_fetch_cancel(DfuFetch *fetch)
{
	Transfer *t;

	g_return_if_fail(fetch != NULL);
	t = fetch->transfer;
	if (t == NULL) {
		fetch->cancelled = TRUE;
		return;
	}
	g_ptr_array_remove(t->waiters, fetch);
	/* libcurl may be inside a callback of this transfer: stop it from the loop */
	if (t->waiters->len == 0 && t->reap_id == 0)
		t->reap_id = g_idle_add(reap_cb, t);
}
