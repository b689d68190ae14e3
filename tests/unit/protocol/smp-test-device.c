/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-test-device.h"

#include <string.h>

#include "mcuboot-writer.h"
#include "memory-transport.h"
#include "sim-smp-handlers.h"
#include "smp-commands.h"

#define TEST_SLOT_SIZE (128 * 1024)

typedef struct {
	TestDevice pub;
	TestDeviceConfig config;
	SimHandlerContext ctx;
	DfuTransport *end;  /* the device's own end */
	DfuTransport *host; /* borrowed */
	GQueue held;        /* HeldRequest*, waiting for the answer idle */
	guint answer_idle;
	guint reset_timer;
	guint boot_timer;
	guint refuse_timer;
	gboolean down;
	guint64 received; /* request numbers */
	guint64 answered; /* response numbers */
} Device;

typedef struct {
	GBytes *msg;
	guint64 number;
} HeldRequest;

static void
held_request_free(HeldRequest *req)
{
	g_bytes_unref(req->msg);
	g_free(req);
}

static const struct {
	guint16 group;
	guint8 id;
	guint8 op;
	const char *kind;
} request_kinds[] = {
        {SMP_GROUP_OS, SMP_OS_PARAMS, SMP_OP_READ, "params"},
        {SMP_GROUP_OS, SMP_OS_RESET, SMP_OP_WRITE, "reset"},
        {SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, SMP_OP_READ, "boot"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_STATE, SMP_OP_READ, "state"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_SLOT_INFO, SMP_OP_READ, "slots"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_STATE, SMP_OP_WRITE, "test"},
        {SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, SMP_OP_WRITE, "upload"},
};

static void
record_request(Device *self, const SmpMessage *msg, gsize size)
{
	TestDeviceRequest r = {.kind = "other", .version = msg->hdr.version, .size = size};
	gboolean confirm = FALSE;
	guint64 image = 0;
	g_autoptr(GBytes) data = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(request_kinds); i++) {
		if (request_kinds[i].group == msg->hdr.group && request_kinds[i].id == msg->hdr.id &&
		    request_kinds[i].op == msg->hdr.op)
			r.kind = request_kinds[i].kind;
	}
	if (msg->payload != NULL && smp_map_get_bool(msg->payload, "confirm", &confirm) && confirm)
		r.kind = "confirm";
	if (g_str_equal(r.kind, "upload") && msg->payload != NULL) {
		data = smp_map_get_bytes(msg->payload, "data");
		r.data_len = data != NULL ? g_bytes_get_size(data) : 0;
		smp_map_get_uint(msg->payload, "off", &r.off);
		smp_map_get_uint(msg->payload, "len", &r.total);
		smp_map_get_uint(msg->payload, "image", &image);
		r.image = (guint)image;
		self->pub.upload_bytes += r.data_len;
	}
	g_array_append_val(self->pub.requests, r);
}

static void
send_bytes(Device *self, const guint8 *data, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (!dfu_transport_send(self->end, data, len, &error))
		g_debug("test device: %s", error->message);
}

/* an old server: no v2, and says so for any request in a v2 header */
static GBytes *
too_new_response(const SmpHeader *req)
{
	SmpHeader hdr = *req;
	cbor_item_t *payload = smp_map_new();
	GBytes *msg;

	hdr.op |= 1;
	hdr.version = 0;
	smp_map_add_uint(payload, "rc", SMP_RC_UNSUPPORTED_TOO_NEW);
	msg = smp_message_encode(&hdr, payload);
	cbor_decref(&payload);
	return msg;
}

/* noise before an answer: junk, a cut-off copy, a copy for no request, one for another command */
static void
send_garbage(Device *self, GBytes *answer)
{
	static const guint8 junk[] = {0x42, 0x00, 0xff};
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(answer, &len);
	g_autofree guint8 *copy = g_memdup2(data, len);

	send_bytes(self, junk, sizeof(junk));
	send_bytes(self, data, len - 1);
	copy[6] ^= 0x80; /* seq */
	send_bytes(self, copy, len);
	copy[6] ^= 0x80;
	copy[5] ^= 0x01; /* id */
	send_bytes(self, copy, len);
}

static void reboot(Device *self);

static gboolean
on_reset_due(gpointer user_data)
{
	Device *self = user_data;

	self->reset_timer = 0;
	reboot(self);
	return G_SOURCE_REMOVE;
}

static gboolean
on_refuse_over(gpointer user_data)
{
	Device *self = user_data;

	self->refuse_timer = 0;
	dfu_memory_transport_set_refuse_open(self->host, FALSE);
	return G_SOURCE_REMOVE;
}

static void
refuse_open_for(Device *self, guint ms)
{
	dfu_memory_transport_set_refuse_open(self->host, TRUE);
	g_clear_handle_id(&self->refuse_timer, g_source_remove);
	self->refuse_timer = g_timeout_add(ms, on_refuse_over, self);
}

/* flips one byte of upload data at the planned file offset; the data string ends the message */
static guint8 *
corrupt_chunk(Device *self, const guint8 *data, gsize len)
{
	g_autoptr(SmpMessage) msg = smp_message_parse(data, len, NULL);
	g_autoptr(GBytes) chunk = msg != NULL ? smp_map_get_bytes(msg->payload, "data") : NULL;
	guint64 at = (guint64)self->pub.corrupt_at;
	guint64 off = 0;
	guint8 *patched;

	if (chunk == NULL || !smp_map_get_uint(msg->payload, "off", &off) || at < off ||
	    at >= off + g_bytes_get_size(chunk))
		return NULL;
	patched = g_memdup2(data, len);
	patched[len - g_bytes_get_size(chunk) + (at - off)] ^= 0xff;
	self->pub.corrupt_at = -1;
	return patched;
}

static void
answer_one(Device *self, const HeldRequest *req)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(req->msg, &len);
	g_autofree guint8 *patched = NULL;
	g_autoptr(GBytes) answer = NULL;
	SimReply reply = {0};
	SmpHeader hdr;

	if (!smp_header_parse(data, len, &hdr))
		return;
	if (self->config.v1_only && hdr.version >= 1) {
		answer = too_new_response(&hdr);
	} else {
		if (self->pub.corrupt_at >= 0 && hdr.group == SMP_GROUP_IMAGE && hdr.id == SMP_IMAGE_UPLOAD)
			patched = corrupt_chunk(self, data, len);
		answer = sim_smp_respond(&self->ctx, patched != NULL ? patched : data, len, self->pub.faults,
		                         req->number, &reply);
	}
	if (reply.upload_written > 0 &&
	    sim_fault_plan_take_threshold(self->pub.faults, SIM_FAULT_RESET_AT, self->pub.upload_bytes)) {
		reboot(self);
		return;
	}
	if (reply.upload_written > 0 &&
	    sim_fault_plan_take_threshold(self->pub.faults, SIM_FAULT_HANGUP_AT, self->pub.upload_bytes)) {
		if (self->config.reopen_refuse_ms > 0)
			refuse_open_for(self, self->config.reopen_refuse_ms);
		dfu_memory_transport_hang_up(self->end);
		return;
	}
	self->answered++;
	if (sim_fault_plan_at(self->pub.faults, SIM_FAULT_GARBAGE, self->answered))
		send_garbage(self, answer);
	if (sim_fault_plan_at(self->pub.faults, SIM_FAULT_TRUNCATE_RESPONSE, self->answered))
		send_bytes(self, g_bytes_get_data(answer, NULL), g_bytes_get_size(answer) / 2);
	else
		send_bytes(self, g_bytes_get_data(answer, NULL), g_bytes_get_size(answer));
	if (reply.reset && self->reset_timer == 0)
		self->reset_timer = g_idle_add(on_reset_due, self);
}

static gboolean
on_answer_idle(gpointer user_data)
{
	Device *self = user_data;
	GQueue batch = G_QUEUE_INIT;
	HeldRequest *req;

	self->answer_idle = 0;
	/* what arrives while answering waits for the next batch */
	batch = self->held;
	g_queue_init(&self->held);
	while ((req = self->config.reverse ? g_queue_pop_tail(&batch) : g_queue_pop_head(&batch)) != NULL) {
		if (!self->down)
			answer_one(self, req);
		held_request_free(req);
	}
	return G_SOURCE_REMOVE;
}

static void
on_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	Device *self = user_data;
	g_autoptr(SmpMessage) msg = NULL;
	HeldRequest *req;
	guint64 number;

	if (self->down)
		return;
	msg = smp_message_parse(data, len, NULL);
	if (msg == NULL)
		return;
	record_request(self, msg, len);
	number = ++self->received;
	if (sim_fault_plan_at(self->pub.faults, SIM_FAULT_DROP_REQUEST, number) ||
	    sim_fault_plan_silent(self->pub.faults, number))
		return;
	if (g_queue_get_length(&self->held) >= self->config.buf_count) {
		self->pub.dropped++;
		return;
	}
	req = g_new0(HeldRequest, 1);
	req->msg = g_bytes_new(data, len);
	req->number = number;
	g_queue_push_tail(&self->held, req);
	self->pub.max_in_flight = MAX(self->pub.max_in_flight, g_queue_get_length(&self->held));
	if (self->answer_idle == 0)
		self->answer_idle = g_idle_add(on_answer_idle, self);
}

static void
on_closed(DfuTransport *transport, const GError *error, gpointer user_data)
{
	/* the device listens again at once; whether the host may open is decided on its end */
	dfu_transport_open(transport);
}

static void
on_opened(DfuTransport *transport, const GError *error, gpointer user_data)
{
}

static const DfuTransportCallbacks device_callbacks = {
        .opened = on_opened,
        .packet = on_packet,
        .closed = on_closed,
};

static gboolean
on_boot_done(gpointer user_data)
{
	Device *self = user_data;

	self->boot_timer = 0;
	self->down = FALSE;
	dfu_memory_transport_set_refuse_open(self->host, FALSE);
	return G_SOURCE_REMOVE;
}

/* RAM, held requests and the upload session are lost; the bootloader swaps or reverts */
static void
reboot(Device *self)
{
	self->pub.resets++;
	self->down = TRUE;
	g_queue_clear_full(&self->held, (GDestroyNotify)held_request_free);
	sim_mcuboot_reboot(self->pub.model);
	if (self->config.reset_hangup || self->config.never_back) {
		dfu_memory_transport_set_refuse_open(self->host, TRUE);
		dfu_memory_transport_hang_up(self->end);
	}
	if (!self->config.never_back)
		self->boot_timer = g_timeout_add(self->config.boot_ms, on_boot_done, self);
}

TestDevice *
test_device_new(const TestDeviceConfig *config, DfuTransport **host)
{
	Device *self = g_new0(Device, 1);
	SimMcubootConfig model_config = {
	        .images = MAX(config->images, 1u),
	        .slot_size = TEST_SLOT_SIZE,
	        .running_version = config->running,
	        .image_check = config->image_check,
	        .boot_rejects = config->boot_rejects,
	        .refuse_test = config->refuse_test,
	        .mode = config->mode,
	        .no_bootloader_info = config->no_bootloader_info,
	};
	g_autoptr(GError) error = NULL;

	self->config = *config;
	self->config.buf_count = MAX(config->buf_count, 1u);
	self->pub.model = sim_mcuboot_new(&model_config, &error);
	g_assert_no_error(error);
	self->pub.faults = sim_fault_plan_new();
	self->pub.requests = g_array_new(FALSE, TRUE, sizeof(TestDeviceRequest));
	self->pub.corrupt_at = -1;
	self->ctx.model = self->pub.model;
	self->ctx.params = config->params;
	self->ctx.buf_size = config->buf_size;
	self->ctx.buf_count = config->buf_count;
	self->ctx.errors_v2 = config->errors_v2;
	g_queue_init(&self->held);
	dfu_memory_transport_new_pair(0, &self->end, &self->host);
	dfu_transport_set_callbacks(self->end, &device_callbacks, self);
	/* opens before the host's first open, which is queued later */
	dfu_transport_open(self->end);
	*host = self->host;
	return &self->pub;
}

void
test_device_free(TestDevice *dev)
{
	Device *self = (Device *)dev;

	if (self == NULL)
		return;
	g_clear_handle_id(&self->answer_idle, g_source_remove);
	g_clear_handle_id(&self->reset_timer, g_source_remove);
	g_clear_handle_id(&self->boot_timer, g_source_remove);
	g_clear_handle_id(&self->refuse_timer, g_source_remove);
	g_queue_clear_full(&self->held, (GDestroyNotify)held_request_free);
	dfu_transport_free(self->end);
	sim_mcuboot_free(self->pub.model);
	sim_fault_plan_free(self->pub.faults);
	g_array_unref(self->pub.requests);
	g_free(self);
}

void
test_device_add_fault(TestDevice *dev, const char *spec)
{
	g_autoptr(GError) error = NULL;

	sim_fault_plan_add(dev->faults, spec, &error);
	g_assert_no_error(error);
}

guint
test_device_count(TestDevice *dev, const char *kind)
{
	guint n = 0;

	for (guint i = 0; i < dev->requests->len; i++)
		n += g_str_equal(g_array_index(dev->requests, TestDeviceRequest, i).kind, kind);
	return n;
}

char *
test_device_summary(TestDevice *dev)
{
	GString *s = g_string_new(NULL);
	const char *last = NULL;

	for (guint i = 0; i < dev->requests->len; i++) {
		const char *kind = g_array_index(dev->requests, TestDeviceRequest, i).kind;
		if (last != NULL && g_str_equal(kind, last))
			continue;
		g_string_append_printf(s, "%s%s", s->len > 0 ? "," : "", kind);
		last = kind;
	}
	return g_string_free(s, FALSE);
}

gboolean
test_device_secondary_holds(TestDevice *dev, guint image, GBytes *data)
{
	const guint8 *slot = sim_mcuboot_peek_slot(dev->model, image, 1);

	return slot != NULL && memcmp(slot, g_bytes_get_data(data, NULL), g_bytes_get_size(data)) == 0;
}

GBytes *
test_image_new(guint8 major, guint8 minor, gsize payload_size, guint32 seed)
{
	return test_image_new_at(major, minor, payload_size, seed, 0, 0);
}

GBytes *
test_image_new_at(guint8 major, guint8 minor, gsize payload_size, guint32 seed, guint32 flags,
                  guint32 load_addr)
{
	McubootWriterOptions opts = {.version = {.major = major, .minor = minor},
	                             .payload_size = payload_size,
	                             .seed = seed,
	                             .flags = flags,
	                             .load_addr = load_addr};
	g_autoptr(GError) error = NULL;
	GBytes *image = mcuboot_writer_build(&opts, &error);

	g_assert_no_error(error);
	return image;
}
