/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mcuboot-writer.h"
#include "sim-smp-device.h"
#include "smp-message.h"

/* a device with a recording transport */
typedef struct {
	SimFaultPlan *faults;
	SimMcuboot *model;
	SimSmpDevice *device;
	GPtrArray *sent; /* GBytes*, the answers in order */
	guint rebooted;
	guint hung_up;
	guint transport_held;
} Rig;

static void
rig_send(GBytes *msg, gpointer user_data)
{
	Rig *rig = user_data;

	g_ptr_array_add(rig->sent, g_bytes_ref(msg));
}

static void
rig_rebooted(gpointer user_data)
{
	Rig *rig = user_data;

	rig->rebooted++;
}

static void
rig_hang_up(gpointer user_data)
{
	Rig *rig = user_data;

	rig->hung_up++;
}

static guint
rig_held(gpointer user_data)
{
	Rig *rig = user_data;

	return rig->transport_held;
}

static const SimSmpDeviceCallbacks rig_callbacks = {
        .send = rig_send,
        .rebooted = rig_rebooted,
        .hang_up = rig_hang_up,
        .held = rig_held,
};

static void
rig_init(Rig *rig, const char *fault, guint erase_ms)
{
	SimMcubootConfig model_config = {
	        .images = 1, .slot_size = 65536, .running_version = {1, 0, 0, 0}, .erase_ms = erase_ms};
	SimSmpDeviceConfig config = {
	        .buf_size = 2048, .buf_count = 3, .params = TRUE, .errors_v2 = TRUE, .log_prefix = "test"};
	g_autoptr(GError) error = NULL;

	*rig = (Rig){0};
	rig->faults = sim_fault_plan_new();
	if (fault != NULL) {
		sim_fault_plan_add(rig->faults, fault, &error);
		g_assert_no_error(error);
	}
	rig->model = sim_mcuboot_new(&model_config, &error);
	g_assert_no_error(error);
	rig->device = sim_smp_device_new(&config, rig->model, rig->faults, &rig_callbacks, rig);
	rig->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void
rig_clear(Rig *rig)
{
	sim_smp_device_free(rig->device);
	sim_mcuboot_free(rig->model);
	sim_fault_plan_free(rig->faults);
	g_ptr_array_unref(rig->sent);
}

static void
receive(Rig *rig, guint8 op, guint16 group, guint8 id, cbor_item_t *payload, guint8 seq)
{
	SmpHeader hdr = {.op = op, .version = 1, .group = group, .id = id, .seq = seq};
	g_autoptr(GBytes) msg = smp_message_encode(&hdr, payload);

	if (payload != NULL)
		cbor_decref(&payload);
	sim_smp_device_receive(rig->device, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
}

static void
receive_echo(Rig *rig, guint8 seq)
{
	cbor_item_t *payload = smp_map_new();

	smp_map_add_text(payload, "d", "hi");
	receive(rig, SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_ECHO, payload, seq);
}

/* the first 256 bytes of a fresh image */
static void
receive_first_chunk(Rig *rig, guint8 seq)
{
	McubootWriterOptions opts = {.version = {2, 0, 0, 0}, .payload_size = 1024, .seed = 7};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, &error);
	cbor_item_t *payload = smp_map_new();

	g_assert_no_error(error);
	smp_map_add_uint(payload, "image", 0);
	smp_map_add_uint(payload, "off", 0);
	smp_map_add_uint(payload, "len", g_bytes_get_size(image));
	smp_map_add_bytes(payload, "data", g_bytes_get_data(image, NULL), 256);
	receive(rig, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, payload, seq);
}

static guint8
sent_seq(Rig *rig, guint i)
{
	GBytes *msg = g_ptr_array_index(rig->sent, i);
	SmpHeader hdr;

	g_assert_true(smp_header_parse(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), &hdr));
	return hdr.seq;
}

static void
test_answers_in_order(void)
{
	Rig rig;

	rig_init(&rig, NULL, 0);
	receive_echo(&rig, 1);
	receive_echo(&rig, 2);
	g_assert_cmpuint(sim_smp_device_held(rig.device), ==, 2);
	g_assert_cmpuint(rig.sent->len, ==, 0);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 2);
	g_assert_cmpuint(sent_seq(&rig, 0), ==, 1);
	g_assert_cmpuint(sent_seq(&rig, 1), ==, 2);
	g_assert_cmpuint(sim_smp_device_held(rig.device), ==, 0);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->requests, ==, 2);
	rig_clear(&rig);
}

static void
test_full_drops(void)
{
	Rig rig;

	rig_init(&rig, NULL, 0);
	/* two answers still in the transport leave one netbuf of three */
	rig.transport_held = 2;
	receive_echo(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 1);
	g_assert_cmpuint(sent_seq(&rig, 0), ==, 1);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->dropped_requests, ==, 1);
	rig_clear(&rig);
}

static void
test_drop_and_silence(void)
{
	Rig rig;

	rig_init(&rig, "drop-request@2", 0);
	for (guint8 seq = 1; seq <= 3; seq++)
		receive_echo(&rig, seq);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 2);
	g_assert_cmpuint(sent_seq(&rig, 1), ==, 3);
	rig_clear(&rig);

	rig_init(&rig, "silent-after@1", 0);
	receive_echo(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 1);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->requests, ==, 2);
	rig_clear(&rig);
}

static void
test_reset_after_answer(void)
{
	Rig rig;

	rig_init(&rig, NULL, 0);
	receive(&rig, SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_RESET, smp_map_new(), 1);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 1);
	g_assert_cmpuint(rig.rebooted, ==, 0);
	while (rig.rebooted == 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->resets, ==, 1);
	rig_clear(&rig);
}

static void
test_flash_delay(void)
{
	Rig rig;

	rig_init(&rig, NULL, 1);
	receive_first_chunk(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_pump(rig.device);
	/* the erase holds the upload's answer and the echo behind it */
	g_assert_cmpuint(rig.sent->len, ==, 0);
	g_assert_cmpuint(sim_smp_device_held(rig.device), ==, 2);
	while (rig.sent->len < 2)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(sent_seq(&rig, 0), ==, 1);
	g_assert_cmpuint(sent_seq(&rig, 1), ==, 2);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->upload_bytes, ==, 256);
	rig_clear(&rig);
}

static void
test_reset_at(void)
{
	Rig rig;

	rig_init(&rig, "reset-at@100", 0);
	receive_first_chunk(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_pump(rig.device);
	/* the reboot takes the queued echo with it */
	g_assert_cmpuint(rig.rebooted, ==, 1);
	g_assert_cmpuint(rig.sent->len, ==, 0);
	g_assert_cmpuint(sim_smp_device_held(rig.device), ==, 0);
	g_assert_cmpuint(sim_smp_device_get_counters(rig.device)->resets, ==, 1);
	rig_clear(&rig);
}

static void
test_hangup_at(void)
{
	Rig rig;

	rig_init(&rig, "hangup-at@100", 0);
	receive_first_chunk(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_pump(rig.device);
	/* the upload goes unanswered; the device keeps running what it holds */
	g_assert_cmpuint(rig.hung_up, ==, 1);
	g_assert_cmpuint(rig.rebooted, ==, 0);
	g_assert_cmpuint(rig.sent->len, ==, 1);
	g_assert_cmpuint(sent_seq(&rig, 0), ==, 2);
	rig_clear(&rig);
}

static void
test_link_lost(void)
{
	Rig rig;

	rig_init(&rig, NULL, 0);
	receive_echo(&rig, 1);
	receive_echo(&rig, 2);
	sim_smp_device_link_lost(rig.device);
	sim_smp_device_pump(rig.device);
	g_assert_cmpuint(rig.sent->len, ==, 0);
	g_assert_cmpuint(sim_smp_device_held(rig.device), ==, 0);
	rig_clear(&rig);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim-smp-device/answers-in-order", test_answers_in_order);
	g_test_add_func("/sim-smp-device/full-drops", test_full_drops);
	g_test_add_func("/sim-smp-device/drop-and-silence", test_drop_and_silence);
	g_test_add_func("/sim-smp-device/reset-after-answer", test_reset_after_answer);
	g_test_add_func("/sim-smp-device/flash-delay", test_flash_delay);
	g_test_add_func("/sim-smp-device/reset-at", test_reset_at);
	g_test_add_func("/sim-smp-device/hangup-at", test_hangup_at);
	g_test_add_func("/sim-smp-device/link-lost", test_link_lost);
	return g_test_run();
}
