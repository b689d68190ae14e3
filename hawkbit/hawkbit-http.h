/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * HTTP requests to the hawkBit server on the GLib main loop (libcurl multi),
 * queued so that the whole agent stays under a request rate and a number of
 * requests in flight, however many nodes it polls for.
 */
typedef struct _HbHttp HbHttp;

typedef struct {
	const char *ca_file; /* PEM CAs for the server, NULL: the system's */
	const char *client_cert;
	const char *client_key;
	const char *proxy;
	gboolean allow_http;
	double max_rate;  /* requests per second */
	guint max_active; /* requests in flight */
	guint timeout_s;  /* whole request */
} HbHttpSettings;

typedef struct {
	const char *method; /* "GET", "POST", "PUT" */
	const char *url;
	const char *authorization; /* the Authorization header's value, NULL for none */
	const char *if_none_match;
	const char *json; /* request body, NULL for none */
} HbHttpRequest;

typedef struct {
	long status; /* 0 when no answer came */
	char *error; /* what went wrong when status is 0 */
	GBytes *body;
	char *etag;
} HbHttpReply;

typedef void (*HbHttpDone)(const HbHttpReply *reply, gpointer user_data);

HbHttp *hb_http_new(const HbHttpSettings *settings);
/* drops queued and running requests without calling their callbacks */
void hb_http_free(HbHttp *self);
/* queues the request; done runs once, from the main loop */
void hb_http_send(HbHttp *self, const HbHttpRequest *request, HbHttpDone done, gpointer user_data);
/* requests sent so far */
guint64 hb_http_get_sent(HbHttp *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HbHttp, hb_http_free)

G_END_DECLS
