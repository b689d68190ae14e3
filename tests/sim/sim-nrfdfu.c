/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-nrfdfu.h"

#include <openssl/evp.h>
#include <string.h>

#include "nrf5-init-packet.h"
#include "nrfdfu-commands.h"
#include "sim-state-file.h"

#define COMMAND_MAX 512

/* init packet types, indexed by Nrf5InitPacket.type */
static const char *const image_names[] = {"application", "softdevice", "bootloader", "softdevice_bootloader"};

typedef struct {
	guint32 offset;
	guint32 crc;
} Progress;

typedef struct {
	GBytes *data;
	guint32 version;
} Installed;

struct _SimNrfDfu {
	SimNrfDfuConfig config;
	SimFaultPlan *faults;
	const SimNrfDfuCallbacks *callbacks;
	gpointer user_data;

	NrfDfuObjectType selected;
	guint prn;
	guint prn_count;

	/* command object: received bytes, created size, valid once executed (kept in flash) */
	GByteArray *command;
	guint32 command_size;
	gboolean command_valid;
	Nrf5InitPacket *init; /* of the command object, once it was executed or checked */
	guint32 image_size;

	/* data: RAM progress, the object in progress (size 0: none), and what flash saved */
	GByteArray *image;
	Progress ram;
	Progress saved;
	guint32 object_start;
	guint32 object_size;

	gint64 flash_free_at; /* monotonic µs when the flash queue is empty */
	gint64 flash_wait;
	gint64 image_start; /* when the image's first data object was created */

	Installed installed[G_N_ELEMENTS(image_names)];
	const char *activated;
	struct {
		guint64 requests;
		guint64 responses;
		guint64 bytes_written;
		guint64 creates;
		guint64 crc_requests; /* asked for, not sent by a PRN */
		guint64 executes;
		guint64 resets;
		guint64 disconnects;
		guint64 bad_frames;
	} counters;
};

void
sim_nrfdfu_config_init(SimNrfDfuConfig *config)
{
	*config = (SimNrfDfuConfig){.mtu = 131, .data_max = 4096, .flash_size = 1024 * 1024};
}

SimNrfDfu *
sim_nrfdfu_new(const SimNrfDfuConfig *config, SimFaultPlan *faults, const SimNrfDfuCallbacks *callbacks,
               gpointer user_data)
{
	SimNrfDfu *dev = g_new0(SimNrfDfu, 1);

	dev->config = *config;
	dev->faults = faults;
	dev->callbacks = callbacks;
	dev->user_data = user_data;
	dev->command = g_byte_array_new();
	dev->image = g_byte_array_new();
	dev->installed[0].version = config->app_version;
	return dev;
}

void
sim_nrfdfu_free(SimNrfDfu *dev)
{
	if (dev == NULL)
		return;
	g_byte_array_unref(dev->command);
	g_byte_array_unref(dev->image);
	nrf5_init_packet_free(dev->init);
	for (gsize i = 0; i < G_N_ELEMENTS(dev->installed); i++)
		g_clear_pointer(&dev->installed[i].data, g_bytes_unref);
	g_free(dev);
}

/* ---- init packet ---- */

static gboolean
parse_init(SimNrfDfu *dev)
{
	g_clear_pointer(&dev->init, nrf5_init_packet_free);
	dev->init = nrf5_init_packet_parse(dev->command->data, dev->command->len, NULL);
	return dev->init != NULL;
}

/* ---- responses ---- */

static void
respond(SimNrfDfu *dev, guint8 op, guint8 result, guint8 ext, const guint8 *payload, gsize len)
{
	g_autoptr(GBytes) rsp = nrfdfu_response_new(op, result, ext, payload, len);

	++dev->counters.responses;
	if (sim_fault_plan_at(dev->faults, SIM_FAULT_GARBAGE, dev->counters.responses)) {
		/* what a bootloader's log output or a glitch would put between answers */
		static const guint8 noise[] = {0x00, 0xFF, 0x60};
		g_autoptr(GBytes) garbage = g_bytes_new_static(noise, sizeof(noise));
		dev->callbacks->send(garbage, dev->user_data);
	}
	if (sim_fault_plan_at(dev->faults, SIM_FAULT_CORRUPT_RESPONSE, dev->counters.responses)) {
		/* a flipped bit in the last byte: for select and CRC answers, the CRC */
		gsize n = 0;
		guint8 *copy = g_bytes_unref_to_data(g_steal_pointer(&rsp), &n);
		copy[n - 1] ^= 0x01;
		rsp = g_bytes_new_take(copy, n);
	}
	dev->callbacks->send(rsp, dev->user_data);
}

static void
respond_result(SimNrfDfu *dev, guint8 op, guint8 result)
{
	respond(dev, op, result, 0, NULL, 0);
}

static void
respond_ext(SimNrfDfu *dev, guint8 op, guint8 ext)
{
	respond(dev, op, NRFDFU_RESULT_EXTENDED_ERROR, ext, NULL, 0);
}

static void
put_u32(guint8 *p, guint32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (guint8)(v >> (8 * i));
}

static Progress
selected_progress(SimNrfDfu *dev)
{
	if (dev->selected == NRFDFU_OBJECT_COMMAND)
		return (Progress){dev->command->len, nrfdfu_crc32(0, dev->command->data, dev->command->len)};
	return dev->ram;
}

static void
respond_crc(SimNrfDfu *dev, guint8 op)
{
	Progress p = selected_progress(dev);
	guint8 payload[8];

	put_u32(payload, p.offset);
	put_u32(payload + 4, p.crc);
	respond(dev, op, NRFDFU_RESULT_SUCCESS, 0, payload, sizeof(payload));
}

/* ---- requests ---- */

static guint32
get_u32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static void
on_ping(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	respond(dev, NRFDFU_OP_PING, NRFDFU_RESULT_SUCCESS, 0, params, MIN(len, 1));
}

static void
on_set_prn(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	dev->prn = params[0] | params[1] << 8;
	dev->prn_count = 0;
	respond_result(dev, NRFDFU_OP_SET_PRN, NRFDFU_RESULT_SUCCESS);
}

static void
on_get_mtu(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	const guint8 mtu[2] = {dev->config.mtu & 0xFF, dev->config.mtu >> 8};
	respond(dev, NRFDFU_OP_GET_MTU, NRFDFU_RESULT_SUCCESS, 0, mtu, sizeof(mtu));
}

static void
on_select(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	guint8 payload[12];
	Progress p;

	if (params[0] != NRFDFU_OBJECT_COMMAND && params[0] != NRFDFU_OBJECT_DATA) {
		respond_result(dev, NRFDFU_OP_SELECT, NRFDFU_RESULT_INVALID_PARAMETER);
		return;
	}
	dev->selected = params[0];
	p = selected_progress(dev);
	put_u32(payload, dev->selected == NRFDFU_OBJECT_COMMAND ? COMMAND_MAX : dev->config.data_max);
	put_u32(payload + 4, p.offset);
	put_u32(payload + 8, p.crc);
	respond(dev, NRFDFU_OP_SELECT, NRFDFU_RESULT_SUCCESS, 0, payload, sizeof(payload));
}

/* a new command object drops everything the previous one started */
static void
reset_progress(SimNrfDfu *dev)
{
	g_byte_array_set_size(dev->command, 0);
	dev->command_valid = FALSE;
	dev->command_size = 0;
	dev->image_size = 0;
	dev->ram = dev->saved = (Progress){0, 0};
	dev->object_size = 0;
	dev->object_start = 0;
}

static void
create_command(SimNrfDfu *dev, guint32 size)
{
	if (size == 0 || size > COMMAND_MAX) {
		respond_result(dev, NRFDFU_OP_CREATE,
		               size == 0 ? NRFDFU_RESULT_INVALID_PARAMETER
		                         : NRFDFU_RESULT_INSUFFICIENT_RESOURCES);
		return;
	}
	reset_progress(dev);
	dev->command_size = size;
	dev->selected = NRFDFU_OBJECT_COMMAND;
	respond_result(dev, NRFDFU_OP_CREATE, NRFDFU_RESULT_SUCCESS);
}

static void
create_data(SimNrfDfu *dev, guint32 size)
{
	guint8 result = NRFDFU_RESULT_SUCCESS;
	/* create rewinds to the end of the last executed object */
	guint32 start = dev->saved.offset;

	if (!dev->command_valid || start + size > dev->image_size)
		result = NRFDFU_RESULT_NOT_PERMITTED;
	else if (size == 0 || (size % dev->config.data_max != 0 && start + size != dev->image_size))
		result = NRFDFU_RESULT_INVALID_PARAMETER;
	else if (size > dev->config.data_max)
		result = NRFDFU_RESULT_INSUFFICIENT_RESOURCES;
	if (result == NRFDFU_RESULT_SUCCESS) {
		gint64 now = g_get_monotonic_time();

		if (start == 0)
			dev->image_start = now;
		dev->flash_free_at = MAX(now, dev->flash_free_at) + dev->config.erase_us;
		dev->ram = dev->saved;
		dev->object_start = start;
		dev->object_size = size;
		dev->selected = NRFDFU_OBJECT_DATA;
	}
	respond_result(dev, NRFDFU_OP_CREATE, result);
}

static void
on_create(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	guint32 size = get_u32(params + 1);

	dev->counters.creates++;
	dev->prn_count = 0;
	if (params[0] == NRFDFU_OBJECT_COMMAND)
		create_command(dev, size);
	else if (params[0] == NRFDFU_OBJECT_DATA)
		create_data(dev, size);
	else
		respond_result(dev, NRFDFU_OP_CREATE, NRFDFU_RESULT_UNSUPPORTED_TYPE);
}

/* bytes past the object's end are dropped without an answer, as on the real serial transport */
static void
on_write(SimNrfDfu *dev, const guint8 *data, gsize len)
{
	if (dev->selected == NRFDFU_OBJECT_COMMAND) {
		if (dev->command->len + len <= dev->command_size)
			g_byte_array_append(dev->command, data, (guint)len);
	} else if (dev->object_size != 0 && dev->ram.offset + len <= dev->object_start + dev->object_size) {
		if (dev->image->len < dev->ram.offset + len)
			g_byte_array_set_size(dev->image, dev->ram.offset + (guint)len);
		memcpy(dev->image->data + dev->ram.offset, data, len);
		dev->ram.crc = nrfdfu_crc32(dev->ram.crc, data, len);
		dev->ram.offset += (guint32)len;
		dev->counters.bytes_written += len;
		dev->flash_free_at = MAX(g_get_monotonic_time(), dev->flash_free_at) +
		                     (gint64)((len + 3) / 4) * dev->config.word_write_us;
		if (sim_fault_plan_take_threshold(dev->faults, SIM_FAULT_HANGUP_AT,
		                                  dev->counters.bytes_written)) {
			dev->callbacks->hang_up(dev->user_data);
			return;
		}
	}
	if (dev->prn != 0 && ++dev->prn_count == dev->prn) {
		dev->prn_count = 0;
		respond_crc(dev, NRFDFU_OP_CRC);
	}
}

static void
on_crc(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	dev->counters.crc_requests++;
	respond_crc(dev, NRFDFU_OP_CRC);
}

static gboolean
sd_req_met(SimNrfDfu *dev)
{
	for (guint i = 0; i < dev->init->sd_req->len; i++) {
		guint32 fwid = g_array_index(dev->init->sd_req, guint32, i);
		/* 0: the application needs no SoftDevice */
		if (fwid == dev->config.sd_fwid || (fwid == 0 && dev->init->type == 0))
			return TRUE;
	}
	return dev->init->sd_req->len == 0;
}

/* prevalidation of the init packet; 0 when it passes, else the extended error */
static guint8
validate_init(SimNrfDfu *dev)
{
	guint32 size;

	if (!parse_init(dev) || dev->init->type >= G_N_ELEMENTS(image_names))
		return NRFDFU_EXT_INIT_COMMAND_INVALID;
	size = dev->init->type == 0 ? dev->init->app_size : dev->init->sd_size + dev->init->bl_size;
	if (size == 0)
		return NRFDFU_EXT_INIT_COMMAND_INVALID;
	if (dev->init->hash_type != NRF5_INIT_HASH_SHA256 || dev->init->hash_len != 32)
		return NRFDFU_EXT_WRONG_HASH_TYPE;
	if (dev->config.hw_version != 0 && dev->init->hw_version != dev->config.hw_version)
		return NRFDFU_EXT_HW_VERSION_FAILURE;
	if (!sd_req_met(dev))
		return NRFDFU_EXT_SD_VERSION_FAILURE;
	if (dev->init->type == 0 && dev->init->fw_version < dev->installed[0].version)
		return NRFDFU_EXT_FW_VERSION_FAILURE;
	if (size > dev->config.flash_size)
		return NRFDFU_EXT_INSUFFICIENT_SPACE;
	dev->image_size = size;
	return NRFDFU_EXT_NO_ERROR;
}

static void
execute_command(SimNrfDfu *dev)
{
	guint8 ext;

	if (dev->command_size == 0 || dev->command->len != dev->command_size) {
		respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_NOT_PERMITTED);
		return;
	}
	/* executing a valid init packet again changes nothing */
	if (dev->command_valid) {
		respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_SUCCESS);
		return;
	}
	ext = validate_init(dev);
	if (ext != NRFDFU_EXT_NO_ERROR) {
		respond_ext(dev, NRFDFU_OP_EXECUTE, ext);
		return;
	}
	dev->command_valid = TRUE;
	g_byte_array_set_size(dev->image, 0);
	respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_SUCCESS);
}

static gboolean
image_hash_matches(SimNrfDfu *dev)
{
	guint8 digest[32];
	unsigned int n = 0;

	EVP_Digest(dev->image->data, dev->image_size, digest, &n, EVP_sha256(), NULL);
	/* nrfutil stores the digest little-endian */
	for (gsize i = 0; i < sizeof(digest); i++) {
		if (digest[i] != dev->init->hash[sizeof(digest) - 1 - i])
			return FALSE;
	}
	return TRUE;
}

static void
activate(SimNrfDfu *dev)
{
	Installed *slot = &dev->installed[dev->init->type];

	g_clear_pointer(&slot->data, g_bytes_unref);
	slot->data = g_bytes_new(dev->image->data, dev->image_size);
	slot->version = dev->init->fw_version;
	dev->activated = image_names[dev->init->type];
	/* the transfer's span as the device sees it, the same for any client */
	g_printerr("dfu-sim: nrfdfu: %s of %u bytes: %" G_GINT64_FORMAT
	           " us from the first data create to activation\n",
	           dev->activated, dev->image_size,
	           g_get_monotonic_time() + dev->flash_wait - dev->image_start);
	reset_progress(dev);
	dev->counters.resets++;
	dev->callbacks->reset(dev->user_data);
}

static void
execute_data(SimNrfDfu *dev)
{
	if (!dev->command_valid || dev->object_size == 0 ||
	    dev->ram.offset - dev->object_start != dev->object_size) {
		respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_NOT_PERMITTED);
		return;
	}
	dev->object_size = 0;
	dev->saved = dev->ram;
	/* the request handler answers once the object's pages are written */
	dev->flash_wait = MAX(dev->flash_free_at - g_get_monotonic_time(), 0);
	if (dev->ram.offset < dev->image_size) {
		respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_SUCCESS);
		return;
	}
	if (!image_hash_matches(dev)) {
		reset_progress(dev);
		respond_ext(dev, NRFDFU_OP_EXECUTE, NRFDFU_EXT_VERIFICATION_FAILED);
		return;
	}
	respond_result(dev, NRFDFU_OP_EXECUTE, NRFDFU_RESULT_SUCCESS);
	activate(dev);
}

static void
on_execute(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	dev->counters.executes++;
	if (dev->selected == NRFDFU_OBJECT_COMMAND)
		execute_command(dev);
	else
		execute_data(dev);
}

static void
on_abort(SimNrfDfu *dev, const guint8 *params, gsize len)
{
	respond_result(dev, NRFDFU_OP_ABORT, NRFDFU_RESULT_SUCCESS);
	sim_nrfdfu_disconnect(dev);
	dev->activated = NULL;
	dev->counters.resets++;
	dev->callbacks->reset(dev->user_data);
}

static const struct {
	guint8 op;
	gsize params; /* at least */
	void (*handle)(SimNrfDfu *dev, const guint8 *params, gsize len);
} handlers[] = {
        {NRFDFU_OP_PING, 1, on_ping},       {NRFDFU_OP_SET_PRN, 2, on_set_prn},
        {NRFDFU_OP_GET_MTU, 0, on_get_mtu}, {NRFDFU_OP_SELECT, 1, on_select},
        {NRFDFU_OP_CREATE, 5, on_create},   {NRFDFU_OP_WRITE, 0, on_write},
        {NRFDFU_OP_CRC, 0, on_crc},         {NRFDFU_OP_EXECUTE, 0, on_execute},
        {NRFDFU_OP_ABORT, 0, on_abort},
};

void
sim_nrfdfu_receive(SimNrfDfu *dev, const guint8 *request, gsize len)
{
	dev->counters.requests++;
	if (sim_fault_plan_at(dev->faults, SIM_FAULT_DROP_REQUEST, dev->counters.requests))
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++) {
		if (handlers[i].op != request[0])
			continue;
		/* the BLE transport hands these on, but no SDK answers them there: clients must not ask */
		if (dev->config.gatt && (request[0] == NRFDFU_OP_PING || request[0] == NRFDFU_OP_GET_MTU))
			break;
		if (len - 1 < handlers[i].params) {
			respond_result(dev, request[0], NRFDFU_RESULT_INVALID_PARAMETER);
			return;
		}
		handlers[i].handle(dev, request + 1, len - 1);
		return;
	}
	respond_result(dev, request[0], NRFDFU_RESULT_OP_NOT_SUPPORTED);
}

void
sim_nrfdfu_disconnect(SimNrfDfu *dev)
{
	dev->counters.disconnects++;
	/* an init packet that was not executed is not in flash */
	if (!dev->command_valid) {
		g_byte_array_set_size(dev->command, 0);
		dev->command_size = 0;
	}
	dev->ram = dev->saved;
	dev->object_size = 0;
	dev->prn = 0;
	dev->prn_count = 0;
}

void
sim_nrfdfu_add_bad_frames(SimNrfDfu *dev, guint n)
{
	dev->counters.bad_frames += n;
}

gint64
sim_nrfdfu_take_flash_wait(SimNrfDfu *dev)
{
	gint64 wait = dev->flash_wait;

	dev->flash_wait = 0;
	return wait;
}

guint64
sim_nrfdfu_get_bytes_written(SimNrfDfu *dev)
{
	return dev->counters.bytes_written;
}

GBytes *
sim_nrfdfu_get_installed(SimNrfDfu *dev, const char *type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(image_names); i++) {
		if (g_str_equal(image_names[i], type))
			return dev->installed[i].data;
	}
	return NULL;
}

gboolean
sim_nrfdfu_write_state(SimNrfDfu *dev, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;

	if (dev->config.state_file == NULL)
		return TRUE;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "protocol");
	json_builder_add_string_value(b, "nrfdfu");
	json_builder_set_member_name(b, "images");
	json_builder_begin_object(b);
	for (gsize i = 0; i < G_N_ELEMENTS(image_names); i++) {
		GBytes *data = dev->installed[i].data;
		g_autofree char *sha = NULL;

		if (data == NULL && dev->installed[i].version == 0)
			continue;
		json_builder_set_member_name(b, image_names[i]);
		json_builder_begin_object(b);
		sim_state_file_add_counter(b, "version", dev->installed[i].version);
		sim_state_file_add_counter(b, "size", data != NULL ? g_bytes_get_size(data) : 0);
		json_builder_set_member_name(b, "sha256");
		if (data != NULL) {
			sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, data);
			json_builder_add_string_value(b, sha);
		} else {
			json_builder_add_null_value(b);
		}
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "dfu");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "init_valid");
	json_builder_add_boolean_value(b, dev->command_valid);
	sim_state_file_add_counter(b, "offset", dev->ram.offset);
	sim_state_file_add_counter(b, "saved_offset", dev->saved.offset);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "counters");
	json_builder_begin_object(b);
	sim_state_file_add_counter(b, "requests", dev->counters.requests);
	sim_state_file_add_counter(b, "bytes_written", dev->counters.bytes_written);
	sim_state_file_add_counter(b, "creates", dev->counters.creates);
	sim_state_file_add_counter(b, "crc_requests", dev->counters.crc_requests);
	sim_state_file_add_counter(b, "executes", dev->counters.executes);
	sim_state_file_add_counter(b, "resets", dev->counters.resets);
	sim_state_file_add_counter(b, "disconnects", dev->counters.disconnects);
	sim_state_file_add_counter(b, "bad_frames", dev->counters.bad_frames);
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	return sim_state_file_replace(dev->config.state_file, text, error);
}

const char *
sim_nrfdfu_get_activated(SimNrfDfu *dev)
{
	return dev->activated;
}
