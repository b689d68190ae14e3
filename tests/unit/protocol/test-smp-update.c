/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/evp.h>

#include "bundle-writer.h"
#include "dfu-bundle.h"
#include "dfu-error.h"
#include "smp-boot-mode.h"
#include "smp-test-device.h"
#include "smp-update.h"

#define TIMEOUT_MS 40

typedef struct {
	GMainLoop *loop;
	TestDevice *dev;
	DfuTransport *host; /* owned by the update once it exists */
	DfuEngine *update;
	DfuPlan *plan; /* until the update takes it */
	const DfuPlanImage *img[2];
	SmpUpdateOptions opt;
	guint done_calls;
	guint result;
	GError *error;
	GVariant *device_error;
	guint calls_after_done;
	guint64 cancel_after; /* cancels from the progress callback past this many bytes */
	guint requests_at_cancel;
	gboolean cancelled;
	gboolean watch_after_done;
	GVariant *identity; /* as the engine reported it */
	GString *log;
} Fixture;

static const TestDeviceConfig default_device = {
        .running = {1, 0, 0, 0},
        .params = TRUE,
        .buf_size = 256,
        .buf_count = 5,
        .errors_v2 = TRUE,
        .image_check = TRUE,
        .boot_ms = 20,
};

static void
on_phase(DfuEngine *update, DfuJobPhase phase, gpointer user_data)
{
	Fixture *f = user_data;

	f->calls_after_done += f->done_calls > 0 || f->cancelled;
}

static void
on_progress(DfuEngine *update, guint64 done, guint64 total, gpointer user_data)
{
	Fixture *f = user_data;

	f->calls_after_done += f->done_calls > 0 || f->cancelled;
	g_assert_cmpuint(done, <=, total);
	if (f->cancel_after > 0 && done > f->cancel_after && !f->cancelled) {
		f->cancelled = TRUE;
		f->requests_at_cancel = f->dev->requests->len;
		dfu_engine_cancel(update);
		g_assert_cmpuint(f->done_calls, ==, 0);
	}
}

static void
on_done(DfuEngine *update, guint result, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *f = user_data;

	f->calls_after_done += f->done_calls > 0;
	f->done_calls++;
	f->result = result;
	f->error = error != NULL ? g_error_copy(error) : NULL;
	f->device_error = device_error != NULL ? g_variant_ref(device_error) : NULL;
	/* the link back at once: whatever the engine still had going would now reach the device */
	if (f->cancelled) {
		f->requests_at_cancel = f->dev->requests->len;
		dfu_transport_open(f->host);
	}
	g_main_loop_quit(f->loop);
}

static void
on_identity(DfuEngine *update, GVariant *identity, gpointer user_data)
{
	Fixture *f = user_data;

	g_assert_null(f->identity);
	f->identity = g_variant_ref(identity);
}

static void
on_log(DfuEngine *update, const char *line, gpointer user_data)
{
	Fixture *f = user_data;

	g_string_append_printf(f->log, "%s\n", line);
}

static const DfuEngineCallbacks update_callbacks = {
        .log = on_log,
        .phase = on_phase,
        .progress = on_progress,
        .identity = on_identity,
        .done = on_done,
};

static DfuPlan *
plan_new(GBytes *bundle)
{
	g_autoptr(GError) error = NULL;
	DfuPlan *plan = dfu_plan_load_bytes(bundle, "app.bin", &error);

	g_assert_no_error(error);
	return plan;
}

static void
fixture_init(Fixture *f, const TestDeviceConfig *config, GBytes *bundle)
{
	f->loop = g_main_loop_new(NULL, FALSE);
	f->log = g_string_new(NULL);
	f->dev = test_device_new(config, &f->host);
	f->plan = plan_new(bundle);
	for (guint i = 0; i < MIN(f->plan->images->len, G_N_ELEMENTS(f->img)); i++)
		f->img[i] = g_ptr_array_index(f->plan->images, i);
	f->opt = (SmpUpdateOptions){.timeout_ms = TIMEOUT_MS,
	                            .first_timeout_ms = TIMEOUT_MS,
	                            .retries = 2,
	                            .max_window = 8,
	                            .reset_timeout_ms = 400,
	                            .confirm = TRUE};
}

static gboolean
on_watchdog(gpointer user_data)
{
	g_error("test did not finish");
	return G_SOURCE_REMOVE;
}

static gboolean
on_quiet_over(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

static void
fixture_run(Fixture *f)
{
	guint watchdog = g_timeout_add_seconds(5, on_watchdog, NULL);

	f->update = smp_update_new(f->host, g_steal_pointer(&f->plan), &f->opt, &update_callbacks, f);
	dfu_engine_start(f->update);
	g_assert_cmpuint(f->done_calls, ==, 0);
	g_main_loop_run(f->loop);
	g_source_remove(watchdog);
	g_assert_cmpuint(f->done_calls, ==, 1);
	/* a few timeouts more: nothing may stir after the end */
	if (f->watch_after_done) {
		g_timeout_add(3 * TIMEOUT_MS, on_quiet_over, f->loop);
		g_main_loop_run(f->loop);
	}
	g_assert_cmpuint(f->calls_after_done, ==, 0);
}

static void
fixture_clear(Fixture *f)
{
	g_clear_pointer(&f->update, dfu_engine_free);
	g_clear_pointer(&f->plan, dfu_plan_free);
	g_clear_pointer(&f->dev, test_device_free);
	g_clear_error(&f->error);
	g_clear_pointer(&f->device_error, g_variant_unref);
	g_clear_pointer(&f->identity, g_variant_unref);
	g_clear_pointer(&f->opt.identity, g_variant_unref);
	g_clear_pointer(&f->loop, g_main_loop_unref);
	if (f->log != NULL)
		g_string_free(g_steal_pointer(&f->log), TRUE);
}

static void
assert_summary(Fixture *f, const char *expected)
{
	g_autofree char *summary = test_device_summary(f->dev);

	g_assert_cmpstr(summary, ==, expected);
}

static void
assert_result(Fixture *f, guint result)
{
	g_assert_no_error(f->error);
	g_assert_cmpuint(f->result, ==, result);
}

static void
assert_failed(Fixture *f, DfuStatus status)
{
	g_assert_error(f->error, DFU_ERROR, (gint)status);
}

/* what the device runs in image's primary slot */
static void
assert_runs(Fixture *f, guint image, const DfuPlanImage *img, gboolean confirmed)
{
	SimSlotState st;

	g_assert_true(sim_mcuboot_slot_state(f->dev->model, image, 0, &st));
	g_assert_cmpmem(st.info.hash, st.info.hash_len, img->info.hash, img->info.hash_len);
	g_assert_cmpint(st.confirmed, ==, confirmed);
}

/* puts the whole file into the secondary slot, as an earlier attempt would have */
static void
preload_secondary(Fixture *f, const DfuPlanImage *img)
{
	SimUploadRequest req = {.data = g_bytes_get_data(img->data, NULL),
	                        .data_len = g_bytes_get_size(img->data),
	                        .has_len = TRUE,
	                        .len = g_bytes_get_size(img->data),
	                        .image = img->image_index,
	                        .sha = img->file_sha256,
	                        .sha_len = 32};
	SimUploadResult out;

	g_assert_cmpint(sim_mcuboot_upload(f->dev->model, &req, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, req.len);
}

static void
test_happy_path(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 6000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,upload,state,test,reset,state,confirm");
	/* params say 5 buffers: four requests at once, one buffer for the answer */
	g_assert_cmpuint(f.dev->max_in_flight, ==, 4);
	g_assert_cmpuint(f.dev->dropped, ==, 0);
	g_assert_cmpuint(f.dev->upload_bytes, ==, g_bytes_get_size(image));
	g_assert_cmpuint(f.dev->resets, ==, 1);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* the device's slot info says the image cannot fit: refused before the upload */
static void
test_image_too_large(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 130 * 1024, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_IMAGE_TOO_LARGE);
	g_assert_nonnull(strstr(f.error->message, "slot of 131072 bytes"));
	assert_summary(&f, "params,boot,slots");
	g_assert_cmpuint(f.dev->upload_bytes, ==, 0);
	fixture_clear(&f);
}

/* a device without slot info (rc 8) is updated all the same */
static void
test_slot_info_unsupported(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	test_device_add_fault(f.dev, "error@1:6:8");
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,upload,state,test,reset,state,confirm");
	fixture_clear(&f);
}

/* without params: one request at a time, messages of Zephyr's default buffer */
static void
test_params_unsupported(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};
	gsize largest = 0;

	config.params = FALSE;
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(f.dev->max_in_flight, ==, 1);
	for (guint i = 0; i < f.dev->requests->len; i++)
		largest = MAX(largest, g_array_index(f.dev->requests, TestDeviceRequest, i).size);
	g_assert_cmpuint(largest, <=, 384);
	g_assert_cmpuint(largest, >, 384 - 8);
	fixture_clear(&f);
}

static void
test_up_to_date(void)
{
	/* the image the model runs from the start */
	g_autoptr(GBytes) image = test_image_new(1, 0, 4096, 0x5eed0000);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_UP_TO_DATE);
	assert_summary(&f, "params,boot,slots,state");
	fixture_clear(&f);
}

static void
test_already_uploaded(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	preload_secondary(&f, f.img[0]);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,test,reset,state,confirm");
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

static void
test_already_pending(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	preload_secondary(&f, f.img[0]);
	g_assert_cmpint(
	        sim_mcuboot_state_write(f.dev->model, f.img[0]->info.hash, f.img[0]->info.hash_len, FALSE),
	        ==, SIM_IMG_OK);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,reset,state,confirm");
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* an earlier attempt got through the reset: only the confirmation is missing */
static void
test_active_unconfirmed(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	preload_secondary(&f, f.img[0]);
	g_assert_cmpint(
	        sim_mcuboot_state_write(f.dev->model, f.img[0]->info.hash, f.img[0]->info.hash_len, FALSE),
	        ==, SIM_IMG_OK);
	sim_mcuboot_reboot(f.dev->model);
	assert_runs(&f, 0, f.img[0], FALSE);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,confirm");
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

static void
test_rollback(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.boot_rejects = TRUE;
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_ROLLED_BACK);
	assert_summary(&f, "params,boot,slots,state,upload,state,test,reset,state");
	fixture_clear(&f);
}

static void
test_downgrade_refused(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.running = (McubootVersion){3, 0, 0, 0};
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_DOWNGRADE);
	assert_summary(&f, "params,boot,slots,state");
	fixture_clear(&f);
}

static void
test_downgrade_allowed(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.running = (McubootVersion){3, 0, 0, 0};
	fixture_init(&f, &config, image);
	f.opt.allow_downgrade = TRUE;
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* the device's own check: IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER on the first chunk */
static void
test_device_refuses_downgrade(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};
	guint32 rc = 0;

	fixture_init(&f, &default_device, image);
	test_device_add_fault(f.dev, "error@1:1:27");
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_DEVICE_REFUSED_DOWNGRADE);
	g_assert_nonnull(f.device_error);
	g_assert_true(g_variant_lookup(f.device_error, "smp-rc", "u", &rc));
	g_assert_cmpuint(rc, ==, 27);
	fixture_clear(&f);
}

static void
test_staged(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};
	SimSlotState st;

	fixture_init(&f, &default_device, image);
	f.opt.confirm = FALSE;
	f.watch_after_done = TRUE;
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_STAGED);
	assert_summary(&f, "params,boot,slots,state,upload,state,test");
	g_assert_true(sim_mcuboot_slot_state(f.dev->model, 0, 1, &st));
	g_assert_true(st.pending);
	g_assert_cmpuint(f.dev->resets, ==, 0);
	fixture_clear(&f);
}

static void
test_test_refused(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.refuse_test = TRUE;
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_TEST_REFUSED);
	g_assert_nonnull(f.device_error);
	assert_summary(&f, "params,boot,slots,state,upload,state,test");
	fixture_clear(&f);
}

/* an application hook refuses the plain reset as busy: the forced one goes through */
static void
test_busy_reset_forced(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.errors_v2 = FALSE;
	fixture_init(&f, &config, image);
	test_device_add_fault(f.dev, "error@0:5:10");
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_summary(&f, "params,boot,slots,state,upload,state,test,reset,state,confirm");
	g_assert_cmpuint(test_device_count(f.dev, "reset"), ==, 2);
	g_assert_cmpuint(f.dev->resets, ==, 1);
	fixture_clear(&f);
}

/* the request number of the first reset in an update without faults */
static guint
reset_request_number(GBytes *image)
{
	Fixture f = {0};
	guint number = 0;

	fixture_init(&f, &default_device, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	for (guint i = 0; i < f.dev->requests->len && number == 0; i++) {
		if (g_strcmp0(g_array_index(f.dev->requests, TestDeviceRequest, i).kind, "reset") == 0)
			number = i + 1;
	}
	fixture_clear(&f);
	g_assert_cmpuint(number, >, 0);
	return number;
}

/* the reset request vanishes (a lost datagram): the old image still answers, so it is asked again */
static void
test_lost_reset(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	g_autofree char *drop = g_strdup_printf("drop-request@%u", reset_request_number(image));
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	f.opt.reset_timeout_ms = 4000;
	test_device_add_fault(f.dev, drop);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	/* the dropped one counts as received */
	g_assert_cmpuint(test_device_count(f.dev, "reset"), ==, 2);
	g_assert_cmpuint(f.dev->resets, ==, 1);
	fixture_clear(&f);
}

static void
test_never_back(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.never_back = TRUE;
	fixture_init(&f, &config, image);
	f.opt.reset_timeout_ms = 200;
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_DEVICE_NOT_BACK);
	fixture_clear(&f);
}

/* a USB device drops off the bus while it reboots and comes back */
static void
test_reset_hangup(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.reset_hangup = TRUE;
	config.boot_ms = 100;
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* a device without SMP v2 answers rc 13 once; everything after goes in v1 */
static void
test_v1_fallback(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};
	guint v2_requests = 0;

	config.errors_v2 = FALSE;
	config.v1_only = TRUE;
	fixture_init(&f, &config, image);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	for (guint i = 0; i < f.dev->requests->len; i++)
		v2_requests += g_array_index(f.dev->requests, TestDeviceRequest, i).version > 0;
	g_assert_cmpuint(v2_requests, ==, 1);
	assert_summary(&f, "params,boot,slots,state,upload,state,test,reset,state,confirm");
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

static void
test_garbage_ignored(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	test_device_add_fault(f.dev, "garbage@1");
	test_device_add_fault(f.dev, "garbage@2");
	test_device_add_fault(f.dev, "truncate-response@4");
	test_device_add_fault(f.dev, "garbage@6");
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* the link drops mid-upload and cannot be opened for a while: resume where the device stopped */
/* an identity as an earlier attempt would have recorded it: the device ran this hash */
static GVariant *
identity_with(const guint8 *hash, gsize len)
{
	g_autoptr(GString) hex = g_string_new(NULL);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(hex, "%02x", hash[i]);
	return g_variant_ref_sink(g_variant_new_parsed("{'hashes': <[%s]>}", hex->str));
}

/* the first state read records what the device runs, for later attempts */
static void
test_identity_recorded(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	g_autoptr(GVariant) expected = NULL;
	Fixture f = {0};
	SimSlotState st;

	fixture_init(&f, &default_device, image);
	g_assert_true(sim_mcuboot_slot_state(f.dev->model, 0, 0, &st));
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	expected = identity_with(st.info.hash, st.info.hash_len);
	g_assert_true(g_variant_equal(f.identity, expected));
	fixture_clear(&f);
}

/* a device that runs neither what the job saw before nor the new image gets nothing */
static void
test_identity_mismatch(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	g_autoptr(GBytes) other = test_image_new(1, 5, 3000, 7);
	g_autoptr(DfuPlan) other_plan = plan_new(other);
	const DfuPlanImage *other_img = g_ptr_array_index(other_plan->images, 0);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	f.opt.identity = identity_with(other_img->info.hash, other_img->info.hash_len);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_DEVICE_MISMATCH);
	assert_summary(&f, "params,boot,slots,state");
	g_assert_cmpuint(f.dev->upload_bytes, ==, 0);
	g_assert_null(f.identity);
	fixture_clear(&f);
}

/* the device of an earlier attempt, found again, is updated */
static void
test_identity_match(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};
	SimSlotState st;

	fixture_init(&f, &default_device, image);
	g_assert_true(sim_mcuboot_slot_state(f.dev->model, 0, 0, &st));
	f.opt.identity = identity_with(st.info.hash, st.info.hash_len);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	fixture_clear(&f);
}

static void
test_resume_after_hangup(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 8000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.reopen_refuse_ms = 3 * TIMEOUT_MS;
	fixture_init(&f, &config, image);
	test_device_add_fault(f.dev, "hangup-at@4000");
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(test_device_count(f.dev, "params"), ==, 1);
	/* before the upload goes on, the device is read again: the first read, that one, verify, boot */
	g_assert_cmpuint(test_device_count(f.dev, "state"), ==, 4);
	g_assert_cmpuint(f.dev->upload_bytes, <, g_bytes_get_size(image) * 5 / 4);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

/* a reboot mid-upload loses the session: the upload starts over and still completes */
static void
test_reboot_mid_upload(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 8000, 1);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.reset_hangup = TRUE;
	fixture_init(&f, &config, image);
	test_device_add_fault(f.dev, "reset-at@4000");
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(f.dev->upload_bytes, >, g_bytes_get_size(image));
	g_assert_cmpuint(f.dev->resets, ==, 2);
	assert_runs(&f, 0, f.img[0], TRUE);
	fixture_clear(&f);
}

static void
test_cancel_mid_upload(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 8000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	f.cancel_after = 2000;
	f.watch_after_done = TRUE;
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_CANCELLED);
	g_assert_true(f.cancelled);
	/* the link was opened again at the end, and nothing more went out */
	g_assert_cmpuint(f.dev->requests->len, ==, f.requests_at_cancel);
	g_assert_cmpuint(f.calls_after_done, ==, 0);
	fixture_clear(&f);
}

static void
test_silent_device(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	fixture_init(&f, &default_device, image);
	test_device_add_fault(f.dev, "silent-after@0");
	f.opt.retries = 1;
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_RESPONSE_TIMEOUT);
	assert_summary(&f, "params");
	fixture_clear(&f);
}

/* an app core and a network core image in one zip */
static GBytes *
two_image_zip(guint8 net_major)
{
	g_autoptr(GBytes) app = test_image_new(2, 0, 3000, 1);
	g_autoptr(GBytes) net = test_image_new(net_major, 1, 2000, 2);
	const BundleWriterImage images[] = {{"app.bin", app, 0}, {"net.bin", net, 1}};
	BundleWriterManifestOptions opts = {0};
	g_autoptr(GError) error = NULL;
	GBytes *zip = bundle_writer_dfu_zip(images, G_N_ELEMENTS(images), &opts, &error);

	g_assert_no_error(error);
	return zip;
}

static void
test_multi_image(void)
{
	g_autoptr(GBytes) zip = two_image_zip(2);
	TestDeviceConfig config = default_device;
	Fixture f = {0};
	gboolean seen[2] = {FALSE, FALSE};

	config.images = 2;
	fixture_init(&f, &config, zip);
	g_assert_cmpuint(f.img[0]->image_index, ==, 0);
	g_assert_cmpuint(f.img[1]->image_index, ==, 1);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	for (guint i = 0; i < f.dev->requests->len; i++) {
		const TestDeviceRequest *req = &g_array_index(f.dev->requests, TestDeviceRequest, i);
		if (g_str_equal(req->kind, "upload") && req->total > 0)
			seen[MIN(req->image, 1u)] = TRUE;
	}
	g_assert_true(seen[0] && seen[1]);
	g_assert_cmpuint(test_device_count(f.dev, "test"), ==, 2);
	g_assert_cmpuint(test_device_count(f.dev, "confirm"), ==, 2);
	g_assert_cmpuint(f.dev->resets, ==, 1);
	assert_runs(&f, 0, f.img[0], TRUE);
	assert_runs(&f, 1, f.img[1], TRUE);
	fixture_clear(&f);
}

/* ---- bootloader modes ---- */

/* runs the update of image on a device in mode; boot_rejects for a bootloader that refuses it */
static void
run_mode(Fixture *f, GBytes *image, SimBootMode mode, gboolean bootloader_info, gboolean boot_rejects)
{
	TestDeviceConfig config = default_device;

	config.mode = mode;
	config.no_bootloader_info = !bootloader_info;
	config.boot_rejects = boot_rejects;
	fixture_init(f, &config, image);
	fixture_run(f);
}

static void
assert_logged(Fixture *f, const char *text)
{
	if (strstr(f->log->str, text) == NULL)
		g_error("log lacks \"%s\":\n%s", text, f->log->str);
}

/* slot of image runs img */
static void
assert_active_slot(Fixture *f, guint slot, const DfuPlanImage *img)
{
	SimSlotState st;

	g_assert_true(sim_mcuboot_slot_state(f->dev->model, 0, slot, &st));
	g_assert_true(st.active);
	g_assert_cmpmem(st.info.hash, st.info.hash_len, img->info.hash, img->info.hash_len);
}

/* each clue on its own decides the mode, and each mode runs its own sequence */
static void
test_mode_sequences(void)
{
	static const struct {
		SimBootMode mode;
		gboolean bootloader_info;
		guint32 flags; /* RAM_LOAD: the image header tells */
		const char *summary;
		const char *logged;
	} cases[] = {
	        /* no test: the bootloader boots the highest version by itself */
	        {SIM_BOOT_DIRECT_XIP, TRUE, 0, "params,boot,slots,state,upload,state,reset,state",
	         "bootloader mode: direct-XIP (from bootloader info)"},
	        {SIM_BOOT_DIRECT_XIP, FALSE, 0, "params,boot,slots,state,upload,state,test,reset,state",
	         "(from a bare rc 8 to the state write)"},
	        {SIM_BOOT_RAM_LOAD, FALSE, SMP_IMAGE_F_RAM_LOAD,
	         "params,boot,slots,state,upload,state,test,reset,state",
	         "bootloader mode: RAM-load (from image header: RAM_LOAD flag)"},
	        {SIM_BOOT_DIRECT_XIP_REVERT, TRUE, 0,
	         "params,boot,slots,state,upload,state,test,reset,state,confirm",
	         "bootloader mode: direct-XIP with revert (from bootloader info)"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) image = test_image_new_at(2, 0, 3000, 7, cases[i].flags, 0x20240000);
		Fixture f = {0};
		SimSlotState st;

		run_mode(&f, image, cases[i].mode, cases[i].bootloader_info, FALSE);
		assert_result(&f, DFU_STATUS_SUCCESS);
		assert_summary(&f, cases[i].summary);
		assert_logged(&f, cases[i].logged);
		assert_active_slot(&f, 1, f.img[0]);
		g_assert_true(sim_mcuboot_slot_state(f.dev->model, 0, 1, &st) && st.confirmed);
		fixture_clear(&f);
	}
}

/* a RAM-load device that already took one update runs from slot 1 */
static void
test_mode_from_image_list(void)
{
	g_autoptr(GBytes) first = test_image_new(2, 0, 3000, 1);
	g_autoptr(GBytes) image = test_image_new(3, 0, 3000, 2);
	g_autoptr(DfuPlan) earlier = plan_new(first);
	TestDeviceConfig config = default_device;
	Fixture f = {0};

	config.mode = SIM_BOOT_RAM_LOAD;
	config.no_bootloader_info = TRUE;
	fixture_init(&f, &config, image);
	preload_secondary(&f, g_ptr_array_index(earlier->images, 0));
	sim_mcuboot_reboot(f.dev->model);
	fixture_run(&f);
	assert_result(&f, DFU_STATUS_SUCCESS);
	assert_logged(&f, "(from image list: an image runs from slot 1)");
	assert_active_slot(&f, 0, f.img[0]);
	fixture_clear(&f);
}

/*
 * One slot: the application cannot take the image, so the reset goes into
 * MCUboot's serial recovery (which lists no hashes and has no state write),
 * the image goes to slot 0 there, and the next reset runs it. A firmware
 * loader takes it the same way.
 */
static void
test_mode_via_bootloader(void)
{
	static const struct {
		SimBootMode mode;
		gboolean bootloader_info;
		const char *logged;
		const char *entered;
	} cases[] = {
	        {SIM_BOOT_SINGLE, FALSE, "(from slot info: one slot only)", "(serial recovery)"},
	        {SIM_BOOT_FIRMWARE_LOADER, TRUE, "bootloader mode: firmware loader (from bootloader info)",
	         "(firmware loader)"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
		Fixture f = {0};

		run_mode(&f, image, cases[i].mode, cases[i].bootloader_info, FALSE);
		assert_result(&f, DFU_STATUS_SUCCESS);
		assert_logged(&f, cases[i].logged);
		assert_logged(&f, "resetting into the bootloader (boot mode 1)");
		assert_logged(&f, cases[i].entered);
		assert_active_slot(&f, 0, f.img[0]);
		g_assert_false(sim_mcuboot_in_loader(f.dev->model));
		fixture_clear(&f);
	}
}

/*
 * The bootloader would keep slot 0 on a tie: refused before the first byte,
 * or, when only the test answer tells the mode, before the reset.
 */
static void
test_mode_equal_version(void)
{
	for (guint info = 0; info < 2; info++) {
		g_autoptr(GBytes) image = test_image_new(1, 0, 3000, 1);
		Fixture f = {0};

		run_mode(&f, image, SIM_BOOT_DIRECT_XIP, info, FALSE);
		assert_failed(&f, DFU_STATUS_DOWNGRADE);
		g_assert_nonnull(strstr(f.error->message, "not newer"));
		g_assert_cmpuint(f.dev->upload_bytes, ==, info ? 0 : g_bytes_get_size(image));
		g_assert_cmpuint(f.dev->resets, ==, 0);
		fixture_clear(&f);
	}
}

/* linked for slot 0 while slot 0 runs: img_mgmt refuses the first chunk */
static void
test_mode_wrong_slot(void)
{
	g_autoptr(GBytes) image =
	        test_image_new_at(2, 0, 3000, 7, SMP_IMAGE_F_ROM_FIXED, SIM_FLASH_SLOT_BASE);
	Fixture f = {0};

	run_mode(&f, image, SIM_BOOT_DIRECT_XIP, TRUE, FALSE);
	assert_failed(&f, DFU_STATUS_IMAGE_REJECTED);
	g_assert_nonnull(strstr(f.error->message, "not slot 1"));
	g_assert_cmpuint(test_device_count(f.dev, "upload"), ==, 1);
	fixture_clear(&f);
}

static void
test_mode_rejected_after_reset(void)
{
	g_autoptr(GBytes) image = test_image_new(2, 0, 3000, 1);
	Fixture f = {0};

	run_mode(&f, image, SIM_BOOT_DIRECT_XIP, TRUE, TRUE);
	assert_failed(&f, DFU_STATUS_ROLLED_BACK);
	g_assert_nonnull(strstr(f.error->message, "rejected"));
	fixture_clear(&f);
}

static void
test_bundle_image_missing(void)
{
	g_autoptr(GBytes) zip = two_image_zip(2);
	Fixture f = {0};

	fixture_init(&f, &default_device, zip);
	fixture_run(&f);
	assert_failed(&f, DFU_STATUS_BOARD_MISMATCH);
	g_assert_nonnull(strstr(f.error->message, "net.bin"));
	g_assert_cmpuint(f.dev->upload_bytes, ==, 0);
	fixture_clear(&f);
}

/* an old network core blocks the bundle unless that image may go back */
static void
test_downgrade_per_image(void)
{
	const char *allowed[] = {NULL, "net", "1", "0"};
	const DfuStatus expected[] = {DFU_STATUS_DOWNGRADE, DFU_STATUS_SUCCESS, DFU_STATUS_SUCCESS,
	                              DFU_STATUS_DOWNGRADE};

	for (gsize i = 0; i < G_N_ELEMENTS(allowed); i++) {
		g_autoptr(GBytes) zip = two_image_zip(0);
		TestDeviceConfig config = default_device;
		Fixture f = {0};

		config.images = 2;
		fixture_init(&f, &config, zip);
		f.opt.allow_downgrade_images = allowed[i];
		fixture_run(&f);
		if (expected[i] == DFU_STATUS_SUCCESS) {
			assert_result(&f, DFU_STATUS_SUCCESS);
		} else {
			assert_failed(&f, expected[i]);
			g_assert_nonnull(strstr(f.error->message, "net.bin"));
			g_assert_cmpuint(f.dev->upload_bytes, ==, 0);
		}
		fixture_clear(&f);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smp-update/happy-path", test_happy_path);
	g_test_add_func("/smp-update/params-unsupported", test_params_unsupported);
	g_test_add_func("/smp-update/up-to-date", test_up_to_date);
	g_test_add_func("/smp-update/image-too-large", test_image_too_large);
	g_test_add_func("/smp-update/slot-info-unsupported", test_slot_info_unsupported);
	g_test_add_func("/smp-update/already-uploaded", test_already_uploaded);
	g_test_add_func("/smp-update/already-pending", test_already_pending);
	g_test_add_func("/smp-update/active-unconfirmed", test_active_unconfirmed);
	g_test_add_func("/smp-update/rollback", test_rollback);
	g_test_add_func("/smp-update/downgrade-refused", test_downgrade_refused);
	g_test_add_func("/smp-update/downgrade-allowed", test_downgrade_allowed);
	g_test_add_func("/smp-update/device-refuses-downgrade", test_device_refuses_downgrade);
	g_test_add_func("/smp-update/staged", test_staged);
	g_test_add_func("/smp-update/test-refused", test_test_refused);
	g_test_add_func("/smp-update/busy-reset-forced", test_busy_reset_forced);
	g_test_add_func("/smp-update/lost-reset", test_lost_reset);
	g_test_add_func("/smp-update/never-back", test_never_back);
	g_test_add_func("/smp-update/reset-hangup", test_reset_hangup);
	g_test_add_func("/smp-update/v1-fallback", test_v1_fallback);
	g_test_add_func("/smp-update/garbage-ignored", test_garbage_ignored);
	g_test_add_func("/smp-update/resume-after-hangup", test_resume_after_hangup);
	g_test_add_func("/smp-update/identity-recorded", test_identity_recorded);
	g_test_add_func("/smp-update/identity-mismatch", test_identity_mismatch);
	g_test_add_func("/smp-update/identity-match", test_identity_match);
	g_test_add_func("/smp-update/reboot-mid-upload", test_reboot_mid_upload);
	g_test_add_func("/smp-update/cancel-mid-upload", test_cancel_mid_upload);
	g_test_add_func("/smp-update/silent-device", test_silent_device);
	g_test_add_func("/smp-update/multi-image", test_multi_image);
	g_test_add_func("/smp-update/mode-sequences", test_mode_sequences);
	g_test_add_func("/smp-update/mode-from-image-list", test_mode_from_image_list);
	g_test_add_func("/smp-update/mode-via-bootloader", test_mode_via_bootloader);
	g_test_add_func("/smp-update/mode-equal-version", test_mode_equal_version);
	g_test_add_func("/smp-update/mode-wrong-slot", test_mode_wrong_slot);
	g_test_add_func("/smp-update/mode-rejected-after-reset", test_mode_rejected_after_reset);
	g_test_add_func("/smp-update/bundle-image-missing", test_bundle_image_missing);
	g_test_add_func("/smp-update/downgrade-per-image", test_downgrade_per_image);
	return g_test_run();
}
