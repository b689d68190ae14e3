/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upload window against a device that drops what it has no buffer for,
 * as a Zephyr SMP server over GATT does without telling anyone: every byte
 * must still arrive once, in order, and the window must adapt.
 */
#include <openssl/evp.h>

#include "dfu-error.h"
#include "smp-client.h"
#include "smp-test-device.h"
#include "smp-upload.h"

#define TIMEOUT_MS 50

typedef struct {
	GMainLoop *loop;
	TestDevice *dev;
	DfuTransport *host;
	SmpClient *client;
	SmpUpload *upload;
	GBytes *image;
	guint8 sha[32];
	SmpUploadParams params;
	GError *error;
	gboolean done;
	guint min_window;
	guint last_window;
	guint64 last_done;
} Fixture;

static void
on_link_opened(SmpClient *client, const GError *error, gpointer user_data)
{
	Fixture *f = user_data;

	g_assert_no_error(error);
	g_main_loop_quit(f->loop);
}

static const SmpClientCallbacks client_callbacks = {.link_opened = on_link_opened};

static void
on_progress(SmpUpload *upload, guint64 done, guint64 total, gpointer user_data)
{
	Fixture *f = user_data;

	f->last_done = done;
	f->last_window = smp_upload_get_window(upload);
	f->min_window = MIN(f->min_window, f->last_window);
}

static void
on_done(SmpUpload *upload, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *f = user_data;

	g_assert_false(f->done);
	f->done = TRUE;
	f->error = error != NULL ? g_error_copy(error) : NULL;
	g_main_loop_quit(f->loop);
}

static const SmpUploadCallbacks upload_callbacks = {.progress = on_progress, .done = on_done};

static gboolean
on_watchdog(gpointer user_data)
{
	g_error("test did not finish");
	return G_SOURCE_REMOVE;
}

static void
fixture_init(Fixture *f, guint buf_count, guint window, gsize payload)
{
	const TestDeviceConfig config = {
	        .running = {1, 0, 0, 0},
	        .params = TRUE,
	        .buf_size = 256,
	        .buf_count = buf_count,
	        .errors_v2 = TRUE,
	};
	unsigned int len = 32;

	f->loop = g_main_loop_new(NULL, FALSE);
	f->dev = test_device_new(&config, &f->host);
	f->image = test_image_new(2, 0, payload, 11);
	EVP_Digest(g_bytes_get_data(f->image, NULL), g_bytes_get_size(f->image), f->sha, &len, EVP_sha256(),
	           NULL);
	f->client = smp_client_new(f->host, &client_callbacks, f);
	dfu_transport_open(f->host);
	g_main_loop_run(f->loop);
	f->params = (SmpUploadParams){.data = f->image,
	                              .file_sha = f->sha,
	                              .max_message = 256,
	                              .window = window,
	                              .timeout_ms = TIMEOUT_MS,
	                              .first_timeout_ms = TIMEOUT_MS,
	                              .retries = 3};
	f->min_window = G_MAXUINT;
}

static void
fixture_run(Fixture *f)
{
	guint watchdog = g_timeout_add_seconds(5, on_watchdog, NULL);

	f->upload = smp_upload_new(f->client, &f->params, &upload_callbacks, f);
	smp_upload_start(f->upload);
	g_main_loop_run(f->loop);
	g_source_remove(watchdog);
	g_assert_true(f->done);
}

static void
fixture_clear(Fixture *f)
{
	g_clear_pointer(&f->upload, smp_upload_free);
	g_clear_pointer(&f->client, smp_client_free);
	g_clear_pointer(&f->host, dfu_transport_free);
	g_clear_pointer(&f->dev, test_device_free);
	g_clear_pointer(&f->image, g_bytes_unref);
	g_clear_error(&f->error);
	g_clear_pointer(&f->loop, g_main_loop_unref);
}

static guint
count_chunks(const SmpUploadParams *params)
{
	gsize total = g_bytes_get_size(params->data);
	guint n = 0;

	for (guint64 off = 0; off < total; n++)
		off += smp_upload_chunk_size(params, off);
	return n;
}

/* a window larger than the device's buffers: drops, gaps, and still the exact image */
static void
test_drops_when_full(void)
{
	Fixture f = {0};

	fixture_init(&f, 2, 4, 8000);
	fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_cmpuint(f.dev->dropped, >, 0);
	g_assert_cmpuint(f.last_done, ==, g_bytes_get_size(f.image));
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.min_window, <, 4);
	fixture_clear(&f);
}

/* the last chunk vanishes: no later answer reveals the gap, so the timeout does */
static void
test_trailing_drop(void)
{
	Fixture f = {0};
	g_autofree char *spec = NULL;

	fixture_init(&f, 5, 4, 6000);
	spec = g_strdup_printf("drop-request@%u", count_chunks(&f.params));
	test_device_add_fault(f.dev, spec);
	fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	/* it went back to one request in flight */
	g_assert_cmpuint(f.last_window, ==, 1);
	g_assert_cmpuint(f.dev->max_in_flight, <=, 4);
	fixture_clear(&f);
}

/* after a timeout the window grows back, one step per run of successes */
static void
test_grows_back(void)
{
	Fixture f = {0};

	fixture_init(&f, 5, 4, 20000);
	test_device_add_fault(f.dev, "drop-request@3");
	fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.min_window, <, 4);
	g_assert_cmpuint(f.last_window, ==, 4);
	fixture_clear(&f);
}

/* a device that stays silent ends the upload after the retries, not before and not never */
static void
test_silent_gives_up(void)
{
	Fixture f = {0};

	fixture_init(&f, 5, 4, 6000);
	test_device_add_fault(f.dev, "silent-after@4");
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	fixture_clear(&f);
}

/* no params: the window starts at one and grows to the guess when the device keeps up */
static void
test_guess_kept_up(void)
{
	Fixture f = {0};

	fixture_init(&f, 4, 3, 20000);
	f.params.window_guessed = TRUE;
	fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.dev->dropped, ==, 0);
	g_assert_cmpuint(f.min_window, ==, 1);
	g_assert_cmpuint(f.last_window, ==, 3);
	fixture_clear(&f);
}

/* no params and fewer buffers than guessed: a loss caps the window for the rest of the upload */
static void
test_guess_learns(void)
{
	Fixture f = {0};

	fixture_init(&f, 2, 3, 30000);
	f.params.window_guessed = TRUE;
	fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.dev->dropped, >, 0);
	/* every loss lowers the cap, so there are few of them however long the upload */
	g_assert_cmpuint(f.dev->dropped, <=, 2);
	g_assert_cmpuint(f.last_window, <, 3);
	fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ble-window/drops-when-full", test_drops_when_full);
	g_test_add_func("/ble-window/trailing-drop", test_trailing_drop);
	g_test_add_func("/ble-window/grows-back", test_grows_back);
	g_test_add_func("/ble-window/silent-gives-up", test_silent_gives_up);
	g_test_add_func("/ble-window/guess-kept-up", test_guess_kept_up);
	g_test_add_func("/ble-window/guess-learns", test_guess_learns);
	return g_test_run();
}
