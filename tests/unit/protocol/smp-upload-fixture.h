/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "smp-client.h"
#include "smp-test-device.h"
#include "smp-upload.h"

G_BEGIN_DECLS

/* one upload engine on a client to a test device, and what its callbacks saw */
typedef struct {
	GMainLoop *loop;
	TestDevice *dev;
	DfuTransport *host;
	SmpClient *client;
	SmpUpload *upload;
	GBytes *image;
	DfuImageData *image_data; /* what the upload reads: image, unless a test gives another */
	guint8 sha[32];
	SmpUploadParams params;
	guint done_calls;
	GError *error;
	GVariant *device_error;
	guint min_window;
	guint last_window;
	guint64 last_done;
} UploadFixture;

/*
 * Opens a client to a new device and readies params for an image of payload
 * bytes made from seed: 256-byte messages, a window of 4, 2 retries and
 * timeout_ms for every answer. Tests change params before running.
 */
void upload_fixture_init(UploadFixture *f, const TestDeviceConfig *config, gsize payload, guint32 seed,
                         guint timeout_ms);
/* runs a new upload to its end, which must be reported exactly once */
void upload_fixture_run(UploadFixture *f);
void upload_fixture_clear(UploadFixture *f);

G_END_DECLS
