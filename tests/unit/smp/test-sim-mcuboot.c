/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/evp.h>

#include "mcuboot-writer.h"
#include "sim-faults.h"
#include "sim-mcuboot.h"
#include "sim-smp-handlers.h"
#include "smp-commands.h"
#include "smp-errors.h"

#define SLOT_SIZE 65536

/* one image running 1.0.0; mode SWAP_SCRATCH unless told */
static SimMcuboot *
model_new_mode(gboolean image_check, gboolean boot_rejects, SimBootMode mode)
{
	SimMcubootConfig config = {.images = 1,
	                           .slot_size = SLOT_SIZE,
	                           .running_version = {1, 0, 0, 0},
	                           .image_check = image_check,
	                           .boot_rejects = boot_rejects,
	                           .mode = mode,
	                           .allow_wrong_slot = TRUE};
	g_autoptr(GError) error = NULL;
	SimMcuboot *model = sim_mcuboot_new(&config, &error);

	g_assert_no_error(error);
	return model;
}

static SimMcuboot *
model_new(gboolean image_check, gboolean boot_rejects)
{
	return model_new_mode(image_check, boot_rejects, SIM_BOOT_SWAP_SCRATCH);
}

/* flags and load_addr: ROM_FIXED or RAM_LOAD images */
static GBytes *
build_image_at(guint8 major, gsize payload_size, guint32 seed, guint32 flags, guint32 load_addr)
{
	McubootWriterOptions opts = {.version = {major, 0, 0, 0},
	                             .payload_size = payload_size,
	                             .seed = seed,
	                             .flags = flags,
	                             .load_addr = load_addr};
	g_autoptr(GError) error = NULL;
	GBytes *image = mcuboot_writer_build(&opts, &error);

	g_assert_no_error(error);
	return image;
}

static GBytes *
build_image(guint8 major, gsize payload_size, guint32 seed)
{
	return build_image_at(major, payload_size, seed, 0, 0);
}

static void
file_sha(GBytes *file, guint8 sha[32])
{
	unsigned int len = 32;

	EVP_Digest(g_bytes_get_data(file, NULL), g_bytes_get_size(file), sha, &len, EVP_sha256(), NULL);
}

static SimImgErr
upload_chunk(SimMcuboot *model, GBytes *file, guint64 off, gsize len, const guint8 *sha, SimUploadResult *out)
{
	const guint8 *data = g_bytes_get_data(file, NULL);
	SimUploadRequest req = {.off = off, .data = data + off, .data_len = len};

	if (off == 0) {
		req.has_len = TRUE;
		req.len = g_bytes_get_size(file);
		req.sha = sha;
		req.sha_len = sha != NULL ? 32 : 0;
	}
	return sim_mcuboot_upload(model, &req, out);
}

/* uploads the whole file in chunks of 200 bytes */
static void
upload_all(SimMcuboot *model, GBytes *file, const guint8 *sha, SimUploadResult *last)
{
	gsize size = g_bytes_get_size(file);
	guint64 off = 0;

	while (off < size) {
		g_assert_cmpint(upload_chunk(model, file, off, MIN(200, size - off), sha, last), ==,
		                SIM_IMG_OK);
		g_assert_cmpuint(last->off, ==, off + MIN(200, size - off));
		off = last->off;
	}
}

/* ---- equal slots: direct-XIP and RAM-load ---- */

static GBytes *
build_fixed_image(guint8 major, guint32 flags, guint32 load_addr)
{
	return build_image_at(major, 500, major, flags, load_addr);
}

/* the slot that runs, and its major version */
static void
assert_runs_slot(SimMcuboot *model, guint slot, guint8 major)
{
	SimSlotState st;

	g_assert_true(sim_mcuboot_slot_state(model, 0, slot, &st));
	g_assert_true(st.active);
	g_assert_cmpuint(st.info.version.major, ==, major);
}

/* highest version wins, a tie goes to slot 0, a wrong-slot ROM_FIXED image is skipped */
static void
test_equal_slots_selection(void)
{
	g_autoptr(SimMcuboot) model = model_new_mode(FALSE, FALSE, SIM_BOOT_DIRECT_XIP);
	g_autoptr(GBytes) v2 = build_fixed_image(2, 0, 0);
	g_autoptr(GBytes) v3 = build_fixed_image(3, 0, 0);
	g_autoptr(GBytes) v4_slot1 = build_fixed_image(4, 0x100, SIM_FLASH_SLOT_BASE + SLOT_SIZE);
	g_autoptr(GBytes) v5_slot1 = build_fixed_image(5, 0x100, SIM_FLASH_SLOT_BASE + SLOT_SIZE);
	g_autoptr(GBytes) same = build_image(1, 600, 42);
	SimUploadResult last;
	SimSlotState st;

	const struct {
		GBytes *image;
		guint slot; /* that runs after the reset */
		guint8 major;
	} steps[] = {
	        {v2, 1, 2}, /* the higher version boots; the next upload goes to slot 0 */
	        {v3, 0, 3},
	        {v4_slot1, 1, 4}, /* linked for slot 1 and placed there */
	        {v5_slot1, 1, 4}, /* linked for slot 1 but placed in slot 0: skipped, not erased */
	};

	/* no state write handler: the reset alone boots the higher version */
	g_assert_false(sim_mcuboot_has_state_write(model));
	for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
		upload_all(model, steps[i].image, NULL, &last);
		sim_mcuboot_reboot(model);
		assert_runs_slot(model, steps[i].slot, steps[i].major);
	}
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &st));
	g_assert_cmpuint(st.info.version.major, ==, 5);

	/* a tie goes to slot 0 */
	g_clear_pointer(&model, sim_mcuboot_free);
	model = model_new_mode(FALSE, FALSE, SIM_BOOT_RAM_LOAD);
	upload_all(model, same, NULL, &last);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 0, 1);
}

/* with revert (direct-XIP or RAM-load), an image needs its test mark, and a trial that is not
 * confirmed goes */
static void
test_equal_slots_revert(gconstpointer mode)
{
	g_autoptr(SimMcuboot) model = model_new_mode(FALSE, FALSE, GPOINTER_TO_INT(mode));
	g_autoptr(GBytes) v2 = build_fixed_image(2, 0, 0);
	g_autoptr(GBytes) v3 = build_fixed_image(3, 0, 0);
	SimUploadResult last;
	SimSlotState st;

	/* no magic: scrambled at boot */
	upload_all(model, v2, NULL, &last);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 0, 1);
	g_assert_false(sim_mcuboot_slot_state(model, 0, 1, &st));

	/* tested, never confirmed: runs once, then the old image is back */
	upload_all(model, v2, NULL, &last);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &st));
	g_assert_cmpint(sim_mcuboot_state_write(model, st.info.hash, st.info.hash_len, FALSE), ==,
	                SIM_IMG_OK);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &st) && st.pending && !st.permanent);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 1, 2);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &st) && st.confirmed);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 0, 1);

	/* tested and confirmed after the reset: stays */
	upload_all(model, v3, NULL, &last);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &st));
	g_assert_cmpint(sim_mcuboot_state_write(model, st.info.hash, st.info.hash_len, FALSE), ==,
	                SIM_IMG_OK);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 1, 3);
	g_assert_cmpint(sim_mcuboot_state_write(model, NULL, 0, TRUE), ==, SIM_IMG_OK);
	sim_mcuboot_reboot(model);
	assert_runs_slot(model, 1, 3);
}

static void
test_initial_state(void)
{
	g_autoptr(SimMcuboot) model = model_new(FALSE, FALSE);
	SimSlotState state;

	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &state));
	g_assert_cmpuint(state.info.version.major, ==, 1);
	g_assert_true(state.active);
	g_assert_true(state.confirmed);
	g_assert_true(state.bootable);
	g_assert_false(state.pending);
	g_assert_false(sim_mcuboot_slot_state(model, 0, 1, &state));
	g_assert_false(sim_mcuboot_slot_state(model, 1, 0, &state));
}

static void
test_upload_rules(void)
{
	g_autoptr(SimMcuboot) model = model_new(TRUE, FALSE);
	g_autoptr(GBytes) file = build_image(2, 3000, 7);
	g_autoptr(GBytes) big = build_image(2, SLOT_SIZE, 7);
	const guint8 junk[64] = {0};
	guint8 sha[32];
	SimUploadResult out;
	SimUploadRequest req = {.data = junk, .data_len = sizeof(junk), .has_len = TRUE, .len = 100};

	file_sha(file, sha);
	/* off 0 checks: header size, magic, length, fit */
	req.data_len = 31;
	g_assert_cmpint(sim_mcuboot_upload(model, &req, &out), ==, SIM_IMG_ERR_INVALID_IMAGE_HEADER);
	req.data_len = sizeof(junk);
	g_assert_cmpint(sim_mcuboot_upload(model, &req, &out), ==, SIM_IMG_ERR_INVALID_IMAGE_HEADER_MAGIC);
	g_assert_cmpint(upload_chunk(model, big, 0, 64, NULL, &out), ==, SIM_IMG_ERR_INVALID_IMAGE_TOO_LARGE);

	/* no session yet: any other offset is answered with 0 */
	g_assert_cmpint(upload_chunk(model, file, 64, 64, NULL, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 0);

	g_assert_cmpint(upload_chunk(model, file, 0, 100, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 100);
	/* wrong offset: success with the expected one */
	g_assert_cmpint(upload_chunk(model, file, 300, 100, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 100);
	g_assert_cmpint(upload_chunk(model, file, 100, 100, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 200);
	/* the same file again at off 0: resume */
	g_assert_cmpint(upload_chunk(model, file, 0, 100, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 200);
	g_assert_cmpuint(out.written, ==, 0);
	/* overrun */
	{
		const guint8 *data = g_bytes_get_data(file, NULL);
		SimUploadRequest over = {.off = 200, .data = data, .data_len = g_bytes_get_size(file)};
		g_assert_cmpint(sim_mcuboot_upload(model, &over, &out), ==,
		                SIM_IMG_ERR_INVALID_IMAGE_DATA_OVERRUN);
	}
	/* finish: image check says match */
	{
		gsize size = g_bytes_get_size(file);
		guint64 off = 200;
		while (off < size) {
			g_assert_cmpint(upload_chunk(model, file, off, MIN(500, size - off), sha, &out), ==,
			                SIM_IMG_OK);
			off = out.off;
		}
		g_assert_cmpint(out.match, ==, 1);
	}
	/* image check finds the file already in flash */
	g_assert_cmpint(upload_chunk(model, file, 0, 100, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, g_bytes_get_size(file));
}

static void
test_upload_lost_on_reboot(void)
{
	g_autoptr(SimMcuboot) model = model_new(FALSE, FALSE);
	g_autoptr(GBytes) file = build_image(2, 3000, 7);
	guint8 sha[32];
	SimUploadResult out;

	file_sha(file, sha);
	g_assert_cmpint(upload_chunk(model, file, 0, 400, sha, &out), ==, SIM_IMG_OK);
	sim_mcuboot_reboot(model);
	g_assert_cmpint(upload_chunk(model, file, 400, 400, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 0);
	/* the same sha no longer resumes: a new session starts */
	g_assert_cmpint(upload_chunk(model, file, 0, 400, sha, &out), ==, SIM_IMG_OK);
	g_assert_cmpuint(out.off, ==, 400);
	g_assert_cmpuint(out.written, ==, 400);
}

static void
test_test_swap_revert_confirm(void)
{
	g_autoptr(SimMcuboot) model = model_new(FALSE, FALSE);
	g_autoptr(GBytes) file = build_image(2, 5000, 9);
	McubootImageInfo info;
	SimSlotState running;
	SimSlotState state;
	SimUploadResult out;
	guint8 unknown[32] = {0};

	g_assert_true(mcuboot_image_parse(g_bytes_get_data(file, NULL), g_bytes_get_size(file), &info, NULL));
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &running));
	upload_all(model, file, NULL, &out);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &state));
	g_assert_cmpmem(state.info.hash, state.info.hash_len, info.hash, info.hash_len);
	g_assert_false(state.pending);

	g_assert_cmpint(sim_mcuboot_state_write(model, unknown, 32, FALSE), ==, SIM_IMG_ERR_HASH_NOT_FOUND);
	g_assert_cmpint(sim_mcuboot_state_write(model, unknown, 5, FALSE), ==, SIM_IMG_ERR_INVALID_HASH);
	g_assert_cmpint(sim_mcuboot_state_write(model, running.info.hash, 32, FALSE), ==,
	                SIM_IMG_ERR_TEST_TO_ACTIVE_DENIED);
	g_assert_cmpint(sim_mcuboot_state_write(model, info.hash, info.hash_len, FALSE), ==, SIM_IMG_OK);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &state));
	g_assert_true(state.pending);
	g_assert_false(state.permanent);

	/* test boot: the new image runs unconfirmed */
	sim_mcuboot_reboot(model);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &state));
	g_assert_cmpuint(state.info.version.major, ==, 2);
	g_assert_true(state.active);
	g_assert_false(state.confirmed);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &state));
	g_assert_cmpuint(state.info.version.major, ==, 1);
	g_assert_true(state.confirmed);
	/* a new upload cannot take the slot the revert needs */
	g_assert_cmpint(upload_chunk(model, file, 0, 200, NULL, &out), ==, SIM_IMG_ERR_NO_FREE_SLOT);

	/* not confirmed: the next reset reverts */
	sim_mcuboot_reboot(model);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &state));
	g_assert_cmpuint(state.info.version.major, ==, 1);
	g_assert_true(state.confirmed);

	/* again, and this time confirm */
	g_assert_cmpint(sim_mcuboot_state_write(model, info.hash, info.hash_len, FALSE), ==, SIM_IMG_OK);
	sim_mcuboot_reboot(model);
	g_assert_cmpint(sim_mcuboot_state_write(model, NULL, 0, TRUE), ==, SIM_IMG_OK);
	sim_mcuboot_reboot(model);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &state));
	g_assert_cmpuint(state.info.version.major, ==, 2);
	g_assert_true(state.confirmed);
}

static void
test_boot_rejects(void)
{
	g_autoptr(SimMcuboot) model = model_new(FALSE, TRUE);
	g_autoptr(GBytes) file = build_image(3, 2000, 1);
	McubootImageInfo info;
	SimSlotState state;
	SimUploadResult out;

	g_assert_true(mcuboot_image_parse(g_bytes_get_data(file, NULL), g_bytes_get_size(file), &info, NULL));
	upload_all(model, file, NULL, &out);
	g_assert_cmpint(sim_mcuboot_state_write(model, info.hash, info.hash_len, TRUE), ==, SIM_IMG_OK);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 1, &state));
	g_assert_true(state.permanent);
	sim_mcuboot_reboot(model);
	g_assert_true(sim_mcuboot_slot_state(model, 0, 0, &state));
	g_assert_cmpuint(state.info.version.major, ==, 1);
	g_assert_false(sim_mcuboot_slot_state(model, 0, 1, &state));
}

static void
test_faults(void)
{
	g_autoptr(SimFaultPlan) plan = sim_fault_plan_new();
	g_autoptr(GError) error = NULL;
	guint rc = 0;

	g_assert_true(sim_fault_plan_add(plan, "drop-request@3", &error));
	g_assert_true(sim_fault_plan_add(plan, "error@1:0:8:2", &error));
	g_assert_true(sim_fault_plan_add(plan, "silent-after@5", &error));
	g_assert_true(sim_fault_plan_add(plan, "reset-at@1000", &error));
	g_assert_no_error(error);
	g_assert_false(sim_fault_plan_add(plan, "nonsense@1", &error));
	g_clear_error(&error);
	g_assert_false(sim_fault_plan_add(plan, "busy", &error));
	g_clear_error(&error);
	g_assert_false(sim_fault_plan_add(plan, "error@1:0", &error));
	g_clear_error(&error);
	g_assert_false(sim_fault_plan_add(plan, "busy@x", &error));
	g_clear_error(&error);

	g_assert_true(sim_fault_plan_at(plan, SIM_FAULT_DROP_REQUEST, 3));
	g_assert_false(sim_fault_plan_at(plan, SIM_FAULT_DROP_REQUEST, 2));
	g_assert_true(sim_fault_plan_take_error(plan, 1, 0, &rc));
	g_assert_cmpuint(rc, ==, 8);
	g_assert_true(sim_fault_plan_take_error(plan, 1, 0, &rc));
	g_assert_false(sim_fault_plan_take_error(plan, 1, 0, &rc));
	g_assert_false(sim_fault_plan_silent(plan, 5));
	g_assert_true(sim_fault_plan_silent(plan, 6));
	g_assert_false(sim_fault_plan_take_threshold(plan, SIM_FAULT_RESET_AT, 999));
	g_assert_true(sim_fault_plan_take_threshold(plan, SIM_FAULT_RESET_AT, 1200));
	g_assert_false(sim_fault_plan_take_threshold(plan, SIM_FAULT_RESET_AT, 2000));
}

static void
test_handlers(void)
{
	g_autoptr(SimMcuboot) model = model_new(FALSE, FALSE);
	SimHandlerContext ctx = {.model = model, .params = TRUE, .buf_size = 384, .buf_count = 4};
	SmpMessage req = {
	        .hdr = {.op = SMP_OP_READ, .version = 1, .group = SMP_GROUP_OS, .id = SMP_OS_PARAMS}};
	SimReply reply;
	guint64 v = 0;
	g_autofree cbor_item_t **items = NULL;
	gsize n = 0;

	req.payload = smp_map_new();
	sim_smp_handle(&ctx, &req, &reply);
	g_assert_false(reply.failed);
	g_assert_true(smp_map_get_uint(reply.payload, "buf_size", &v));
	g_assert_cmpuint(v, ==, 384);
	sim_reply_clear(&reply);

	ctx.params = FALSE;
	sim_smp_handle(&ctx, &req, &reply);
	g_assert_true(reply.failed);
	g_assert_false(reply.group_error);
	g_assert_cmpuint(reply.rc, ==, SMP_RC_ENOTSUP);
	sim_reply_clear(&reply);

	req.hdr.group = SMP_GROUP_ZEPHYR;
	req.hdr.id = 0;
	sim_smp_handle(&ctx, &req, &reply);
	g_assert_cmpuint(reply.rc, ==, SMP_RC_ENOTSUP);
	sim_reply_clear(&reply);

	req.hdr.group = SMP_GROUP_IMAGE;
	req.hdr.id = SMP_IMAGE_STATE;
	sim_smp_handle(&ctx, &req, &reply);
	g_assert_false(reply.failed);
	items = smp_array_items(smp_map_get(reply.payload, "images"), &n);
	g_assert_cmpuint(n, ==, 1);
	g_assert_null(smp_map_get(items[0], "image"));
	sim_reply_clear(&reply);
	cbor_decref(&req.payload);

	g_assert_cmpuint(sim_group_rc_to_v1(SMP_GROUP_IMAGE, SIM_IMG_ERR_HASH_NOT_FOUND), ==,
	                 SMP_RC_EUNKNOWN);
	g_assert_cmpuint(sim_group_rc_to_v1(SMP_GROUP_IMAGE, SIM_IMG_ERR_NO_FREE_SLOT), ==, SMP_RC_EBADSTATE);
	g_assert_cmpuint(sim_group_rc_to_v1(SMP_GROUP_IMAGE, SIM_IMG_ERR_INVALID_HASH), ==, SMP_RC_EINVAL);
}

/* one request through the whole responder: the answer as bytes and as a message */
static SmpMessage *
respond(SimHandlerContext *ctx, SmpOp op, guint16 group, guint8 id, cbor_item_t *payload, GBytes **raw)
{
	SmpHeader hdr = {.op = op, .version = 1, .group = group, .id = id};
	g_autoptr(GBytes) req = smp_message_encode(&hdr, payload);
	g_autoptr(GError) error = NULL;
	SimReply reply;
	SmpMessage *rsp;

	*raw = sim_smp_respond(ctx, g_bytes_get_data(req, NULL), g_bytes_get_size(req), NULL, 1, &reply);
	sim_reply_clear(&reply);
	cbor_decref(&payload);
	rsp = smp_message_parse(g_bytes_get_data(*raw, NULL), g_bytes_get_size(*raw), &error);
	g_assert_no_error(error);
	return rsp;
}

/* RAM-load answers as Zephyr 4.4 was measured to: indefinite maps, bare rc 8, no max_image_size */
static void
test_handlers_equal_slots(void)
{
	g_autoptr(SimMcuboot) model = model_new_mode(FALSE, FALSE, SIM_BOOT_RAM_LOAD);
	SimHandlerContext ctx = {.model = model, .errors_v2 = TRUE};
	cbor_item_t *query = smp_map_new();
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(SmpMessage) rsp = NULL;
	g_auto(SmpError) err = {0};
	g_autofree cbor_item_t **images = NULL;
	gint64 mode = -1;
	gsize n = 0;

	smp_map_add_text(query, "query", "mode");
	rsp = respond(&ctx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, query, &raw);
	g_assert_true(smp_map_get_int(rsp->payload, "mode", &mode));
	g_assert_cmpint(mode, ==, 6);
	g_assert_cmphex(((const guint8 *)g_bytes_get_data(raw, NULL))[SMP_HEADER_SIZE], ==, 0xbf);
	g_clear_pointer(&rsp, smp_message_free);
	g_clear_pointer(&raw, g_bytes_unref);

	rsp = respond(&ctx, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, smp_map_new(), &raw);
	g_assert_true(smp_response_get_error(rsp->payload, &err));
	g_assert_false(err.v2);
	g_assert_cmpuint(err.rc, ==, SMP_RC_ENOTSUP);
	g_clear_pointer(&rsp, smp_message_free);
	g_clear_pointer(&raw, g_bytes_unref);

	rsp = respond(&ctx, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_SLOT_INFO, smp_map_new(), &raw);
	images = smp_array_items(smp_map_get(rsp->payload, "images"), &n);
	g_assert_cmpuint(n, ==, 1);
	g_assert_nonnull(smp_map_get(images[0], "slots"));
	g_assert_null(smp_map_get(images[0], "max_image_size"));
}

/* a version-0 request (SMP v1, as the measured device was spoken to); the answer's bytes */
static GBytes *
respond_v0(SimHandlerContext *ctx, SmpOp op, guint16 group, guint8 id, guint8 seq, cbor_item_t *payload)
{
	SmpHeader hdr = {.op = op, .version = 0, .group = group, .id = id, .seq = seq};
	g_autoptr(GBytes) req = smp_message_encode(&hdr, payload);
	SimReply reply;
	GBytes *raw;

	raw = sim_smp_respond(ctx, g_bytes_get_data(req, NULL), g_bytes_get_size(req), NULL, 1, &reply);
	sim_reply_clear(&reply);
	cbor_decref(&payload);
	return raw;
}

/* the answer is exactly a bare {"rc": 8} in zcbor's indefinite map, with the request's header */
static void
assert_bare_enotsup(GBytes *raw, SmpOp op, guint16 group, guint8 id, guint8 seq)
{
	const guint8 expected[] = {
	        (guint8)(op | 1),
	        0x00,
	        0x00,
	        0x06,
	        (guint8)(group >> 8),
	        (guint8)group,
	        seq,
	        id,
	        0xbf,
	        0x62,
	        0x72,
	        0x63,
	        0x08,
	        0xff,
	};
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(raw, &len);

	g_assert_cmpmem(data, len, expected, sizeof(expected));
}

/* slot's entry of an image list: "version flags" with the flags that are true */
static char *
listed_slot(GBytes *raw, guint64 slot)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmpMessage) rsp =
	        smp_message_parse(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw), &error);
	static const char *const flags[] = {"active", "confirmed", "pending", "permanent"};
	g_autofree cbor_item_t **images = NULL;
	gsize n = 0;

	g_assert_no_error(error);
	images = smp_array_items(smp_map_get(rsp->payload, "images"), &n);
	for (gsize i = 0; i < n; i++) {
		g_autofree char *version = smp_map_get_text(images[i], "version");
		GString *out = g_string_new(version);
		guint64 s = G_MAXUINT64;

		smp_map_get_uint(images[i], "slot", &s);
		if (s != slot) {
			g_string_free(out, TRUE);
			continue;
		}
		for (gsize f = 0; f < G_N_ELEMENTS(flags); f++) {
			gboolean set = FALSE;
			if (smp_map_get_bool(images[i], flags[f], &set) && set)
				g_string_append_printf(out, " %s", flags[f]);
		}
		return g_string_free(out, FALSE);
	}
	return g_strdup("(not listed)");
}

static GBytes *
list_images(SimHandlerContext *ctx)
{
	return respond_v0(ctx, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 20, smp_map_new());
}

/*
 * The real Zephyr 4.4 RAM-load device of the SMP modes notes (§3.3), step by
 * step: no bootloader info, no state write, params, an upload listed without
 * flags, and the higher version running after the reset with both kept.
 */
static void
test_ram_load_measured(void)
{
	SimMcubootConfig config = {.images = 1,
	                           .slot_size = 262144,
	                           .running_version = {0, 0, 0, 0},
	                           .mode = SIM_BOOT_RAM_LOAD,
	                           .no_bootloader_info = TRUE};
	g_autoptr(GError) error = NULL;
	g_autoptr(SimMcuboot) model = sim_mcuboot_new(&config, &error);
	SimHandlerContext ctx = {
	        .model = model, .params = TRUE, .buf_size = 2048, .buf_count = 4, .errors_v2 = TRUE};
	g_autoptr(GBytes) image = build_image_at(1, 3000, 9, 0x20, 0x20240000);
	guint8 random_hash[32];
	cbor_item_t *payload;
	GBytes *raw;
	char *slot;
	guint64 v = 0;
	SimUploadResult last;
	guint8 sha[32];

	g_assert_no_error(error);
	/* 1: bootloader info, with and without query */
	raw = respond_v0(&ctx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, 1, smp_map_new());
	assert_bare_enotsup(raw, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, 1);
	g_bytes_unref(raw);
	payload = smp_map_new();
	smp_map_add_text(payload, "query", "mode");
	raw = respond_v0(&ctx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, 2, payload);
	assert_bare_enotsup(raw, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, 2);
	g_bytes_unref(raw);

	/* 2: one image, slot 0, 0.0.0, active and confirmed */
	raw = list_images(&ctx);
	slot = listed_slot(raw, 0);
	g_assert_cmpstr(slot, ==, "0.0.0 active confirmed");
	g_free(slot);
	slot = listed_slot(raw, 1);
	g_assert_cmpstr(slot, ==, "(not listed)");
	g_free(slot);
	g_bytes_unref(raw);

	/* 3: confirm without a hash, and test with a random hash: bare rc 8, not HASH_NOT_FOUND */
	payload = smp_map_new();
	smp_map_add_bool(payload, "confirm", TRUE);
	raw = respond_v0(&ctx, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 3, payload);
	assert_bare_enotsup(raw, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 3);
	g_bytes_unref(raw);
	for (gsize i = 0; i < sizeof(random_hash); i++)
		random_hash[i] = (guint8)g_random_int();
	raw = respond_v0(&ctx, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 4,
	                 smp_cmd_image_state_write(random_hash, sizeof(random_hash), FALSE));
	assert_bare_enotsup(raw, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 4);
	g_bytes_unref(raw);

	/* 4: params */
	raw = respond_v0(&ctx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, 5, smp_map_new());
	{
		g_autoptr(SmpMessage) rsp =
		        smp_message_parse(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw), NULL);
		g_assert_true(smp_map_get_uint(rsp->payload, "buf_size", &v));
		g_assert_cmpuint(v, ==, 2048);
		g_assert_true(smp_map_get_uint(rsp->payload, "buf_count", &v));
		g_assert_cmpuint(v, ==, 4);
	}
	g_bytes_unref(raw);

	/* 5, 6: a RAM_LOAD image of 1.0.0 goes to slot 1 and is listed with no flags at all */
	file_sha(image, sha);
	upload_all(model, image, sha, &last);
	raw = list_images(&ctx);
	slot = listed_slot(raw, 0);
	g_assert_cmpstr(slot, ==, "0.0.0 active confirmed");
	g_free(slot);
	slot = listed_slot(raw, 1);
	g_assert_cmpstr(slot, ==, "1.0.0");
	g_free(slot);
	g_bytes_unref(raw);

	/* 7: after the reset the higher version runs from slot 1; slot 0 is kept, without flags */
	sim_mcuboot_reboot(model);
	raw = list_images(&ctx);
	slot = listed_slot(raw, 1);
	g_assert_cmpstr(slot, ==, "1.0.0 active confirmed");
	g_free(slot);
	slot = listed_slot(raw, 0);
	g_assert_cmpstr(slot, ==, "0.0.0");
	g_free(slot);
	g_bytes_unref(raw);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/mcuboot/initial-state", test_initial_state);
	g_test_add_func("/sim/mcuboot/upload-rules", test_upload_rules);
	g_test_add_func("/sim/mcuboot/upload-lost-on-reboot", test_upload_lost_on_reboot);
	g_test_add_func("/sim/mcuboot/test-swap-revert-confirm", test_test_swap_revert_confirm);
	g_test_add_func("/sim/mcuboot/boot-rejects", test_boot_rejects);
	g_test_add_func("/sim/mcuboot/equal-slots-selection", test_equal_slots_selection);
	g_test_add_data_func("/sim/mcuboot/equal-slots-revert/direct-xip",
	                     GINT_TO_POINTER(SIM_BOOT_DIRECT_XIP_REVERT), test_equal_slots_revert);
	g_test_add_data_func("/sim/mcuboot/equal-slots-revert/ram-load",
	                     GINT_TO_POINTER(SIM_BOOT_RAM_LOAD_REVERT), test_equal_slots_revert);
	g_test_add_func("/sim/faults", test_faults);
	g_test_add_func("/sim/handlers", test_handlers);
	g_test_add_func("/sim/handlers-equal-slots", test_handlers_equal_slots);
	g_test_add_func("/sim/ram-load-measured", test_ram_load_measured);
	return g_test_run();
}
