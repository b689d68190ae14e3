/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-client.h"

#include "dfu-error.h"
#include "smp-commands.h"

/* a busy device is asked again after a pause that doubles, and for this long at most */
#define BUSY_PAUSE_MS 200u
#define BUSY_PAUSE_MAX_MS 2000u
#define BUSY_WAIT_MAX_MS 30000u

typedef struct {
	SmpClient *client;
	guint handle;
	guint8 seq;
	SmpHeader hdr;
	GByteArray *msg; /* header + payload; version and seq are patched per try */
	guint timeout_ms;
	guint retries_left;
	guint busy_waited_ms;
	guint pause_timer;  /* while pausing for a busy device */
	gint64 deadline_us; /* of the try on its way; 0 while pausing */
	SmpResponseFunc func;
	gpointer user_data;
} SmpRequest;

struct _SmpClient {
	DfuTransport *transport;
	const SmpClientCallbacks *callbacks;
	gpointer user_data;
	GList *requests; /* SmpRequest*, oldest first */
	guint next_handle;
	guint8 next_seq;
	guint8 version;
	guint64 bytes_sent;
	/* one timer for every request, at or before the first deadline: most answers come long
	 * before it, so it seldom moves and a request costs no timer of its own */
	guint timeout_source;
	gint64 timeout_at;
};

static gboolean on_timeout(gpointer user_data);

/* after any change to the requests: tells the link what it waits for, so that it can read
 * several answers in one wake, and makes sure the timer fires by the first deadline */
static void
requests_changed(SmpClient *self)
{
	guint answers = 0;
	gint64 first = 0;

	for (GList *l = self->requests; l != NULL; l = l->next) {
		SmpRequest *req = l->data;
		if (req->deadline_us == 0)
			continue;
		answers++;
		if (first == 0 || req->deadline_us < first)
			first = req->deadline_us;
	}
	dfu_transport_expect(self->transport, answers, first);
	/* a timer due earlier than needed stays: it finds nothing and moves on */
	if (first == 0 || (self->timeout_source != 0 && self->timeout_at <= first))
		return;
	g_clear_handle_id(&self->timeout_source, g_source_remove);
	self->timeout_at = first;
	self->timeout_source = g_timeout_add(
	        (guint)MAX((first - g_get_monotonic_time() + 999) / 1000, (gint64)0), on_timeout, self);
}

static void
smp_request_free(SmpRequest *req)
{
	g_clear_handle_id(&req->pause_timer, g_source_remove);
	g_byte_array_unref(req->msg);
	g_free(req);
}

static SmpRequest *
find_request(SmpClient *self, guint handle)
{
	for (GList *l = self->requests; l != NULL; l = l->next) {
		SmpRequest *req = l->data;
		if (req->handle == handle)
			return req;
	}
	return NULL;
}

/* removes the request and calls its callback; the callback may issue new requests */
static void
complete_request(SmpClient *self, SmpRequest *req, const SmpMessage *rsp, const GError *error)
{
	SmpResponseFunc func = req->func;
	gpointer user_data = req->user_data;

	self->requests = g_list_remove(self->requests, req);
	smp_request_free(req);
	requests_changed(self);
	func(self, rsp, error, user_data);
}

static void
transmit(SmpClient *self, SmpRequest *req)
{
	g_autoptr(GError) error = NULL;

	/* a new sequence number per try, so a late answer to an earlier try is not taken for this one */
	req->seq = self->next_seq++;
	req->msg->data[0] = (guint8)((self->version << 3) | req->hdr.op);
	req->msg->data[6] = req->seq;
	/*
	 * A link that cannot take the bytes reports itself closed from the loop,
	 * which ends every request; until then this one waits like a lost frame.
	 */
	if (dfu_transport_send(self->transport, req->msg->data, req->msg->len, &error))
		self->bytes_sent += req->msg->len;
	else
		g_debug("smp: send failed: %s", error->message);
	req->deadline_us = g_get_monotonic_time() + (gint64)req->timeout_ms * 1000;
	requests_changed(self);
}

static void
timed_out(SmpClient *self, SmpRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *command = smp_command_describe(req->hdr.group, req->hdr.id);

	if (req->retries_left > 0) {
		req->retries_left--;
		g_debug("smp: no answer to %s seq %u, retrying", command, req->seq);
		transmit(self, req);
		return;
	}
	error = g_error_new(DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT, "no answer from the device to %s",
	                    command);
	complete_request(self, req, NULL, error);
}

/* one late request at a time: its callback may end the client; the next fires at once */
static gboolean
on_timeout(gpointer user_data)
{
	SmpClient *self = user_data;
	gint64 now = g_get_monotonic_time();
	SmpRequest *late = NULL;

	self->timeout_source = 0;
	for (GList *l = self->requests; l != NULL; l = l->next) {
		SmpRequest *req = l->data;
		if (req->deadline_us != 0 && req->deadline_us <= now &&
		    (late == NULL || req->deadline_us < late->deadline_us))
			late = req;
	}
	if (late != NULL)
		timed_out(self, late);
	else
		requests_changed(self);
	return G_SOURCE_REMOVE;
}

guint
smp_client_request(SmpClient *self, SmpOp op, guint16 group, guint8 id, cbor_item_t *payload,
                   guint timeout_ms, guint retries, SmpResponseFunc func, gpointer user_data)
{
	SmpRequest *req = g_new0(SmpRequest, 1);
	g_autoptr(GBytes) encoded = NULL;
	gsize len = 0;
	const guint8 *data;

	req->client = self;
	req->handle = ++self->next_handle;
	req->hdr.op = op;
	req->hdr.group = group;
	req->hdr.id = id;
	req->timeout_ms = timeout_ms;
	req->retries_left = retries;
	req->func = func;
	req->user_data = user_data;
	encoded = smp_message_encode(&req->hdr, payload);
	if (payload != NULL)
		cbor_decref(&payload);
	data = g_bytes_get_data(encoded, &len);
	req->msg = g_byte_array_sized_new(len);
	g_byte_array_append(req->msg, data, len);
	self->requests = g_list_append(self->requests, req);
	transmit(self, req);
	return req->handle;
}

static gboolean
on_busy_pause_done(gpointer user_data)
{
	SmpRequest *req = user_data;

	req->pause_timer = 0;
	transmit(req->client, req);
	return G_SOURCE_REMOVE;
}

/*
 * A bare EBUSY is a moment's state of the device, not a failed request: ask
 * again after a pause, within a bound, without using up a retry. A refused
 * reset is the exception: an application hook says so, and the caller forces it.
 */
static gboolean
wait_out_busy(SmpClient *self, SmpRequest *req, const SmpError *err)
{
	guint pause;

	if (!err->present || err->v2 || err->rc != SMP_RC_EBUSY ||
	    (req->hdr.group == SMP_GROUP_OS && req->hdr.id == SMP_OS_RESET))
		return FALSE;
	pause = req->busy_waited_ms == 0 ? BUSY_PAUSE_MS : MIN(req->busy_waited_ms, BUSY_PAUSE_MAX_MS);
	if (req->busy_waited_ms + pause > BUSY_WAIT_MAX_MS)
		return FALSE;
	req->busy_waited_ms += pause;
	req->deadline_us = 0;
	requests_changed(self);
	g_clear_handle_id(&req->pause_timer, g_source_remove);
	req->pause_timer = g_timeout_add(pause, on_busy_pause_done, req);
	if (self->callbacks != NULL && self->callbacks->busy != NULL)
		self->callbacks->busy(self, req->hdr.group, req->hdr.id, pause, self->user_data);
	return TRUE;
}

static void
on_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	SmpClient *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SmpMessage) msg = smp_message_parse(data, len, &error);
	SmpError err = {0};

	if (msg == NULL) {
		g_debug("smp: dropping unparsable frame: %s", error->message);
		return;
	}
	for (GList *l = self->requests; l != NULL; l = l->next) {
		SmpRequest *req = l->data;
		if (req->seq != msg->hdr.seq || req->deadline_us == 0)
			continue;
		if (msg->hdr.op != req->hdr.op + 1 || msg->hdr.group != req->hdr.group ||
		    msg->hdr.id != req->hdr.id) {
			g_debug("smp: response seq %u does not match its request (op %u group %u id %u)",
			        msg->hdr.seq, msg->hdr.op, msg->hdr.group, msg->hdr.id);
			return;
		}
		/* a device without SMP v2 support: repeat in v1 */
		if (smp_response_get_error(msg->payload, &err) && !err.v2 &&
		    err.rc == SMP_RC_UNSUPPORTED_TOO_NEW && self->version > 0) {
			smp_error_clear(&err);
			self->version = 0;
			transmit(self, req);
			return;
		}
		if (wait_out_busy(self, req, &err)) {
			smp_error_clear(&err);
			return;
		}
		smp_error_clear(&err);
		complete_request(self, req, msg, NULL);
		return;
	}
	g_debug("smp: dropping response with unknown seq %u", msg->hdr.seq);
}

static void
on_opened(DfuTransport *transport, const GError *error, gpointer user_data)
{
	SmpClient *self = user_data;

	if (self->callbacks != NULL && self->callbacks->link_opened != NULL)
		self->callbacks->link_opened(self, error, self->user_data);
}

static void
on_closed(DfuTransport *transport, const GError *error, gpointer user_data)
{
	SmpClient *self = user_data;

	/* pending requests are failed by the owner's reaction to the closed link */
	smp_client_cancel_all(self);
	if (self->callbacks != NULL && self->callbacks->link_closed != NULL)
		self->callbacks->link_closed(self, error, self->user_data);
}

static const DfuTransportCallbacks client_transport_callbacks = {
        .opened = on_opened,
        .packet = on_packet,
        .closed = on_closed,
};

SmpClient *
smp_client_new(DfuTransport *transport, const SmpClientCallbacks *callbacks, gpointer user_data)
{
	SmpClient *self = g_new0(SmpClient, 1);

	self->transport = transport;
	self->callbacks = callbacks;
	self->user_data = user_data;
	self->version = 1;
	self->next_seq = (guint8)g_random_int_range(0, 256);
	dfu_transport_set_callbacks(transport, &client_transport_callbacks, self);
	return self;
}

void
smp_client_cancel(SmpClient *self, guint handle)
{
	SmpRequest *req = find_request(self, handle);

	if (req == NULL)
		return;
	self->requests = g_list_remove(self->requests, req);
	smp_request_free(req);
	requests_changed(self);
}

void
smp_client_cancel_all(SmpClient *self)
{
	g_list_free_full(g_steal_pointer(&self->requests), (GDestroyNotify)smp_request_free);
	requests_changed(self);
}

guint
smp_client_in_flight(SmpClient *self)
{
	return g_list_length(self->requests);
}

guint64
smp_client_get_bytes_sent(SmpClient *self)
{
	return self->bytes_sent;
}

guint8
smp_client_get_version(SmpClient *self)
{
	return self->version;
}

void
smp_client_free(SmpClient *self)
{
	if (self == NULL)
		return;
	smp_client_cancel_all(self);
	g_clear_handle_id(&self->timeout_source, g_source_remove);
	dfu_transport_set_callbacks(self->transport, NULL, NULL);
	g_free(self);
}
