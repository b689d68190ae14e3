/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "atfota-push.h"

#include "dfu-error.h"

#define XDFU_PREFIX "#XDFU:"
#define XDFU_WRITTEN 1
#define XDFU_APPLIED 2

typedef enum {
	PUSH_IDLE,
	PUSH_INIT,    /* AT#XDFUINIT=<type>,<size> until OK */
	PUSH_WRITE,   /* AT#XDFUWRITE=<type>,<off>,<len> until OK */
	PUSH_WRITTEN, /* the chunk sent in data mode, until #XDFU: <type>,1,<status> */
	PUSH_APPLY,   /* AT#XDFUAPPLY=<type> until OK */
	PUSH_APPLIED, /* until #XDFU: <type>,2,<status> */
	PUSH_DONE,
} PushState;

struct _AtfotaPush {
	AtLink *link;
	DfuImageData *image;
	AtfotaPushOptions opt;
	const AtfotaPushCallbacks *callbacks;
	gpointer user_data;
	PushState state;
	guint64 offset; /* of the chunk in flight; everything before it is acknowledged */
	gsize len;
	guint8 *chunk;
	guint tries;
	guint timer;
};

static void
push_finish(AtfotaPush *self, GError *error)
{
	self->state = PUSH_DONE;
	g_clear_handle_id(&self->timer, g_source_remove);
	self->callbacks->done(error, self->user_data);
	g_clear_error(&error);
}

static void push_log(AtfotaPush *self, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
push_log(AtfotaPush *self, const char *format, ...)
{
	va_list ap;
	g_autofree char *line = NULL;

	va_start(ap, format);
	line = g_strdup_vprintf(format, ap);
	va_end(ap);
	self->callbacks->log(line, self->user_data);
}

static gboolean
on_timeout(gpointer user_data)
{
	AtfotaPush *self = user_data;
	g_autofree char *what =
	        self->state == PUSH_APPLIED
	                ? g_strdup_printf("the outcome of AT#XDFUAPPLY=%u", self->opt.type)
	                : g_strdup_printf("the write at offset %" G_GUINT64_FORMAT, self->offset);

	self->timer = 0;
	push_finish(self, g_error_new(DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT,
	                              "the module did not report %s within %u ms", what,
	                              self->opt.write_timeout_ms));
	return G_SOURCE_REMOVE;
}

static void
arm_timer(AtfotaPush *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(self->opt.write_timeout_ms, on_timeout, self);
}

static void send_write(AtfotaPush *self);

/* one command in flight; its final result goes to reply */
static void
push_send(AtfotaPush *self, PushState state, const char *command, guint timeout_ms, AtLinkReplyFunc reply)
{
	GError *error = NULL;

	self->state = state;
	if (!at_link_send(self->link, command, timeout_ms, reply, self, &error))
		push_finish(self, error);
}

/* the module failed a write: the chunk is written again while tries are left */
static void
refused(AtfotaPush *self, const char *what)
{
	if (self->tries < self->opt.write_retries) {
		self->tries++;
		push_log(self, "%s at offset %" G_GUINT64_FORMAT ": writing it again", what, self->offset);
		send_write(self);
		return;
	}
	push_finish(self, g_error_new(DFU_ERROR, DFU_STATUS_PUSH_FAILED, "%s at offset %" G_GUINT64_FORMAT,
	                              what, self->offset));
}

static void
on_write_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaPush *self = user_data;
	GError *failed = NULL;

	if (error != NULL) {
		push_finish(self, g_error_copy(error));
		return;
	}
	if (final->kind != AT_LINE_OK) {
		g_autofree char *what =
		        g_strdup_printf("the module answered %s to AT#XDFUWRITE", final->text);
		refused(self, what);
		return;
	}
	/* data mode: exactly len raw bytes, then #XDATAMODE: 0 and the chunk's #XDFU */
	self->state = PUSH_WRITTEN;
	arm_timer(self);
	if (!at_link_send_data(self->link, self->chunk, self->len, &failed))
		push_finish(self, failed);
}

static void
send_write(AtfotaPush *self)
{
	g_autofree char *command = NULL;
	GError *error = NULL;

	self->len = MIN(self->opt.chunk_size, dfu_image_data_get_size(self->image) - self->offset);
	if (!dfu_image_data_read(self->image, self->offset, self->chunk, self->len, &error)) {
		push_finish(self, error);
		return;
	}
	command = g_strdup_printf("AT#XDFUWRITE=%u,%" G_GUINT64_FORMAT ",%" G_GSIZE_FORMAT, self->opt.type,
	                          self->offset, self->len);
	push_send(self, PUSH_WRITE, command, self->opt.command_timeout_ms, on_write_reply);
}

static void
on_apply_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaPush *self = user_data;

	if (error != NULL) {
		push_finish(self, g_error_copy(error));
		return;
	}
	if (final->kind != AT_LINE_OK) {
		push_finish(self, g_error_new(DFU_ERROR, DFU_STATUS_PUSH_FAILED,
		                              "the module answered %s to AT#XDFUAPPLY=%u", final->text,
		                              self->opt.type));
		return;
	}
	self->state = PUSH_APPLIED;
	arm_timer(self);
}

static void
send_apply(AtfotaPush *self)
{
	g_autofree char *command = g_strdup_printf("AT#XDFUAPPLY=%u", self->opt.type);

	push_log(self, "> %s", command);
	push_send(self, PUSH_APPLY, command, self->opt.command_timeout_ms, on_apply_reply);
}

static void
next_chunk(AtfotaPush *self)
{
	self->offset += self->len;
	self->len = 0;
	self->tries = 0;
	self->callbacks->progress(self->offset, dfu_image_data_get_size(self->image), self->user_data);
	if (self->offset < dfu_image_data_get_size(self->image))
		send_write(self);
	else
		send_apply(self);
}

static void
on_init_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaPush *self = user_data;

	if (error != NULL) {
		push_finish(self, g_error_copy(error));
		return;
	}
	if (final->kind != AT_LINE_OK) {
		push_finish(self,
		            g_error_new(DFU_ERROR, DFU_STATUS_PUSH_FAILED,
		                        "the module answered %s to AT#XDFUINIT: the image of %" G_GSIZE_FORMAT
		                        " bytes may not fit its update area",
		                        final->text, dfu_image_data_get_size(self->image)));
		return;
	}
	self->offset = 0;
	self->len = 0;
	next_chunk(self);
}

void
atfota_push_start(AtfotaPush *self)
{
	g_autofree char *command = g_strdup_printf("AT#XDFUINIT=%u,%" G_GSIZE_FORMAT, self->opt.type,
	                                           dfu_image_data_get_size(self->image));

	push_log(self, "> %s", command);
	/* the module erases its update area before it answers */
	push_send(self, PUSH_INIT, command, self->opt.write_timeout_ms, on_init_reply);
}

void
atfota_push_notification(AtfotaPush *self, const AtLine *line)
{
	gint64 v[3];

	if (!at_line_parse_numbers(line->text, XDFU_PREFIX, v, 3) || v[0] != self->opt.type)
		return;
	if (self->state == PUSH_WRITTEN && v[1] == XDFU_WRITTEN) {
		g_clear_handle_id(&self->timer, g_source_remove);
		if (v[2] == 0)
			next_chunk(self);
		else
			refused(self, "the module failed to write the chunk");
		return;
	}
	if (self->state == PUSH_APPLIED && v[1] == XDFU_APPLIED) {
		push_log(self, "< %s", line->text);
		if (v[2] == 0)
			push_finish(self, NULL);
		else
			push_finish(self,
			            g_error_new(DFU_ERROR, DFU_STATUS_IMAGE_REJECTED,
			                        "the module refused to apply the pushed image (%s): it is "
			                        "not a valid image for it",
			                        line->text));
	}
}

AtfotaPush *
atfota_push_new(AtLink *link, DfuImageData *image, const AtfotaPushOptions *options,
                const AtfotaPushCallbacks *callbacks, gpointer user_data)
{
	AtfotaPush *self = g_new0(AtfotaPush, 1);

	self->link = link;
	self->image = dfu_image_data_ref(image);
	self->opt = *options;
	self->callbacks = callbacks;
	self->user_data = user_data;
	self->chunk = g_malloc(options->chunk_size);
	return self;
}

void
atfota_push_free(AtfotaPush *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->timer, g_source_remove);
	dfu_image_data_unref(self->image);
	g_free(self->chunk);
	g_free(self);
}
