/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib-unix.h>

#include "dfu-curl-loop.h"

struct _DfuCurlLoop {
	CURLM *multi;
	guint timer_id;
	GHashTable *sockets; /* fd → GLib source id */
	DfuCurlDoneFunc done;
	gpointer user_data;
};

static void
curl_loop_check_done(DfuCurlLoop *self)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(self->multi, &left)) != NULL) {
		CURL *easy = msg->easy_handle;
		CURLcode res = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_multi_remove_handle(self->multi, easy);
		self->done(easy, res, self->user_data);
	}
}

static gboolean
socket_ready_cb(int fd, GIOCondition condition, gpointer user_data)
{
	DfuCurlLoop *self = user_data;
	int flags = 0;
	int running;

	if (condition & G_IO_IN)
		flags |= CURL_CSELECT_IN;
	if (condition & G_IO_OUT)
		flags |= CURL_CSELECT_OUT;
	if (condition & (G_IO_ERR | G_IO_HUP))
		flags |= CURL_CSELECT_ERR;
	/* this source may be gone after this: libcurl can drop or replace it */
	curl_multi_socket_action(self->multi, fd, flags, &running);
	curl_loop_check_done(self);
	return G_SOURCE_CONTINUE;
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *user_data, void *socket_data)
{
	DfuCurlLoop *self = user_data;
	GIOCondition condition = 0;

	g_hash_table_remove(self->sockets, GINT_TO_POINTER(fd));
	if (what == CURL_POLL_REMOVE)
		return 0;
	if (what & CURL_POLL_IN)
		condition |= G_IO_IN;
	if (what & CURL_POLL_OUT)
		condition |= G_IO_OUT;
	g_hash_table_insert(self->sockets, GINT_TO_POINTER(fd),
	                    GUINT_TO_POINTER(g_unix_fd_add(fd, condition, socket_ready_cb, self)));
	return 0;
}

static gboolean
timeout_cb(gpointer user_data)
{
	DfuCurlLoop *self = user_data;
	int running;

	self->timer_id = 0;
	curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curl_loop_check_done(self);
	return G_SOURCE_REMOVE;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *user_data)
{
	DfuCurlLoop *self = user_data;

	g_clear_handle_id(&self->timer_id, g_source_remove);
	if (timeout_ms >= 0)
		self->timer_id = g_timeout_add((guint)timeout_ms, timeout_cb, self);
	return 0;
}

static gpointer
curl_init_once(gpointer data)
{
	return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT));
}

static void
source_remove(gpointer id)
{
	g_source_remove(GPOINTER_TO_UINT(id));
}

DfuCurlLoop *
dfu_curl_loop_new(DfuCurlDoneFunc done, gpointer user_data)
{
	static GOnce once = G_ONCE_INIT;
	DfuCurlLoop *self = g_new0(DfuCurlLoop, 1);

	g_once(&once, curl_init_once, NULL);
	self->done = done;
	self->user_data = user_data;
	self->sockets = g_hash_table_new_full(NULL, NULL, NULL, source_remove);
	self->multi = curl_multi_init();
	curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
	curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
	return self;
}

CURLM *
dfu_curl_loop_get_multi(DfuCurlLoop *self)
{
	return self->multi;
}

void
dfu_curl_loop_free(DfuCurlLoop *self)
{
	if (self == NULL)
		return;
	curl_multi_cleanup(self->multi);
	g_hash_table_destroy(self->sockets);
	g_clear_handle_id(&self->timer_id, g_source_remove);
	g_free(self);
}
