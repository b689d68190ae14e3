/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>

#include "smp-upload-fixture.h"

static void
on_link_opened(SmpClient *client, const GError *error, gpointer user_data)
{
	UploadFixture *f = user_data;

	g_assert_no_error(error);
	g_main_loop_quit(f->loop);
}

static const SmpClientCallbacks client_callbacks = {.link_opened = on_link_opened};

static void
on_progress(SmpUpload *upload, guint64 done, guint64 total, gpointer user_data)
{
	UploadFixture *f = user_data;

	g_assert_cmpuint(done, <=, total);
	f->last_done = done;
	f->last_window = smp_upload_get_window(upload);
	f->min_window = MIN(f->min_window, f->last_window);
}

static void
on_done(SmpUpload *upload, const GError *error, GVariant *device_error, gpointer user_data)
{
	UploadFixture *f = user_data;

	f->done_calls++;
	f->error = error != NULL ? g_error_copy(error) : NULL;
	f->device_error = device_error != NULL ? g_variant_ref(device_error) : NULL;
	g_main_loop_quit(f->loop);
}

static const SmpUploadCallbacks upload_callbacks = {.progress = on_progress, .done = on_done};

static gboolean
on_watchdog(gpointer user_data)
{
	g_error("test did not finish");
	return G_SOURCE_REMOVE;
}

void
upload_fixture_init(UploadFixture *f, const TestDeviceConfig *config, gsize payload, guint32 seed,
                    guint timeout_ms)
{
	unsigned int len = sizeof(f->sha);

	f->loop = g_main_loop_new(NULL, FALSE);
	f->dev = test_device_new(config, &f->host);
	f->image = test_image_new(2, 0, payload, seed);
	EVP_Digest(g_bytes_get_data(f->image, NULL), g_bytes_get_size(f->image), f->sha, &len, EVP_sha256(),
	           NULL);
	f->client = smp_client_new(f->host, &client_callbacks, f);
	dfu_transport_open(f->host);
	g_main_loop_run(f->loop);
	f->image_data = dfu_image_data_new_bytes(f->image);
	f->params = (SmpUploadParams){.data = f->image_data,
	                              .file_sha = f->sha,
	                              .max_message = 256,
	                              .window = 4,
	                              .timeout_ms = timeout_ms,
	                              .first_timeout_ms = timeout_ms,
	                              .retries = 2};
	f->min_window = G_MAXUINT;
}

void
upload_fixture_run(UploadFixture *f)
{
	guint watchdog = g_timeout_add_seconds(5, on_watchdog, NULL);

	f->upload = smp_upload_new(f->client, &f->params, &upload_callbacks, f);
	smp_upload_start(f->upload);
	/* a chunk that cannot be built ends the upload at once */
	if (f->done_calls == 0)
		g_main_loop_run(f->loop);
	g_source_remove(watchdog);
	g_assert_cmpuint(f->done_calls, ==, 1);
}

void
upload_fixture_clear(UploadFixture *f)
{
	g_clear_pointer(&f->upload, smp_upload_free);
	g_clear_pointer(&f->client, smp_client_free);
	g_clear_pointer(&f->host, dfu_transport_free);
	g_clear_pointer(&f->dev, test_device_free);
	g_clear_pointer(&f->image, g_bytes_unref);
	g_clear_pointer(&f->image_data, dfu_image_data_unref);
	g_clear_error(&f->error);
	g_clear_pointer(&f->device_error, g_variant_unref);
	g_clear_pointer(&f->loop, g_main_loop_unref);
}
