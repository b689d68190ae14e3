/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* how bundles are fetched; every string is copied by dfu_fetcher_new() */
typedef struct {
	const char *ca_file;        /* PEM bundle of trusted CAs; NULL: the system's store */
	const char *client_cert;    /* PEM client certificate for mutual TLS, or NULL */
	const char *client_key;     /* its private key, or NULL when inside client_cert */
	const char *const *headers; /* extra "Name: value" request headers, NULL-terminated */
	const char *proxy;          /* proxy URL; NULL: libcurl's *_proxy variables apply */
	gboolean allow_http;        /* accept plain http:// URLs */
	guint connect_timeout_s;    /* 0: libcurl's default */
	guint low_speed_limit;      /* bytes per second below which a transfer is stalled; 0: off */
	guint low_speed_time_s;     /* for how long a transfer may stay stalled */
} DfuFetchSettings;

/* one per daemon: all transfers share its libcurl multi handle and the GLib loop */
typedef struct _DfuFetcher DfuFetcher;
/* one caller's interest in a URL; several may share one transfer */
typedef struct _DfuFetch DfuFetch;

/* done = bytes in the partial file; total = 0 when the size is unknown */
typedef void (*DfuFetchProgressFunc)(DfuFetch *fetch, guint64 done, guint64 total, gpointer user_data);
/*
 * Called once, unless the fetch was cancelled. On success path is the cached
 * bundle and sha256 its lowercase hex digest; on failure error is in
 * DFU_ERROR (FETCH_REFUSED for an HTTP 4xx other than 408 and 429, which may
 * not be asked again; FETCH_FAILED for what may pass) and device_error, when not NULL, an a{sv} with
 * "http-status" u and "url" s, or "curl-error" s and "curl-code" u. Everything is borrowed, and the handle is
 * invalid once this returns.
 */
typedef void (*DfuFetchDoneFunc)(DfuFetch *fetch, const char *path, const char *sha256, const GError *error,
                                 GVariant *device_error, gpointer user_data);

DfuFetcher *dfu_fetcher_new(const DfuFetchSettings *settings);
/* new settings for the transfers that start from now on; running ones keep theirs */
void dfu_fetcher_set_settings(DfuFetcher *self, const DfuFetchSettings *settings);
/* drops every transfer without calling back; partial files stay for a resume */
void dfu_fetcher_free(DfuFetcher *self);

/*
 * Downloads url into <cache_dir>/bundles/<sha256>.bundle, resuming a partial
 * download left under <cache_dir>/partial. A fetch of a URL that is already
 * being downloaded into the same cache joins that transfer. expected_sha256
 * may be NULL. Fails at once with INVALID_ARGUMENT for a URL that is neither
 * https nor allowed http, and with STORAGE_ERROR when the partial file cannot
 * be opened.
 */
DfuFetch *dfu_fetcher_fetch(DfuFetcher *self, const char *url, const char *expected_sha256,
                            const char *cache_dir, DfuFetchProgressFunc progress, DfuFetchDoneFunc done,
                            gpointer user_data, GError **error);

/*
 * Nothing is called for this fetch afterwards. The transfer stops when no one
 * else waits for it; its partial file stays so that a later fetch resumes.
 */
void dfu_fetch_cancel(DfuFetch *fetch);

/*
 * The first len bytes of the file at url (a Range request; a server that
 * ignores it is cut off after len bytes), with the fetcher's settings and
 * nothing stored: for a look at what a file is before anything else fetches
 * it. done is called once, from the loop, with head and its length (fewer
 * than len for a shorter file), or with an error in DFU_ERROR (FETCH_FAILED,
 * FETCH_REFUSED); the handle is invalid once done returns. Fails at once
 * like dfu_fetcher_fetch() for a URL the fetcher does not take.
 */
#define DFU_PEEK_TIMEOUT_S 10
typedef struct _DfuPeek DfuPeek;
typedef void (*DfuPeekDoneFunc)(const guint8 *head, gsize len, const GError *error, gpointer user_data);
DfuPeek *dfu_fetcher_peek(DfuFetcher *self, const char *url, gsize len, DfuPeekDoneFunc done,
                          gpointer user_data, GError **error);
/* nothing is called afterwards; not from inside done */
void dfu_peek_cancel(DfuPeek *peek);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuFetcher, dfu_fetcher_free)

G_END_DECLS
