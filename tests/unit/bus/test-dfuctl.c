/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "mcuboot-writer.h"
#include "nrf5-writer.h"
#include "dfuctl-args.h"
#include "dfuctl-inspect.h"
#include "dfuctl-job.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"
#include "dfuctl-fleet.h"
#include "dfuctl-progress.h"
#include "dfuctl-summary.h"
#include "dfuctl-table.h"

static DfuctlJob *
job_new(const char *state, const char *phase, guint percentage)
{
	DfuctlJob *job = dfuctl_job_new("/org/dfud1/job/7");
	g_autoptr(GVariant) props = g_variant_ref_sink(g_variant_new_parsed(
	        "{'Id': <@t 7>, 'State': <%s>, 'Phase': <%s>, 'Percentage': <%u>, 'BytesDone': <@t 2048>,"
	        " 'BytesTotal': <@t 4096>, 'BytesPerSecond': <@t 1024>, 'Target': <'serial:/dev/ttyACM0'>}",
	        state, phase, percentage));

	dfuctl_job_update(job, props);
	return job;
}

static void
test_job_arg(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *from_id = dfuctl_job_path_from_arg("12", &error);
	g_autofree char *from_path = dfuctl_job_path_from_arg("/org/dfud1/job/3", &error);
	g_autofree char *bad = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(from_id, ==, "/org/dfud1/job/12");
	g_assert_cmpstr(from_path, ==, "/org/dfud1/job/3");
	g_assert_cmpuint(dfuctl_job_id_from_path(from_path), ==, 3);

	bad = dfuctl_job_path_from_arg("-1", &error);
	g_assert_null(bad);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(dfuctl_job_path_from_arg("/org/dfud1/job/x", &error));
	g_clear_error(&error);
	g_assert_null(dfuctl_job_path_from_arg("0", &error));
}

static void
test_options(void)
{
	const char *good[] = {"confirm=false", "max-attempts=5", "source-name=a=b.bin",
	                      "force=yes",     "sec-tag=42",     NULL};
	const char *unknown[] = {"colour=red", NULL};
	const char *not_number[] = {"max-attempts=-1", NULL};
	const char *no_value[] = {"force", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = g_variant_ref_sink(dfuctl_options_parse(good, &error));
	gboolean flag = TRUE;
	guint32 attempts = 0;
	const char *name = NULL;

	g_assert_no_error(error);
	g_assert_true(g_variant_lookup(options, "confirm", "b", &flag));
	g_assert_false(flag);
	g_assert_true(g_variant_lookup(options, "force", "b", &flag));
	g_assert_true(flag);
	g_assert_true(g_variant_lookup(options, "sec-tag", "u", &attempts));
	g_assert_cmpuint(attempts, ==, 42);
	g_assert_true(g_variant_lookup(options, "max-attempts", "u", &attempts));
	g_assert_cmpuint(attempts, ==, 5);
	g_assert_true(g_variant_lookup(options, "source-name", "&s", &name));
	g_assert_cmpstr(name, ==, "a=b.bin");

	g_assert_null(dfuctl_options_parse(unknown, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "'colour'"));
	g_clear_error(&error);
	g_assert_null(dfuctl_options_parse(not_number, &error));
	g_assert_nonnull(strstr(error->message, "'max-attempts'"));
	g_clear_error(&error);
	g_assert_null(dfuctl_options_parse(no_value, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
}

/* allow-downgrade takes true/false or the images that may go back; "1" is image 1 */
static void
test_option_downgrade_images(void)
{
	const char *all[] = {"allow-downgrade=true", NULL};
	const char *some[] = {"allow-downgrade=1", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) a = g_variant_ref_sink(dfuctl_options_parse(all, &error));
	g_autoptr(GVariant) b = g_variant_ref_sink(dfuctl_options_parse(some, &error));
	gboolean flag = FALSE;
	const char *images = NULL;

	g_assert_no_error(error);
	g_assert_true(g_variant_lookup(a, "allow-downgrade", "b", &flag));
	g_assert_true(flag);
	g_assert_true(g_variant_lookup(b, "allow-downgrade", "&s", &images));
	g_assert_cmpstr(images, ==, "1");
}

static void
test_exit_codes(void)
{
	g_autoptr(GError) not_found = g_error_new_literal(DFU_ERROR, DFU_STATUS_NOT_FOUND, "no such job");
	g_autoptr(GError) denied = g_error_new_literal(DFU_ERROR, DFU_STATUS_PERMISSION_DENIED, "no");

	g_assert_cmpint(dfuctl_exit_code_for_status(DFU_STATUS_SUCCESS), ==, 0);
	g_assert_cmpint(dfuctl_exit_code_for_status(DFU_STATUS_STAGED), ==, 0);
	g_assert_cmpint(dfuctl_exit_code_for_status(DFU_STATUS_UP_TO_DATE), ==, 2);
	g_assert_cmpint(dfuctl_exit_code_for_status(DFU_STATUS_LINK_LOST), ==, 1);
	g_assert_cmpint(dfuctl_exit_code_for_status(DFU_STATUS_CANCELLED), ==, 1);
	g_assert_cmpint(dfuctl_exit_code_for_error(not_found), ==, 3);
	g_assert_cmpint(dfuctl_exit_code_for_error(denied), ==, 1);
}

static void
test_eta(void)
{
	g_autofree char *unknown = dfuctl_format_eta(1000, 0);
	g_autofree char *seconds = dfuctl_format_eta(7000, 1000);
	g_autofree char *minutes = dfuctl_format_eta(65, 1);
	g_autofree char *hours = dfuctl_format_eta(3723, 1);

	g_assert_cmpstr(unknown, ==, "--:--");
	g_assert_cmpstr(seconds, ==, "0:07");
	g_assert_cmpstr(minutes, ==, "1:05");
	g_assert_cmpstr(hours, ==, "1:02:03");
}

static void
test_progress_bar(void)
{
	g_autoptr(DfuctlJob) job = job_new("running", "uploading", 50);
	g_autofree char *bar = dfuctl_progress_bar(job, 10);
	g_autofree char *status = dfuctl_progress_status(job, 0, TRUE);

	g_assert_cmpstr(bar, ==, "[#####-----]");
	g_assert_cmpstr(status, ==, " 50% uploading  1.0\u00a0KiB/s  ETA 0:02");
}

/* the redrawn line never reaches the last column, however narrow the terminal */
static void
test_progress_line_fits(void)
{
	g_autoptr(DfuctlJob) job = job_new("running", "uploading", 50);
	g_autofree char *wide = NULL;
	g_autofree char *narrow = NULL;
	g_autofree char *tiny = NULL;

	dfuctl_job_set_device(job, "kitchen-node");
	wide = dfuctl_progress_line(job, 2, 14, 120, 0);
	g_assert_cmpstr(wide, ==,
	                "job 7   kitchen-node    [############------------]  50% uploading  1.0\u00a0KiB/s  "
	                "ETA 0:02");
	narrow = dfuctl_progress_line(job, 1, 12, 70, 0);
	g_assert_cmpint(g_utf8_strlen(narrow, -1), ==, 69);
	g_assert_true(g_str_has_prefix(narrow, "job 7  kitchen-node  [#"));
	tiny = dfuctl_progress_line(job, 1, 12, 30, 0);
	g_assert_cmpstr(tiny, ==, "job 7  kitchen-node  50% uplo");
}

/* why a job waits, from its state, phase, attempt and retry time */
static void
test_progress_reasons(void)
{
	g_autoptr(DfuctlJob) retry = job_new("queued", "waiting", 40);
	g_autoptr(DfuctlJob) resetting = job_new("running", "resetting", 90);
	g_autoptr(DfuctlJob) reconnecting = job_new("running", "connecting", 0);
	g_autoptr(DfuctlJob) failed = job_new("failed", "uploading", 40);
	g_autoptr(GVariant) retry_props = g_variant_ref_sink(
	        g_variant_new_parsed("{'Attempt': <@u 1>, 'MaxAttempts': <@u 3>, 'RetryAt': <@x 10000000>}"));
	g_autoptr(GVariant) attempt2 =
	        g_variant_ref_sink(g_variant_new_parsed("{'Attempt': <@u 2>, 'MaxAttempts': <@u 3>}"));
	g_autoptr(GVariant) failure = g_variant_ref_sink(
	        g_variant_new_parsed("{'StatusCode': <@u 13>, 'StatusName': <'link-lost'>}"));
	g_autofree char *a = NULL;
	g_autofree char *b = NULL;
	g_autofree char *c = NULL;
	g_autofree char *d = NULL;
	g_autofree char *e = NULL;

	dfuctl_job_update(retry, retry_props);
	dfuctl_job_update(reconnecting, attempt2);
	dfuctl_job_update(failed, failure);
	a = dfuctl_progress_status(retry, 6000001, TRUE);
	g_assert_cmpstr(a, ==, "retry 2 of 3 in 4 s");
	b = dfuctl_progress_status(resetting, 0, TRUE);
	g_assert_cmpstr(b, ==, "device resetting");
	c = dfuctl_progress_status(reconnecting, 0, TRUE);
	g_assert_cmpstr(c, ==, "reconnecting, attempt 2 of 3");
	d = dfuctl_progress_status(failed, 0, TRUE);
	g_assert_cmpstr(d, ==, "failed: link-lost");
	e = dfuctl_progress_line(retry, 1, 1, 80, 6000001);
	g_assert_cmpstr(e, ==, "job 7  serial:/dev/ttyACM0  retry 2 of 3 in 4 s");
}

static void
test_plain_lines(void)
{
	g_auto(DfuctlProgress) progress;
	g_autoptr(DfuctlJob) job = job_new("running", "uploading", 10);
	g_autoptr(DfuctlJob) same_decile = job_new("running", "uploading", 19);
	g_autoptr(DfuctlJob) next_decile = job_new("running", "uploading", 20);
	g_autoptr(DfuctlJob) new_phase = job_new("running", "testing", 20);
	g_autoptr(DfuctlJob) done = job_new("succeeded", "done", 100);
	g_autofree char *first = NULL;
	g_autofree char *second = NULL;
	g_autofree char *third = NULL;
	g_autofree char *last = NULL;

	dfuctl_progress_init(&progress);
	dfuctl_job_set_device(job, "kitchen-node");
	first = dfuctl_progress_plain_line(&progress, job, 0);
	g_assert_cmpstr(first, ==, "job 7 kitchen-node: 10% uploading");
	g_assert_null(dfuctl_progress_plain_line(&progress, same_decile, 0));
	second = dfuctl_progress_plain_line(&progress, next_decile, 0);
	g_assert_cmpstr(second, ==, "job 7 serial:/dev/ttyACM0: 20% uploading");
	third = dfuctl_progress_plain_line(&progress, new_phase, 0);
	g_assert_cmpstr(third, ==, "job 7 serial:/dev/ttyACM0: 20% testing");
	last = dfuctl_progress_plain_line(&progress, done, 0);
	g_assert_cmpstr(last, ==, "job 7 serial:/dev/ttyACM0: succeeded");
}

static void
test_failure_report(void)
{
	g_autoptr(DfuctlJob) job = job_new("failed", "uploading", 40);
	g_autoptr(GVariant) result = g_variant_ref_sink(g_variant_new_parsed(
	        "{'StatusCode': <@u 13>, 'StatusName': <'link-lost'>, 'Message': <'port closed'>,"
	        " 'DeviceError': <{'rc': <@u 3>}>}"));
	const DfuStatusInfo *info = dfu_status_lookup(DFU_STATUS_LINK_LOST);
	g_autofree char *expected = NULL;
	g_autofree char *text = NULL;

	dfuctl_job_update(job, result);
	text = dfuctl_format_result(job);
	expected = g_strdup_printf("dfuctl: job 7 serial:/dev/ttyACM0 failed: link-lost (13): port closed\n"
	                           "device error: rc=3\n"
	                           "hint: %s",
	                           info->hint);
	g_assert_cmpstr(text, ==, expected);
}

static void
test_success_report(void)
{
	g_autoptr(DfuctlJob) job = job_new("succeeded", "done", 100);
	g_autoptr(GVariant) result = g_variant_ref_sink(
	        g_variant_new_parsed("{'StatusCode': <@u 3>, 'StatusName': <'up-to-date'>}"));
	g_autofree char *text = NULL;

	dfuctl_job_update(job, result);
	text = dfuctl_format_result(job);
	g_assert_cmpstr(text, ==, "job 7 serial:/dev/ttyACM0 succeeded: up-to-date (3)");
}

static void
test_update_skips_bad_types(void)
{
	g_autoptr(DfuctlJob) job = job_new("running", "uploading", 30);
	g_autoptr(GVariant) bad = g_variant_ref_sink(
	        g_variant_new_parsed("{'Percentage': <'lots'>, 'State': <@u 1>, 'Other': <1>}"));

	dfuctl_job_update(job, bad);
	g_assert_cmpuint(job->percentage, ==, 30);
	g_assert_cmpstr(job->state, ==, "running");
}

static void
test_json(void)
{
	g_autoptr(DfuctlJob) job = job_new("running", "uploading", 50);
	g_autofree char *line = dfuctl_json_job(job, "changed", NULL);
	g_autofree char *status = dfuctl_json_status(dfu_status_lookup(DFU_STATUS_NO_ROOM));

	g_assert_null(strchr(line, '\n'));
	g_assert_nonnull(strstr(line, "\"Path\":\"/org/dfud1/job/7\""));
	g_assert_nonnull(strstr(line, "\"State\":\"running\""));
	g_assert_nonnull(strstr(line, "\"Percentage\":50"));
	g_assert_nonnull(strstr(line, "\"Event\":\"changed\""));
	g_assert_nonnull(strstr(line, "\"DeviceError\":{}"));
	g_assert_nonnull(strstr(status, "\"Code\":102"));
	g_assert_nonnull(strstr(status, "\"Name\":\"no-room\""));
	g_assert_nonnull(strstr(status, "\"Kind\":\"device\""));
}

static void
test_log_lines(void)
{
	g_autoptr(GVariant) entries = g_variant_ref_sink(
	        g_variant_new_parsed("[(@x 0, 'submitted'), (@x 0, 'attempt 1 started')]"));
	g_autoptr(GVariant) wrong = g_variant_ref_sink(g_variant_new_parsed("['not a log']"));
	g_autofree char *text = dfuctl_format_log(entries);
	g_autofree char *empty = dfuctl_format_log(wrong);

	g_assert_cmpstr(text, ==, "  History:\n    -  submitted\n    -  attempt 1 started\n");
	g_assert_cmpstr(empty, ==, "  History:\n");
}

static void
test_inspect_image(void)
{
	McubootWriterOptions opts = {.version = {2, 1, 0, 7}, .payload_size = 300, .seed = 3};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, &error);
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(image, "app.bin", &error);
	g_autofree char *text = NULL;
	g_autofree char *json = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *root, *first;

	g_assert_no_error(error);
	text = dfuctl_format_plan(plan);
	g_assert_true(g_str_has_prefix(text, "kind: mcuboot-image\nsha256: "));
	g_assert_nonnull(strstr(text, "\nimage 0: app.bin\n  version: 2.1.0.7\n  size: "));
	g_assert_nonnull(strstr(text, "\n  signature: none"));

	json = dfuctl_json_plan(plan);
	g_assert_true(json_parser_load_from_data(parser, json, -1, &error));
	root = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(root, "Kind"), ==, "mcuboot-image");
	first = json_array_get_object_element(json_object_get_array_member(root, "Images"), 0);
	g_assert_cmpstr(json_object_get_string_member(first, "Version"), ==, "2.1.0.7");
	g_assert_cmpint(json_object_get_int_member(first, "Size"), ==, g_bytes_get_size(image));
	g_assert_cmpuint(strlen(json_object_get_string_member(first, "Hash")), ==, 64);
	g_assert_cmpuint(strlen(json_object_get_string_member(first, "FileSha256")), ==, 64);
}

static void
test_inspect_nrf5(void)
{
	g_autoptr(GBytes) app = g_bytes_new_static("firmware", 8);
	Nrf5WriterImage images[] = {{NRF5_IMAGE_APPLICATION, app, NULL}};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = nrf5_writer_zip(images, 1, &error);
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(zip, "pkg.zip", &error);
	g_autofree char *text = NULL;

	g_assert_no_error(error);
	text = dfuctl_format_plan(plan);
	g_assert_nonnull(strstr(text, "kind: nrf5-zip\n"));
	g_assert_nonnull(strstr(text, "\napplication: application.bin\n  size: 8\n"));
}

static void
test_inspect_failure(void)
{
	g_autoptr(GBytes) junk = g_bytes_new_static("junk", 4);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = dfu_plan_load_bytes(junk, "junk.bin", &error);
	g_autofree char *text = NULL;

	g_assert_null(plan);
	text = dfuctl_format_bundle_failure(error);
	g_assert_true(g_str_has_prefix(text, "dfuctl: bundle failed: unsupported-bundle (158): junk.bin: "));
	g_assert_nonnull(strstr(text, "\nhint: "));
}

/* columns as wide as their widest cell, right-aligned where asked, the last one unpadded */
static void
test_table(void)
{
	const char *const headers[] = {">ID", "STATE", "TARGET", NULL};
	const char *const first[] = {"7", "running", "serial:/dev/ttyACM0", NULL};
	const char *const second[] = {"12345", "", "ble:C4:12:34:56:78:9A", NULL};
	g_autoptr(DfuctlTable) table = dfuctl_table_new(headers);
	g_autofree char *text = NULL;

	dfuctl_table_add_row(table, first);
	dfuctl_table_add_row(table, second);
	text = dfuctl_table_format(table);
	g_assert_cmpstr(text, ==,
	                "   ID  STATE    TARGET\n"
	                "    7  running  serial:/dev/ttyACM0\n"
	                "12345  -        ble:C4:12:34:56:78:9A\n");
}

static DfuctlJob *
finished_job(guint64 id, const char *device, const char *state, guint code, const char *name)
{
	g_autofree char *path = g_strdup_printf("/org/dfud1/job/%" G_GUINT64_FORMAT, id);
	DfuctlJob *job = dfuctl_job_new(path);
	g_autoptr(GVariant) props = g_variant_ref_sink(
	        g_variant_new_parsed("{'Id': <%t>, 'State': <%s>, 'StatusCode': <%u>, 'StatusName': <%s>}",
	                             id, state, code, name));

	dfuctl_job_update(job, props);
	dfuctl_job_set_device(job, device);
	return job;
}

/* the summary sorts by device, counts the outcomes, and one failure decides the exit status */
static void
test_summary(void)
{
	g_autoptr(DfuctlJob) b = finished_job(8, "node-b", "failed", DFU_STATUS_LINK_LOST, "link-lost");
	g_autoptr(DfuctlJob) a = finished_job(9, "node-a", "succeeded", DFU_STATUS_SUCCESS, "success");
	g_autoptr(DfuctlJob) c = finished_job(10, "node-c", "succeeded", DFU_STATUS_UP_TO_DATE, "up-to-date");
	g_autoptr(GError) refusal =
	        g_error_new_literal(DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "'x' is not a target");
	g_autoptr(DfuctlSummary) all_ok = dfuctl_summary_new();
	g_autoptr(DfuctlSummary) up_to_date = dfuctl_summary_new();
	g_autoptr(DfuctlSummary) mixed = dfuctl_summary_new();
	g_autofree char *text = NULL;

	dfuctl_summary_add_job(all_ok, a);
	dfuctl_summary_add_job(all_ok, c);
	g_assert_cmpint(dfuctl_summary_exit_code(all_ok), ==, DFUCTL_EXIT_SUCCESS);
	dfuctl_summary_add_job(up_to_date, c);
	g_assert_cmpint(dfuctl_summary_exit_code(up_to_date), ==, DFUCTL_EXIT_NOTHING_TO_DO);

	dfuctl_summary_add_job(mixed, b);
	dfuctl_summary_add_job(mixed, a);
	dfuctl_summary_add_refused(mixed, "x", refusal);
	g_assert_cmpint(dfuctl_summary_exit_code(mixed), ==, DFUCTL_EXIT_FAILURE);
	text = dfuctl_summary_format(mixed);
	g_assert_cmpstr(text, ==,
	                "DEVICE  JOB  RESULT                     MESSAGE\n"
	                "node-a    9  success                    -\n"
	                "node-b    8  link-lost                  -\n"
	                "x         -  refused: invalid-argument  'x' is not a target\n"
	                "3 devices: 1 updated, 0 up to date, 2 failed\n");
}

/* --all picks devices by glob and board; a job's target finds its device's name */
static void
test_fleet(void)
{
	g_autoptr(GVariant) objects = g_variant_ref_sink(g_variant_new_parsed(
	        "{@o '/org/dfud1/device/node_2d2': {'org.dfud1.Device': {'Name': <'node-2'>, "
	        "'Target': <'serial:/dev/ttyACM1'>, 'Board': <'nrf52840dk'>}},"
	        " @o '/org/dfud1/device/node_2d1': {'org.dfud1.Device': {'Name': <'node-1'>, "
	        "'Target': <'serial:/dev/ttyACM0'>, 'Board': <'nrf5340dk'>}},"
	        " @o '/org/dfud1/device/porch': {'org.dfud1.Device': {'Name': <'porch'>, "
	        "'Target': <'ble:C4:12:34:56:78:9A'>, 'Board': <'nrf52840dk'>}},"
	        " @o '/org/dfud1/job/1': {'org.dfud1.Job': {'Target': <'serial:/dev/ttyACM0'>}}}"));
	g_autoptr(DfuctlFleet) fleet = dfuctl_fleet_new_from_objects(objects);
	g_auto(GStrv) all = dfuctl_fleet_select(fleet, NULL, NULL);
	g_auto(GStrv) nodes = dfuctl_fleet_select(fleet, "node-[0-9]", NULL);
	g_auto(GStrv) boards = dfuctl_fleet_select(fleet, NULL, "nrf52840dk");
	g_auto(GStrv) none = dfuctl_fleet_select(fleet, "node-*", "esp32");
	const char *const want_all[] = {"node-1", "node-2", "porch", NULL};
	const char *const want_nodes[] = {"node-1", "node-2", NULL};
	const char *const want_boards[] = {"node-2", "porch", NULL};

	g_assert_true(g_strv_equal((const char *const *)all, want_all));
	g_assert_true(g_strv_equal((const char *const *)nodes, want_nodes));
	g_assert_true(g_strv_equal((const char *const *)boards, want_boards));
	g_assert_null(none[0]);
	g_assert_cmpstr(dfuctl_fleet_name_for_target(fleet, "serial:/dev/ttyACM0"), ==, "node-1");
	g_assert_null(dfuctl_fleet_name_for_target(fleet, "serial:/dev/ttyACM9"));
	dfuctl_fleet_remove(fleet, "/org/dfud1/device/node_2d1");
	g_assert_null(dfuctl_fleet_name_for_target(fleet, "serial:/dev/ttyACM0"));
}

/* -o help names every option that the parser takes */
static void
test_options_help(void)
{
	const char *const keys[] = {
	        "confirm",         "force",         "allow-downgrade", "max-attempts", "source-name",
	        "expected-sha256", "signature-url", "fota-op",         "sec-tag",      "pdn"};
	const char *const help[] = {"help", NULL};
	g_autofree char *text = dfuctl_options_help();

	g_assert_true(dfuctl_options_want_help(help));
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree char *line = g_strdup_printf("\n  %s=", keys[i]);
		const char *kv[] = {NULL, NULL};
		g_autofree char *bad = g_strdup_printf("%s=?", keys[i]);
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) parsed = NULL;

		g_assert_nonnull(strstr(text, line));
		/* known to the parser: a bad value is refused for its value, not as an unknown key */
		kv[0] = bad;
		parsed = dfuctl_options_parse(kv, &error);
		if (parsed != NULL)
			g_variant_ref_sink(parsed);
		g_assert_true(error == NULL || strstr(error->message, "unknown option") == NULL);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dfuctl/job-arg", test_job_arg);
	g_test_add_func("/dfuctl/options", test_options);
	g_test_add_func("/dfuctl/option-downgrade-images", test_option_downgrade_images);
	g_test_add_func("/dfuctl/exit-codes", test_exit_codes);
	g_test_add_func("/dfuctl/eta", test_eta);
	g_test_add_func("/dfuctl/progress-bar", test_progress_bar);
	g_test_add_func("/dfuctl/progress-line-fits", test_progress_line_fits);
	g_test_add_func("/dfuctl/progress-reasons", test_progress_reasons);
	g_test_add_func("/dfuctl/plain-lines", test_plain_lines);
	g_test_add_func("/dfuctl/failure-report", test_failure_report);
	g_test_add_func("/dfuctl/success-report", test_success_report);
	g_test_add_func("/dfuctl/update-skips-bad-types", test_update_skips_bad_types);
	g_test_add_func("/dfuctl/json", test_json);
	g_test_add_func("/dfuctl/log-lines", test_log_lines);
	g_test_add_func("/dfuctl/inspect-image", test_inspect_image);
	g_test_add_func("/dfuctl/inspect-nrf5", test_inspect_nrf5);
	g_test_add_func("/dfuctl/inspect-failure", test_inspect_failure);
	g_test_add_func("/dfuctl/table", test_table);
	g_test_add_func("/dfuctl/summary", test_summary);
	g_test_add_func("/dfuctl/fleet", test_fleet);
	g_test_add_func("/dfuctl/options-help", test_options_help);
	return g_test_run();
}
