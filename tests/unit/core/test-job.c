/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-job-private.h"
#include "dfu-target.h"
#include "test-util.h"

static void
count_changed_cb(DfuJob *job, guint mask, gpointer user_data)
{
	GArray *masks = user_data;
	g_array_append_val(masks, mask);
}

static DfuJob *
job_new_default(void)
{
	DfuJobOptions options = {.confirm = TRUE, .max_attempts = 5, .name = (char *)"app.zip"};
	return dfu_job_new(7, "serial:/dev/ttyACM0", "app.zip", "/cache/x.bundle", &options);
}

static void
test_job_changed_masks(void)
{
	g_autoptr(DfuJob) job = job_new_default();
	g_autoptr(GArray) masks = g_array_new(FALSE, FALSE, sizeof(guint));

	g_signal_connect(job, "changed", G_CALLBACK(count_changed_cb), masks);
	dfu_job_set_state(job, DFU_JOB_STATE_QUEUED);
	g_assert_cmpuint(masks->len, ==, 0);
	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	g_assert_cmpuint(masks->len, ==, 1);
	g_assert_cmpuint(g_array_index(masks, guint, 0), ==,
	                 DFU_JOB_CHANGED_STATE | DFU_JOB_CHANGED_TIMESTAMPS);
	g_assert_cmpint(dfu_job_get_started(job), >, 0);

	dfu_job_set_phase(job, DFU_JOB_PHASE_UPLOADING);
	dfu_job_set_phase(job, DFU_JOB_PHASE_UPLOADING);
	g_assert_cmpuint(masks->len, ==, 2);
	g_assert_cmpuint(g_array_index(masks, guint, 1), ==, DFU_JOB_CHANGED_PHASE);

	dfu_job_set_progress(job, 0, 1000);
	g_assert_cmpuint(g_array_index(masks, guint, 2), ==, DFU_JOB_CHANGED_PROGRESS);
	dfu_job_set_progress(job, 250, 0);
	g_assert_cmpuint(dfu_job_get_bytes_total(job), ==, 1000);
	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 25);
	g_assert_cmpuint(masks->len, ==, 4);

	dfu_job_set_attempt(job, 2);
	g_assert_cmpuint(g_array_index(masks, guint, 4), ==, DFU_JOB_CHANGED_ATTEMPT);
	dfu_job_set_attempt(job, 2);
	g_assert_cmpuint(masks->len, ==, 5);

	dfu_job_set_result(job, DFU_STATUS_LINK_LOST, "gone", NULL);
	g_assert_cmpuint(g_array_index(masks, guint, 5), ==, DFU_JOB_CHANGED_RESULT);
	dfu_job_set_result(job, DFU_STATUS_LINK_LOST, "gone", NULL);
	g_assert_cmpuint(masks->len, ==, 6);

	dfu_job_set_state(job, DFU_JOB_STATE_FAILED);
	g_assert_cmpuint(g_array_index(masks, guint, 6) & DFU_JOB_CHANGED_TIMESTAMPS, !=, 0);
	g_assert_true(dfu_job_is_finished(job));
	g_assert_cmpint(dfu_job_get_finished(job), >=, dfu_job_get_started(job));
}

static void
test_job_rate(void)
{
	g_autoptr(DfuJob) job = job_new_default();
	const gint64 s = G_USEC_PER_SEC;

	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	dfu_job_set_progress_at(job, 0, 100000, 10 * s);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 0);
	dfu_job_set_progress_at(job, 1000, 0, 11 * s);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 1000);
	dfu_job_set_progress_at(job, 3000, 0, 12 * s);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 1500);
	/* a long burst later: the old samples leave the window */
	dfu_job_set_progress_at(job, 23000, 0, 22 * s);
	dfu_job_set_progress_at(job, 27000, 0, 23 * s);
	dfu_job_set_progress_at(job, 31000, 0, 24 * s);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 4000);
	/* going back (resume from a lower offset) restarts the window */
	dfu_job_set_progress_at(job, 1000, 0, 25 * s);
	dfu_job_set_progress_at(job, 3000, 0, 26 * s);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 2000);
	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 3);
	dfu_job_set_state(job, DFU_JOB_STATE_QUEUED);
	g_assert_cmpuint(dfu_job_get_bytes_per_second(job), ==, 0);
}

static void
test_job_percentage(void)
{
	g_autoptr(DfuJob) job = job_new_default();

	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 0);
	dfu_job_set_progress(job, 5000, 4000);
	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 100);
	dfu_job_set_progress(job, G_MAXUINT64 / 2, G_MAXUINT64);
	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 50);
	dfu_job_set_progress(job, G_MAXUINT64 - 1, 0);
	g_assert_cmpuint(dfu_job_get_percentage(job), ==, 99);
}

static void
test_job_json_round_trip(void)
{
	g_autoptr(DfuJob) job = job_new_default();
	g_autoptr(DfuJob) copy = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariantBuilder) builder = g_variant_builder_new(G_VARIANT_TYPE_VARDICT);
	g_autofree char *json = NULL;
	g_autofree char *json2 = NULL;
	g_autoptr(GPtrArray) job_history = NULL;
	g_autoptr(GPtrArray) copy_history = NULL;
	GVariant *dev;
	gint64 rc = 0;
	guint32 smp_rc = 0;
	const char *group = NULL;

	g_variant_builder_add(builder, "{sv}", "rc", g_variant_new_int64(3));
	g_variant_builder_add(builder, "{sv}", "smp-rc", g_variant_new_uint32(10));
	g_variant_builder_add(builder, "{sv}", "group", g_variant_new_string("img"));
	dfu_job_set_state(job, DFU_JOB_STATE_RUNNING);
	dfu_job_set_phase(job, DFU_JOB_PHASE_TESTING);
	dfu_job_set_progress(job, 400, 800);
	dfu_job_set_attempt(job, 2);
	dfu_job_set_signature_path(job, "/cache/x.sig");
	dfu_job_set_result(job, DFU_STATUS_TEST_REFUSED, "no \"test\" for you",
	                   g_variant_builder_end(builder));
	dfu_job_log(job, "line %d", 1);
	dfu_job_log(job, "tab\tand newline\n");
	dfu_job_set_state(job, DFU_JOB_STATE_FAILED);

	json = dfu_job_to_json(job);
	copy = dfu_job_new_from_json(json, &error);
	g_assert_no_error(error);
	g_assert_nonnull(copy);
	g_assert_cmpuint(dfu_job_get_id(copy), ==, 7);
	g_assert_cmpstr(dfu_job_get_target(copy), ==, "serial:/dev/ttyACM0");
	g_assert_cmpstr(dfu_job_get_source(copy), ==, "app.zip");
	g_assert_cmpstr(dfu_job_get_bundle_path(copy), ==, "/cache/x.bundle");
	g_assert_cmpstr(dfu_job_get_signature_path(copy), ==, "/cache/x.sig");
	g_assert_true(dfu_job_get_options(copy)->confirm);
	g_assert_false(dfu_job_get_options(copy)->force);
	g_assert_cmpuint(dfu_job_get_options(copy)->max_attempts, ==, 5);
	g_assert_cmpstr(dfu_job_get_options(copy)->name, ==, "app.zip");
	g_assert_cmpint(dfu_job_get_state(copy), ==, DFU_JOB_STATE_FAILED);
	g_assert_cmpint(dfu_job_get_phase(copy), ==, DFU_JOB_PHASE_TESTING);
	g_assert_cmpuint(dfu_job_get_bytes_done(copy), ==, 400);
	g_assert_cmpuint(dfu_job_get_bytes_total(copy), ==, 800);
	g_assert_cmpuint(dfu_job_get_percentage(copy), ==, 50);
	g_assert_cmpuint(dfu_job_get_attempt(copy), ==, 2);
	g_assert_cmpuint(dfu_job_get_status_code(copy), ==, DFU_STATUS_TEST_REFUSED);
	g_assert_cmpstr(dfu_job_get_message(copy), ==, "no \"test\" for you");
	g_assert_cmpint(dfu_job_get_created(copy), ==, dfu_job_get_created(job));
	g_assert_cmpint(dfu_job_get_started(copy), ==, dfu_job_get_started(job));
	g_assert_cmpint(dfu_job_get_finished(copy), ==, dfu_job_get_finished(job));
	job_history = dfu_job_list_history(job);
	copy_history = dfu_job_list_history(copy);
	g_assert_cmpuint(copy_history->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(copy_history, 1), ==, g_ptr_array_index(job_history, 1));
	g_assert_true(g_str_has_suffix(g_ptr_array_index(copy_history, 1), "\ttab\tand newline\n"));
	dev = dfu_job_get_device_error(copy);
	g_assert_true(g_variant_lookup(dev, "rc", "x", &rc));
	g_assert_cmpint(rc, ==, 3);
	/* the raw device code keeps its D-Bus type across a restart */
	g_assert_true(g_variant_lookup(dev, "smp-rc", "u", &smp_rc));
	g_assert_cmpuint(smp_rc, ==, 10);
	g_assert_true(g_variant_lookup(dev, "group", "&s", &group));
	g_assert_cmpstr(group, ==, "img");

	json2 = dfu_job_to_json(copy);
	g_assert_cmpstr(json, ==, json2);
}

/* a job without a bundle keeps its kind, and what the engines read of the device merges key by key */
static void
test_job_kind_and_report(void)
{
	g_autoptr(DfuJob) job = dfu_job_new(3, "serial:/dev/ttyACM0", "refresh", NULL, NULL);
	g_autoptr(DfuJob) copy = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *json = NULL;
	GVariantBuilder first, second;
	const char *text = NULL;

	g_assert_cmpint(dfu_job_get_kind(job), ==, DFU_JOB_KIND_UPDATE);
	g_assert_null(dfu_job_get_device_report(job));
	dfu_job_set_kind(job, DFU_JOB_KIND_REFRESH);
	g_variant_builder_init(&first, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&first, "{sv}", "bootloader", g_variant_new_string("MCUboot"));
	g_variant_builder_add(&first, "{sv}", "bootloader-mode", g_variant_new_string("overwrite only"));
	dfu_job_merge_device_report(job, g_variant_builder_end(&first));
	g_variant_builder_init(&second, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&second, "{sv}", "bootloader-mode", g_variant_new_string("swap using move"));
	dfu_job_merge_device_report(job, g_variant_builder_end(&second));

	json = dfu_job_to_json(job);
	copy = dfu_job_new_from_json(json, &error);
	g_assert_no_error(error);
	g_assert_cmpint(dfu_job_get_kind(copy), ==, DFU_JOB_KIND_REFRESH);
	g_assert_cmpstr(dfu_job_kind_to_string(dfu_job_get_kind(copy)), ==, "refresh");
	g_assert_true(g_variant_lookup(dfu_job_get_device_report(copy), "bootloader", "&s", &text));
	g_assert_cmpstr(text, ==, "MCUboot");
	g_assert_true(g_variant_lookup(dfu_job_get_device_report(copy), "bootloader-mode", "&s", &text));
	g_assert_cmpstr(text, ==, "swap using move");
	g_assert_cmpuint(g_variant_n_children(dfu_job_get_device_report(copy)), ==, 2);
}

static void
test_job_json_future_field(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = dfu_job_new_from_json(
	        "{\"id\": 3, \"target\": \"ble:AA:BB:CC:DD:EE:FF\", \"state\": \"queued\","
	        " \"from-the-future\": {\"x\": [1, 2]}, \"options\": {\"later\": true}}",
	        &error);

	g_assert_no_error(error);
	g_assert_nonnull(job);
	g_assert_cmpuint(dfu_job_get_id(job), ==, 3);
	g_assert_true(dfu_job_get_options(job)->confirm);
	g_assert_cmpuint(g_variant_n_children(dfu_job_get_device_error(job)), ==, 0);
	g_assert_null(dfu_job_get_bundle_path(job));
}

static void
test_job_json_malformed(void)
{
	static const char *const documents[] = {
	        "",
	        "not json",
	        "[1, 2]",
	        "{\"target\": \"serial:/dev/x\"}",
	        "{\"id\": 0, \"target\": \"serial:/dev/x\"}",
	        "{\"id\": -4, \"target\": \"serial:/dev/x\"}",
	        "{\"id\": \"1\", \"target\": \"serial:/dev/x\"}",
	        "{\"id\": 1, \"target\": 5}",
	        "{\"id\": 1, \"target\": null}",
	        "{\"id\": 1, \"target\": \"x\", \"state\": \"exploded\"}",
	        "{\"id\": 1, \"target\": \"x\", \"phase\": 3}",
	        "{\"id\": 1, \"target\": \"x\", \"kind\": \"format\"}",
	        "{\"id\": 1, \"target\": \"x\", \"device-report\": \"[1]\"}",
	        "{\"id\": 1, \"target\": \"x\", \"history\": [\"ok\", 4]}",
	        "{\"id\": 1, \"target\": \"x\", \"history\": \"line\"}",
	        "{\"id\": 1, \"target\": \"x\", \"device-error\": [1]}",
	        "{\"id\": 1, \"target\": \"x\", \"options\": {\"force\": \"yes\"}}",
	        "{\"id\": 1, \"target\": \"x\", \"attempt\": 99999999999}",
	        "{\"id\": 1, \"target\": \"x\", \"bytes-done\": 1.5}",
	        "{\"id\": 1, \"target\": \"x\"",
	};

	for (guint i = 0; i < G_N_ELEMENTS(documents); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuJob) job = dfu_job_new_from_json(documents[i], &error);

		g_assert_null(job);
		g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	}
}

/* a corrupt job file that nests a million levels must not take json-glib past the stack */
static void
test_job_json_deep(void)
{
	static const char *const units[] = {"[", "{\"id\":"};
	static const char *const messages[] = {"job file nests deeper than 64 levels",
	                                       "job file is 6000000 bytes, more than the 1048576 allowed"};

	for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
		g_autoptr(GBytes) deep = dfu_test_repeat(units[i], strlen(units[i]), 1000000);
		g_autoptr(GBytes) text = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuJob) job = NULL;
		GByteArray *buf = g_bytes_unref_to_array(g_steal_pointer(&deep));

		g_byte_array_append(buf, (const guint8 *)"", 1);
		text = g_byte_array_free_to_bytes(buf);
		job = dfu_job_new_from_json(g_bytes_get_data(text, NULL), &error);
		g_assert_null(job);
		g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
		g_assert_cmpstr(error->message, ==, messages[i]);
	}
}

static void
test_job_history_bounded(void)
{
	g_autoptr(DfuJob) job = job_new_default();
	g_autoptr(GPtrArray) history = NULL;

	for (guint i = 0; i < 250; i++)
		dfu_job_log(job, "line %u", i);
	history = dfu_job_list_history(job);
	g_assert_cmpuint(history->len, ==, 200);
	g_assert_true(g_str_has_suffix(g_ptr_array_index(history, 0), "\tline 50"));
	g_assert_true(g_str_has_suffix(g_ptr_array_index(history, 199), "\tline 249"));
}

static void
test_job_names(void)
{
	DfuJobState state;
	DfuJobPhase phase;

	g_assert_cmpstr(dfu_job_state_to_string(DFU_JOB_STATE_CANCELLED), ==, "cancelled");
	g_assert_cmpstr(dfu_job_phase_to_string(DFU_JOB_PHASE_NONE), ==, "");
	g_assert_cmpstr(dfu_job_phase_to_string(DFU_JOB_PHASE_INSPECTING), ==, "inspecting");
	g_assert_true(dfu_job_state_from_string("succeeded", &state));
	g_assert_cmpint(state, ==, DFU_JOB_STATE_SUCCEEDED);
	g_assert_false(dfu_job_state_from_string("done", &state));
	g_assert_true(dfu_job_phase_from_string("confirming", &phase));
	g_assert_cmpint(phase, ==, DFU_JOB_PHASE_CONFIRMING);
	g_assert_false(dfu_job_phase_from_string(NULL, &phase));
}

static void
test_job_fota_options(void)
{
	static const struct {
		guint protocol;
		const char *url;
		DfuJobOptions options;
		const char *refusal; /* NULL: accepted */
	} cases[] = {
	        {DFU_PROTOCOL_SMP, NULL, {.confirm = TRUE}, NULL},
	        {DFU_PROTOCOL_SMP, "https://h/a.bin", {.has_sec_tag = TRUE}, "atfota targets only"},
	        {DFU_PROTOCOL_NRFDFU, NULL, {.fota_op = 1}, "atfota targets only"},
	        {DFU_PROTOCOL_ATFOTA, "http://h/a.bin", {.fota_op = 0}, NULL},
	        {DFU_PROTOCOL_ATFOTA, "http://h/m.bin", {.fota_op = 5, .has_pdn = TRUE}, NULL},
	        {DFU_PROTOCOL_ATFOTA, "https://h/a.bin", {.has_sec_tag = TRUE, .sec_tag = 0}, NULL},
	        {DFU_PROTOCOL_ATFOTA, "https://h/a.bin", {.fota_op = 2}, "needs the sec-tag option"},
	        {DFU_PROTOCOL_ATFOTA, "http://h/a.bin", {.fota_op = 4}, "fota-op 4 is none of"},
	        /* a file is pushed: the options of the module's own download do not go with it */
	        {DFU_PROTOCOL_ATFOTA, NULL, {.confirm = TRUE}, NULL},
	        {DFU_PROTOCOL_ATFOTA, NULL, {.fota_op = 2}, NULL},
	        {DFU_PROTOCOL_ATFOTA, NULL, {.has_sec_tag = TRUE}, "not to a file"},
	        {DFU_PROTOCOL_ATFOTA, NULL, {.has_pdn = TRUE}, "not to a file"},
	        {DFU_PROTOCOL_ATFOTA, NULL, {.fota_op = 3}, "give its URL"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean ok = dfu_job_options_check_protocol(&cases[i].options, cases[i].protocol,
		                                             cases[i].url, &error);

		if (cases[i].refusal == NULL) {
			g_assert_no_error(error);
			g_assert_true(ok);
			continue;
		}
		g_assert_false(ok);
		g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, cases[i].refusal));
	}
}

/* sec-tag 0 is a tag like any other: its presence survives a restart */
static void
test_job_fota_options_json(void)
{
	DfuJobOptions options = {.confirm = TRUE, .fota_op = 2, .has_sec_tag = TRUE, .sec_tag = 0};
	g_autoptr(DfuJob) job =
	        dfu_job_new(7, "serial:/dev/ttyACM1?protocol=atfota", "m.bin", NULL, &options);
	g_autoptr(GError) error = NULL;
	g_autofree char *json = dfu_job_to_json(job);
	g_autoptr(DfuJob) copy = dfu_job_new_from_json(json, &error);
	const DfuJobOptions *o;

	g_assert_no_error(error);
	o = dfu_job_get_options(copy);
	g_assert_cmpuint(o->fota_op, ==, 2);
	g_assert_true(o->has_sec_tag);
	g_assert_cmpuint(o->sec_tag, ==, 0);
	g_assert_false(o->has_pdn);
}

/* a job file holds what the job has: members at their defaults are left out and read back as such */
static void
test_job_json_compact(void)
{
	DfuJobOptions options = {.confirm = FALSE};
	g_autoptr(DfuJob) job = dfu_job_new(12, "serial:/dev/ttyACM0", "", "/c/b.bundle", &options);
	g_autoptr(GError) error = NULL;
	g_autofree char *json = NULL;
	g_autoptr(DfuJob) copy = NULL;

	dfu_job_set_phase(job, DFU_JOB_PHASE_WAITING);
	json = dfu_job_to_json(job);
	g_test_message("%s", json);
	g_assert_null(strchr(json, '\n'));
	g_assert_null(strstr(json, "bytes-done"));
	g_assert_null(strstr(json, "device-error"));
	g_assert_null(strstr(json, "\"source\""));
	g_assert_null(strstr(json, "\"force\""));
	g_assert_nonnull(strstr(json, "\"confirm\":false"));
	g_assert_cmpuint(strlen(json), <, 200);
	copy = dfu_job_new_from_json(json, &error);
	g_assert_no_error(error);
	g_assert_false(dfu_job_get_options(copy)->confirm);
	g_assert_cmpstr(dfu_job_get_source(copy), ==, "");
	g_assert_cmpstr(dfu_job_get_message(copy), ==, "");
	g_assert_cmpuint(g_variant_n_children(dfu_job_get_device_error(copy)), ==, 0);
	g_assert_null(dfu_job_get_device_identity(copy));
	g_assert_cmpint(dfu_job_get_phase(copy), ==, DFU_JOB_PHASE_WAITING);
	g_assert_cmpint(dfu_job_get_created(copy), ==, dfu_job_get_created(job));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/core/job/changed-masks", test_job_changed_masks);
	g_test_add_func("/core/job/rate", test_job_rate);
	g_test_add_func("/core/job/percentage", test_job_percentage);
	g_test_add_func("/core/job/json-round-trip", test_job_json_round_trip);
	g_test_add_func("/core/job/json-compact", test_job_json_compact);
	g_test_add_func("/core/job/kind-and-report", test_job_kind_and_report);
	g_test_add_func("/core/job/json-future-field", test_job_json_future_field);
	g_test_add_func("/core/job/json-malformed", test_job_json_malformed);
	g_test_add_func("/core/job/json-deep", test_job_json_deep);
	g_test_add_func("/core/job/history-bounded", test_job_history_bounded);
	g_test_add_func("/core/job/names", test_job_names);
	g_test_add_func("/core/job/fota-options", test_job_fota_options);
	g_test_add_func("/core/job/fota-options-json", test_job_fota_options_json);
	return g_test_run();
}
