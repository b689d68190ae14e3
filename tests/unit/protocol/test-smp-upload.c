/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>

#include "dfu-error.h"
#include "smp-client.h"
#include "smp-test-device.h"
#include "smp-upload.h"

#define TIMEOUT_MS 60

typedef struct {
	GMainLoop *loop;
	TestDevice *dev;
	DfuTransport *host;
	SmpClient *client;
	SmpUpload *upload;
	GBytes *image;
	guint8 sha[32];
	SmpUploadParams params;
	guint done_calls;
	GError *error;
	GVariant *device_error;
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

	g_assert_cmpuint(done, <=, total);
	f->last_done = done;
	f->last_window = smp_upload_get_window(upload);
	f->min_window = MIN(f->min_window, f->last_window);
}

static void
on_done(SmpUpload *upload, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *f = user_data;

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

static void
fixture_init(Fixture *f, const TestDeviceConfig *config, gsize image_payload)
{
	unsigned int len = 32;

	f->loop = g_main_loop_new(NULL, FALSE);
	f->dev = test_device_new(config, &f->host);
	f->image = test_image_new(2, 0, image_payload, 7);
	EVP_Digest(g_bytes_get_data(f->image, NULL), g_bytes_get_size(f->image), f->sha, &len, EVP_sha256(),
	           NULL);
	f->client = smp_client_new(f->host, &client_callbacks, f);
	dfu_transport_open(f->host);
	g_main_loop_run(f->loop);
	f->params = (SmpUploadParams){.data = f->image,
	                              .file_sha = f->sha,
	                              .max_message = 256,
	                              .window = 4,
	                              .timeout_ms = TIMEOUT_MS,
	                              .first_timeout_ms = TIMEOUT_MS,
	                              .retries = 2};
	f->min_window = G_MAXUINT;
}

/* runs the upload to its end */
static void
fixture_run(Fixture *f)
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

static void
fixture_clear(Fixture *f)
{
	g_clear_pointer(&f->upload, smp_upload_free);
	g_clear_pointer(&f->client, smp_client_free);
	g_clear_pointer(&f->host, dfu_transport_free);
	g_clear_pointer(&f->dev, test_device_free);
	g_clear_pointer(&f->image, g_bytes_unref);
	g_clear_error(&f->error);
	g_clear_pointer(&f->device_error, g_variant_unref);
	g_clear_pointer(&f->loop, g_main_loop_unref);
}

static const TestDeviceConfig default_device = {
        .running = {1, 0, 0, 0},
        .params = TRUE,
        .buf_size = 256,
        .buf_count = 5,
        .errors_v2 = TRUE,
        .image_check = TRUE,
};

static void
assert_complete(Fixture *f)
{
	g_assert_no_error(f->error);
	g_assert_cmpuint(f->last_done, ==, g_bytes_get_size(f->image));
	g_assert_true(test_device_secondary_holds(f->dev, 0, f->image));
	g_assert_cmpuint(f->dev->dropped, ==, 0);
}

static void
test_window_in_flight(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 6000);
	fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->max_in_flight, ==, 4);
	/* nothing was sent twice */
	g_assert_cmpuint(f.dev->upload_bytes, ==, g_bytes_get_size(f.image));
	g_assert_cmpuint(f.last_window, ==, 4);
	fixture_clear(&f);
}

static void
test_window_one(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	f.params.window = 0;
	fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->max_in_flight, ==, 1);
	fixture_clear(&f);
}

/* every message fits, and all but the last chunk are whole flash words */
static void
test_chunk_sizes(void)
{
	const gsize sizes[] = {128, 201, 255, 333, 512};

	for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
		Fixture f = {0};
		gsize total;
		guint uploads = 0;

		fixture_init(&f, &default_device, 3001);
		total = g_bytes_get_size(f.image);
		f.params.max_message = sizes[i];
		f.params.window = 1;
		fixture_run(&f);
		assert_complete(&f);
		for (guint r = 0; r < f.dev->requests->len; r++) {
			const TestDeviceRequest *req = &g_array_index(f.dev->requests, TestDeviceRequest, r);

			g_assert_cmpuint(req->size, <=, sizes[i]);
			g_assert_cmpuint(req->data_len, >, 0);
			if (req->off + req->data_len < total)
				g_assert_cmpuint(req->data_len % 4, ==, 0);
			else
				g_assert_cmpuint(req->off + req->data_len, ==, total);
			uploads++;
		}
		g_assert_cmpuint(uploads, >, total / sizes[i]);
		fixture_clear(&f);
	}
}

static void
test_message_too_small(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 1000);
	f.params.max_message = 40;
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_assert_cmpuint(f.dev->requests->len, ==, 0);
	fixture_clear(&f);
}

/* a request lost in the middle of a window: the device names the gap, nothing is lost */
static void
test_gap_recovery(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 16000);
	test_device_add_fault(f.dev, "drop-request@6");
	fixture_run(&f);
	assert_complete(&f);
	/* halved after the gap, grown back by the end */
	g_assert_cmpuint(f.min_window, <=, 2);
	g_assert_cmpuint(f.last_window, ==, 4);
	g_assert_cmpuint(f.dev->upload_bytes, <, 2 * g_bytes_get_size(f.image));
	fixture_clear(&f);
}

/* answers in the wrong order look like gaps to the device: still no data lost */
static void
test_out_of_order(void)
{
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.reverse = TRUE;
	fixture_init(&f, &config, 4000);
	fixture_run(&f);
	assert_complete(&f);
	fixture_clear(&f);
}

/* the device reboots mid-upload: its session is gone and the upload starts over from 0 */
static void
test_reboot_restarts(void)
{
	Fixture f = {0};
	guint first_chunks = 0;

	fixture_init(&f, &default_device, 8000);
	test_device_add_fault(f.dev, "reset-at@3000");
	fixture_run(&f);
	assert_complete(&f);
	for (guint r = 0; r < f.dev->requests->len; r++)
		first_chunks += g_array_index(f.dev->requests, TestDeviceRequest, r).total > 0;
	g_assert_cmpuint(first_chunks, ==, 2);
	g_assert_cmpuint(f.dev->resets, ==, 1);
	g_assert_cmpuint(f.dev->upload_bytes, >, g_bytes_get_size(f.image));
	fixture_clear(&f);
}

/* a device that holds part of the same file continues from there */
static void
test_resume_from_device_offset(void)
{
	Fixture f = {0};
	g_autoptr(SmpUpload) first = NULL;
	gsize total;
	guint64 held;

	fixture_init(&f, &default_device, 8000);
	total = g_bytes_get_size(f.image);
	/* a first upload that loses its link in the middle */
	test_device_add_fault(f.dev, "silent-after@12");
	f.params.retries = 0;
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	g_assert_cmpuint(f.last_done, >, 0);
	g_assert_cmpuint(f.last_done, <, total);
	first = g_steal_pointer(&f.upload);
	held = f.last_done;

	sim_fault_plan_free(f.dev->faults);
	f.dev->faults = sim_fault_plan_new();
	f.dev->upload_bytes = 0;
	g_clear_error(&f.error);
	f.done_calls = 0;
	fixture_run(&f);
	assert_complete(&f);
	/* the second run sent what was missing and its first chunk again, no more */
	g_assert_cmpuint(f.dev->upload_bytes, <=, total - held + f.params.max_message);
	fixture_clear(&f);
}

static void
test_device_error(void)
{
	Fixture f = {0};
	guint32 rc = 0;
	guint32 group = 0;

	fixture_init(&f, &default_device, 2000);
	/* IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE */
	test_device_add_fault(f.dev, "error@1:1:30");
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_NO_ROOM);
	g_assert_nonnull(f.device_error);
	g_assert_true(g_variant_lookup(f.device_error, "smp-rc", "u", &rc));
	g_assert_true(g_variant_lookup(f.device_error, "smp-group", "u", &group));
	g_assert_cmpuint(rc, ==, 30);
	g_assert_cmpuint(group, ==, 1);
	fixture_clear(&f);
}

static void
test_corrupted_copy(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	f.dev->corrupt_at = 1500;
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_UPLOAD_CORRUPTED);
	fixture_clear(&f);
}

static void
test_silent_device(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "silent-after@0");
	f.params.retries = 1;
	fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	/* the first chunk goes alone, and once more on its retry */
	g_assert_cmpuint(f.dev->requests->len, ==, 2);
	fixture_clear(&f);
}

/* junk, cut-off and misaddressed frames between the answers change nothing */
static void
test_garbage_ignored(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "garbage@1");
	test_device_add_fault(f.dev, "garbage@4");
	fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->upload_bytes, ==, g_bytes_get_size(f.image));
	fixture_clear(&f);
}

/* a truncated answer is no answer: the retry gets the real one */
static void
test_truncated_answer(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "truncate-response@3");
	fixture_run(&f);
	assert_complete(&f);
	fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smp-upload/window-in-flight", test_window_in_flight);
	g_test_add_func("/smp-upload/window-one", test_window_one);
	g_test_add_func("/smp-upload/chunk-sizes", test_chunk_sizes);
	g_test_add_func("/smp-upload/message-too-small", test_message_too_small);
	g_test_add_func("/smp-upload/gap-recovery", test_gap_recovery);
	g_test_add_func("/smp-upload/out-of-order", test_out_of_order);
	g_test_add_func("/smp-upload/reboot-restarts", test_reboot_restarts);
	g_test_add_func("/smp-upload/resume", test_resume_from_device_offset);
	g_test_add_func("/smp-upload/device-error", test_device_error);
	g_test_add_func("/smp-upload/corrupted-copy", test_corrupted_copy);
	g_test_add_func("/smp-upload/silent-device", test_silent_device);
	g_test_add_func("/smp-upload/garbage-ignored", test_garbage_ignored);
	g_test_add_func("/smp-upload/truncated-answer", test_truncated_answer);
	return g_test_run();
}
