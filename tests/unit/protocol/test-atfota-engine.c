/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "atfota-engine.h"
#include "dfu-error.h"
#include "engine-outcome.h"
#include "sim-atmodem.h"

/* the engine against the simulator's modem model over the in-memory transport */
typedef struct {
	EngineOutcome out;
	DfuTransport *end; /* the modem's side */
	SimAtModem *modem;
	gsize bytes_sent; /* by the host */
	guint max_percent;
	gboolean saw_resetting;
	GVariant *identity; /* what the engine asked the job to keep */
} Fixture;

static void
on_modem_output(const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;
	dfu_transport_send(f->end, data, len, NULL);
}

static void
on_end_packet(DfuTransport *t, const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;

	f->bytes_sent += len;
	sim_atmodem_input(f->modem, data, len);
}

static const DfuTransportCallbacks end_callbacks = {
        .opened = engine_test_ignore_link_event,
        .packet = on_end_packet,
        .closed = engine_test_ignore_link_event,
};

static void
on_phase(DfuEngine *engine, DfuJobPhase phase, gpointer user_data)
{
	Fixture *f = user_data;
	f->saw_resetting |= phase == DFU_JOB_PHASE_RESETTING;
}

static void
on_progress(DfuEngine *engine, guint64 done, guint64 total, gpointer user_data)
{
	Fixture *f = user_data;

	g_assert_cmpuint(done, <=, total);
	f->max_percent = MAX(f->max_percent, (guint)(done * 100 / total));
}

static void
on_done(DfuEngine *engine, guint result, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *f = user_data;

	engine_outcome_take(&f->out, result, error, device_error);
}

static void
on_identity(DfuEngine *engine, GVariant *identity, gpointer user_data)
{
	Fixture *f = user_data;

	g_clear_pointer(&f->identity, g_variant_unref);
	f->identity = g_variant_ref_sink(identity);
}

static const DfuEngineCallbacks engine_callbacks = {
        .phase = on_phase,
        .progress = on_progress,
        .identity = on_identity,
        .done = on_done,
};

static const AtfotaOptions base_options = {
        .op = 1,
        .url = "http://192.0.2.1/app_update.bin",
        .confirm = TRUE,
        .terminator = AT_TERMINATOR_CR,
        .command_timeout_ms = 300,
        .ready_timeout_ms = 100,
        .probes = 3,
        .stall_timeout_ms = 150,
        .stall_retries = 2,
        .reset_timeout_ms = 1000,
        .result_timeout_ms = 1000,
};

static const SimAtModemConfig base_modem = {
        .terminator = "\r",
        .version = "1.0.0",
        .new_version = "2.0.0",
        .boot_ms = 20,
        .step_ms = 5,
        .step_percent = 20,
};

/* a host (another run of the daemon) attaches to the module as it is */
static void
fixture_attach(Fixture *f, const AtfotaOptions *options)
{
	DfuTransport *host = NULL;
	g_autoptr(DfuEngine) engine = NULL;

	g_clear_pointer(&f->end, dfu_transport_free);
	f->end = engine_test_device_end(&end_callbacks, f, &host);
	engine = atfota_engine_new(host, options, &engine_callbacks, f);
	engine_outcome_run(&f->out, engine);
	g_assert_true(f->out.done);
}

static void
fixture_run(Fixture *f, const AtfotaOptions *options, const SimAtModemConfig *modem)
{
	engine_outcome_init(&f->out);
	f->modem = sim_atmodem_new(modem, on_modem_output, f);
	sim_atmodem_boot(f->modem);
	fixture_attach(f, options);
}

static void
fixture_clear(Fixture *f)
{
	sim_atmodem_free(f->modem);
	dfu_transport_free(f->end);
	engine_outcome_clear(&f->out);
	g_clear_pointer(&f->identity, g_variant_unref);
}

static void
test_ops(void)
{
	static const struct {
		guint op;
		gboolean serial_modem;
		gboolean no_modem_reset;
		gboolean modem_reset; /* expected instead of the reset of the whole module */
	} cases[] = {
	        {1, FALSE, FALSE, FALSE},
	        {2, FALSE, FALSE, TRUE},
	        {3, FALSE, FALSE, TRUE},
	        {1, TRUE, FALSE, FALSE},
	        {5, TRUE, FALSE, FALSE},
	        {3, TRUE, FALSE, TRUE},
	        /* early Serial LTE Modem firmware has no modem reset */
	        {2, FALSE, TRUE, FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;
		g_autofree char *expected = NULL;

		opt.op = cases[i].op;
		modem.serial_modem = cases[i].serial_modem;
		modem.no_modem_reset = cases[i].no_modem_reset;
		fixture_run(&f, &opt, &modem);
		g_assert_no_error(f.out.error);
		g_assert_cmpuint(f.out.result, ==, DFU_STATUS_SUCCESS);
		g_assert_cmpuint(f.max_percent, ==, 100);
		g_assert_true(f.saw_resetting);
		g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "2.0.0");
		g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 1);
		/* a modem image needs only the modem reset, which leaves the modem to be switched on */
		g_assert_cmpuint(sim_atmodem_get_modem_resets(f.modem), ==, cases[i].modem_reset);
		g_assert_cmpuint(sim_atmodem_get_resets(f.modem), ==, !cases[i].modem_reset);
		g_assert_false(sim_atmodem_get_modem_off(f.modem));
		fixture_clear(&f);
	}
}

/*
 * The host went away after the module reported 4,0 (a daemon killed, an
 * attempt ended at staged): Serial Modem refuses another start until the
 * reset, and the next attempt finishes the update without a second download.
 */
static void
test_adopts_downloaded_image(void)
{
	static const guint ops[] = {1, 2};

	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;

		opt.op = ops[i];
		opt.confirm = FALSE;
		modem.serial_modem = TRUE;
		fixture_run(&f, &opt, &modem);
		g_assert_no_error(f.out.error);
		g_assert_cmpuint(f.out.result, ==, DFU_STATUS_STAGED);
		opt.confirm = TRUE;
		fixture_attach(&f, &opt);
		g_assert_no_error(f.out.error);
		g_assert_cmpuint(f.out.result, ==, DFU_STATUS_SUCCESS);
		g_assert_cmpuint(f.max_percent, ==, 100);
		g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 1);
		g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "2.0.0");
		fixture_clear(&f);
	}
}

/*
 * Serial LTE Modem takes a second start while it holds an image and
 * downloads it again: an attempt that knows an earlier one started the
 * download resets the module instead, and gets the held image's result.
 */
static void
test_slm_held_image(void)
{
	Fixture f = {0};
	AtfotaOptions opt = base_options;

	opt.confirm = FALSE;
	fixture_run(&f, &opt, &base_modem);
	g_assert_cmpuint(f.out.result, ==, DFU_STATUS_STAGED);
	g_assert_nonnull(f.identity);
	opt.confirm = TRUE;
	opt.identity = f.identity;
	fixture_attach(&f, &opt);
	g_assert_no_error(f.out.error);
	g_assert_cmpuint(f.out.result, ==, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 1);
	g_assert_cmpuint(sim_atmodem_get_resets(f.modem), ==, 1);
	g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "2.0.0");
	fixture_clear(&f);
}

/* expected-version decides, as a whole version: 2.0 is not 2.0.0, nor the start of 2.0.1 */
static void
test_expected_version(void)
{
	static const struct {
		const char *expected;
		guint result;
		gint code;
	} cases[] = {
	        {"2.0.0", DFU_STATUS_SUCCESS, 0},
	        {"2.0", DFU_STATUS_NONE, DFU_STATUS_WRONG_VERSION},
	        {"1.0.0", DFU_STATUS_UP_TO_DATE, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;

		opt.expected_version = cases[i].expected;
		fixture_run(&f, &opt, &base_modem);
		g_assert_cmpuint(f.out.result, ==, cases[i].result);
		if (cases[i].code != 0)
			g_assert_error(f.out.error, DFU_ERROR, (gint)cases[i].code);
		else
			g_assert_no_error(f.out.error);
		/* a module that runs the expected version already is not touched */
		g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==,
		                 cases[i].result == DFU_STATUS_UP_TO_DATE ? 0 : 1);
		fixture_clear(&f);
	}
}

/* the job's code and the raw notification in DeviceError */
static void
assert_fota_error(Fixture *f, DfuStatus code, guint stage, guint status)
{
	guint got_stage = 99, got_status = 99;

	g_assert_error(f->out.error, DFU_ERROR, (gint)code);
	g_assert_nonnull(f->out.device_error);
	g_assert_true(g_variant_lookup(f->out.device_error, "fota-stage", "u", &got_stage));
	g_assert_true(g_variant_lookup(f->out.device_error, "fota-status", "u", &got_status));
	g_assert_cmpuint(got_stage, ==, stage);
	g_assert_cmpuint(got_status, ==, status);
}

/* what runs after the reset is read and compared with what ran before */
static void
test_version_checked(void)
{
	static const struct {
		guint op;
		const char *new_version;
		gint64 confirm_error;
		DfuStatus code;
		guint status;
		const char *before, *after;
	} cases[] = {
	        {1, "1.0.0", 0, DFU_STATUS_ROLLED_BACK, 0, "#XSLMVER: \"1.0.0\"", "#XSLMVER: \"1.0.0\""},
	        {2, "1.0.0", 0, DFU_STATUS_ROLLED_BACK, 0, "mfw_nrf9160_1.0.0", "mfw_nrf9160_1.0.0"},
	        {1, "2.0.0", -5, DFU_STATUS_WRONG_VERSION, 1, "#XSLMVER: \"1.0.0\"", "#XSLMVER: \"2.0.0\""},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;
		const char *before = NULL, *after = NULL;

		opt.op = cases[i].op;
		modem.new_version = cases[i].new_version;
		modem.confirm_error = cases[i].confirm_error;
		fixture_run(&f, &opt, &modem);
		assert_fota_error(&f, cases[i].code, 5, cases[i].status);
		g_assert_true(g_variant_lookup(f.out.device_error, "version-before", "&s", &before));
		g_assert_true(g_variant_lookup(f.out.device_error, "version-after", "&s", &after));
		g_assert_cmpstr(before, ==, cases[i].before);
		g_assert_cmpstr(after, ==, cases[i].after);
		fixture_clear(&f);
	}
}

/* Serial LTE Modem has no bootloader op: refused once the module said what it offers */
static void
test_op_not_offered(void)
{
	Fixture f = {0};
	AtfotaOptions opt = base_options;

	opt.op = 5;
	fixture_run(&f, &opt, &base_modem);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 0);
	fixture_clear(&f);
}

static void
test_stall_resumes(void)
{
	Fixture f = {0};
	SimAtModemConfig modem = base_modem;

	modem.stall_at = 40;
	fixture_run(&f, &base_options, &modem);
	g_assert_no_error(f.out.error);
	g_assert_cmpuint(f.out.result, ==, DFU_STATUS_SUCCESS);
	g_assert_cmpuint(sim_atmodem_get_stops(f.modem), ==, 1);
	g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 2);
	fixture_clear(&f);
}

static void
test_https_needs_sec_tag(void)
{
	Fixture f = {0};
	AtfotaOptions opt = base_options;

	opt.url = "https://192.0.2.1/app_update.bin";
	fixture_run(&f, &opt, &base_modem);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_cmpuint(f.bytes_sent, ==, 0);
	fixture_clear(&f);
}

static void
test_start_command(void)
{
	Fixture f = {0};
	AtfotaOptions opt = base_options;
	SimAtModemConfig modem = base_modem;

	opt.url = "https://192.0.2.1/app_update.bin";
	opt.has_sec_tag = TRUE;
	opt.sec_tag = 42;
	opt.has_pdn = TRUE;
	opt.pdn = 1;
	opt.confirm = FALSE;
	opt.terminator = AT_TERMINATOR_CRLF;
	modem.terminator = "\r\n";
	fixture_run(&f, &opt, &modem);
	g_assert_no_error(f.out.error);
	g_assert_cmpuint(f.out.result, ==, DFU_STATUS_STAGED);
	g_assert_cmpstr(sim_atmodem_get_last_start(f.modem), ==,
	                "AT#XFOTA=1,\"https://192.0.2.1/app_update.bin\",42,1");
	g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "1.0.0");
	fixture_clear(&f);
}

/* a module built for another terminator never hears a command */
static void
test_wrong_terminator(void)
{
	Fixture f = {0};
	SimAtModemConfig modem = base_modem;

	modem.terminator = "\n";
	modem.boot_ms = 5000;
	fixture_run(&f, &base_options, &modem);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	fixture_clear(&f);
}

/* a module whose firmware failed to start says so instead of Ready */
static void
test_init_error(void)
{
	Fixture f = {0};
	SimAtModemConfig modem = base_modem;

	modem.init_error = TRUE;
	fixture_run(&f, &base_options, &modem);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_DEVICE_ERROR);
	g_assert_nonnull(strstr(f.out.error->message, "INIT ERROR"));
	fixture_clear(&f);
}

static void
test_failures(void)
{
	static const struct {
		guint download_error;
		gint64 activation_error;
		gboolean revert;
		DfuStatus code;
		guint stage, status;
	} cases[] = {
	        {1, 0, FALSE, DFU_STATUS_FETCH_FAILED, 1, 1},
	        {2, 0, FALSE, DFU_STATUS_IMAGE_REJECTED, 1, 1},
	        {3, 0, FALSE, DFU_STATUS_UNSUPPORTED_BUNDLE, 1, 1},
	        {4, 0, FALSE, DFU_STATUS_DEVICE_ERROR, 1, 1},
	        {0, 71303169, FALSE, DFU_STATUS_DEVICE_ERROR, 5, 1},
	        {0, 71303170, FALSE, DFU_STATUS_DEVICE_ERROR, 5, 1},
	        {0, 71303171, FALSE, DFU_STATUS_IMAGE_REJECTED, 5, 1},
	        {0, 71303172, FALSE, DFU_STATUS_DEVICE_MISMATCH, 5, 1},
	        {0, 71303173, FALSE, DFU_STATUS_DEVICE_BUSY, 4, 1},
	        {0, -9, FALSE, DFU_STATUS_ROLLED_BACK, 5, 1},
	        {0, 0, TRUE, DFU_STATUS_ROLLED_BACK, 5, 3},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		SimAtModemConfig modem = base_modem;

		modem.download_error = cases[i].download_error;
		modem.activation_error = cases[i].activation_error;
		modem.revert = cases[i].revert;
		fixture_run(&f, &base_options, &modem);
		assert_fota_error(&f, cases[i].code, cases[i].stage, cases[i].status);
		g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "1.0.0");
		fixture_clear(&f);
	}
}

/* an image of size bytes in a file: an MCUboot header's magic and version (2.3.4) or none */
static char *
write_image(gboolean mcuboot, gsize size)
{
	g_autofree guint8 *data = g_malloc(size);
	char *path = NULL;
	int fd = g_file_open_tmp("atfota-push-XXXXXX", &path, NULL);

	g_assert_cmpint(fd, >=, 0);
	close(fd);
	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)(i * 7);
	if (mcuboot) {
		static const guint8 head[] = {0x3d, 0xb8, 0xf3, 0x96};
		static const guint8 version[] = {2, 3, 4, 0};

		memcpy(data, head, sizeof(head));
		memcpy(data + 20, version, sizeof(version));
	}
	g_assert_true(g_file_set_contents(path, (const char *)data, size, NULL));
	return path;
}

static void
test_push(void)
{
	static const struct {
		guint op;
		gboolean mcuboot;
		guint write_error;
		const char *version; /* what runs afterwards */
		gboolean modem_reset;
	} cases[] = {
	        {1, TRUE, 0, "2.3.4", FALSE},
	        /* a chunk the module fails is written again */
	        {1, TRUE, 3, "2.3.4", FALSE},
	        {2, FALSE, 0, "2.0.0", TRUE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;
		g_autofree char *path = write_image(cases[i].mcuboot, 5000);

		opt.op = cases[i].op;
		opt.url = NULL;
		opt.file = path;
		opt.push_chunk_size = 1024;
		modem.serial_modem = TRUE;
		modem.dfu_write_error = cases[i].write_error;
		fixture_run(&f, &opt, &modem);
		g_assert_no_error(f.out.error);
		g_assert_cmpuint(f.out.result, ==, DFU_STATUS_SUCCESS);
		g_assert_cmpuint(f.max_percent, ==, 100);
		g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, cases[i].version);
		g_assert_cmpuint(sim_atmodem_get_dfu_inits(f.modem), ==, 1);
		g_assert_cmpuint(sim_atmodem_get_dfu_applies(f.modem), ==, 1);
		g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 0);
		g_assert_cmpuint(sim_atmodem_get_modem_resets(f.modem), ==, cases[i].modem_reset);
		g_unlink(path);
		fixture_clear(&f);
	}
}

/* refused before any DFU command: firmware without the commands, an image of the wrong kind */
static void
test_push_refused(void)
{
	static const struct {
		guint op;
		gboolean mcuboot;
		gboolean serial_modem;
		gboolean no_dfu;
		DfuStatus code;
		gboolean silent; /* not a byte went to the module */
	} cases[] = {
	        {1, TRUE, FALSE, FALSE, DFU_STATUS_PUSH_NOT_SUPPORTED, FALSE},
	        {1, TRUE, TRUE, TRUE, DFU_STATUS_PUSH_NOT_SUPPORTED, FALSE},
	        {2, TRUE, TRUE, FALSE, DFU_STATUS_IMAGE_KIND_MISMATCH, TRUE},
	        {1, FALSE, TRUE, FALSE, DFU_STATUS_IMAGE_KIND_MISMATCH, TRUE},
	        {3, FALSE, TRUE, FALSE, DFU_STATUS_NOT_SUPPORTED, TRUE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;
		g_autofree char *path = write_image(cases[i].mcuboot, 3000);

		opt.op = cases[i].op;
		opt.url = NULL;
		opt.file = path;
		modem.serial_modem = cases[i].serial_modem;
		modem.no_dfu = cases[i].no_dfu;
		fixture_run(&f, &opt, &modem);
		g_assert_error(f.out.error, DFU_ERROR, (gint)cases[i].code);
		g_assert_cmpuint(sim_atmodem_get_dfu_inits(f.modem), ==, 0);
		g_assert_cmpuint(sim_atmodem_get_starts(f.modem), ==, 0);
		if (cases[i].silent)
			g_assert_cmpuint(f.bytes_sent, ==, 0);
		g_unlink(path);
		fixture_clear(&f);
	}
}

/* the module fails the push: the image does not fit, a write keeps failing; the old firmware runs on */
static void
test_push_fails(void)
{
	static const struct {
		guint64 max_size;
		guint write_error;
	} cases[] = {
	        {4000, 0},
	        {0, 2},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f = {0};
		AtfotaOptions opt = base_options;
		SimAtModemConfig modem = base_modem;
		g_autofree char *path = write_image(TRUE, 5000);

		opt.url = NULL;
		opt.file = path;
		opt.push_chunk_size = 1024;
		opt.stall_retries = 0;
		modem.serial_modem = TRUE;
		modem.dfu_max_size = cases[i].max_size;
		modem.dfu_write_error = cases[i].write_error;
		fixture_run(&f, &opt, &modem);
		g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_PUSH_FAILED);
		g_assert_cmpuint(sim_atmodem_get_dfu_applies(f.modem), ==, 0);
		g_assert_cmpuint(sim_atmodem_get_resets(f.modem), ==, 0);
		g_assert_cmpstr(sim_atmodem_get_version(f.modem), ==, "1.0.0");
		g_unlink(path);
		fixture_clear(&f);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/atfota/ops", test_ops);
	g_test_add_func("/atfota/op-not-offered", test_op_not_offered);
	g_test_add_func("/atfota/stall-resumes", test_stall_resumes);
	g_test_add_func("/atfota/https-needs-sec-tag", test_https_needs_sec_tag);
	g_test_add_func("/atfota/start-command", test_start_command);
	g_test_add_func("/atfota/wrong-terminator", test_wrong_terminator);
	g_test_add_func("/atfota/init-error", test_init_error);
	g_test_add_func("/atfota/failures", test_failures);
	g_test_add_func("/atfota/adopts-downloaded-image", test_adopts_downloaded_image);
	g_test_add_func("/atfota/version-checked", test_version_checked);
	g_test_add_func("/atfota/slm-held-image", test_slm_held_image);
	g_test_add_func("/atfota/expected-version", test_expected_version);
	g_test_add_func("/atfota/push", test_push);
	g_test_add_func("/atfota/push-refused", test_push_refused);
	g_test_add_func("/atfota/push-fails", test_push_fails);
	return g_test_run();
}
