/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-upload.h"

#include "dfu-error.h"
#include "smp-commands.h"
#include "smp-errors.h"

/* successes in a row before the window grows by one again */
#define WINDOW_GROW_AFTER 4

typedef struct {
	SmpUpload *upload;
	guint handle;
	guint64 off;
	gsize len;
} Chunk;

struct _SmpUpload {
	SmpClient *client;
	SmpUploadParams params;
	const SmpUploadCallbacks *callbacks;
	gpointer user_data;
	gsize total;
	guint64 next_off; /* next offset to send */
	guint64 acked;    /* what the device said it holds */
	gboolean probing; /* waiting for the answer to the first chunk */
	gboolean finished;
	guint window; /* current window, 1..params.window */
	guint good_streak;
	guint timeouts;  /* in a row, without an answer in between */
	GQueue inflight; /* Chunk*, in offset order */
};

gsize
smp_upload_chunk_size(const SmpUploadParams *params, guint64 off)
{
	gsize total = dfu_image_data_get_size(params->data);
	gsize sha_len = off == 0 ? 32 : 0;
	gsize fixed =
	        SMP_HEADER_SIZE + smp_cmd_image_upload_size(params->image, off, 0, total, sha_len, FALSE);
	gsize n;

	if (params->max_message <= fixed)
		return 0;
	n = MIN(params->max_message - fixed, total - off);
	/* the byte-string header grows with the length: shrink until the whole message fits */
	while (n > 0 &&
	       SMP_HEADER_SIZE + smp_cmd_image_upload_size(params->image, off, n, total, sha_len, FALSE) >
	               params->max_message)
		n--;
	/* whole flash words for servers that only write complete ones (all but the last chunk) */
	if (off + n < total && n > 4)
		n &= ~(gsize)3;
	return n;
}

static void
forget_inflight(SmpUpload *self)
{
	Chunk *c;

	while ((c = g_queue_pop_head(&self->inflight)) != NULL) {
		smp_client_cancel(self->client, c->handle);
		g_free(c);
	}
}

static void
finish(SmpUpload *self, const GError *error, GVariant *device_error)
{
	g_autoptr(GVariant) owned = device_error != NULL ? g_variant_ref_sink(device_error) : NULL;

	if (self->finished)
		return;
	self->finished = TRUE;
	forget_inflight(self);
	self->callbacks->done(self, error, owned, self->user_data);
}

static void on_chunk_response(SmpClient *client, const SmpMessage *rsp, const GError *error,
                              gpointer user_data);

static gboolean
send_chunk(SmpUpload *self)
{
	gsize len = smp_upload_chunk_size(&self->params, self->next_off);
	gboolean first = self->next_off == 0;
	g_autofree guint8 *data = NULL;
	g_autoptr(GError) error = NULL;
	Chunk *c;

	if (len == 0) {
		g_set_error(&error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "the device's buffer (%" G_GSIZE_FORMAT
		            " bytes) is too small for an upload chunk",
		            self->params.max_message);
		finish(self, error, NULL);
		return FALSE;
	}
	/* only the chunk on its way is in memory, whatever the image's size */
	data = g_malloc(len);
	if (!dfu_image_data_read(self->params.data, self->next_off, data, len, &error)) {
		finish(self, error, NULL);
		return FALSE;
	}
	c = g_new0(Chunk, 1);
	c->upload = self;
	c->off = self->next_off;
	c->len = len;
	g_queue_push_tail(&self->inflight, c);
	self->next_off += len;
	if (first)
		self->probing = TRUE;
	c->handle = smp_client_request(
	        self->client, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD,
	        smp_cmd_image_upload(self->params.image, c->off, data, len, self->total,
	                             first ? self->params.file_sha : NULL, first ? 32 : 0, FALSE),
	        first ? self->params.first_timeout_ms : self->params.timeout_ms, 0, on_chunk_response, c);
	return TRUE;
}

static void
fill_window(SmpUpload *self)
{
	while (!self->finished && !self->probing && self->next_off < self->total &&
	       g_queue_get_length(&self->inflight) < self->window) {
		if (!send_chunk(self))
			return;
	}
}

/*
 * No answer: the device dropped the request (a full buffer pool drops
 * silently) or its answer. Everything after it is at the wrong offset now,
 * so go back to what the device acknowledged, one request at a time, and let
 * the window grow again with successes.
 */
/* with a guessed window, a loss says the device holds fewer requests than were in flight */
static void
learn_window(SmpUpload *self)
{
	if (self->params.window_guessed && self->window > 1)
		self->params.window = MIN(self->params.window, self->window - 1);
}

static void
resend_after_timeout(SmpUpload *self)
{
	learn_window(self);
	self->timeouts++;
	forget_inflight(self);
	self->window = 1;
	self->good_streak = 0;
	self->next_off = self->acked;
	self->probing = FALSE;
	send_chunk(self);
}

static void
on_chunk_response(SmpClient *client, const SmpMessage *rsp, const GError *error, gpointer user_data)
{
	Chunk *c = user_data;
	SmpUpload *self = c->upload;
	g_auto(SmpError) err = {0};
	g_autoptr(GError) local_error = NULL;
	guint64 off = 0;
	int match = -1;
	guint64 end = c->off + c->len;

	g_queue_remove(&self->inflight, c);
	g_free(c);

	if (error != NULL && error->code == DFU_STATUS_RESPONSE_TIMEOUT &&
	    self->timeouts < self->params.retries) {
		resend_after_timeout(self);
		return;
	}
	if (error != NULL) {
		finish(self, error, NULL);
		return;
	}
	self->timeouts = 0;
	if (smp_response_get_error(rsp->payload, &err)) {
		g_autofree char *command = smp_command_describe(SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD);
		g_autoptr(GError) dev_error =
		        smp_device_error_to_gerror(&err, command, DFU_STATUS_UPLOAD_REFUSED);
		finish(self, dev_error, smp_device_error_to_variant(&err, command));
		return;
	}
	if (!smp_rsp_image_upload(rsp->payload, &off, &match, &local_error)) {
		finish(self, local_error, NULL);
		return;
	}
	if (off > self->total) {
		local_error = g_error_new(DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR,
		                          "image upload: device reports offset %" G_GUINT64_FORMAT
		                          " past the end of a %" G_GSIZE_FORMAT "-byte file",
		                          off, self->total);
		finish(self, local_error, NULL);
		return;
	}
	if (match == 0) {
		local_error = g_error_new_literal(
		        DFU_ERROR, DFU_STATUS_UPLOAD_CORRUPTED,
		        "image upload: the device's copy does not hash to the file's SHA-256");
		finish(self, local_error, NULL);
		return;
	}
	self->probing = FALSE;
	self->acked = off;
	if (off == end) {
		if (++self->good_streak >= WINDOW_GROW_AFTER && self->window < self->params.window) {
			self->window++;
			self->good_streak = 0;
		}
	} else {
		/* the device wants another offset: what is in flight is at the wrong place */
		forget_inflight(self);
		if (off < end) {
			learn_window(self);
			self->window = MAX(1u, self->window / 2);
			self->good_streak = 0;
		}
		self->next_off = off;
	}
	if (self->callbacks->progress != NULL)
		self->callbacks->progress(self, self->acked, self->total, self->user_data);
	/* the owner may have stopped the upload from its progress callback */
	if (self->finished)
		return;
	if (self->acked == self->total) {
		finish(self, NULL, NULL);
		return;
	}
	/* a device that lost its session answers 0: the next chunk opens a new one */
	if (self->next_off == 0 && g_queue_is_empty(&self->inflight)) {
		send_chunk(self);
		return;
	}
	fill_window(self);
}

SmpUpload *
smp_upload_new(SmpClient *client, const SmpUploadParams *params, const SmpUploadCallbacks *callbacks,
               gpointer user_data)
{
	SmpUpload *self = g_new0(SmpUpload, 1);

	self->client = client;
	self->params = *params;
	self->params.window = MAX(1u, params->window);
	self->callbacks = callbacks;
	self->user_data = user_data;
	self->total = dfu_image_data_get_size(params->data);
	self->window = self->params.window_guessed ? 1 : self->params.window;
	g_queue_init(&self->inflight);
	return self;
}

void
smp_upload_start(SmpUpload *self)
{
	forget_inflight(self);
	self->finished = FALSE;
	self->next_off = 0;
	self->acked = 0;
	self->timeouts = 0;
	send_chunk(self);
}

void
smp_upload_stop(SmpUpload *self)
{
	forget_inflight(self);
	self->probing = FALSE;
	/* nothing more goes out and done is not called until the next start */
	self->finished = TRUE;
}

guint
smp_upload_get_window(SmpUpload *self)
{
	return self->window;
}

void
smp_upload_free(SmpUpload *self)
{
	if (self == NULL)
		return;
	forget_inflight(self);
	g_free(self);
}
