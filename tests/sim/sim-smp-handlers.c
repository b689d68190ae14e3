/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sim-smp-handlers.h"

#define OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER 3

typedef void (*SimHandlerFunc)(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply);

static void
reply_smp_error(SimReply *reply, guint rc)
{
	reply->failed = TRUE;
	reply->group_error = FALSE;
	reply->rc = rc;
}

static void
reply_group_error(SimReply *reply, guint group, guint rc)
{
	reply->failed = TRUE;
	reply->group_error = TRUE;
	reply->group = group;
	reply->rc = rc;
}

static void
handle_echo(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	g_autofree char *d = smp_map_get_text(req, "d");

	if (d == NULL) {
		reply_smp_error(reply, SMP_RC_EINVAL);
		return;
	}
	reply->payload = smp_map_new();
	smp_map_add_text(reply->payload, "r", d);
}

static void
handle_reset(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	guint64 boot_mode = 0;

	/* CONFIG_MCUMGR_GRP_OS_RESET_BOOT_MODE: 1 reboots into the bootloader (or its loader) */
	if (smp_map_get_uint(req, "boot_mode", &boot_mode) && boot_mode == 1)
		sim_mcuboot_request_loader(ctx->model);
	reply->payload = smp_map_new();
	reply->reset = TRUE;
}

static void
handle_params(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	if (!ctx->params) {
		reply_smp_error(reply, SMP_RC_ENOTSUP);
		return;
	}
	reply->payload = smp_map_new();
	smp_map_add_uint(reply->payload, "buf_size", ctx->buf_size);
	smp_map_add_uint(reply->payload, "buf_count", ctx->buf_count);
}

static void
handle_bootloader_info(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	g_autofree char *query = smp_map_get_text(req, "query");

	if (sim_mcuboot_get_config(ctx->model)->no_bootloader_info) {
		reply_smp_error(reply, SMP_RC_ENOTSUP);
		return;
	}
	if (query != NULL && g_strcmp0(query, "mode") != 0) {
		reply_group_error(reply, SMP_GROUP_OS, OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER);
		return;
	}
	reply->payload = smp_map_new();
	if (query == NULL)
		smp_map_add_text(reply->payload, "bootloader", "MCUboot");
	else
		smp_map_add_int(reply->payload, "mode", sim_mcuboot_get_mode_number(ctx->model));
}

static void
handle_state_read(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	cbor_item_t *images = cbor_new_indefinite_array();
	guint n_images = sim_mcuboot_get_images(ctx->model);

	for (guint image = 0; image < n_images; image++) {
		for (guint slot = 0; slot < 2; slot++) {
			SimSlotState state;
			cbor_item_t *entry;
			g_autofree char *version = NULL;

			if (!sim_mcuboot_slot_state(ctx->model, image, slot, &state))
				continue;
			entry = smp_map_new();
			/* the image number is left out on single-image devices */
			if (n_images > 1)
				smp_map_add_uint(entry, "image", image);
			smp_map_add_uint(entry, "slot", slot);
			version = mcuboot_version_to_string(&state.info.version);
			smp_map_add_text(entry, "version", version);
			smp_map_add_bytes(entry, "hash", state.info.hash, state.info.hash_len);
			smp_map_add_bool(entry, "bootable", state.bootable);
			smp_map_add_bool(entry, "pending", state.pending);
			smp_map_add_bool(entry, "confirmed", state.confirmed);
			smp_map_add_bool(entry, "active", state.active);
			smp_map_add_bool(entry, "permanent", state.permanent);
			if (!cbor_array_push(images, entry))
				g_error("out of memory building the image list");
			cbor_decref(&entry);
		}
	}
	reply->payload = smp_map_new();
	smp_map_add_item(reply->payload, "images", images);
	smp_map_add_uint(reply->payload, "splitStatus", 0);
}

static void
handle_state_write(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	g_autoptr(GBytes) hash = smp_map_get_bytes(req, "hash");
	cbor_item_t *hash_item = smp_map_get(req, "hash");
	cbor_item_t *confirm_item = smp_map_get(req, "confirm");
	gboolean confirm = FALSE;
	SimImgErr rc;

	/* direct-XIP without revert and RAM-load build no state write handler, nor does a loader */
	if (!sim_mcuboot_has_state_write(ctx->model) || sim_mcuboot_in_loader(ctx->model)) {
		reply_smp_error(reply, SMP_RC_ENOTSUP);
		return;
	}
	/* a hash that is not a byte string, or a confirm that is not a bool, fails CBOR decoding */
	if ((hash_item != NULL && hash == NULL) ||
	    (confirm_item != NULL && !smp_map_get_bool(req, "confirm", &confirm))) {
		reply_smp_error(reply, SMP_RC_EINVAL);
		return;
	}
	rc = sim_mcuboot_state_write(ctx->model, hash != NULL ? g_bytes_get_data(hash, NULL) : NULL,
	                             hash != NULL ? g_bytes_get_size(hash) : 0, confirm);
	if (rc != SIM_IMG_OK) {
		reply_group_error(reply, SMP_GROUP_IMAGE, rc);
		return;
	}
	handle_state_read(ctx, req, reply);
}

static void
handle_upload(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	g_autoptr(GBytes) data = smp_map_get_bytes(req, "data");
	g_autoptr(GBytes) sha = smp_map_get_bytes(req, "sha");
	SimUploadRequest up = {0};
	SimUploadResult result;
	guint64 image = 0;
	SimImgErr rc;

	if (!smp_map_get_uint(req, "off", &up.off) || data == NULL) {
		reply_smp_error(reply, SMP_RC_EINVAL);
		return;
	}
	up.data = g_bytes_get_data(data, &up.data_len);
	up.has_len = smp_map_get_uint(req, "len", &up.len);
	smp_map_get_uint(req, "image", &image);
	up.image = (guint)MIN(image, G_MAXUINT);
	if (sha != NULL) {
		up.sha = g_bytes_get_data(sha, &up.sha_len);
		if (up.sha_len > 32) {
			reply_smp_error(reply, SMP_RC_EINVAL);
			return;
		}
	}
	smp_map_get_bool(req, "upgrade", &up.upgrade);
	/* REJECT_DIRECT_XIP_MISMATCHED_SLOT answers EINVAL, "img addr mismatch" */
	if (!sim_mcuboot_upload_address_ok(ctx->model, &up)) {
		reply_smp_error(reply, SMP_RC_EINVAL);
		return;
	}

	rc = sim_mcuboot_upload(ctx->model, &up, &result);
	reply->delay_us = result.delay_us;
	reply->upload_written = result.written;
	if (rc != SIM_IMG_OK) {
		reply_group_error(reply, SMP_GROUP_IMAGE, rc);
		return;
	}
	reply->payload = smp_map_new();
	smp_map_add_uint(reply->payload, "off", result.off);
	if (result.match >= 0)
		smp_map_add_bool(reply->payload, "match", result.match);
}

static void
handle_erase(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	guint64 slot = 1;
	SimImgErr rc;

	smp_map_get_uint(req, "slot", &slot);
	/* only secondary slots can be erased; slot numbers are global */
	if (slot % 2 == 0 || slot / 2 >= sim_mcuboot_get_images(ctx->model)) {
		reply_group_error(reply, SMP_GROUP_IMAGE,
		                  slot % 2 == 0 ? SIM_IMG_ERR_NO_FREE_SLOT : SIM_IMG_ERR_INVALID_SLOT);
		return;
	}
	rc = sim_mcuboot_erase(ctx->model, (guint)(slot / 2), &reply->delay_us);
	if (rc != SIM_IMG_OK) {
		reply_group_error(reply, SMP_GROUP_IMAGE, rc);
		return;
	}
	reply->payload = smp_map_new();
}

static void
handle_slot_info(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	cbor_item_t *images = cbor_new_indefinite_array();
	gsize slot_size = sim_mcuboot_get_slot_size(ctx->model);

	for (guint image = 0; image < sim_mcuboot_get_images(ctx->model); image++) {
		cbor_item_t *entry = smp_map_new();
		cbor_item_t *slots = cbor_new_indefinite_array();

		for (guint slot = 0; slot < sim_mcuboot_get_slots(ctx->model); slot++) {
			cbor_item_t *info = smp_map_new();
			smp_map_add_uint(info, "slot", slot);
			smp_map_add_uint(info, "size", slot_size);
			if (!cbor_array_push(slots, info))
				g_error("out of memory building slot info");
			cbor_decref(&info);
		}
		smp_map_add_uint(entry, "image", image);
		smp_map_add_item(entry, "slots", slots);
		/* measured on Zephyr 4.4 in RAM-load: no max_image_size */
		if (!sim_mcuboot_equal_slots(ctx->model))
			smp_map_add_uint(entry, "max_image_size", slot_size);
		if (!cbor_array_push(images, entry))
			g_error("out of memory building slot info");
		cbor_decref(&entry);
	}
	reply->payload = smp_map_new();
	smp_map_add_item(reply->payload, "images", images);
}

/* MCUboot's serial recovery lists slot and version ("x.y.z.build") only */
static void
handle_recovery_list(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	cbor_item_t *images = cbor_new_indefinite_array();
	SimSlotState state;

	if (sim_mcuboot_slot_state(ctx->model, 0, 0, &state)) {
		cbor_item_t *entry = smp_map_new();
		g_autofree char *version =
		        g_strdup_printf("%u.%u.%u.%u", state.info.version.major, state.info.version.minor,
		                        state.info.version.revision, state.info.version.build);

		smp_map_add_uint(entry, "slot", 0);
		smp_map_add_text(entry, "version", version);
		if (!cbor_array_push(images, entry))
			g_error("out of memory building the image list");
		cbor_decref(&entry);
	}
	reply->payload = smp_map_new();
	smp_map_add_item(reply->payload, "images", images);
}

/* boot_serial answers an upload with rc 0 and the offset */
static void
handle_recovery_upload(SimHandlerContext *ctx, cbor_item_t *req, SimReply *reply)
{
	handle_upload(ctx, req, reply);
	if (!reply->failed) {
		cbor_item_t *payload = smp_map_new();
		guint64 off = 0;

		smp_map_get_uint(reply->payload, "off", &off);
		smp_map_add_uint(payload, "rc", 0);
		smp_map_add_uint(payload, "off", off);
		cbor_decref(&reply->payload);
		reply->payload = payload;
	}
}

typedef struct {
	guint group;
	guint id;
	SimHandlerFunc read;
	SimHandlerFunc write;
} SimHandler;

/* MCUboot's serial recovery: what boot_serial.c answers, everything else a bare rc 8 */
static const SimHandler recovery_handlers[] = {
        {SMP_GROUP_OS, SMP_OS_ECHO, handle_echo, handle_echo},
        {SMP_GROUP_OS, SMP_OS_RESET, NULL, handle_reset},
        {SMP_GROUP_IMAGE, SMP_IMAGE_STATE, handle_recovery_list, NULL},
        {SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, NULL, handle_recovery_upload},
};

static const SimHandler handlers[] = {
        {SMP_GROUP_OS, SMP_OS_ECHO, handle_echo, handle_echo},
        {SMP_GROUP_OS, SMP_OS_RESET, NULL, handle_reset},
        {SMP_GROUP_OS, SMP_OS_PARAMS, handle_params, NULL},
        {SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, handle_bootloader_info, NULL},
        {SMP_GROUP_IMAGE, SMP_IMAGE_STATE, handle_state_read, handle_state_write},
        {SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, NULL, handle_upload},
        {SMP_GROUP_IMAGE, SMP_IMAGE_ERASE, NULL, handle_erase},
        {SMP_GROUP_IMAGE, SMP_IMAGE_SLOT_INFO, handle_slot_info, NULL},
};

void
sim_smp_handle(SimHandlerContext *ctx, const SmpMessage *req, SimReply *reply)
{
	/* a single-slot device in its bootloader speaks MCUboot's serial recovery */
	gboolean recovery = sim_mcuboot_in_loader(ctx->model) && sim_mcuboot_get_slots(ctx->model) == 1 &&
	                    sim_mcuboot_get_mode_number(ctx->model) == 0;
	const SimHandler *table = recovery ? recovery_handlers : handlers;
	gsize n = recovery ? G_N_ELEMENTS(recovery_handlers) : G_N_ELEMENTS(handlers);

	memset(reply, 0, sizeof(*reply));
	if (req->payload == NULL || !cbor_isa_map(req->payload)) {
		reply_smp_error(reply, SMP_RC_EINVAL);
		return;
	}
	for (gsize i = 0; i < n; i++) {
		SimHandlerFunc func;

		if (table[i].group != req->hdr.group || table[i].id != req->hdr.id)
			continue;
		func = req->hdr.op == SMP_OP_READ    ? table[i].read
		       : req->hdr.op == SMP_OP_WRITE ? table[i].write
		                                     : NULL;
		if (func != NULL) {
			func(ctx, req->payload, reply);
			return;
		}
		break;
	}
	reply_smp_error(reply, SMP_RC_ENOTSUP);
}

void
sim_reply_clear(SimReply *reply)
{
	if (reply->payload != NULL)
		cbor_decref(&reply->payload);
	memset(reply, 0, sizeof(*reply));
}

/* IMG_MGMT_ERR_* to mcumgr_err_t, by code */
static const guint8 img_err_v1[] = {
        0, 1, 1, 5, 5, 1, 1, 1, 1, 6, 1, 1, 1, 1, 3, 2, 1, 1, /* 0-17 */
        1, 3, 3, 3, 3, 1, 3, 3, 1, 6, 6, 1, 1, 1, 1, 1, 1,    /* 18-34 */
};

guint
sim_group_rc_to_v1(guint group, guint rc)
{
	if (rc == 0)
		return SMP_RC_OK;
	if (group == SMP_GROUP_IMAGE && rc < G_N_ELEMENTS(img_err_v1))
		return img_err_v1[rc];
	return SMP_RC_EUNKNOWN;
}

static cbor_item_t *
error_payload(gboolean v2, gboolean group_error, guint group, guint rc, gboolean translate)
{
	cbor_item_t *payload = smp_map_new();

	if (group_error && v2) {
		cbor_item_t *err = smp_map_new();
		smp_map_add_uint(err, "group", group);
		smp_map_add_uint(err, "rc", rc);
		smp_map_add_item(payload, "err", err);
	} else {
		smp_map_add_uint(payload, "rc",
		                 group_error && translate ? sim_group_rc_to_v1(group, rc) : rc);
	}
	return payload;
}

/* Zephyr's zcbor writes the top-level map with indefinite length (0xbf … 0xff) */
static GBytes *
indefinite_top_map(GBytes *msg)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(msg, &len);
	guint8 *out;
	SmpHeader hdr;

	/* only a map header of one byte (fewer than 24 pairs) is rewritten */
	if (len <= SMP_HEADER_SIZE || (data[SMP_HEADER_SIZE] & 0xe0) != 0xa0 ||
	    (data[SMP_HEADER_SIZE] & 0x1f) >= 24 || !smp_header_parse(data, len, &hdr))
		return msg;
	out = g_malloc(len + 1);
	memcpy(out, data, len);
	out[SMP_HEADER_SIZE] = 0xbf;
	out[len] = 0xff;
	hdr.len++;
	smp_header_write(&hdr, out);
	g_bytes_unref(msg);
	return g_bytes_new_take(out, len + 1);
}

GBytes *
sim_smp_respond(SimHandlerContext *ctx, const guint8 *msg, gsize len, SimFaultPlan *faults, guint64 number,
                SimReply *reply)
{
	g_autoptr(SmpMessage) req = NULL;
	SmpHeader hdr;
	gboolean v2;
	guint rc;
	GBytes *out;

	memset(reply, 0, sizeof(*reply));
	if (!smp_header_parse(msg, len, &hdr))
		return NULL;
	v2 = ctx->errors_v2 && hdr.version >= 1;
	req = smp_message_parse(msg, len, NULL);

	if (ctx->errors_v2 && hdr.version > 1)
		reply->payload = error_payload(v2, FALSE, 0, SMP_RC_UNSUPPORTED_TOO_NEW, FALSE);
	else if (req == NULL)
		reply->payload = error_payload(v2, FALSE, 0, SMP_RC_EINVAL, FALSE);
	else if (faults != NULL && sim_fault_plan_at(faults, SIM_FAULT_BUSY, number))
		reply->payload = error_payload(v2, FALSE, 0, SMP_RC_EBUSY, FALSE);
	else if (faults != NULL && sim_fault_plan_take_error(faults, hdr.group, hdr.id, &rc))
		reply->payload = error_payload(v2, TRUE, hdr.group, rc, FALSE);
	else {
		sim_smp_handle(ctx, req, reply);
		if (reply->failed)
			reply->payload = error_payload(v2, reply->group_error, reply->group, reply->rc, TRUE);
	}

	hdr.op = hdr.op | 1; /* read → read-rsp, write → write-rsp */
	hdr.version = ctx->errors_v2 ? MIN(hdr.version, 1) : 0;
	out = smp_message_encode(&hdr, reply->payload);
	if (sim_mcuboot_equal_slots(ctx->model))
		out = indefinite_top_map(out);
	if (reply->payload != NULL)
		cbor_decref(&reply->payload);
	return out;
}
