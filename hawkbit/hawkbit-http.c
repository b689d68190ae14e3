/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "dfu-curl-loop.h"
#include "hawkbit-http.h"

#define HB_HTTP_MAX_BODY (1024 * 1024) /* a DDI document is a few KiB */

struct _HbHttp {
	DfuCurlLoop *loop;
	HbHttpSettings settings;
	char *ca_file;
	char *client_cert;
	char *client_key;
	char *proxy;
	GQueue queue;       /* Call, waiting for a slot */
	GHashTable *active; /* CURL * -> Call */
	guint pace_id;
	gint64 next_slot_us; /* monotonic time of the next request the rate allows */
	guint64 sent;
};

typedef struct {
	HbHttp *http;
	CURL *easy;
	char *method;
	char *url;
	char *json;
	struct curl_slist *headers;
	HbHttpDone done;
	gpointer user_data;
	GByteArray *body;
	char *etag;
	char errbuf[CURL_ERROR_SIZE];
} Call;

static void http_pump(HbHttp *self);

static void
call_free(Call *call)
{
	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	g_free(call->method);
	g_free(call->url);
	g_free(call->json);
	g_byte_array_unref(call->body);
	g_free(call->etag);
	g_free(call);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	Call *call = user_data;

	if (call->body->len + size * nmemb > HB_HTTP_MAX_BODY)
		return 0;
	g_byte_array_append(call->body, (const guint8 *)data, (guint)(size * nmemb));
	return size * nmemb;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	Call *call = user_data;
	size_t n = size * nmemb;

	if (n > 5 && g_ascii_strncasecmp(data, "ETag:", 5) == 0) {
		g_free(call->etag);
		call->etag = g_strstrip(g_strndup(data + 5, n - 5));
	}
	return n;
}

static void
call_configure(Call *call)
{
	HbHttp *h = call->http;
	const char *protocols = h->settings.allow_http ? "http,https" : "https";
	CURL *easy = call->easy;

	curl_easy_setopt(easy, CURLOPT_URL, call->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call->method);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "dfud-hawkbit/" PACKAGE_VERSION);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers);
	if (call->json != NULL) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->json);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(call->json));
	}
	if (h->settings.timeout_s > 0)
		curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)h->settings.timeout_s);
	if (h->ca_file != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, h->ca_file);
	if (h->client_cert != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLCERT, h->client_cert);
	if (h->client_key != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLKEY, h->client_key);
	if (h->proxy != NULL)
		curl_easy_setopt(easy, CURLOPT_PROXY, h->proxy);
}

static void
call_finish(Call *call, CURLcode res)
{
	HbHttpReply reply = {0};
	g_autoptr(GBytes) body = NULL;

	if (res == CURLE_OK)
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &reply.status);
	else
		reply.error = call->errbuf[0] != '\0' ? call->errbuf : (char *)curl_easy_strerror(res);
	body = g_bytes_new(call->body->data, call->body->len);
	reply.body = body;
	reply.etag = call->etag;
	call->done(&reply, call->user_data);
	call_free(call);
}

static void
call_done_cb(CURL *easy, CURLcode res, gpointer user_data)
{
	HbHttp *self = user_data;
	Call *call = g_hash_table_lookup(self->active, easy);

	g_hash_table_steal(self->active, easy);
	call_finish(call, res);
	http_pump(self);
}

static gboolean
pace_cb(gpointer user_data)
{
	HbHttp *self = user_data;

	self->pace_id = 0;
	http_pump(self);
	return G_SOURCE_REMOVE;
}

/* starts queued requests as far as the rate and the slots allow */
static void
http_pump(HbHttp *self)
{
	gint64 interval_us = (gint64)(G_USEC_PER_SEC / self->settings.max_rate);

	while (!g_queue_is_empty(&self->queue) &&
	       g_hash_table_size(self->active) < self->settings.max_active) {
		gint64 now = g_get_monotonic_time();
		Call *call;

		if (now < self->next_slot_us) {
			if (self->pace_id == 0)
				self->pace_id = g_timeout_add(
				        (guint)((self->next_slot_us - now + 999) / 1000), pace_cb, self);
			return;
		}
		/* an idle spell gives no burst beyond one request */
		self->next_slot_us = MAX(self->next_slot_us, now - interval_us) + interval_us;
		call = g_queue_pop_head(&self->queue);
		call->easy = curl_easy_init();
		call_configure(call);
		g_hash_table_insert(self->active, call->easy, call);
		self->sent++;
		curl_multi_add_handle(dfu_curl_loop_get_multi(self->loop), call->easy);
	}
}

void
hb_http_send(HbHttp *self, const HbHttpRequest *request, HbHttpDone done, gpointer user_data)
{
	Call *call = g_new0(Call, 1);

	call->http = self;
	call->method = g_strdup(request->method);
	call->url = g_strdup(request->url);
	call->json = g_strdup(request->json);
	call->done = done;
	call->user_data = user_data;
	call->body = g_byte_array_new();
	call->headers = curl_slist_append(NULL, "Accept: application/hal+json");
	if (request->json != NULL)
		call->headers =
		        curl_slist_append(call->headers, "Content-Type: application/json;charset=UTF-8");
	if (request->authorization != NULL) {
		g_autofree char *line = g_strconcat("Authorization: ", request->authorization, NULL);
		call->headers = curl_slist_append(call->headers, line);
	}
	if (request->if_none_match != NULL) {
		g_autofree char *line = g_strconcat("If-None-Match: ", request->if_none_match, NULL);
		call->headers = curl_slist_append(call->headers, line);
	}
	g_queue_push_tail(&self->queue, call);
	http_pump(self);
}

guint64
hb_http_get_sent(HbHttp *self)
{
	return self->sent;
}

HbHttp *
hb_http_new(const HbHttpSettings *settings)
{
	HbHttp *self = g_new0(HbHttp, 1);

	self->settings = *settings;
	self->settings.max_rate = settings->max_rate > 0 ? settings->max_rate : 10;
	self->settings.max_active = MAX(settings->max_active, 1);
	self->ca_file = g_strdup(settings->ca_file);
	self->client_cert = g_strdup(settings->client_cert);
	self->client_key = g_strdup(settings->client_key);
	self->proxy = g_strdup(settings->proxy);
	self->settings.ca_file = self->settings.client_cert = self->settings.client_key = NULL;
	self->settings.proxy = NULL;
	g_queue_init(&self->queue);
	self->active = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)call_free);
	self->loop = dfu_curl_loop_new(call_done_cb, self);
	/* one server: a few reused connections carry every node's polls */
	curl_multi_setopt(dfu_curl_loop_get_multi(self->loop), CURLMOPT_MAX_HOST_CONNECTIONS,
	                  (long)self->settings.max_active);
	return self;
}

static void
remove_handle(gpointer key, gpointer value, gpointer user_data)
{
	curl_multi_remove_handle(user_data, key);
}

void
hb_http_free(HbHttp *self)
{
	if (self == NULL)
		return;
	g_queue_clear_full(&self->queue, (GDestroyNotify)call_free);
	g_hash_table_foreach(self->active, remove_handle, dfu_curl_loop_get_multi(self->loop));
	g_hash_table_destroy(self->active);
	dfu_curl_loop_free(self->loop);
	g_clear_handle_id(&self->pace_id, g_source_remove);
	g_free(self->ca_file);
	g_free(self->client_cert);
	g_free(self->client_key);
	g_free(self->proxy);
	g_free(self);
}
