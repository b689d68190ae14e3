/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/*
 * A libcurl multi handle driven by the GLib main loop: the sockets and the
 * timer libcurl asks for become GLib sources, and each finished transfer is
 * taken out of the multi handle and handed to done.
 */
typedef struct _DfuCurlLoop DfuCurlLoop;

typedef void (*DfuCurlDoneFunc)(CURL *easy, CURLcode result, gpointer user_data);

DfuCurlLoop *dfu_curl_loop_new(DfuCurlDoneFunc done, gpointer user_data);
/* add and remove easy handles here; the loop keeps the multi handle */
CURLM *dfu_curl_loop_get_multi(DfuCurlLoop *self);
/* remove every easy handle first */
void dfu_curl_loop_free(DfuCurlLoop *self);

G_END_DECLS
