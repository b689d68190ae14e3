/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-image-data.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dfu-error.h"

/* engines read a message's worth at a time, in order: one system call serves many of them */
#define READ_AHEAD_SIZE (16 * 1024)

struct _DfuImageData {
	GBytes *bytes; /* in memory, or */
	int fd;        /* read from this file, -1 for bytes */
	guint64 offset;
	gsize size;
	GMutex lock;    /* over the window, for readers in other threads */
	guint8 *window; /* the file's bytes from window_off, allocated at the first small read */
	guint64 window_off;
	gsize window_len;
};

static void
image_data_clear(DfuImageData *self)
{
	g_clear_pointer(&self->bytes, g_bytes_unref);
	if (self->fd >= 0)
		close(self->fd);
	g_free(self->window);
	g_mutex_clear(&self->lock);
}

DfuImageData *
dfu_image_data_new_bytes(GBytes *bytes)
{
	DfuImageData *self = g_atomic_rc_box_new0(DfuImageData);

	self->bytes = g_bytes_ref(bytes);
	self->fd = -1;
	g_mutex_init(&self->lock);
	self->size = g_bytes_get_size(bytes);
	return self;
}

DfuImageData *
dfu_image_data_new_file(int fd, guint64 offset, gsize size)
{
	DfuImageData *self = g_atomic_rc_box_new0(DfuImageData);

	self->fd = fd;
	self->offset = offset;
	self->size = size;
	g_mutex_init(&self->lock);
	return self;
}

DfuImageData *
dfu_image_data_ref(DfuImageData *self)
{
	return g_atomic_rc_box_acquire(self);
}

void
dfu_image_data_unref(DfuImageData *self)
{
	g_atomic_rc_box_release_full(self, (GDestroyNotify)image_data_clear);
}

gsize
dfu_image_data_get_size(DfuImageData *self)
{
	return self->size;
}

static gboolean
image_data_pread(DfuImageData *self, guint64 off, guint8 *buf, gsize len, GError **error)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n = pread(self->fd, buf + done, len - done, (off_t)(self->offset + off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE,
			            "cannot read the image at offset %" G_GUINT64_FORMAT ": %s", off + done,
			            n < 0 ? g_strerror(errno) : "the file ends early");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

gboolean
dfu_image_data_read(DfuImageData *self, guint64 off, guint8 *buf, gsize len, GError **error)
{
	g_autoptr(GMutexLocker) locker = NULL;

	g_return_val_if_fail(off <= self->size && len <= self->size - off, FALSE);
	if (self->bytes != NULL) {
		memcpy(buf, (const guint8 *)g_bytes_get_data(self->bytes, NULL) + off, len);
		return TRUE;
	}
	if (len > READ_AHEAD_SIZE / 4)
		return image_data_pread(self, off, buf, len, error);
	locker = g_mutex_locker_new(&self->lock);
	if (self->window == NULL || off < self->window_off ||
	    off + len > self->window_off + self->window_len) {
		gsize want = (gsize)MIN((guint64)READ_AHEAD_SIZE, self->size - off);

		if (self->window == NULL)
			self->window = g_malloc(READ_AHEAD_SIZE);
		self->window_len = 0;
		if (!image_data_pread(self, off, self->window, want, error))
			return FALSE;
		self->window_off = off;
		self->window_len = want;
	}
	memcpy(buf, self->window + (off - self->window_off), len);
	return TRUE;
}
