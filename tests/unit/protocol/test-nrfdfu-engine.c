/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "engine-outcome.h"
#include "memory-transport.h"
#include "nrf5-writer.h"
#include "nrfdfu-commands.h"
#include "nrfdfu-engine.h"
#include "sim-nrfdfu.h"

/* the Nordic engine against the bootloader model over the in-memory transport */

typedef struct {
	SimNrfDfuConfig config;
	SimFaultPlan *faults;
	SimNrfDfu *model;
	DfuTransport *device_end;
	EngineOutcome out;
	guint64 progress;
	guint64 total;
	guint64 stop_at; /* progress at which the host process "dies", 0 = never */
	GBytes *package;
	GString *log;
} Fixture;

static void
model_send(GBytes *rsp, gpointer user_data)
{
	Fixture *fx = user_data;
	dfu_transport_send(fx->device_end, g_bytes_get_data(rsp, NULL), g_bytes_get_size(rsp), NULL);
}

static void
model_reset(gpointer user_data)
{
	Fixture *fx = user_data;
	sim_nrfdfu_disconnect(fx->model);
}

static void
model_hang_up(gpointer user_data)
{
	Fixture *fx = user_data;
	dfu_memory_transport_hang_up(fx->device_end);
}

static const SimNrfDfuCallbacks model_callbacks = {
        .send = model_send,
        .reset = model_reset,
        .hang_up = model_hang_up,
};

static void
device_packet(DfuTransport *t, const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *fx = user_data;
	sim_nrfdfu_receive(fx->model, data, len);
}

/* the port went away: the bootloader falls back to what it saved */
static void
device_closed(DfuTransport *t, const GError *error, gpointer user_data)
{
	Fixture *fx = user_data;
	sim_nrfdfu_disconnect(fx->model);
}

static const DfuTransportCallbacks device_callbacks = {
        .opened = engine_test_ignore_link_event,
        .packet = device_packet,
        .closed = device_closed,
};

static void
on_progress(DfuEngine *engine, guint64 done, guint64 total, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->progress = done;
	fx->total = total;
	if (fx->stop_at != 0 && done >= fx->stop_at && !fx->out.done) {
		fx->out.done = TRUE;
		g_main_loop_quit(fx->out.loop);
	}
}

static void
on_done(DfuEngine *engine, guint result, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *fx = user_data;

	engine_outcome_take(&fx->out, result, error, device_error);
}

static void
on_log(DfuEngine *engine, const char *line, gpointer user_data)
{
	Fixture *fx = user_data;
	g_string_append_printf(fx->log, "%s\n", line);
}

static const DfuEngineCallbacks engine_callbacks = {
        .progress = on_progress,
        .log = on_log,
        .done = on_done,
};

static GBytes *
pattern(gsize len, guint seed)
{
	guint8 *buf = g_malloc(len);

	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)((i * 131 + seed) ^ (i >> 7));
	return g_bytes_new_take(buf, len);
}

static void
fixture_set_up(Fixture *fx, gconstpointer data)
{
	sim_nrfdfu_config_init(&fx->config);
	fx->faults = sim_fault_plan_new();
	engine_outcome_init(&fx->out);
	fx->log = g_string_new(NULL);
}

static void
fixture_tear_down(Fixture *fx, gconstpointer data)
{
	g_clear_pointer(&fx->model, sim_nrfdfu_free);
	sim_fault_plan_free(fx->faults);
	engine_outcome_clear(&fx->out);
	g_clear_pointer(&fx->package, g_bytes_unref);
	g_string_free(fx->log, TRUE);
}

static void
make_package(Fixture *fx, const Nrf5WriterImage *images, gsize n)
{
	g_autoptr(GError) error = NULL;

	fx->package = nrf5_writer_zip(images, n, &error);
	g_assert_no_error(error);
}

static void
start_model(Fixture *fx)
{
	if (fx->model == NULL)
		fx->model = sim_nrfdfu_new(&fx->config, fx->faults, &model_callbacks, fx);
}

/* one attempt of the engine, as the runner makes it; the model persists across attempts */
static void
run_attempt(Fixture *fx, guint prn)
{
	g_autoptr(GError) error = NULL;
	DfuPlan *plan = dfu_plan_load_bytes(fx->package, "test.zip", &error);
	const NrfDfuOptions opt = {
	        .timeout_ms = 2000,
	        .execute_timeout_ms = 2000,
	        .prn = prn,
	        .object_retries = 3,
	        .reset_delay_ms = 10,
	        .reconnect_timeout_ms = 1000,
	};
	DfuTransport *host = NULL;
	DfuEngine *engine;

	g_assert_no_error(error);
	start_model(fx);
	fx->device_end = engine_test_device_end(&device_callbacks, fx, &host);
	engine = nrfdfu_engine_new(host, plan, &opt, &engine_callbacks, fx);
	engine_outcome_run(&fx->out, engine);
	dfu_engine_free(engine);
	/* deliver what was still on its way to the device */
	while (g_main_context_iteration(NULL, FALSE))
		;
	dfu_transport_free(fx->device_end);
	fx->device_end = NULL;
}

static void
assert_installed(Fixture *fx, const char *type, GBytes *firmware)
{
	GBytes *got = sim_nrfdfu_get_installed(fx->model, type);

	g_assert_nonnull(got);
	g_assert_true(g_bytes_equal(got, firmware));
}

static void
test_happy(Fixture *fx, gconstpointer data)
{
	g_autoptr(GBytes) fw = pattern(10000, 1);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};

	make_package(fx, &img, 1);
	run_attempt(fx, GPOINTER_TO_UINT(data));
	g_assert_no_error(fx->out.error);
	g_assert_cmpuint(fx->out.result, ==, DFU_STATUS_SUCCESS);
	assert_installed(fx, "application", fw);
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), ==, 10000);
	g_assert_cmpuint(fx->progress, ==, 10000);
	g_assert_cmpuint(fx->total, ==, 10000);
}

/* SoftDevice first, then the application, with a reset and a reconnect between */
static void
test_two_images(Fixture *fx, gconstpointer data)
{
	g_autoptr(GBytes) sd = pattern(9000, 2);
	g_autoptr(GBytes) app = pattern(5000, 3);
	const Nrf5WriterImage imgs[] = {{NRF5_IMAGE_APPLICATION, app, NULL},
	                                {NRF5_IMAGE_SOFTDEVICE, sd, NULL}};

	make_package(fx, imgs, G_N_ELEMENTS(imgs));
	run_attempt(fx, 0);
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "softdevice", sd);
	assert_installed(fx, "application", app);
	g_assert_cmpuint(fx->progress, ==, 14000);
}

/*
 * The field report: the port drops mid-object twice. Each time the bootloader
 * comes back with the offset it saved when the last object completed, older
 * than what was sent, and refuses to execute that boundary again (0x08). Each
 * attempt goes on from the report; nothing is sent again but the lost part of
 * the object in flight.
 */
static void
test_resume_twice_stale(Fixture *fx, gconstpointer data)
{
	const gsize len = 12000;
	g_autoptr(GBytes) fw = pattern(len, 4);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};
	guint64 written;

	make_package(fx, &img, 1);
	g_assert_true(sim_fault_plan_add(fx->faults, "hangup-at@5000", NULL));
	g_assert_true(sim_fault_plan_add(fx->faults, "hangup-at@11000", NULL));
	run_attempt(fx, 0);
	g_assert_error(fx->out.error, DFU_ERROR, DFU_STATUS_LINK_LOST);
	run_attempt(fx, 0);
	g_assert_error(fx->out.error, DFU_ERROR, DFU_STATUS_LINK_LOST);
	run_attempt(fx, 0);
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "application", fw);
	/*
	 * The first drop costs what the second object had got (the counter crossed
	 * 5000); the second attempt runs until the counter crosses 11000, in the
	 * third object, whose start is 8192: re-sent is exactly what the bootloader
	 * forgot, c2 - 8192 in all, never the image from zero.
	 */
	written = sim_nrfdfu_get_bytes_written(fx->model);
	g_assert_cmpuint(written, >=, len + 11000 - 8192);
	g_assert_cmpuint(written, <, len + 11000 - 8192 + 64);
}

/* the host dies mid-object, the device keeps its RAM progress: the next attempt finishes that object */
static void
test_resume_mid_object(Fixture *fx, gconstpointer data)
{
	const gsize len = 10000;
	g_autoptr(GBytes) fw = pattern(len, 5);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};

	make_package(fx, &img, 1);
	fx->stop_at = 6000;
	run_attempt(fx, GPOINTER_TO_UINT(data));
	fx->stop_at = 0;
	run_attempt(fx, GPOINTER_TO_UINT(data));
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "application", fw);
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), ==, len);
}

/* a write lost on the line: the object's CRC is off, the object is created and sent again */
static void
test_lost_write_recreates(Fixture *fx, gconstpointer data)
{
	const gsize len = 10000;
	g_autoptr(GBytes) fw = pattern(len, 6);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};

	make_package(fx, &img, 1);
	/* past ping, PRN, MTU, select, create, the init packet, CRC, execute, select, create */
	g_assert_true(sim_fault_plan_add(fx->faults, "drop-request@30", NULL));
	run_attempt(fx, 0);
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "application", fw);
	/* the first object went twice, less the lost write */
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), >, len);
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), <, len + 4096);
}

/*
 * Responses over the model's life: the first attempt's ping, PRN, MTU, select,
 * create, CRC and execute of the init packet, select data, create, CRC and
 * execute of the first object, create of the second (cut off at 6000 bytes);
 * then the second attempt's ping, PRN, MTU, select and execute of the init
 * packet, and its select data: number 18.
 */
#define SECOND_SELECT_DATA 18

static void
interrupt_then_corrupt(Fixture *fx, const char *const *faults)
{
	g_autoptr(GBytes) fw = pattern(10000, 8);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};

	make_package(fx, &img, 1);
	g_assert_true(sim_fault_plan_add(fx->faults, "hangup-at@6000", NULL));
	for (guint i = 0; faults[i] != NULL; i++)
		g_assert_true(sim_fault_plan_add(fx->faults, faults[i], NULL));
	run_attempt(fx, 0);
	g_assert_error(fx->out.error, DFU_ERROR, DFU_STATUS_LINK_LOST);
	run_attempt(fx, 0);
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "application", fw);
}

/*
 * The reported CRC does not match the image: one object back, created again;
 * the create's CRC shows the bootloader really starts at 4096 (its last
 * executed object), and the transfer goes on from there.
 */
static void
test_resume_crc_mismatch(Fixture *fx, gconstpointer data)
{
	const char *const faults[] = {"corrupt-response@" G_STRINGIFY(SECOND_SELECT_DATA), NULL};

	interrupt_then_corrupt(fx, faults);
	g_assert_nonnull(strstr(fx->log->str, "does not match the image; rewinding"));
	g_assert_nonnull(strstr(fx->log->str, "continues at 4096, not 0"));
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), <, 10000 + 6000 - 4096 + 64);
}

/* a second inconsistency in the image (the create's CRC as well): the image starts over */
static void
test_second_inconsistency_restarts(Fixture *fx, gconstpointer data)
{
	const char *const faults[] = {"corrupt-response@" G_STRINGIFY(SECOND_SELECT_DATA),
	                              "corrupt-response@" G_STRINGIFY(20), NULL};

	/* 19 is the create after the rewind, 20 its CRC */
	interrupt_then_corrupt(fx, faults);
	g_assert_nonnull(strstr(fx->log->str, "starting the image over"));
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), >=, 10000 + 6000);
}

/* frames that are no response, before the select answer and amid the upload, are passed over */
static void
test_noise_ignored(Fixture *fx, gconstpointer data)
{
	g_autoptr(GBytes) fw = pattern(6000, 9);
	const Nrf5WriterImage img = {NRF5_IMAGE_APPLICATION, fw, NULL};

	make_package(fx, &img, 1);
	g_assert_true(sim_fault_plan_add(fx->faults, "garbage@4", NULL));
	g_assert_true(sim_fault_plan_add(fx->faults, "garbage@10", NULL));
	run_attempt(fx, 2);
	g_assert_no_error(fx->out.error);
	assert_installed(fx, "application", fw);
	g_assert_nonnull(strstr(fx->log->str, "ignored: not a DFU response"));
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), ==, 6000);
}

typedef struct {
	const char *name;
	Nrf5ImageType type;
	guint32 app_version;
	guint32 hw_version;
	guint32 sd_fwid;
	guint8 extended;
	DfuStatus status;
} Refusal;

static const Refusal refusals[] = {
        {"version-too-low", NRF5_IMAGE_APPLICATION, 5, 0, 0, NRFDFU_EXT_FW_VERSION_FAILURE,
         DFU_STATUS_DEVICE_REFUSED_DOWNGRADE},
        {"hardware-version", NRF5_IMAGE_APPLICATION, 0, 99, 0, NRFDFU_EXT_HW_VERSION_FAILURE,
         DFU_STATUS_UPLOAD_REFUSED},
        /* the package's SoftDevice asks for none present, the device has FWID 0x100 */
        {"softdevice-requirement", NRF5_IMAGE_SOFTDEVICE, 0, 0, 0x100, NRFDFU_EXT_SD_VERSION_FAILURE,
         DFU_STATUS_UPLOAD_REFUSED},
};

static void
test_refusal(Fixture *fx, gconstpointer data)
{
	const Refusal *r = data;
	g_autoptr(GBytes) fw = pattern(3000, 7);
	const Nrf5WriterImage img = {r->type, fw, NULL};
	guint8 result = 0, ext = 0, op = 0;

	fx->config.app_version = r->app_version;
	fx->config.hw_version = r->hw_version;
	fx->config.sd_fwid = r->sd_fwid;
	make_package(fx, &img, 1);
	run_attempt(fx, 0);
	g_assert_error(fx->out.error, DFU_ERROR, (gint)r->status);
	g_assert_nonnull(fx->out.device_error);
	g_assert_true(g_variant_lookup(fx->out.device_error, "nrf-result", "y", &result));
	g_assert_true(g_variant_lookup(fx->out.device_error, "nrf-extended-error", "y", &ext));
	g_assert_true(g_variant_lookup(fx->out.device_error, "opcode", "y", &op));
	g_assert_cmpuint(result, ==, NRFDFU_RESULT_EXTENDED_ERROR);
	g_assert_cmpuint(ext, ==, r->extended);
	g_assert_cmpuint(op, ==, NRFDFU_OP_EXECUTE);
	g_assert_cmpuint(sim_nrfdfu_get_bytes_written(fx->model), ==, 0);
}

/* every refusal lands in the device (100) or bundle (150) range, or is a protocol fault */
static void
test_status_table(void)
{
	for (guint ext = 0; ext <= NRFDFU_EXT_FW_ALREADY_PRESENT; ext++) {
		NrfDfuResponse rsp = {
		        .opcode = NRFDFU_OP_EXECUTE, .result = NRFDFU_RESULT_EXTENDED_ERROR, .extended = ext};
		DfuStatus s = nrfdfu_response_status(&rsp);

		g_assert_true((s >= 100 && s < 200) || s == DFU_STATUS_UP_TO_DATE);
		g_assert_cmpstr(nrfdfu_extended_error_to_string(ext), !=, "unknown extended error");
	}
	for (guint res = 0; res <= NRFDFU_RESULT_EXTENDED_ERROR; res++) {
		NrfDfuResponse rsp = {.opcode = NRFDFU_OP_CREATE, .result = res};

		if (res == 0x09 || res == NRFDFU_RESULT_SUCCESS)
			continue;
		g_assert_cmpuint(dfu_status_kind(nrfdfu_response_status(&rsp)), !=, DFU_STATUS_KIND_OUTCOME);
	}
}

static void
test_crc32(void)
{
	/* the zlib check value */
	g_assert_cmphex(nrfdfu_crc32(0, (const guint8 *)"123456789", 9), ==, 0xCBF43926);
	g_assert_cmphex(nrfdfu_crc32(nrfdfu_crc32(0, (const guint8 *)"1234", 4), (const guint8 *)"56789", 5),
	                ==, 0xCBF43926);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nrfdfu/crc32", test_crc32);
	g_test_add_func("/nrfdfu/status-table", test_status_table);
	g_test_add("/nrfdfu/happy", Fixture, GUINT_TO_POINTER(0), fixture_set_up, test_happy,
	           fixture_tear_down);
	g_test_add("/nrfdfu/happy-prn", Fixture, GUINT_TO_POINTER(4), fixture_set_up, test_happy,
	           fixture_tear_down);
	g_test_add("/nrfdfu/two-images", Fixture, NULL, fixture_set_up, test_two_images, fixture_tear_down);
	g_test_add("/nrfdfu/resume-twice-stale", Fixture, NULL, fixture_set_up, test_resume_twice_stale,
	           fixture_tear_down);
	g_test_add("/nrfdfu/resume-mid-object", Fixture, GUINT_TO_POINTER(0), fixture_set_up,
	           test_resume_mid_object, fixture_tear_down);
	g_test_add("/nrfdfu/resume-mid-object-prn", Fixture, GUINT_TO_POINTER(3), fixture_set_up,
	           test_resume_mid_object, fixture_tear_down);
	g_test_add("/nrfdfu/resume-crc-mismatch", Fixture, NULL, fixture_set_up, test_resume_crc_mismatch,
	           fixture_tear_down);
	g_test_add("/nrfdfu/second-inconsistency-restarts", Fixture, NULL, fixture_set_up,
	           test_second_inconsistency_restarts, fixture_tear_down);
	g_test_add("/nrfdfu/noise-ignored", Fixture, NULL, fixture_set_up, test_noise_ignored,
	           fixture_tear_down);
	g_test_add("/nrfdfu/lost-write-recreates", Fixture, NULL, fixture_set_up, test_lost_write_recreates,
	           fixture_tear_down);
	for (gsize i = 0; i < G_N_ELEMENTS(refusals); i++) {
		g_autofree char *path = g_strdup_printf("/nrfdfu/refusal/%s", refusals[i].name);
		g_test_add(path, Fixture, &refusals[i], fixture_set_up, test_refusal, fixture_tear_down);
	}
	return g_test_run();
}
