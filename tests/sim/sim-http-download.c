/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-http-download.h"

#include <curl/curl.h>

#include "dfu-error.h"

/* what the download client gives up after: a server that sends nothing for this long */
#define LOW_SPEED_SECONDS 10

struct _SimHttpDownload {
	gint refs; /* the caller's, the thread's and each idle's */
	gint cancelled;
	char *url;
	char *ca_file;
	guint64 offset;
	SimHttpDownloadCallbacks callbacks;
	gpointer user_data;
	/* filled by the thread, emptied on the loop */
	GMutex lock;
	GByteArray *pending;
	guint64 total;
	gboolean data_posted;
	/* set by the thread before it posts done */
	guint http_status;
	GError *error;
};

static void
download_unref(gpointer user_data)
{
	SimHttpDownload *download = user_data;

	if (!g_atomic_int_dec_and_test(&download->refs))
		return;
	g_clear_error(&download->error);
	g_mutex_clear(&download->lock);
	g_byte_array_unref(download->pending);
	g_free(download->url);
	g_free(download->ca_file);
	g_free(download);
}

/* hands what arrived to the caller */
static void
deliver(SimHttpDownload *download)
{
	g_autoptr(GByteArray) chunk = NULL;
	guint64 total;

	g_mutex_lock(&download->lock);
	chunk = g_steal_pointer(&download->pending);
	download->pending = g_byte_array_new();
	download->data_posted = FALSE;
	total = download->total;
	g_mutex_unlock(&download->lock);
	if (chunk->len > 0 && !g_atomic_int_get(&download->cancelled))
		download->callbacks.data(chunk->data, chunk->len, total, download->user_data);
}

static gboolean
on_data_idle(gpointer user_data)
{
	deliver(user_data);
	return G_SOURCE_REMOVE;
}

static void
post(SimHttpDownload *download, GSourceFunc func)
{
	g_atomic_int_inc(&download->refs);
	g_idle_add_full(G_PRIORITY_DEFAULT, func, download, download_unref);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *user_data)
{
	SimHttpDownload *download = user_data;
	gsize n = size * nmemb;
	gboolean post_it;

	if (g_atomic_int_get(&download->cancelled))
		return 0;
	g_mutex_lock(&download->lock);
	g_byte_array_append(download->pending, (const guint8 *)ptr, (guint)n);
	post_it = !download->data_posted;
	download->data_posted = TRUE;
	g_mutex_unlock(&download->lock);
	if (post_it)
		post(download, on_data_idle);
	return n;
}

static int
on_xfer(void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	SimHttpDownload *download = user_data;

	if (dltotal > 0) {
		g_mutex_lock(&download->lock);
		download->total = download->offset + (guint64)dltotal;
		g_mutex_unlock(&download->lock);
	}
	return g_atomic_int_get(&download->cancelled) ? 1 : 0;
}

static gboolean
on_done_idle(gpointer user_data)
{
	SimHttpDownload *download = user_data;

	deliver(download);
	if (!g_atomic_int_get(&download->cancelled))
		download->callbacks.done(download->http_status, download->error, download->user_data);
	return G_SOURCE_REMOVE;
}

static gpointer
download_thread(gpointer user_data)
{
	SimHttpDownload *download = user_data;
	CURL *curl = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	curl_easy_setopt(curl, CURLOPT_URL, download->url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, download);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, download);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_SECONDS);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	if (download->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, download->ca_file);
	if (download->offset > 0)
		curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)download->offset);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	download->http_status = (guint)status;
	if (rc != CURLE_OK)
		download->error = g_error_new(DFU_ERROR, DFU_STATUS_FETCH_FAILED, "%s: %s", download->url,
		                              errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	else if (status >= 400)
		download->error = g_error_new(DFU_ERROR, DFU_STATUS_FETCH_FAILED, "%s: HTTP %ld",
		                              download->url, status);
	post(download, on_done_idle);
	download_unref(download);
	return NULL;
}

SimHttpDownload *
sim_http_download_start(const char *url, guint64 offset, const char *ca_file,
                        const SimHttpDownloadCallbacks *callbacks, gpointer user_data)
{
	static gsize curl_ready;
	SimHttpDownload *download = g_new0(SimHttpDownload, 1);

	/* curl's global set-up is not thread-safe: done once, before any thread */
	if (g_once_init_enter(&curl_ready))
		g_once_init_leave(&curl_ready, curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : 2);
	download->refs = 2;
	download->url = g_strdup(url);
	download->ca_file = g_strdup(ca_file);
	download->offset = offset;
	download->callbacks = *callbacks;
	download->user_data = user_data;
	download->pending = g_byte_array_new();
	g_mutex_init(&download->lock);
	g_thread_unref(g_thread_new("sim-http", download_thread, download));
	return download;
}

void
sim_http_download_cancel(SimHttpDownload *download)
{
	if (download == NULL)
		return;
	g_atomic_int_set(&download->cancelled, 1);
	download_unref(download);
}
