/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-image-data.h"
#include "smp-client.h"

G_BEGIN_DECLS

/*
 * Uploads one file to an image slot with a window of requests in flight. The
 * first chunk goes alone: it carries the session fields, may take an erase,
 * and its answer tells where a previous upload of the same file stopped.
 * The device only takes data at the offset it expects and answers any other
 * chunk with that offset, so after a gap the upload restarts from there;
 * nothing is lost or written twice. The window halves on a gap and grows
 * back by one after a run of successes; a chunk that gets no answer is sent
 * again from the last acknowledged offset with the window at one.
 */
typedef struct _SmpUpload SmpUpload;

typedef struct {
	guint image;
	DfuImageData *data;     /* borrowed, outlives the upload; read a chunk at a time */
	const guint8 *file_sha; /* 32 bytes, the resume key */
	gsize max_message;      /* largest SMP message (header included) the device takes */
	guint window;           /* most requests in flight */
	/* window is a guess, not the device's word: start at one, grow while the device keeps up,
	 * and after a request is lost never try that many in flight again */
	gboolean window_guessed;
	guint timeout_ms;
	guint first_timeout_ms; /* the first chunk may erase the slot */
	guint retries;
} SmpUploadParams;

typedef struct {
	void (*progress)(SmpUpload *upload, guint64 done, guint64 total, gpointer user_data);
	/* error NULL: the device holds the whole file. Called once. */
	void (*done)(SmpUpload *upload, const GError *error, GVariant *device_error, gpointer user_data);
} SmpUploadCallbacks;

SmpUpload *smp_upload_new(SmpClient *client, const SmpUploadParams *params,
                          const SmpUploadCallbacks *callbacks, gpointer user_data);
/* (re)starts from offset 0, which resumes where the device stopped */
void smp_upload_start(SmpUpload *upload);
/* forgets requests in flight, e.g. when the link is lost; start again later */
void smp_upload_stop(SmpUpload *upload);
/* data bytes one chunk at offset off can carry, 0 when the message size is too small */
gsize smp_upload_chunk_size(const SmpUploadParams *params, guint64 off);
guint smp_upload_get_window(SmpUpload *upload);
void smp_upload_free(SmpUpload *upload);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpUpload, smp_upload_free)

G_END_DECLS
