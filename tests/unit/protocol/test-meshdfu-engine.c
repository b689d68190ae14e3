/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "engine-outcome.h"
#include "mcuboot-writer.h"
#include "mesh-writer.h"
#include "meshdfu-engine.h"
#include "meshdfu-packets.h"
#include "sim-meshnode.h"
#include "test-util.h"

/* the engine against the simulator's mesh model over the in-memory transport */
typedef struct {
	EngineOutcome out;
	DfuTransport *end; /* the serial node's side */
	SimMesh *mesh;
	GArray *sent;         /* guint32 per DFU packet from the host: packet type << 16 | segment */
	GArray *state_types;  /* guint8: the firmware type of each STATE */
	GArray *requests;     /* guint32 per request the engine took: DATA sent then << 16 | segment */
	guint last_data;      /* the newest DATA segment the host sent */
	guint answered_first; /* requests served before any newer DATA */
	guint answered_late;  /* requests served after newer DATA went out */
	guint host_frames;    /* frames from the host */
	gboolean saw_report;
	gboolean saw_resync;
	char *report_version; /* of the last report */
} Fixture;

static void
on_mesh_output(const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;

	/* the length byte is the framing's: the engine gets opcode and payload */
	dfu_transport_send(f->end, data + 1, len - 1, NULL);
}

static void
on_host_packet(Fixture *f, const guint8 *p, gsize len)
{
	guint16 type = (guint16)mesh_get_le(p, 2);
	guint16 segment = len >= 4 ? (guint16)mesh_get_le(p + 2, 2) : 0;
	guint32 entry = (guint32)type << 16 | segment;

	g_array_append_val(f->sent, entry);
	if (type == MESH_PACKET_STATE)
		g_array_append_val(f->state_types, p[2]);
	if (type == MESH_PACKET_DATA && segment > f->last_data)
		f->last_data = segment;
	if (type != MESH_PACKET_DATA_RSP)
		return;
	for (guint i = 0; i < f->requests->len; i++) {
		guint32 req = g_array_index(f->requests, guint32, i);

		if ((req & 0xFFFF) != segment)
			continue;
		/* the packet in flight when the engine heard of it may go first, nothing newer */
		if (f->last_data <= (req >> 16) + 1)
			f->answered_first++;
		else
			f->answered_late++;
		g_array_remove_index(f->requests, i);
		return;
	}
}

static void
on_end_packet(DfuTransport *t, const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;
	guint8 frame[256];

	g_assert_cmpuint(len, <, sizeof(frame));
	f->host_frames++;
	if (data[0] == MESH_OP_DFU_DATA)
		on_host_packet(f, data + 1, len - 1);
	frame[0] = (guint8)len;
	memcpy(frame + 1, data, len);
	sim_mesh_input(f->mesh, frame, len + 1);
}

static const DfuTransportCallbacks end_callbacks = {
        .opened = engine_test_ignore_link_event,
        .packet = on_end_packet,
        .closed = engine_test_ignore_link_event,
};

static void
on_report(DfuEngine *engine, GVariant *state, gpointer user_data)
{
	Fixture *f = user_data;
	g_autoptr(GVariant) owned = g_variant_ref_sink(state);
	g_autoptr(GVariant) images = g_variant_lookup_value(owned, "images", G_VARIANT_TYPE("aa{sv}"));
	g_autoptr(GVariant) image = NULL;
	const char *id = NULL;

	g_assert_nonnull(images);
	image = g_variant_get_child_value(images, 0);
	g_assert_true(g_variant_lookup(image, "firmware-id", "&s", &id));
	g_assert_cmpstr(id, ==, "company 0x00000059 application 0x0001");
	g_free(f->report_version);
	g_assert_true(g_variant_lookup(image, "version", "s", &f->report_version));
	f->saw_report = TRUE;
}

/* the moment the engine learns of a request: what it sends after the packet in flight answers it */
static void
on_log(DfuEngine *engine, const char *line, gpointer user_data)
{
	Fixture *f = user_data;
	guint segment = 0;

	f->saw_resync |= strstr(line, "realigning the node's frame parser") != NULL;
	if (sscanf(line, "a node asks for segment %u", &segment) == 1) {
		guint32 entry = f->last_data << 16 | segment;
		g_array_append_val(f->requests, entry);
	}
}

static void
on_done(DfuEngine *engine, guint result, const GError *error, GVariant *device_error, gpointer user_data)
{
	Fixture *f = user_data;

	engine_outcome_take(&f->out, result, error, device_error);
}

static const DfuEngineCallbacks engine_callbacks = {
        .log = on_log,
        .report = on_report,
        .done = on_done,
};

static const MeshDfuOptions base_options = {
        .interval_ms = 1,
        .ack_timeout_ms = 100,
        .tries = 5,
        .busy_timeout_ms = 5000,
        .state_wait_ms = 5,
        .erase_page_ms = 1,
        .fwid_timeout_ms = 1000,
        .tail_quiet_ms = 300,
        .end_timeout_ms = 5000,
        .node_timeout_ms = 6000,
        .baud = 115200,
        .rtscts = TRUE,
};

static SimMeshConfig
base_mesh(void)
{
	SimMeshConfig cfg = {
	        .fwid = {.sd = 0xCB,
	                 .bl_id = 1,
	                 .bl_version = 1,
	                 .company = 0x59,
	                 .app_id = 1,
	                 .app_version = 1},
	        .remote_nodes = 2,
	        .seed = 1,
	        .time_scale = 100,
	        .beacon_ms = 20,
	};
	return cfg;
}

/* a package of the given types (comma-separated), application version 2, bootloader version 2 */
static DfuPlan *
make_plan(const char *types, EVP_PKEY *key)
{
	g_auto(GStrv) names = g_strsplit(types, ",", -1);
	MeshWriterImage images[3] = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) zip = NULL;
	gsize n = g_strv_length(names);
	DfuPlan *plan;

	g_assert_cmpuint(n, <=, G_N_ELEMENTS(images));
	for (gsize i = 0; i < n; i++) {
		guint8 *data = g_malloc(2048);

		mcuboot_writer_fill_payload(data, 2048, (guint32)i + 1);
		images[i].type = g_str_equal(names[i], "bootloader") ? MESH_DFU_TYPE_BOOTLOADER
		                                                     : MESH_DFU_TYPE_APPLICATION;
		images[i].firmware = g_bytes_new_take(data, 2048);
		images[i].fwid = (MeshFwid){
		        .bl_id = 1, .bl_version = 2, .company = 0x59, .app_id = 1, .app_version = 2};
	}
	zip = mesh_writer_zip(images, n, key, &error);
	g_assert_no_error(error);
	for (gsize i = 0; i < n; i++)
		g_bytes_unref(images[i].firmware);
	plan = dfu_plan_load_bytes(zip, "mesh.zip", &error);
	g_assert_no_error(error);
	return plan;
}

static void
fixture_run(Fixture *f, const SimMeshConfig *cfg, DfuPlan *plan, const MeshDfuOptions *options)
{
	DfuTransport *host = NULL;
	g_autoptr(DfuEngine) engine = NULL;

	engine_outcome_init(&f->out);
	f->sent = g_array_new(FALSE, FALSE, sizeof(guint32));
	f->state_types = g_array_new(FALSE, FALSE, sizeof(guint8));
	f->requests = g_array_new(FALSE, FALSE, sizeof(guint32));
	f->mesh = sim_mesh_new(cfg, on_mesh_output, f);
	f->end = engine_test_device_end(&end_callbacks, f, &host);
	sim_mesh_boot(f->mesh);
	engine = meshdfu_engine_new(host, plan, options, &engine_callbacks, f);
	engine_outcome_run(&f->out, engine);
	g_assert_true(f->out.done);
}

static void
fixture_clear(Fixture *f)
{
	sim_mesh_free(f->mesh);
	dfu_transport_free(f->end);
	engine_outcome_clear(&f->out);
	g_array_unref(f->sent);
	g_array_unref(f->state_types);
	g_array_unref(f->requests);
	g_free(f->report_version);
}

static gint64
mesh_state(Fixture *f, const char *path)
{
	g_autofree char *json = sim_mesh_state_json(f->mesh);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	JsonNode *node;

	g_assert_true(json_parser_load_from_data(parser, json, -1, NULL));
	node = json_parser_get_root(parser);
	for (gsize i = 0; node != NULL && parts[i] != NULL; i++)
		node = JSON_NODE_HOLDS_ARRAY(node)
		               ? json_array_get_element(json_node_get_array(node), atoi(parts[i]))
		               : json_object_get_member(json_node_get_object(node), parts[i]);
	g_assert_nonnull(node);
	return json_node_get_int(node);
}

static guint
count_sent(Fixture *f, guint16 type)
{
	guint n = 0;

	for (guint i = 0; i < f->sent->len; i++)
		n += g_array_index(f->sent, guint32, i) >> 16 == type;
	return n;
}

static void
assert_success(Fixture *f)
{
	/* success carries the message of what the mesh cannot tell */
	g_assert_nonnull(f->out.error);
	g_assert_cmpint(f->out.error->code, ==, DFU_STATUS_SUCCESS);
	g_assert_nonnull(
	        strstr(f->out.error->message, "nodes beyond the serial node cannot confirm receipt"));
	g_assert_cmpuint(f->out.result, ==, DFU_STATUS_SUCCESS);
}

/* Echo, state get, STATE twice, START, every DATA acked, the end and the new firmware ID */
static void
test_transfer(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	assert_success(&f);
	g_assert_cmpint(mesh_state(&f, "echoes"), >=, 1);
	g_assert_cmpuint(count_sent(&f, MESH_PACKET_STATE), ==, 2);
	g_assert_cmpuint(count_sent(&f, MESH_PACKET_DATA), >=, 129);
	g_assert_cmpint(mesh_state(&f, "serial.version"), ==, 2);
	g_assert_cmpint(mesh_state(&f, "serial.updates"), ==, 1);
	/* the firmware IDs before and after went to the inventory */
	g_assert_true(f.saw_report);
	g_assert_cmpstr(f.report_version, ==, "2");
	fixture_clear(&f);
}

/* the nodes' requests for missed segments go out before any newer segment */
static void
test_requests_first(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	cfg.relay_only = TRUE;
	cfg.remote_nodes = 3;
	cfg.remote_loss = 20;
	cfg.seed = 5;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	assert_success(&f);
	g_assert_cmpuint(f.answered_first, >, 0);
	g_assert_cmpuint(f.answered_late, ==, 0);
	g_assert_cmpuint(count_sent(&f, MESH_PACKET_DATA_RSP), >=, f.answered_first);
	g_assert_cmpint(mesh_state(&f, "remote.0.version"), ==, 2);
	fixture_clear(&f);
}

/* BUSY while the bank is erased is waited out with the same packet */
static void
test_busy(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	cfg.erase_page_ms = 300;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	assert_success(&f);
	g_assert_cmpint(mesh_state(&f, "busy_answers"), >, 0);
	fixture_clear(&f);
}

/* a node whose answers never come: the Echo diagnosis, and the version check before a transfer */
static void
test_errors(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	cfg.no_serial = TRUE;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_MESH_SILENT);
	g_assert_cmpuint(f.host_frames, ==, base_options.tries);
	fixture_clear(&f);

	memset(&f, 0, sizeof(f));
	cfg = base_mesh();
	cfg.fwid.app_version = 2;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_MESH_NOT_NEWER);
	g_assert_cmpuint(count_sent(&f, MESH_PACKET_STATE), ==, 0);
	fixture_clear(&f);
}

/* bootloader, then application: each its own transaction after the node restarted */
static void
test_two_images(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	fixture_run(&f, &cfg, make_plan("application,bootloader", NULL), &base_options);
	assert_success(&f);
	g_assert_nonnull(strstr(f.out.error->message, "2 images sent"));
	g_assert_cmpuint(f.state_types->len, ==, 4);
	g_assert_cmpuint(g_array_index(f.state_types, guint8, 0), ==, MESH_DFU_TYPE_BOOTLOADER);
	g_assert_cmpuint(g_array_index(f.state_types, guint8, 2), ==, MESH_DFU_TYPE_APPLICATION);
	g_assert_cmpint(mesh_state(&f, "serial.bl_version"), ==, 2);
	g_assert_cmpint(mesh_state(&f, "serial.version"), ==, 2);
	g_assert_cmpint(mesh_state(&f, "restarts"), ==, 2);
	fixture_clear(&f);
}

/* with a key on the device page: unsigned and wrongly signed are refused before a byte, good goes */
static void
test_signatures(void)
{
	g_autofree char *dir = g_dir_make_tmp("meshdfu-XXXXXX", NULL);
	g_autofree char *key_path = g_build_filename(dir, "key.pem", NULL);
	g_autofree char *pub_path = g_build_filename(dir, "pub.pem", NULL);
	g_autofree char *other_path = g_build_filename(dir, "other.pem", NULL);
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key, *other;
	DfuKeyRing *ring;
	SimMeshConfig cfg = base_mesh();
	MeshDfuOptions opt = base_options;
	Fixture f = {0};

	g_assert_true(mcuboot_writer_generate_key(key_path, &error));
	g_assert_true(mcuboot_writer_generate_key(other_path, &error));
	g_assert_true(mcuboot_writer_export_public_key(key_path, pub_path, &error));
	key = mcuboot_writer_load_private_key(key_path, &error);
	other = mcuboot_writer_load_private_key(other_path, &error);
	g_assert_no_error(error);
	ring = dfu_key_ring_load_file(pub_path, &error);
	g_assert_no_error(error);
	cfg.public_key = ring;

	opt.node_key = dfu_key_ring_load_file(pub_path, NULL);
	fixture_run(&f, &cfg, make_plan("application", NULL), &opt);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_MESH_UNSIGNED);
	g_assert_cmpuint(f.host_frames, ==, 0);
	fixture_clear(&f);

	memset(&f, 0, sizeof(f));
	opt.node_key = dfu_key_ring_load_file(pub_path, NULL);
	fixture_run(&f, &cfg, make_plan("application", other), &opt);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_MESH_WRONG_KEY);
	g_assert_cmpuint(f.host_frames, ==, 0);
	fixture_clear(&f);

	memset(&f, 0, sizeof(f));
	opt.node_key = dfu_key_ring_load_file(pub_path, NULL);
	fixture_run(&f, &cfg, make_plan("application", key), &opt);
	assert_success(&f);
	g_assert_cmpint(mesh_state(&f, "unauthorized"), ==, 0);
	g_assert_cmpint(mesh_state(&f, "remote.1.version"), ==, 2);
	fixture_clear(&f);

	/* the simulated nodes check too: without the gateway knowing the key they end with reason 4 */
	memset(&f, 0, sizeof(f));
	fixture_run(&f, &cfg, make_plan("application", other), &base_options);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_IMAGE_REJECTED);
	g_assert_cmpint(mesh_state(&f, "unauthorized"), >=, 1);
	fixture_clear(&f);

	dfu_key_ring_free(ring);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	dfu_test_remove_tree(dir);
}

/* bytes lost on the UART: the node's frame parser is realigned; too many end in their own code */
static void
test_byte_loss(void)
{
	Fixture f = {0};
	SimMeshConfig cfg = base_mesh();

	cfg.byte_loss = 300;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	assert_success(&f);
	g_assert_true(f.saw_resync);
	g_assert_cmpint(mesh_state(&f, "serial.version"), ==, 2);
	fixture_clear(&f);

	memset(&f, 0, sizeof(f));
	cfg.byte_loss = 10;
	fixture_run(&f, &cfg, make_plan("application", NULL), &base_options);
	g_assert_error(f.out.error, DFU_ERROR, DFU_STATUS_MESH_LINE_ERRORS);
	fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/meshdfu-engine/transfer", test_transfer);
	g_test_add_func("/meshdfu-engine/requests-first", test_requests_first);
	g_test_add_func("/meshdfu-engine/busy", test_busy);
	g_test_add_func("/meshdfu-engine/errors", test_errors);
	g_test_add_func("/meshdfu-engine/two-images", test_two_images);
	g_test_add_func("/meshdfu-engine/signatures", test_signatures);
	g_test_add_func("/meshdfu-engine/byte-loss", test_byte_loss);
	return g_test_run();
}
