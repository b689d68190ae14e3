/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-bundle.h"
#include "dfu-error.h"
#include "mcuboot-writer.h"
#include "smp-upload-fixture.h"

#define TIMEOUT_MS 60

typedef UploadFixture Fixture;

static void
fixture_init(Fixture *f, const TestDeviceConfig *config, gsize payload)
{
	upload_fixture_init(f, config, payload, 7, TIMEOUT_MS);
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
	upload_fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->max_in_flight, ==, 4);
	/* nothing was sent twice */
	g_assert_cmpuint(f.dev->upload_bytes, ==, g_bytes_get_size(f.image));
	g_assert_cmpuint(f.last_window, ==, 4);
	upload_fixture_clear(&f);
}

/* a 512 KiB file padded by imgtool: the device receives the image, not the padding */
static void
test_padded_image(void)
{
	Fixture f = {0};
	McubootWriterOptions opts = {
	        .version = {2, 0, 0, 0}, .payload_size = 20000, .seed = 3, .pad_size = 512 * 1024};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) padded = mcuboot_writer_build(&opts, &error);
	g_autoptr(DfuPlan) plan = NULL;
	DfuPlanImage *pi;

	g_assert_no_error(error);
	plan = dfu_plan_load_bytes(padded, "padded.bin", &error);
	g_assert_no_error(error);
	pi = g_ptr_array_index(plan->images, 0);
	fixture_init(&f, &default_device, 0);
	g_bytes_unref(f.image);
	f.image = g_bytes_ref(pi->data);
	dfu_image_data_unref(f.image_data);
	f.image_data = dfu_image_data_ref(pi->stream);
	f.params.data = f.image_data;
	f.params.file_sha = pi->file_sha256;
	upload_fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->upload_bytes, ==, pi->info.total_size);
	g_assert_cmpuint(f.dev->upload_bytes, <, 512 * 1024 / 4);
	upload_fixture_clear(&f);
}

static void
test_window_one(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	f.params.window = 0;
	upload_fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->max_in_flight, ==, 1);
	upload_fixture_clear(&f);
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
		upload_fixture_run(&f);
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
		upload_fixture_clear(&f);
	}
}

static void
test_message_too_small(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 1000);
	f.params.max_message = 40;
	upload_fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_assert_cmpuint(f.dev->requests->len, ==, 0);
	upload_fixture_clear(&f);
}

/* a request lost in the middle of a window: the device names the gap, nothing is lost */
static void
test_gap_recovery(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 16000);
	test_device_add_fault(f.dev, "drop-request@6");
	upload_fixture_run(&f);
	assert_complete(&f);
	/* halved after the gap, grown back by the end */
	g_assert_cmpuint(f.min_window, <=, 2);
	g_assert_cmpuint(f.last_window, ==, 4);
	g_assert_cmpuint(f.dev->upload_bytes, <, 2 * g_bytes_get_size(f.image));
	upload_fixture_clear(&f);
}

/* answers in the wrong order look like gaps to the device: still no data lost */
static void
test_out_of_order(void)
{
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.reverse = TRUE;
	fixture_init(&f, &config, 4000);
	upload_fixture_run(&f);
	assert_complete(&f);
	upload_fixture_clear(&f);
}

/* the device reboots mid-upload: its session is gone and the upload starts over from 0 */
static void
test_reboot_restarts(void)
{
	Fixture f = {0};
	guint first_chunks = 0;

	fixture_init(&f, &default_device, 8000);
	test_device_add_fault(f.dev, "reset-at@3000");
	upload_fixture_run(&f);
	assert_complete(&f);
	for (guint r = 0; r < f.dev->requests->len; r++)
		first_chunks += g_array_index(f.dev->requests, TestDeviceRequest, r).total > 0;
	g_assert_cmpuint(first_chunks, ==, 2);
	g_assert_cmpuint(f.dev->resets, ==, 1);
	g_assert_cmpuint(f.dev->upload_bytes, >, g_bytes_get_size(f.image));
	upload_fixture_clear(&f);
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
	upload_fixture_run(&f);
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
	upload_fixture_run(&f);
	assert_complete(&f);
	/* the second run sent what was missing and its first chunk again, no more */
	g_assert_cmpuint(f.dev->upload_bytes, <=, total - held + f.params.max_message);
	upload_fixture_clear(&f);
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
	upload_fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_NO_ROOM);
	g_assert_nonnull(f.device_error);
	g_assert_true(g_variant_lookup(f.device_error, "smp-rc", "u", &rc));
	g_assert_true(g_variant_lookup(f.device_error, "smp-group", "u", &group));
	g_assert_cmpuint(rc, ==, 30);
	g_assert_cmpuint(group, ==, 1);
	upload_fixture_clear(&f);
}

static void
test_corrupted_copy(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	f.dev->corrupt_at = 1500;
	upload_fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_UPLOAD_CORRUPTED);
	upload_fixture_clear(&f);
}

static void
test_silent_device(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "silent-after@0");
	f.params.retries = 1;
	upload_fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	/* the first chunk goes alone, and once more on its retry */
	g_assert_cmpuint(f.dev->requests->len, ==, 2);
	upload_fixture_clear(&f);
}

/* junk, cut-off and misaddressed frames between the answers change nothing */
static void
test_garbage_ignored(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "garbage@1");
	test_device_add_fault(f.dev, "garbage@4");
	upload_fixture_run(&f);
	assert_complete(&f);
	g_assert_cmpuint(f.dev->upload_bytes, ==, g_bytes_get_size(f.image));
	upload_fixture_clear(&f);
}

/* a truncated answer is no answer: the retry gets the real one */
static void
test_truncated_answer(void)
{
	Fixture f = {0};

	fixture_init(&f, &default_device, 3000);
	test_device_add_fault(f.dev, "truncate-response@3");
	upload_fixture_run(&f);
	assert_complete(&f);
	upload_fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smp-upload/window-in-flight", test_window_in_flight);
	g_test_add_func("/smp-upload/window-one", test_window_one);
	g_test_add_func("/smp-upload/padded-image", test_padded_image);
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
