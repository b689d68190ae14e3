/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-smp-device.h"
#include "sim-smp-handlers.h"

typedef struct {
	GBytes *msg;
	guint64 number; /* request number, from 1 */
} SimRequest;

struct _SimSmpDevice {
	SimSmpDeviceConfig config;
	SimSmpDeviceCallbacks callbacks;
	gpointer user_data;
	SimMcuboot *model;
	SimFaultPlan *faults;
	SimHandlerContext ctx;
	GQueue requests;   /* SimRequest*, waiting */
	guint delay_timer; /* flash time of the request in hand */
	GBytes *delayed;   /* its answer */
	gboolean delayed_reset;
	guint reset_timer;
	gboolean pumping;
	guint64 generation_saved;
	guint64 data_generation_saved;
	guint save_timer; /* a save of upload bytes and counters, put off */
	SimCounters counters;
};

/* the middle of an upload is saved at most this often: a state file
 * rewritten per chunk would cost more than the link */
#define DATA_SAVE_DELAY_MS 100

static void
request_free(SimRequest *req)
{
	g_bytes_unref(req->msg);
	g_free(req);
}

SimSmpDevice *
sim_smp_device_new(const SimSmpDeviceConfig *config, SimMcuboot *model, SimFaultPlan *faults,
                   const SimSmpDeviceCallbacks *callbacks, gpointer user_data)
{
	SimSmpDevice *device = g_new0(SimSmpDevice, 1);

	device->config = *config;
	device->callbacks = *callbacks;
	device->user_data = user_data;
	device->model = model;
	device->faults = faults;
	device->ctx.model = model;
	device->ctx.params = config->params;
	device->ctx.buf_size = config->buf_size;
	device->ctx.buf_count = config->buf_count;
	device->ctx.errors_v2 = config->errors_v2;
	device->generation_saved = G_MAXUINT64;
	g_queue_init(&device->requests);
	return device;
}

void
sim_smp_device_link_lost(SimSmpDevice *device)
{
	g_queue_clear_full(&device->requests, (GDestroyNotify)request_free);
	g_clear_handle_id(&device->delay_timer, g_source_remove);
	g_clear_pointer(&device->delayed, g_bytes_unref);
}

void
sim_smp_device_free(SimSmpDevice *device)
{
	if (device == NULL)
		return;
	sim_smp_device_link_lost(device);
	g_clear_handle_id(&device->reset_timer, g_source_remove);
	g_clear_handle_id(&device->save_timer, g_source_remove);
	g_free(device);
}

SimCounters *
sim_smp_device_get_counters(SimSmpDevice *device)
{
	return &device->counters;
}

gboolean
sim_smp_device_write_state(SimSmpDevice *device, GError **error)
{
	device->generation_saved = sim_mcuboot_get_generation(device->model);
	device->data_generation_saved = sim_mcuboot_get_data_generation(device->model);
	g_clear_handle_id(&device->save_timer, g_source_remove);
	if (device->config.state_file == NULL)
		return TRUE;
	return sim_state_file_write(device->config.state_file, device->model, &device->counters, error);
}

static void
save_state(SimSmpDevice *device)
{
	g_autoptr(GError) error = NULL;

	if (!sim_smp_device_write_state(device, &error))
		g_printerr("%s: %s\n", device->config.log_prefix, error->message);
}

static gboolean
on_save_due(gpointer data)
{
	SimSmpDevice *device = data;

	device->save_timer = 0;
	save_state(device);
	return G_SOURCE_REMOVE;
}

static void
save_changes(SimSmpDevice *device)
{
	if (sim_mcuboot_get_generation(device->model) != device->generation_saved)
		save_state(device);
	else if (sim_mcuboot_get_data_generation(device->model) != device->data_generation_saved &&
	         device->save_timer == 0)
		device->save_timer = g_timeout_add(DATA_SAVE_DELAY_MS, on_save_due, device);
}

guint
sim_smp_device_queued(SimSmpDevice *device)
{
	return g_queue_get_length(&device->requests) + (device->delay_timer != 0 ? 1 : 0);
}

guint
sim_smp_device_held(SimSmpDevice *device)
{
	return sim_smp_device_queued(device) + device->callbacks.held(device->user_data);
}

/* the device goes away: RAM and queued requests are lost, the bootloader runs */
static void
reboot(SimSmpDevice *device)
{
	sim_smp_device_link_lost(device);
	g_clear_handle_id(&device->reset_timer, g_source_remove);
	device->counters.resets++;
	sim_mcuboot_reboot(device->model);
	save_state(device);
	if (device->config.verbose)
		g_printerr("%s: reset\n", device->config.log_prefix);
	device->callbacks.rebooted(device->user_data);
}

static gboolean
on_reset_due(gpointer data)
{
	SimSmpDevice *device = data;

	device->reset_timer = 0;
	reboot(device);
	return G_SOURCE_REMOVE;
}

static void
send_response(SimSmpDevice *device, GBytes *msg, gboolean reset)
{
	device->callbacks.send(msg, device->user_data);
	if (reset && device->reset_timer == 0)
		device->reset_timer = g_timeout_add(device->config.reset_ms, on_reset_due, device);
}

static gboolean
on_flash_done(gpointer data)
{
	SimSmpDevice *device = data;
	g_autoptr(GBytes) msg = g_steal_pointer(&device->delayed);

	device->delay_timer = 0;
	send_response(device, msg, device->delayed_reset);
	sim_smp_device_pump(device);
	return G_SOURCE_REMOVE;
}

/* a threshold fault that the bytes written so far have reached */
static gboolean
threshold_hit(SimSmpDevice *device, const SimReply *reply, SimFaultKind kind)
{
	return reply->upload_written > 0 &&
	       sim_fault_plan_take_threshold(device->faults, kind, device->counters.upload_bytes);
}

static void
log_request(SimSmpDevice *device, guint64 number, GBytes *msg, const SimReply *reply)
{
	SmpHeader hdr;

	if (!device->config.verbose)
		return;
	smp_header_parse(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), &hdr);
	g_printerr("%s: #%" G_GUINT64_FORMAT " group %u id %u op %u -> %s\n", device->config.log_prefix,
	           number, hdr.group, hdr.id, hdr.op, reply->failed ? "error" : "ok");
}

/* Runs one request; the answer, or NULL when the device says nothing (it may be gone). */
static GBytes *
handle_request(SimSmpDevice *device, const SimRequest *request, guint64 *delay_us, gboolean *reset)
{
	SimReply reply = {0};
	g_autoptr(GBytes) msg =
	        sim_smp_respond(&device->ctx, g_bytes_get_data(request->msg, NULL),
	                        g_bytes_get_size(request->msg), device->faults, request->number, &reply);

	device->counters.upload_bytes += reply.upload_written;
	*delay_us = reply.delay_us;
	*reset = reply.reset;
	if (threshold_hit(device, &reply, SIM_FAULT_RESET_AT)) {
		reboot(device);
		return NULL;
	}
	if (threshold_hit(device, &reply, SIM_FAULT_HANGUP_AT)) {
		device->callbacks.hang_up(device->user_data);
		return NULL;
	}
	log_request(device, request->number, msg, &reply);
	return g_steal_pointer(&msg);
}

void
sim_smp_device_pump(SimSmpDevice *device)
{
	if (device->pumping)
		return;
	device->pumping = TRUE;
	while (device->delay_timer == 0 && !g_queue_is_empty(&device->requests)) {
		SimRequest *request = g_queue_pop_head(&device->requests);
		g_autoptr(GBytes) msg = NULL;
		guint64 delay_us = 0;
		gboolean reset = FALSE;

		if (!sim_fault_plan_silent(device->faults, request->number))
			msg = handle_request(device, request, &delay_us, &reset);
		request_free(request);
		save_changes(device);
		if (msg == NULL)
			continue;
		if (delay_us > 0) {
			device->delayed = g_steal_pointer(&msg);
			device->delayed_reset = reset;
			device->delay_timer =
			        g_timeout_add((guint)((delay_us + 999) / 1000), on_flash_done, device);
			break;
		}
		send_response(device, msg, reset);
	}
	device->pumping = FALSE;
}

void
sim_smp_device_receive(SimSmpDevice *device, const guint8 *msg, gsize len)
{
	SimRequest *request;

	device->counters.requests++;
	if (sim_fault_plan_at(device->faults, SIM_FAULT_DROP_REQUEST, device->counters.requests) ||
	    sim_smp_device_held(device) >= device->config.buf_count) {
		/* out of netbufs: the request is gone without a word */
		device->counters.dropped_requests++;
		return;
	}
	request = g_new0(SimRequest, 1);
	request->msg = g_bytes_new(msg, len);
	request->number = device->counters.requests;
	g_queue_push_tail(&device->requests, request);
}
