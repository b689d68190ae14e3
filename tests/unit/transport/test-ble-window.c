/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upload window against a device that drops what it has no buffer for,
 * as a Zephyr SMP server over GATT does without telling anyone: every byte
 * must still arrive once, in order, and the window must adapt.
 */
#include "dfu-error.h"
#include "smp-upload-fixture.h"

#define TIMEOUT_MS 50

typedef UploadFixture Fixture;

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

	upload_fixture_init(f, &config, payload, 11, TIMEOUT_MS);
	f->params.window = window;
	f->params.retries = 3;
}

static guint
count_chunks(const SmpUploadParams *params)
{
	gsize total = dfu_image_data_get_size(params->data);
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
	upload_fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_cmpuint(f.dev->dropped, >, 0);
	g_assert_cmpuint(f.last_done, ==, g_bytes_get_size(f.image));
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.min_window, <, 4);
	upload_fixture_clear(&f);
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
	upload_fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	/* it went back to one request in flight */
	g_assert_cmpuint(f.last_window, ==, 1);
	g_assert_cmpuint(f.dev->max_in_flight, <=, 4);
	upload_fixture_clear(&f);
}

/* after a timeout the window grows back, one step per run of successes */
static void
test_grows_back(void)
{
	Fixture f = {0};

	fixture_init(&f, 5, 4, 20000);
	test_device_add_fault(f.dev, "drop-request@3");
	upload_fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.min_window, <, 4);
	g_assert_cmpuint(f.last_window, ==, 4);
	upload_fixture_clear(&f);
}

/* a device that stays silent ends the upload after the retries, not before and not never */
static void
test_silent_gives_up(void)
{
	Fixture f = {0};

	fixture_init(&f, 5, 4, 6000);
	test_device_add_fault(f.dev, "silent-after@4");
	upload_fixture_run(&f);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	upload_fixture_clear(&f);
}

/* no params: the window starts at one and grows to the guess when the device keeps up */
static void
test_guess_kept_up(void)
{
	Fixture f = {0};

	fixture_init(&f, 4, 3, 20000);
	f.params.window_guessed = TRUE;
	upload_fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.dev->dropped, ==, 0);
	g_assert_cmpuint(f.min_window, ==, 1);
	g_assert_cmpuint(f.last_window, ==, 3);
	upload_fixture_clear(&f);
}

/* no params and fewer buffers than guessed: a loss caps the window for the rest of the upload */
static void
test_guess_learns(void)
{
	Fixture f = {0};

	fixture_init(&f, 2, 3, 30000);
	f.params.window_guessed = TRUE;
	upload_fixture_run(&f);
	g_assert_no_error(f.error);
	g_assert_true(test_device_secondary_holds(f.dev, 0, f.image));
	g_assert_cmpuint(f.dev->dropped, >, 0);
	/* every loss lowers the cap, so there are few of them however long the upload */
	g_assert_cmpuint(f.dev->dropped, <=, 2);
	g_assert_cmpuint(f.last_window, <, 3);
	upload_fixture_clear(&f);
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
