/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "dfu-error.h"
#include "hawkbit-config.h"
#include "hawkbit-ddi.h"
#include "hawkbit-facts.h"
#include "hawkbit-record.h"

static GBytes *
text(const char *s)
{
	return g_bytes_new_static(s, strlen(s));
}

static void
test_sleep(void)
{
	guint s = 0;

	g_assert_true(hb_ddi_parse_sleep("00:05:00", &s));
	g_assert_cmpuint(s, ==, 300);
	g_assert_true(hb_ddi_parse_sleep("23:59:59", &s));
	g_assert_cmpuint(s, ==, 86399);
	g_assert_false(hb_ddi_parse_sleep("00:60:00", &s));
	g_assert_false(hb_ddi_parse_sleep("5m", &s));
	g_assert_false(hb_ddi_parse_sleep("00:05:00x", &s));
	g_assert_false(hb_ddi_parse_sleep(NULL, &s));
}

static void
test_poll(void)
{
	g_autoptr(GBytes) body =
	        text("{\"config\":{\"polling\":{\"sleep\":\"00:00:30\"}},\"_links\":{"
	             "\"deploymentBase\":{\"href\":\"https://h/T/controller/v1/n/deploymentBase/5?c=-21\"},"
	             "\"configData\":{\"href\":\"https://h/T/controller/v1/n/configData\"}}}");
	g_autoptr(GBytes) bad = text("{\"config\":{\"polling\":{\"sleep\":\"soon\"}}}");
	g_autoptr(GBytes) garbage = text("<html>");
	g_autoptr(GError) error = NULL;
	g_autofree char *action = NULL;
	HbPoll poll;

	g_assert_true(hb_ddi_parse_poll(body, &poll, &error));
	g_assert_cmpuint(poll.sleep_s, ==, 30);
	g_assert_nonnull(poll.config_href);
	g_assert_null(poll.cancel_href);
	g_assert_null(poll.confirmation_href);
	action = hb_ddi_href_action(poll.deployment_href);
	g_assert_cmpstr(action, ==, "5");
	hb_poll_clear(&poll);
	g_assert_false(hb_ddi_parse_poll(bad, &poll, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	g_clear_error(&error);
	g_assert_false(hb_ddi_parse_poll(garbage, &poll, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
}

#define SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define ARTIFACT(name, links)                                                                                \
	"{\"filename\":\"" name "\",\"hashes\":{\"sha1\":\"x\",\"sha256\":\"" SHA                            \
	"\"},\"size\":6,\"_links\":{" links "}}"
#define HTTP_LINK "\"download-http\":{\"href\":\"http://h/a.bin\"}"
#define HTTPS_LINK "\"download\":{\"href\":\"https://h/a.bin\"}"

static void
test_deployment(void)
{
	g_autoptr(GBytes) one =
	        text("{\"id\":\"8\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
	             "\"maintenanceWindow\":\"unavailable\",\"chunks\":[{\"part\":\"os\",\"version\":\"1.2\","
	             "\"name\":\"fw\",\"artifacts\":[" ARTIFACT("a.bin", HTTPS_LINK "," HTTP_LINK) "]}]}}");
	g_autoptr(GBytes) plain =
	        text("{\"id\":\"9\",\"deployment\":{\"download\":\"skip\",\"update\":\"skip\","
	             "\"chunks\":[{\"artifacts\":[" ARTIFACT("a.bin", HTTP_LINK) "]}]}}");
	g_autoptr(GBytes) two = text(
	        "{\"id\":\"9\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\","
	        "\"chunks\":[{\"artifacts\":[" ARTIFACT("a.bin", HTTPS_LINK) "]},{\"artifacts\":[" ARTIFACT(
	                "b.bin", HTTPS_LINK) "]}]}}");
	g_autoptr(GBytes) mode =
	        text("{\"id\":\"9\",\"deployment\":{\"download\":\"later\",\"update\":\"forced\","
	             "\"chunks\":[]}}");
	g_autoptr(GError) error = NULL;
	HbDeployment d;

	g_assert_true(hb_ddi_parse_deployment(one, FALSE, &d, &error));
	g_assert_cmpstr(d.id, ==, "8");
	g_assert_cmpint(d.download, ==, HB_MODE_FORCED);
	g_assert_cmpint(d.update, ==, HB_MODE_ATTEMPT);
	g_assert_true(d.window_closed);
	g_assert_cmpstr(d.url, ==, "https://h/a.bin");
	g_assert_cmpstr(d.sha256, ==, SHA);
	g_assert_cmpstr(d.version, ==, "1.2");
	g_assert_cmpuint(d.size, ==, 6);
	hb_deployment_clear(&d);

	/* a plain http link only when allowed */
	g_assert_false(hb_ddi_parse_deployment(plain, FALSE, &d, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE);
	g_clear_error(&error);
	hb_deployment_clear(&d);
	g_assert_true(hb_ddi_parse_deployment(plain, TRUE, &d, &error));
	g_assert_cmpint(d.download, ==, HB_MODE_SKIP);
	g_assert_false(d.window_closed);
	g_assert_cmpstr(d.url, ==, "http://h/a.bin");
	hb_deployment_clear(&d);

	g_assert_false(hb_ddi_parse_deployment(two, FALSE, &d, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE);
	g_assert_nonnull(strstr(error->message, "2 artifacts"));
	g_clear_error(&error);
	hb_deployment_clear(&d);
	g_assert_false(hb_ddi_parse_deployment(mode, FALSE, &d, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	hb_deployment_clear(&d);
}

static void
test_cancel(void)
{
	g_autoptr(GBytes) body = text("{\"id\":\"11\",\"cancelAction\":{\"stopId\":\"11\"}}");
	g_autoptr(GBytes) none = text("{\"id\":\"11\"}");
	g_autoptr(GError) error = NULL;
	g_autofree char *stop = hb_ddi_parse_cancel(body, &error);

	g_assert_cmpstr(stop, ==, "11");
	g_assert_null(hb_ddi_parse_cancel(none, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
}

static void
test_feedback(void)
{
	const char *details[] = {"rolled-back: x", "hint", NULL};
	g_autofree char *json = hb_ddi_feedback("closed", "failure", 103, details, 0, 0);
	g_autofree char *progress = hb_ddi_feedback("proceeding", "none", -1, NULL, 40, 100);
	g_autoptr(JsonNode) root = json_from_string(json, NULL);
	g_autoptr(JsonNode) proot = json_from_string(progress, NULL);
	JsonObject *status = json_object_get_object_member(json_node_get_object(root), "status");
	JsonObject *pstatus = json_object_get_object_member(json_node_get_object(proot), "status");

	g_assert_cmpstr(json_object_get_string_member(status, "execution"), ==, "closed");
	g_assert_cmpstr(
	        json_object_get_string_member(json_object_get_object_member(status, "result"), "finished"),
	        ==, "failure");
	g_assert_cmpint(json_object_get_int_member(status, "code"), ==, 103);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(status, "details")), ==, 2);
	g_assert_false(json_object_has_member(pstatus, "code"));
	g_assert_cmpint(json_object_get_int_member(
	                        json_object_get_object_member(
	                                json_object_get_object_member(pstatus, "result"), "progress"),
	                        "cnt"),
	                ==, 40);
}

static void
test_confirmation(void)
{
	g_autofree char *consent = hb_ddi_confirmation("by the gateway");
	g_autoptr(JsonNode) root = json_from_string(consent, NULL);
	JsonObject *o = json_node_get_object(root);

	g_assert_cmpstr(json_object_get_string_member(o, "confirmation"), ==, "confirmed");
	g_assert_cmpstr(json_array_get_string_element(json_object_get_array_member(o, "details"), 0), ==,
	                "by the gateway");
}

static void
test_controller_id(void)
{
	g_autofree char *a = hb_config_expand_id("%g-%n", "gw1", "kitchen");
	g_autofree char *b = hb_config_expand_id("site-%%-%n", "gw1", "n1");

	g_assert_cmpstr(a, ==, "gw1-kitchen");
	g_assert_cmpstr(b, ==, "site-%-n1");
}

static void
test_record(void)
{
	g_autofree char *dir = g_dir_make_tmp("hawkbit-record-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "n.json", NULL);
	g_autoptr(HbRecord) missing = hb_record_load(path, NULL);
	g_autoptr(HbRecord) r = g_new0(HbRecord, 1);
	g_autoptr(HbRecord) back = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(missing);
	g_assert_cmpint(missing->stage, ==, HB_STAGE_NONE);
	hb_record_reset(r, "42");
	r->stage = HB_STAGE_FINISHED;
	r->job = g_strdup("/org/dfud1/job/7");
	r->code = 103;
	r->status_name = g_strdup("rolled-back");
	r->cancel_requested = TRUE;
	g_assert_true(hb_record_save(r, path, &error));
	back = hb_record_load(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(back->action, ==, "42");
	g_assert_cmpint(back->stage, ==, HB_STAGE_FINISHED);
	g_assert_cmpstr(back->job, ==, "/org/dfud1/job/7");
	g_assert_cmpuint(back->code, ==, 103);
	g_assert_true(back->cancel_requested);
	g_assert_true(g_file_set_contents(path, "{broken", -1, NULL));
	g_assert_null(hb_record_load(path, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR);
	g_unlink(path);
	g_rmdir(dir);
}

static void
test_facts(void)
{
	HbNodeConfig node = {.name = "kitchen", .target = "kitchen", .controller_id = "gw1-kitchen"};
	g_autoptr(HbRecord) record = g_new0(HbRecord, 1);
	g_autoptr(GVariant) device = g_variant_ref_sink(g_variant_new_parsed(
	        "{'Name': <'kitchen'>, 'Target': <'serial:/dev/ttyACM0'>, 'Board': <'nrf52840dk'>, "
	        "'Protocol': <'smp'>,"
	        " 'Images': <[{'image': <uint32 0>, 'slot': <uint32 0>, 'version': <'1.2.0'>, 'hash': <'ab'>,"
	        "              'flags': <['active', 'confirmed']>},"
	        "             {'image': <uint32 0>, 'slot': <uint32 1>, 'version': <'1.1.0'>, 'hash': <'cd'>,"
	        "              'flags': <@as []>}]>}"));
	g_autofree char *bare = hb_facts_config_data(&node, "gw1", NULL, record);
	g_autofree char *full = NULL;
	g_autoptr(JsonNode) root = NULL;
	JsonObject *data;

	g_assert_nonnull(strstr(bare, "\"gateway\":\"gw1\""));
	g_assert_null(strstr(bare, "transport"));
	hb_record_reset(record, "7");
	record->stage = HB_STAGE_CLOSED;
	record->status_name = g_strdup("success");
	full = hb_facts_config_data(&node, "gw1", device, record);
	root = json_from_string(full, NULL);
	data = json_object_get_object_member(json_node_get_object(root), "data");
	g_assert_cmpstr(json_object_get_string_member(data, "transport"), ==, "serial");
	g_assert_cmpstr(json_object_get_string_member(data, "board"), ==, "nrf52840dk");
	g_assert_cmpstr(json_object_get_string_member(data, "image0.slot0.version"), ==, "1.2.0");
	g_assert_cmpstr(json_object_get_string_member(data, "image0.slot1.hash"), ==, "cd");
	g_assert_cmpstr(json_object_get_string_member(data, "last-action"), ==, "7");
	g_assert_cmpstr(hb_facts_running_version(device), ==, "1.2.0");
	g_assert_null(hb_facts_running_version(NULL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hawkbit/sleep", test_sleep);
	g_test_add_func("/hawkbit/poll", test_poll);
	g_test_add_func("/hawkbit/deployment", test_deployment);
	g_test_add_func("/hawkbit/cancel", test_cancel);
	g_test_add_func("/hawkbit/feedback", test_feedback);
	g_test_add_func("/hawkbit/confirmation", test_confirmation);
	g_test_add_func("/hawkbit/controller-id", test_controller_id);
	g_test_add_func("/hawkbit/record", test_record);
	g_test_add_func("/hawkbit/facts", test_facts);
	return g_test_run();
}
