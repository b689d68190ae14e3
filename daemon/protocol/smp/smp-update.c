/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-update.h"

#include <string.h>

#include "dfu-downgrade.h"
#include "dfu-error.h"
#include "dfu-hex.h"
#include "smp-boot-mode.h"
#include "smp-client.h"
#include "smp-commands.h"
#include "smp-errors.h"
#include "smp-report.h"
#include "smp-upload.h"

/* without params a serial device is assumed to have Zephyr's default 384-byte buffers */
#define SMP_DEFAULT_BUF_SIZE 384
/* the smallest message a guessed size shrinks to: an upload chunk still carries data */
#define SMP_MIN_GUESSED_MESSAGE 128
#define RECONNECT_INTERVAL_MS 500
#define BOOT_POLL_INTERVAL_MS 250
#define BOOT_POLL_TIMEOUT_MS 1000
/* equal slots: a new image still listed as pending this long after the reset was skipped at boot */
#define EQUAL_SLOTS_SETTLE_MS 2000
/* Zephyr resets 250 ms after its answer: an old image still running well after that never got the request */
#define RESET_GRACE_MS 2000

typedef enum {
	ST_IDLE,
	ST_OPENING,
	ST_PARAMS,
	ST_SIZE,
	ST_BOOT_MODE,
	ST_SLOT_INFO,
	ST_READ_STATE,
	ST_BOOTLOADER,
	ST_IDENTIFY,
	ST_UPLOAD,
	ST_VERIFY,
	ST_TEST,
	ST_RESET,
	ST_WAIT_BACK,
	ST_CONFIRM,
	ST_DONE,
	ST_COUNT,
} State;

typedef struct {
	DfuPlanImage *img;         /* what is sent: the build for the target slot when there are two */
	DfuPlanImage *variants[2]; /* direct-XIP bundles: the build linked for slot 0 and slot 1 */
	GBytes *old_hash;          /* what ran in the primary slot before */
	char *old_version;
	guint target_slot; /* where the upload goes: the secondary, or the non-active equal slot */
	gboolean upload;
	gboolean test;
	gboolean confirm;
	gboolean expect; /* must run after the reset */
} ImageWork;

typedef struct {
	DfuEngine parent;
	DfuTransport *transport;
	SmpClient *client;
	DfuPlan *plan;
	SmpUpdateOptions opt;
	char *downgrade_images; /* owned copy of opt.allow_downgrade_images */
	GVariant *identity;     /* a{sv}: see smp_update_new() */
	State resume;           /* where to go on once a reconnected device is identified */

	State state;
	SmpBootMode mode;
	gboolean slot_info_known;
	guint64 slot_info_images; /* bit per image number that slot info listed */
	GPtrArray *work;          /* ImageWork* */
	guint cur;
	gboolean need_reset;
	gboolean reset_forced;
	/* single slot, firmware loader: the reset goes into the bootloader, which takes the image */
	gboolean loader_asked;
	gboolean in_loader;
	guint reset_resends;
	gsize max_message;
	guint window;
	gboolean window_guessed; /* the device did not report its buffers */
	gboolean size_guessed;   /* nor a link limit stood in for them */

	SmpUpload *upload;
	guint64 upload_base;
	guint64 upload_total;

	gint64 deadline; /* reconnect / boot wait, monotonic µs */
	gint64 reset_at;
	gboolean reconnecting;
	guint timer;
	guint request;

} SmpUpdate;

typedef struct {
	const char *name;
	DfuJobPhase phase;
	void (*enter)(SmpUpdate *self);
	/* handles the answer to the request enter() made; NULL when enter makes none */
	void (*response)(SmpUpdate *self, const SmpMessage *rsp);
} StateOps;

static const StateOps *state_ops(State state);

static void
image_work_free(ImageWork *w)
{
	g_clear_pointer(&w->old_hash, g_bytes_unref);
	g_free(w->old_version);
	g_free(w);
}

static void update_log(SmpUpdate *self, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
update_log(SmpUpdate *self, const char *format, ...)
{
	g_autofree char *line = NULL;
	va_list args;

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	dfu_engine_emit_log(&self->parent, "%s", line);
}

static void
stop_activity(SmpUpdate *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	if (self->upload != NULL)
		smp_upload_stop(self->upload);
	smp_client_cancel_all(self->client);
	self->request = 0;
}

static void
finish(SmpUpdate *self, guint result, const GError *error, GVariant *device_error)
{
	if (self->state == ST_DONE) {
		if (device_error != NULL)
			g_variant_unref(g_variant_ref_sink(device_error));
		return;
	}
	self->state = ST_DONE;
	stop_activity(self);
	dfu_transport_close(self->transport);
	if (error != NULL)
		update_log(self, "stopped: %s", error->message);
	dfu_engine_finish(&self->parent, result, error, device_error);
}

static void fail(SmpUpdate *self, DfuStatus status, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
fail(SmpUpdate *self, DfuStatus status, const char *format, ...)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *msg = NULL;
	va_list args;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	error = g_error_new_literal(DFU_ERROR, status, msg);
	finish(self, DFU_STATUS_NONE, error, NULL);
}

static void
enter(SmpUpdate *self, State state)
{
	const StateOps *ops = state_ops(state);

	self->state = state;
	if (ops->phase != DFU_JOB_PHASE_NONE)
		dfu_engine_emit_phase(&self->parent, ops->phase);
	ops->enter(self);
}

static void on_response(SmpClient *client, const SmpMessage *rsp, const GError *error, gpointer user_data);

static void
request(SmpUpdate *self, SmpOp op, guint16 group, guint8 id, cbor_item_t *payload, guint timeout_ms,
        guint retries)
{
	self->request = smp_client_request(self->client, op, group, id, payload, timeout_ms, retries,
	                                   on_response, self);
}

/* the device answered with an error in its payload: finish with it; TRUE when it did */
static gboolean
check_device_error(SmpUpdate *self, const SmpMessage *rsp, const char *command, DfuStatus fallback)
{
	g_auto(SmpError) err = {0};
	g_autoptr(GError) error = NULL;

	if (!smp_response_get_error(rsp->payload, &err))
		return FALSE;
	error = smp_device_error_to_gerror(&err, command, fallback);
	finish(self, DFU_STATUS_NONE, error, smp_device_error_to_variant(&err, command));
	return TRUE;
}

/* every image list the device sends is what it holds now */
static void
report_slots(SmpUpdate *self, GPtrArray *slots)
{
	GVariantBuilder state;

	if (slots == NULL || slots->len == 0)
		return;
	g_variant_builder_init(&state, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&state, "{sv}", "images", smp_report_images(slots));
	dfu_engine_emit_report(&self->parent, g_variant_builder_end(&state));
}

static void
report_string(SmpUpdate *self, const char *key, const char *value)
{
	GVariantBuilder state;

	g_variant_builder_init(&state, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&state, "{sv}", key, g_variant_new_string(value));
	dfu_engine_emit_report(&self->parent, g_variant_builder_end(&state));
}

static GPtrArray *
parse_state(SmpUpdate *self, const SmpMessage *rsp, const char *command)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *slots;

	if (check_device_error(self, rsp, command, DFU_STATUS_DEVICE_ERROR))
		return NULL;
	slots = smp_rsp_image_state(rsp->payload, &error);
	if (slots == NULL)
		finish(self, DFU_STATUS_NONE, error, NULL);
	report_slots(self, slots);
	return slots;
}

static const SmpImageSlot *
find_active(GPtrArray *slots, guint image)
{
	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *s = g_ptr_array_index(slots, i);
		if (s->image == image && s->active)
			return s;
	}
	/* frugal lists may leave flags out: the primary slot is what runs */
	return smp_image_state_find_slot(slots, image, 0);
}

static gboolean
slot_has_hash(const SmpImageSlot *slot, const DfuPlanImage *img)
{
	gsize len = 0;
	const guint8 *h;

	if (slot == NULL || slot->hash == NULL)
		return FALSE;
	h = g_bytes_get_data(slot->hash, &len);
	return len == img->info.hash_len && memcmp(h, img->info.hash, len) == 0;
}

static char *
describe_slots(GPtrArray *slots)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gsize len = 0;
		const guint8 *h = slot->hash != NULL ? g_bytes_get_data(slot->hash, &len) : NULL;
		g_autofree char *hex = h != NULL ? dfu_hex_encode(h, MIN(len, (gsize)8)) : g_strdup("-");
		g_string_append_printf(s, "%simage %u slot %u: %s %s…%s%s%s", i > 0 ? "; " : "", slot->image,
		                       slot->slot, slot->version != NULL ? slot->version : "?", hex,
		                       slot->active ? " active" : "", slot->pending ? " pending" : "",
		                       slot->confirmed ? " confirmed" : "");
	}
	if (slots->len == 0)
		g_string_append(s, "no images listed");
	return g_string_free(s, FALSE);
}

/* ---- identity: after any reconnect the device must be the one the job talks to ---- */

static GVariant *
identity_from_slots(GPtrArray *slots)
{
	g_autoptr(GVariantBuilder) hashes = g_variant_builder_new(G_VARIANT_TYPE_STRING_ARRAY);
	GVariantBuilder dict;

	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gsize len = 0;
		const guint8 *h = slot->hash != NULL ? g_bytes_get_data(slot->hash, &len) : NULL;
		g_autofree char *hex = h != NULL ? dfu_hex_encode(h, len) : NULL;

		if (hex != NULL)
			g_variant_builder_add(hashes, "s", hex);
	}
	g_variant_builder_init(&dict, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&dict, "{sv}", "hashes", g_variant_builder_end(hashes));
	return g_variant_ref_sink(g_variant_builder_end(&dict));
}

/* the images a device may run and still be this job's device: what it had, what it is sent */
static GHashTable *
identity_known_hashes(SmpUpdate *self)
{
	GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree const char **had = NULL;

	g_variant_lookup(self->identity, "hashes", "^a&s", &had);
	for (guint i = 0; had != NULL && had[i] != NULL; i++)
		g_hash_table_add(known, g_strdup(had[i]));
	for (guint i = 0; i < self->plan->images->len; i++) {
		const DfuPlanImage *img = g_ptr_array_index(self->plan->images, i);
		g_hash_table_add(known, dfu_hex_encode(img->info.hash, img->info.hash_len));
	}
	return known;
}

static gboolean
identity_had_images(SmpUpdate *self)
{
	g_autoptr(GVariant) had =
	        g_variant_lookup_value(self->identity, "hashes", G_VARIANT_TYPE_STRING_ARRAY);

	return had != NULL && g_variant_n_children(had) > 0;
}

/* records the device on first sight; after that, FALSE (and the job ends) for another device */
static gboolean
check_identity(SmpUpdate *self, GPtrArray *slots)
{
	g_autoptr(GHashTable) known = NULL;
	g_autofree char *listed = NULL;
	guint running = 0;
	guint recognised = 0;

	if (self->identity == NULL) {
		self->identity = identity_from_slots(slots);
		dfu_engine_emit_identity(&self->parent, self->identity);
		return TRUE;
	}
	known = identity_known_hashes(self);
	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gsize len = 0;
		const guint8 *h;
		g_autofree char *hex = NULL;

		if (slot != find_active(slots, slot->image) || slot->hash == NULL)
			continue;
		h = g_bytes_get_data(slot->hash, &len);
		hex = dfu_hex_encode(h, len);
		running++;
		recognised += g_hash_table_contains(known, hex);
	}
	/* a device that listed nothing before may list nothing now; one that ran something must */
	if (recognised == running && (running > 0 || !identity_had_images(self)))
		return TRUE;
	listed = describe_slots(slots);
	fail(self, DFU_STATUS_DEVICE_MISMATCH,
	     "the device now at this address runs neither the images it had nor the new ones; it "
	     "lists: %s",
	     listed);
	return FALSE;
}

static void
identify_then(SmpUpdate *self, State next)
{
	self->resume = next;
	enter(self, ST_IDENTIFY);
}

static void
enter_identify(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

static void
on_identify(SmpUpdate *self, const SmpMessage *rsp)
{
	g_autoptr(GPtrArray) slots = parse_state(self, rsp, "image state");

	if (slots == NULL || !check_identity(self, slots))
		return;
	update_log(self, "the device is the same one: it runs an image it had or was sent");
	enter(self, self->resume);
}

/* ---- opening ---- */

static void
enter_opening(SmpUpdate *self)
{
	dfu_transport_open(self->transport);
}

static void poll_again(SmpUpdate *self);

static void
on_link_opened(SmpClient *client, const GError *error, gpointer user_data)
{
	SmpUpdate *self = user_data;

	if (self->state == ST_DONE)
		return;
	if (self->reconnecting) {
		if (error != NULL)
			return; /* the retry timer tries again */
		self->reconnecting = FALSE;
		g_clear_handle_id(&self->timer, g_source_remove);
		update_log(self, "link is back");
		if (self->state == ST_WAIT_BACK)
			poll_again(self);
		else if (self->state <= ST_IDENTIFY)
			enter(self, self->state); /* the state read ahead checks the device */
		else
			identify_then(self, self->state);
		return;
	}
	if (error != NULL) {
		finish(self, DFU_STATUS_NONE, error, NULL);
		return;
	}
	enter(self, ST_PARAMS);
}

/* a link with short response timeouts is a fast one: never wait longer than one timeout to look again */
static guint
poll_interval(SmpUpdate *self, guint interval_ms)
{
	return MAX(1u, MIN(interval_ms, self->opt.timeout_ms));
}

static gboolean
on_reconnect_timer(gpointer user_data)
{
	SmpUpdate *self = user_data;

	if (g_get_monotonic_time() >= self->deadline) {
		self->timer = 0;
		self->reconnecting = FALSE;
		if (self->state == ST_WAIT_BACK)
			fail(self, DFU_STATUS_DEVICE_NOT_BACK,
			     "the device did not come back within %u s of its reset",
			     self->opt.reset_timeout_ms / 1000);
		else
			fail(self, DFU_STATUS_LINK_LOST, "the link was lost and did not come back");
		return G_SOURCE_REMOVE;
	}
	if (!dfu_transport_is_open(self->transport))
		dfu_transport_open(self->transport);
	return G_SOURCE_CONTINUE;
}

static void
start_reconnect(SmpUpdate *self)
{
	self->reconnecting = TRUE;
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(poll_interval(self, RECONNECT_INTERVAL_MS), on_reconnect_timer, self);
}

static void
on_link_closed(SmpClient *client, const GError *error, gpointer user_data)
{
	SmpUpdate *self = user_data;

	if (self->state == ST_DONE)
		return;
	self->request = 0;
	if (self->upload != NULL)
		smp_upload_stop(self->upload);
	if (self->state == ST_RESET || self->state == ST_WAIT_BACK) {
		/* expected: USB serial devices vanish while they reboot */
		if (self->state == ST_RESET)
			enter(self, ST_WAIT_BACK);
		else
			start_reconnect(self);
		return;
	}
	update_log(self, "link lost (%s), reconnecting", error != NULL ? error->message : "closed");
	self->deadline = g_get_monotonic_time() + (gint64)self->opt.reset_timeout_ms * 1000;
	start_reconnect(self);
}

/* ---- parameters ---- */

static void
enter_params(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

static void
on_params(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};
	SmpParams params = {0};
	gsize overhead = dfu_transport_netbuf_overhead(self->transport);
	gsize link_max = dfu_transport_max_message(self->transport);
	gboolean whole = dfu_transport_whole_messages(self->transport);

	/* params are optional: any error means safe defaults, never a failure */
	if (!smp_response_get_error(rsp->payload, &err) && smp_rsp_params(rsp->payload, &params, NULL) &&
	    params.buf_size > overhead + SMP_HEADER_SIZE) {
		self->max_message = params.buf_size - overhead;
		self->window = CLAMP(params.buf_count > 1 ? params.buf_count - 1 : 1, 1u,
		                     MAX(1u, self->opt.max_window));
		self->window_guessed = FALSE;
		update_log(self, "device buffers: %u × %u bytes", params.buf_count, params.buf_size);
	} else {
		self->size_guessed = link_max == 0;
		self->max_message = link_max > 0 ? link_max : SMP_DEFAULT_BUF_SIZE - overhead;
		self->window =
		        MIN(dfu_transport_guess_window(self->transport), MAX(1u, self->opt.max_window));
		self->window_guessed = self->window > 1;
		update_log(self,
		           "device does not report its buffers (%s); using %" G_GSIZE_FORMAT
		           "-byte messages, up to %u in flight while it keeps up",
		           err.present ? smp_rc_to_string(err.rc) : "no parameters", self->max_message,
		           self->window);
	}
	if (link_max > 0 && link_max < self->max_message && (overhead > 0 || whole))
		self->max_message = link_max;
	/*
	 * A link that splits messages into writes of link_max (BLE: MTU - 3)
	 * spends a whole write on a short tail: whole writes carry more.
	 */
	if (link_max > 0 && overhead == 0 && !whole && self->max_message > link_max)
		self->max_message -= self->max_message % link_max;
	enter(self, self->size_guessed ? ST_SIZE : ST_BOOT_MODE);
}

/* ---- message size: a guessed size is tried with an echo of that size before the upload ---- */

static void
enter_size(SmpUpdate *self)
{
	request(self, SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_ECHO, smp_cmd_echo_sized(self->max_message),
	        self->opt.timeout_ms, 0);
}

/* a device with smaller buffers drops a longer message unanswered, or answers that it is too long */
static void
shrink_message(SmpUpdate *self, const char *why)
{
	gsize smaller = self->max_message / 2;

	if (smaller < SMP_MIN_GUESSED_MESSAGE) {
		update_log(self, "%s even for %" G_GSIZE_FORMAT "-byte messages; going on with that size",
		           why, self->max_message);
		enter(self, ST_BOOT_MODE);
		return;
	}
	update_log(self, "%s for a %" G_GSIZE_FORMAT "-byte message; trying %" G_GSIZE_FORMAT " bytes", why,
	           self->max_message, smaller);
	self->max_message = smaller;
	enter(self, ST_SIZE);
}

static void
on_size(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};

	if (smp_response_get_error(rsp->payload, &err) && !err.v2 &&
	    (err.rc == SMP_RC_EMSGSIZE || err.rc == SMP_RC_ENOMEM)) {
		shrink_message(self, "the device answers too long");
		return;
	}
	/* any other answer, even that echo is not built in, means the message arrived whole */
	update_log(self, "%" G_GSIZE_FORMAT "-byte messages reach the device", self->max_message);
	enter(self, ST_BOOT_MODE);
}

/* ---- bootloader mode: decides the sequence; every clue is tried before the first byte ---- */

static const SmpBootModeInfo *
mode_info(SmpUpdate *self)
{
	return smp_boot_mode_info(self->mode);
}

/* the application cannot take an image itself: the bootloader's serial recovery or loader will */
static gboolean
via_loader(SmpUpdate *self)
{
	return !mode_info(self)->updatable || self->in_loader;
}

/* takes the mode a clue gives while the mode is still unknown */
static void
learn_mode(SmpUpdate *self, SmpBootMode mode, const char *clue)
{
	if (self->mode != SMP_BOOT_MODE_UNKNOWN || mode == SMP_BOOT_MODE_UNKNOWN)
		return;
	self->mode = mode;
	update_log(self, "bootloader mode: %s (from %s)", mode_info(self)->name, clue);
	report_string(self, "bootloader-mode", mode_info(self)->name);
}

static gboolean
is_bare_enotsup(const SmpError *err)
{
	return err->present && !err->v2 && err->rc == SMP_RC_ENOTSUP;
}

static void
enter_boot_mode(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, smp_cmd_bootloader_query("mode"),
	        self->opt.timeout_ms, self->opt.retries);
}

static void
on_boot_mode(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};

	/* optional (CONFIG_MCUMGR_GRP_OS_BOOTLOADER_INFO): without it the other clues decide */
	if (smp_response_get_error(rsp->payload, &err))
		update_log(self, "device does not report its bootloader mode (%s)",
		           err.v2 ? smp_group_rc_to_string(err.group, err.rc) : smp_rc_to_string(err.rc));
	else {
		/* only MCUboot answers the mode query */
		report_string(self, "bootloader", "MCUboot");
		learn_mode(self, smp_boot_mode_from_bootloader_info(rsp->payload), "bootloader info");
	}
	enter(self, ST_SLOT_INFO);
}

/* ---- slot sizes: refuse an image that cannot fit before any byte is sent ---- */

static void
enter_slot_info(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_SLOT_INFO, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

/* The room for an upload to @image: max_image_size, else the secondary slot's size; 0 when not told. */
static guint64
slot_room(cbor_item_t *payload, guint image)
{
	gsize n_images = 0;
	g_autofree cbor_item_t **images = smp_array_items(smp_map_get(payload, "images"), &n_images);

	for (gsize i = 0; i < n_images; i++) {
		guint64 index = 0, room = 0;
		gsize n_slots = 0;
		g_autofree cbor_item_t **slots = NULL;

		if (images[i] == NULL || !cbor_isa_map(images[i]))
			continue;
		/* like the state list, a single-image device may leave the image number out */
		smp_map_get_uint(images[i], "image", &index);
		if (index != image)
			continue;
		if (smp_map_get_uint(images[i], "max_image_size", &room) && room > 0)
			return room;
		slots = smp_array_items(smp_map_get(images[i], "slots"), &n_slots);
		for (gsize j = 0; j < n_slots; j++) {
			guint64 slot = 0, size = 0;

			if (slots[j] != NULL && cbor_isa_map(slots[j]) &&
			    smp_map_get_uint(slots[j], "slot", &slot) && slot == 1 &&
			    smp_map_get_uint(slots[j], "size", &size))
				return size;
		}
	}
	return 0;
}

/* a bit per image number that slot info lists */
static guint64
slot_info_images(cbor_item_t *payload)
{
	gsize n_images = 0;
	g_autofree cbor_item_t **images = smp_array_items(smp_map_get(payload, "images"), &n_images);
	guint64 listed = 0;

	for (gsize i = 0; i < n_images; i++) {
		guint64 index = 0;

		if (images[i] != NULL && cbor_isa_map(images[i])) {
			smp_map_get_uint(images[i], "image", &index);
			listed |= index < 64 ? G_GUINT64_CONSTANT(1) << index : 0;
		}
	}
	return listed;
}

static void
on_slot_info(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};

	/* slot info is optional (newer Zephyr only): without it the device checks the size itself */
	if (rsp->payload == NULL || smp_response_get_error(rsp->payload, &err)) {
		update_log(self, "device does not report its slot sizes (%s); image sizes not checked",
		           err.present ? smp_rc_to_string(err.rc) : "empty answer");
		enter(self, ST_READ_STATE);
		return;
	}
	self->slot_info_known = TRUE;
	self->slot_info_images = slot_info_images(rsp->payload);
	learn_mode(self, smp_boot_mode_from_slot_info(rsp->payload), "slot info: one slot only");
	for (guint i = 0; i < self->work->len; i++) {
		const DfuPlanImage *img = ((ImageWork *)g_ptr_array_index(self->work, i))->img;
		guint64 room = slot_room(rsp->payload, img->image_index);
		gsize size = dfu_image_data_get_size(img->stream);

		if (room == 0) {
			update_log(self, "image %u: device reports no slot size", img->image_index);
			continue;
		}
		if (size > room) {
			fail(self, DFU_STATUS_IMAGE_TOO_LARGE,
			     "%s: %" G_GSIZE_FORMAT " bytes do not fit image %u's slot of %" G_GUINT64_FORMAT
			     " bytes",
			     img->name, size, img->image_index, room);
			return;
		}
		update_log(self,
		           "image %u: %" G_GSIZE_FORMAT " bytes fit its slot of %" G_GUINT64_FORMAT " bytes",
		           img->image_index, size, room);
	}
	enter(self, ST_READ_STATE);
}

/* ---- first state read: decide what to do ---- */

static void
enter_read_state(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

/* true, or a list naming the image (dfu-downgrade.h) */
static gboolean
downgrade_allowed(SmpUpdate *self, const DfuPlanImage *img)
{
	return self->opt.allow_downgrade ||
	       dfu_downgrade_names_match(self->opt.allow_downgrade_images, img->image_index, img->name);
}

/* the highest version boots: anything not strictly newer would leave the old image running */
static gboolean
check_equal_slots_version(SmpUpdate *self, const DfuPlanImage *img, const McubootVersion *running,
                          const char *running_text)
{
	McubootVersion offered = img->info.version;
	McubootVersion current = *running;

	/* MCUboot compares the build number only when built to, and img_mgmt never does */
	offered.build = current.build = 0;
	if (mcuboot_version_compare(&offered, &current) > 0)
		return TRUE;
	fail(self, DFU_STATUS_DOWNGRADE,
	     "%s: version %s is not newer than the running %s; in %s mode the bootloader boots the "
	     "highest version, so it would keep the old image (allow-downgrade cannot change that): "
	     "raise the version",
	     img->name, img->version, running_text, mode_info(self)->name);
	return FALSE;
}

/*
 * A bundle with one build per slot (direct-XIP images are linked for the
 * slot they run from): the one the device runs counts as running, and the one
 * for the slot the image will run from is sent. Without that build the image
 * cannot boot: refused before any byte.
 */
static gboolean
choose_variant(SmpUpdate *self, ImageWork *w, const SmpImageSlot *active)
{
	/* a swap bootloader runs every image from slot 0 */
	guint run_slot = mode_info(self)->equal_slots ? w->target_slot : 0;
	const DfuPlanImage *other;

	if (w->variants[0] == NULL && w->variants[1] == NULL)
		return TRUE;
	if (active != NULL && active->slot < 2 && slot_has_hash(active, w->variants[active->slot])) {
		w->img = w->variants[active->slot];
		return TRUE;
	}
	if (w->variants[run_slot] != NULL) {
		w->img = w->variants[run_slot];
		update_log(self, "image %u: sending %s, the build for slot %u", w->img->image_index,
		           w->img->name, run_slot);
		return TRUE;
	}
	other = w->variants[1 - run_slot];
	fail(self, DFU_STATUS_IMAGE_REJECTED,
	     "%s is built for slot %d of image %u, but it would run from slot %u: the bootloader would "
	     "not boot it, so nothing was sent; the bundle needs the build for slot %u",
	     other->name, other->slot, other->image_index, run_slot, run_slot);
	return FALSE;
}

static gboolean
plan_image(SmpUpdate *self, ImageWork *w, GPtrArray *slots)
{
	const DfuPlanImage *img = w->img;
	const SmpImageSlot *active = find_active(slots, img->image_index);
	const SmpImageSlot *target;
	gboolean equal = mode_info(self)->equal_slots;
	McubootVersion running = {0};
	gboolean known_version =
	        active != NULL && active->version != NULL && mcuboot_version_parse(active->version, &running);

	g_clear_pointer(&w->old_hash, g_bytes_unref);
	if (active != NULL && active->hash != NULL)
		w->old_hash = g_bytes_ref(active->hash);
	g_free(w->old_version);
	w->old_version = active != NULL ? g_strdup(active->version) : NULL;
	w->target_slot = self->in_loader ? 0 : equal && active != NULL ? 1 - MIN(active->slot, 1u) : 1;
	if (!choose_variant(self, w, active))
		return FALSE;
	img = w->img;
	target = smp_image_state_find_slot(slots, img->image_index, w->target_slot);

	if (slot_has_hash(active, img)) {
		w->upload = w->test = FALSE;
		/* an earlier attempt got as far as the reset: only the confirmation is missing */
		w->confirm = self->opt.confirm && mode_info(self)->confirm != SMP_BOOT_STEP_NO &&
		             !active->confirmed && !active->permanent;
		w->expect = w->confirm;
		return TRUE;
	}
	if (known_version && equal && !check_equal_slots_version(self, img, &running, active->version))
		return FALSE;
	if (known_version && !equal && !downgrade_allowed(self, img) &&
	    mcuboot_version_compare(&img->info.version, &running) < 0) {
		fail(self, DFU_STATUS_DOWNGRADE,
		     "%s: version %s is older than the running %s (allow it with allow-downgrade=%u)",
		     img->name, img->version, active->version, img->image_index);
		return FALSE;
	}
	w->confirm = self->opt.confirm && mode_info(self)->confirm != SMP_BOOT_STEP_NO;
	w->expect = TRUE;
	if (slot_has_hash(target, img) && !self->opt.force) {
		w->upload = FALSE;
		w->test = mode_info(self)->test != SMP_BOOT_STEP_NO && !target->pending;
		/* without a test step an image in the other slot boots at the next reset */
		if (target->pending || mode_info(self)->test == SMP_BOOT_STEP_NO)
			self->need_reset = TRUE;
		return TRUE;
	}
	w->upload = TRUE;
	w->test = mode_info(self)->test != SMP_BOOT_STEP_NO && !via_loader(self);
	/* what the bootloader writes to slot 0 runs at the next reset: nothing to test or confirm */
	w->confirm = w->confirm && !via_loader(self);
	return TRUE;
}

/* before any byte: a bundle image the device has no slots for would fail after the others */
static gboolean
check_images_exist(SmpUpdate *self, GPtrArray *slots)
{
	for (guint i = 0; i < self->work->len; i++) {
		const DfuPlanImage *img = ((ImageWork *)g_ptr_array_index(self->work, i))->img;
		gboolean listed =
		        self->slot_info_known
		                ? img->image_index < 64 && (self->slot_info_images &
		                                            (G_GUINT64_CONSTANT(1) << img->image_index)) != 0
		                : find_active(slots, img->image_index) != NULL;
		g_autofree char *have = NULL;

		if (listed)
			continue;
		have = describe_slots(slots);
		fail(self, DFU_STATUS_BOARD_MISMATCH,
		     "%s is for image %u, but the device has no image %u (it lists: %s); the bundle is for a "
		     "device with more images",
		     img->name, img->image_index, img->image_index, have);
		return FALSE;
	}
	return TRUE;
}

/* the clues of the image list and of the images themselves, when the device did not say */
static gboolean
settle_mode(SmpUpdate *self, GPtrArray *slots)
{
	learn_mode(self, smp_boot_mode_from_state(slots), "image list: an image runs from slot 1");
	for (guint i = 0; i < self->work->len; i++) {
		const DfuPlanImage *img = ((ImageWork *)g_ptr_array_index(self->work, i))->img;
		learn_mode(self, smp_boot_mode_from_image(&img->info),
		           img->info.flags & SMP_IMAGE_F_RAM_LOAD ? "image header: RAM_LOAD flag"
		                                                  : "image header: ROM_FIXED flag");
	}
	if (self->mode == SMP_BOOT_MODE_UNKNOWN && !self->in_loader)
		update_log(self, "bootloader mode: no clue yet, running the swap sequence; a bare rc 8 to "
		                 "the test would mean direct-XIP or RAM-load");
	return TRUE;
}

/* nothing runs from a slot while the bootloader or its loader has the device */
static gboolean
lists_running_image(GPtrArray *slots)
{
	for (guint i = 0; i < slots->len; i++) {
		if (((const SmpImageSlot *)g_ptr_array_index(slots, i))->active)
			return TRUE;
	}
	return FALSE;
}

/* MCUboot's serial recovery lists slots and versions only; an application lists hashes */
static gboolean
lists_serial_recovery(GPtrArray *slots)
{
	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		if (slot->active || slot->hash != NULL)
			return FALSE;
	}
	return slots->len > 0;
}

/*
 * Confirm and reset work on the staged images the device holds: one pending
 * that has not booted yet, or one running for its test, not yet confirmed.
 */
static gboolean
stage_work(SmpUpdate *self, GPtrArray *slots)
{
	g_autofree char *listed = NULL;

	for (guint i = 0; i < slots->len; i++) {
		const SmpImageSlot *slot = g_ptr_array_index(slots, i);
		gboolean waiting = slot->pending && !slot->active;
		gboolean on_trial = slot->active && !slot->confirmed && !slot->permanent &&
		                    mode_info(self)->confirm != SMP_BOOT_STEP_NO;
		gsize len = 0;
		const guint8 *hash = slot->hash != NULL ? g_bytes_get_data(slot->hash, &len) : NULL;
		ImageWork *w;

		if ((!waiting && !on_trial) || hash == NULL)
			continue;
		w = g_new0(ImageWork, 1);
		w->img = dfu_plan_image_new_held(slot->image, hash, len, slot->version);
		g_ptr_array_add(self->plan->images, w->img);
		g_ptr_array_add(self->work, w);
		update_log(self, "image %u: %s %s in slot %u", slot->image,
		           waiting ? "pending" : "running unconfirmed",
		           slot->version != NULL ? slot->version : "?", slot->slot);
	}
	if (self->work->len > 0)
		return TRUE;
	listed = describe_slots(slots);
	fail(self, DFU_STATUS_NOTHING_STAGED,
	     "the device holds no image waiting for a reset or a confirmation; it lists: %s", listed);
	return FALSE;
}

/* ---- refresh: the bootloader's name, then done ---- */

static void
enter_bootloader(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_BOOTLOADER_INFO, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

static void
on_bootloader(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};
	g_autofree char *name = NULL;

	/* optional, like the mode: a device without it is refreshed all the same */
	if (!smp_response_get_error(rsp->payload, &err))
		name = smp_map_get_text(rsp->payload, "bootloader");
	if (name != NULL)
		report_string(self, "bootloader", name);
	finish(self, DFU_STATUS_SUCCESS, NULL, NULL);
}

static void
on_read_state(SmpUpdate *self, const SmpMessage *rsp)
{
	g_autoptr(GPtrArray) slots = parse_state(self, rsp, "image state");
	g_autofree char *listed = NULL;
	gboolean anything = FALSE;

	if (slots == NULL)
		return;
	if (self->opt.kind == DFU_JOB_KIND_UPDATE && !self->in_loader && lists_serial_recovery(slots)) {
		update_log(self, "device runs MCUboot's serial recovery (it lists no running image and no "
		                 "hashes); sending the image there");
		self->loader_asked = self->in_loader = TRUE;
	}
	/* the bootloader lists no hashes to tell the device by; the job put it there a moment ago */
	if (!self->in_loader && !check_identity(self, slots))
		return;
	if (self->opt.kind == DFU_JOB_KIND_REFRESH) {
		learn_mode(self, smp_boot_mode_from_state(slots), "image list: an image runs from slot 1");
		enter(self, ST_BOOTLOADER);
		return;
	}
	if (!settle_mode(self, slots) ||
	    (self->opt.kind != DFU_JOB_KIND_UPDATE && !stage_work(self, slots)) ||
	    !check_images_exist(self, slots))
		return;
	/* hashes before and after in the log show an upload that did not come from here */
	listed = describe_slots(slots);
	update_log(self, "device lists: %s", listed);
	self->upload_total = 0;
	self->need_reset = FALSE;
	for (guint i = 0; i < self->work->len; i++) {
		ImageWork *w = g_ptr_array_index(self->work, i);
		if (!plan_image(self, w, slots))
			return;
		if (w->upload)
			self->upload_total += dfu_image_data_get_size(w->img->stream);
		anything |= w->upload || w->test || w->confirm || (w->expect && self->need_reset);
		update_log(self, "image %u: device runs %s; %s", w->img->image_index,
		           w->old_version != NULL ? w->old_version : "nothing",
		           w->upload    ? "upload needed"
		           : w->test    ? "already uploaded"
		           : w->confirm ? "waiting for confirmation"
		           : w->expect  ? "already uploaded, boots at the reset"
		                        : "up to date");
	}
	anything |= self->need_reset && self->opt.confirm;
	if (self->opt.kind == DFU_JOB_KIND_RESET) {
		enter(self, ST_RESET);
		return;
	}
	if (!anything) {
		finish(self, DFU_STATUS_UP_TO_DATE, NULL, NULL);
		return;
	}
	if (self->opt.kind == DFU_JOB_KIND_UPDATE && via_loader(self) && !self->in_loader) {
		update_log(self,
		           "the bootloader runs in %s mode: the application cannot take a new image; "
		           "resetting into the bootloader (boot mode 1) to send it there",
		           mode_info(self)->name);
		self->loader_asked = TRUE;
		enter(self, ST_RESET);
		return;
	}
	self->cur = 0;
	self->upload_base = 0;
	enter(self, ST_UPLOAD);
}

/* ---- upload ---- */

static ImageWork *
next_work(SmpUpdate *self, gsize flag_offset)
{
	for (; self->cur < self->work->len; self->cur++) {
		ImageWork *w = g_ptr_array_index(self->work, self->cur);
		if (G_STRUCT_MEMBER(gboolean, w, flag_offset))
			return w;
	}
	return NULL;
}

static void
on_upload_progress(SmpUpload *upload, guint64 done, guint64 total, gpointer user_data)
{
	SmpUpdate *self = user_data;

	dfu_engine_emit_progress(&self->parent, self->upload_base + done, self->upload_total);
}

static void
on_upload_done(SmpUpload *upload, const GError *error, GVariant *device_error, gpointer user_data)
{
	SmpUpdate *self = user_data;
	ImageWork *w = g_ptr_array_index(self->work, self->cur);

	if (error != NULL && device_error != NULL && mode_info(self)->equal_slots &&
	    (w->img->info.flags & SMP_IMAGE_F_ROM_FIXED)) {
		/* img_mgmt refuses a ROM_FIXED image linked for the other slot at its first chunk */
		g_autoptr(GError) wrong_slot = g_error_new(
		        DFU_ERROR, DFU_STATUS_IMAGE_REJECTED,
		        "%s is linked for address 0x%08x, which is not slot %u of image %u (%s); upload the "
		        "build for that slot",
		        w->img->name, w->img->info.load_addr, w->target_slot, w->img->image_index,
		        error->message);
		finish(self, DFU_STATUS_NONE, wrong_slot, device_error);
		return;
	}
	if (error != NULL) {
		finish(self, DFU_STATUS_NONE, error, device_error);
		return;
	}
	update_log(self, "image %u: upload complete", w->img->image_index);
	/* the next image needs its own upload, not a restart of this one (nothing touches it after done) */
	g_clear_pointer(&self->upload, smp_upload_free);
	self->upload_base += dfu_image_data_get_size(w->img->stream);
	self->cur++;
	enter(self, ST_UPLOAD);
}

static const SmpUploadCallbacks upload_callbacks = {
        .progress = on_upload_progress,
        .done = on_upload_done,
};

static void
enter_upload(SmpUpdate *self)
{
	ImageWork *w;
	SmpUploadParams params = {0};

	/* re-entered after a reconnect: the device tells where to resume */
	if (self->upload != NULL && self->cur < self->work->len) {
		w = g_ptr_array_index(self->work, self->cur);
		if (w->upload) {
			smp_upload_start(self->upload);
			return;
		}
	}
	g_clear_pointer(&self->upload, smp_upload_free);
	w = next_work(self, G_STRUCT_OFFSET(ImageWork, upload));
	if (w == NULL) {
		self->cur = 0;
		enter(self, ST_VERIFY);
		return;
	}
	params.image = w->img->image_index;
	params.data = w->img->stream;
	params.file_sha = w->img->file_sha256;
	params.max_message = self->max_message;
	params.window = self->window;
	params.window_guessed = self->window_guessed;
	params.timeout_ms = self->opt.timeout_ms;
	params.first_timeout_ms = self->opt.first_timeout_ms;
	params.retries = self->opt.retries;
	update_log(self,
	           "image %u: uploading %s (%" G_GSIZE_FORMAT " bytes, version %s), %" G_GSIZE_FORMAT
	           "-byte messages, window %u",
	           w->img->image_index, w->img->name, dfu_image_data_get_size(w->img->stream),
	           w->img->version, self->max_message, self->window);
	self->upload = smp_upload_new(self->client, &params, &upload_callbacks, self);
	smp_upload_start(self->upload);
}

/* ---- verify: the secondary slot must list what was sent, before test ---- */

/* MCUboot's serial recovery lists no hashes: there the version it lists must be the image's */
static gboolean
slot_holds(SmpUpdate *self, const SmpImageSlot *slot, const DfuPlanImage *img)
{
	McubootVersion listed = {0};

	if (slot_has_hash(slot, img))
		return TRUE;
	return self->in_loader && slot != NULL && slot->hash == NULL &&
	       mcuboot_version_parse(slot->version, &listed) &&
	       mcuboot_version_compare(&listed, &img->info.version) == 0;
}

static void
enter_verify(SmpUpdate *self)
{
	request(self, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, NULL, self->opt.timeout_ms,
	        self->opt.retries);
}

static void
on_verify(SmpUpdate *self, const SmpMessage *rsp)
{
	g_autoptr(GPtrArray) slots = parse_state(self, rsp, "image state");

	if (slots == NULL)
		return;
	for (guint i = 0; i < self->work->len; i++) {
		ImageWork *w = g_ptr_array_index(self->work, i);
		g_autofree char *listed = NULL;
		g_autofree char *hex = NULL;

		if (!w->test && !w->upload)
			continue;
		if (slot_holds(self, smp_image_state_find_slot(slots, w->img->image_index, w->target_slot),
		               w->img)) {
			self->need_reset |= !w->test;
			continue;
		}
		listed = describe_slots(slots);
		hex = dfu_hex_encode(w->img->info.hash, 8);
		fail(self, DFU_STATUS_IMAGE_REJECTED,
		     "image %u: the device does not list the uploaded image (hash %s…) in slot %u; it "
		     "lists: %s",
		     w->img->image_index, hex, w->target_slot, listed);
		return;
	}
	self->cur = 0;
	enter(self, ST_TEST);
}

/* ---- test ---- */

static void
enter_test(SmpUpdate *self)
{
	ImageWork *w = next_work(self, G_STRUCT_OFFSET(ImageWork, test));

	if (w == NULL) {
		if (!self->opt.confirm) {
			finish(self, DFU_STATUS_STAGED, NULL, NULL);
			return;
		}
		if (self->need_reset) {
			enter(self, ST_RESET);
			return;
		}
		self->cur = 0;
		enter(self, ST_CONFIRM);
		return;
	}
	request(self, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE,
	        smp_cmd_image_state_write(w->img->info.hash, w->img->info.hash_len, FALSE),
	        self->opt.timeout_ms, self->opt.retries);
}

/*
 * A bare rc 8 to the state write: img_mgmt has no test/confirm, as in
 * direct-XIP without revert and RAM-load; the reset alone boots the highest
 * version. Only a mode that was not reported as a swap mode can answer so.
 */
static gboolean
test_not_needed(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};

	if (!smp_response_get_error(rsp->payload, &err) || !is_bare_enotsup(&err) ||
	    (self->mode != SMP_BOOT_MODE_UNKNOWN && mode_info(self)->test != SMP_BOOT_STEP_TRY))
		return FALSE;
	learn_mode(self, SMP_BOOT_MODE_EQUAL_SLOTS, "a bare rc 8 to the state write");
	update_log(self, "device has no test/confirm (bare rc 8): the bootloader boots the highest "
	                 "version at the reset");
	for (guint i = 0; i < self->work->len; i++) {
		ImageWork *w = g_ptr_array_index(self->work, i);
		McubootVersion running = {0};

		/* learnt only now: a version that is not newer would not boot */
		if (w->old_version != NULL && mcuboot_version_parse(w->old_version, &running) &&
		    !check_equal_slots_version(self, w->img, &running, w->old_version))
			return TRUE;
		w->test = w->confirm = FALSE;
	}
	self->need_reset = TRUE;
	enter(self, ST_TEST);
	return TRUE;
}

static void
on_test(SmpUpdate *self, const SmpMessage *rsp)
{
	ImageWork *w = g_ptr_array_index(self->work, self->cur);
	g_autoptr(GPtrArray) slots = NULL;
	const SmpImageSlot *slot;

	if (test_not_needed(self, rsp))
		return;
	if (check_device_error(self, rsp, "image test", DFU_STATUS_TEST_REFUSED))
		return;
	slots = smp_rsp_image_state(rsp->payload, NULL);
	report_slots(self, slots);
	slot = slots != NULL ? smp_image_state_find_hash(slots, w->img->image_index, w->img->info.hash,
	                                                 w->img->info.hash_len)
	                     : NULL;
	/* a device that answers without a list is taken at its word; one that lists must show it pending */
	if (slots != NULL && slots->len > 0 && (slot == NULL || !slot->pending)) {
		g_autofree char *listed = describe_slots(slots);
		fail(self, DFU_STATUS_TEST_REFUSED,
		     "image %u: the device did not mark the image for test; it lists: %s",
		     w->img->image_index, listed);
		return;
	}
	update_log(self, "image %u: marked for test", w->img->image_index);
	self->need_reset = TRUE;
	self->cur++;
	enter(self, ST_TEST);
}

/* ---- reset and wait ---- */

static void
enter_reset(SmpUpdate *self)
{
	request(self, SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_RESET,
	        self->loader_asked && !self->in_loader ? smp_cmd_reset_to_bootloader()
	                                               : smp_cmd_reset(self->reset_forced),
	        self->opt.timeout_ms, 0);
}

static void
on_reset(SmpUpdate *self, const SmpMessage *rsp)
{
	g_auto(SmpError) err = {0};

	if (smp_response_get_error(rsp->payload, &err)) {
		/* an application hook may refuse a plain reset: ask once more with force */
		if (!err.v2 && err.rc == SMP_RC_EBUSY && !self->reset_forced) {
			update_log(self, "device refused the reset as busy; forcing it");
			self->reset_forced = TRUE;
			enter(self, ST_RESET);
			return;
		}
		check_device_error(self, rsp, "reset", DFU_STATUS_DEVICE_ERROR);
		return;
	}
	enter(self, ST_WAIT_BACK);
}

static gboolean on_boot_poll(gpointer user_data);

static void
enter_wait_back(SmpUpdate *self)
{
	self->reset_at = g_get_monotonic_time();
	self->deadline = self->reset_at + (gint64)self->opt.reset_timeout_ms * 1000;
	update_log(self, "device resetting");
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(poll_interval(self, BOOT_POLL_INTERVAL_MS), on_boot_poll, self);
}

static gboolean
on_boot_poll(gpointer user_data)
{
	SmpUpdate *self = user_data;

	self->timer = 0;
	if (g_get_monotonic_time() >= self->deadline) {
		fail(self, DFU_STATUS_DEVICE_NOT_BACK,
		     "the device did not come back within %u s of its reset",
		     self->opt.reset_timeout_ms / 1000);
		return G_SOURCE_REMOVE;
	}
	if (!dfu_transport_is_open(self->transport)) {
		start_reconnect(self);
		return G_SOURCE_REMOVE;
	}
	request(self, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, NULL,
	        MIN(BOOT_POLL_TIMEOUT_MS, self->opt.timeout_ms), 0);
	return G_SOURCE_REMOVE;
}

static void
poll_again(SmpUpdate *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(poll_interval(self, BOOT_POLL_INTERVAL_MS), on_boot_poll, self);
}

/*
 * Around the bootloader: after the reset into it, a list with an image
 * running is the application not yet gone (or one that ignored boot mode
 * 1); after the reset out of it, a list without one is the bootloader still.
 * FALSE when the wait goes on or the job ended.
 */
static gboolean
loader_settled(SmpUpdate *self, GPtrArray *slots)
{
	gboolean running = lists_running_image(slots);

	if (!self->loader_asked)
		return TRUE;
	if (self->in_loader && running) {
		self->in_loader = FALSE;
		return TRUE;
	}
	if (self->in_loader ||
	    (running && g_get_monotonic_time() - self->reset_at <
	                        (gint64)MAX(RESET_GRACE_MS, self->opt.timeout_ms) * 1000)) {
		poll_again(self);
		return FALSE;
	}
	if (running) {
		fail(self, DFU_STATUS_NOT_SUPPORTED,
		     "the bootloader runs in %s mode and the device did not stay in the bootloader after a "
		     "reset with boot mode 1 (it needs CONFIG_MCUMGR_GRP_OS_RESET_BOOT_MODE and a bootloader "
		     "that reads it); put it into serial recovery by hand",
		     mode_info(self)->name);
		return FALSE;
	}
	update_log(self, "device runs its bootloader (%s); sending the image there",
	           self->mode == SMP_BOOT_MODE_FIRMWARE_LOADER ? "firmware loader" : "serial recovery");
	self->in_loader = TRUE;
	enter(self, ST_PARAMS);
	return FALSE;
}

static void
on_wait_back(SmpUpdate *self, const SmpMessage *rsp)
{
	g_autoptr(GPtrArray) slots = parse_state(self, rsp, "image state");
	gint64 settle_us = (gint64)MIN(EQUAL_SLOTS_SETTLE_MS, self->opt.reset_timeout_ms / 2) * 1000;
	gboolean settled =
	        mode_info(self)->equal_slots && g_get_monotonic_time() - self->reset_at >= settle_us;
	g_autofree char *listed_back = NULL;

	if (slots == NULL || !loader_settled(self, slots))
		return;
	/*
	 * A test image still pending means the old image has not rebooted yet;
	 * with equal slots it stays so when the bootloader skipped it.
	 */
	for (guint i = 0; i < self->work->len && !settled; i++) {
		ImageWork *w = g_ptr_array_index(self->work, i);
		const SmpImageSlot *s = smp_image_state_find_slot(slots, w->img->image_index, w->target_slot);
		if (slot_has_hash(s, w->img) && s->pending && !s->active) {
			/*
			 * A lost reset request (a datagram that vanished) leaves the old
			 * image running: ask again. Safe, since a device that lists the
			 * image pending has not booted it yet; with equal slots a pending
			 * image may also be one the bootloader skipped, which settles above.
			 */
			if (!mode_info(self)->equal_slots && self->reset_resends < self->opt.retries &&
			    g_get_monotonic_time() - self->reset_at >=
			            (gint64)MAX(RESET_GRACE_MS, self->opt.timeout_ms) * 1000) {
				self->reset_resends++;
				update_log(self,
				           "the device still runs its old image %.1f s after the reset; "
				           "asking again",
				           (g_get_monotonic_time() - self->reset_at) / 1e6);
				enter(self, ST_RESET);
				return;
			}
			poll_again(self);
			return;
		}
	}
	listed_back = describe_slots(slots);
	update_log(self, "device back after %.1f s; it lists: %s",
	           (g_get_monotonic_time() - self->reset_at) / 1e6, listed_back);
	for (guint i = 0; i < self->work->len; i++) {
		ImageWork *w = g_ptr_array_index(self->work, i);
		const SmpImageSlot *active = find_active(slots, w->img->image_index);
		g_autofree char *listed = NULL;

		if (!w->expect)
			continue;
		if (slot_has_hash(active, w->img)) {
			w->confirm = w->confirm && !active->confirmed && !active->permanent;
			continue;
		}
		listed = describe_slots(slots);
		if (active != NULL && w->old_hash != NULL && active->hash != NULL &&
		    g_bytes_equal(active->hash, w->old_hash) && mode_info(self)->equal_slots) {
			fail(self, DFU_STATUS_ROLLED_BACK,
			     "image %u: the bootloader rejected %s and runs %s again (bad signature, an "
			     "image linked for the other slot, or no test mark in a revert mode); it lists: "
			     "%s",
			     w->img->image_index, w->img->version,
			     w->old_version != NULL ? w->old_version : "the old image", listed);
		} else if (active != NULL && w->old_hash != NULL && active->hash != NULL &&
		           g_bytes_equal(active->hash, w->old_hash)) {
			fail(self, DFU_STATUS_ROLLED_BACK,
			     "image %u: the device runs %s again after the reset, not %s; it lists: %s",
			     w->img->image_index, w->old_version != NULL ? w->old_version : "the old image",
			     w->img->version, listed);
		} else {
			fail(self, DFU_STATUS_WRONG_VERSION,
			     "image %u: the device runs an unexpected image after the reset; it lists: %s",
			     w->img->image_index, listed);
		}
		return;
	}
	self->cur = 0;
	enter(self, ST_CONFIRM);
}

/* ---- confirm ---- */

static void
enter_confirm(SmpUpdate *self)
{
	ImageWork *w = next_work(self, G_STRUCT_OFFSET(ImageWork, confirm));

	if (w == NULL) {
		/* a reset that booted a pending image leaves it running for its test */
		self->cur = 0;
		w = self->opt.kind == DFU_JOB_KIND_RESET ? next_work(self, G_STRUCT_OFFSET(ImageWork, expect))
		                                         : NULL;
		if (w != NULL)
			update_log(self,
			           "image %u: runs %s for its test; the next reset reverts it unless it is "
			           "confirmed",
			           w->img->image_index, w->img->version);
		finish(self, w != NULL ? DFU_STATUS_STAGED : DFU_STATUS_SUCCESS, NULL, NULL);
		return;
	}
	request(self, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE,
	        smp_cmd_image_state_write(w->img->info.hash, w->img->info.hash_len, TRUE),
	        self->opt.timeout_ms, self->opt.retries);
}

static void
on_confirm(SmpUpdate *self, const SmpMessage *rsp)
{
	ImageWork *w = g_ptr_array_index(self->work, self->cur);
	g_auto(SmpError) err = {0};
	g_autoptr(GPtrArray) slots = NULL;
	const SmpImageSlot *slot;

	if (smp_response_get_error(rsp->payload, &err) && is_bare_enotsup(&err) &&
	    mode_info(self)->confirm == SMP_BOOT_STEP_TRY) {
		update_log(self, "image %u: the device has no confirm (bare rc 8); it runs %s",
		           w->img->image_index, w->img->version);
		w->confirm = FALSE;
		self->cur++;
		enter(self, ST_CONFIRM);
		return;
	}
	if (check_device_error(self, rsp, "image confirm", DFU_STATUS_CONFIRM_REFUSED))
		return;
	slots = smp_rsp_image_state(rsp->payload, NULL);
	report_slots(self, slots);
	slot = slots != NULL ? smp_image_state_find_hash(slots, w->img->image_index, w->img->info.hash,
	                                                 w->img->info.hash_len)
	                     : NULL;
	if (slots != NULL && slots->len > 0 && (slot == NULL || !(slot->confirmed || slot->permanent))) {
		g_autofree char *listed = describe_slots(slots);
		fail(self, DFU_STATUS_CONFIRM_REFUSED,
		     "image %u: the device did not confirm the image; it lists: %s", w->img->image_index,
		     listed);
		return;
	}
	update_log(self, "image %u: version %s confirmed", w->img->image_index, w->img->version);
	w->confirm = FALSE;
	self->cur++;
	enter(self, ST_CONFIRM);
}

static void
enter_nothing(SmpUpdate *self)
{
}

static const StateOps state_table[ST_COUNT] = {
        [ST_IDLE] = {"idle", DFU_JOB_PHASE_NONE, enter_nothing, NULL},
        [ST_OPENING] = {"opening", DFU_JOB_PHASE_CONNECTING, enter_opening, NULL},
        [ST_PARAMS] = {"params", DFU_JOB_PHASE_INSPECTING, enter_params, on_params},
        [ST_SIZE] = {"size", DFU_JOB_PHASE_INSPECTING, enter_size, on_size},
        [ST_BOOT_MODE] = {"boot mode", DFU_JOB_PHASE_INSPECTING, enter_boot_mode, on_boot_mode},
        [ST_SLOT_INFO] = {"slot info", DFU_JOB_PHASE_INSPECTING, enter_slot_info, on_slot_info},
        [ST_READ_STATE] = {"state", DFU_JOB_PHASE_INSPECTING, enter_read_state, on_read_state},
        [ST_BOOTLOADER] = {"bootloader", DFU_JOB_PHASE_INSPECTING, enter_bootloader, on_bootloader},
        [ST_IDENTIFY] = {"identify", DFU_JOB_PHASE_NONE, enter_identify, on_identify},
        [ST_UPLOAD] = {"upload", DFU_JOB_PHASE_UPLOADING, enter_upload, NULL},
        [ST_VERIFY] = {"verify", DFU_JOB_PHASE_INSPECTING, enter_verify, on_verify},
        [ST_TEST] = {"test", DFU_JOB_PHASE_TESTING, enter_test, on_test},
        [ST_RESET] = {"reset", DFU_JOB_PHASE_RESETTING, enter_reset, on_reset},
        [ST_WAIT_BACK] = {"wait", DFU_JOB_PHASE_RESETTING, enter_wait_back, on_wait_back},
        [ST_CONFIRM] = {"confirm", DFU_JOB_PHASE_CONFIRMING, enter_confirm, on_confirm},
        [ST_DONE] = {"done", DFU_JOB_PHASE_NONE, enter_nothing, NULL},
};

static const StateOps *
state_ops(State state)
{
	return &state_table[state];
}

static void
on_response(SmpClient *client, const SmpMessage *rsp, const GError *error, gpointer user_data)
{
	SmpUpdate *self = user_data;
	const StateOps *ops = state_ops(self->state);

	self->request = 0;
	if (error != NULL) {
		if (self->state == ST_RESET) {
			/* the device may reboot before its answer leaves */
			enter(self, ST_WAIT_BACK);
			return;
		}
		if (self->state == ST_WAIT_BACK) {
			poll_again(self);
			return;
		}
		if (self->state == ST_SIZE && error->code == DFU_STATUS_RESPONSE_TIMEOUT) {
			shrink_message(self, "no answer");
			return;
		}
		finish(self, DFU_STATUS_NONE, error, NULL);
		return;
	}
	if (ops->response == NULL) {
		fail(self, DFU_STATUS_INTERNAL_ERROR, "unexpected response in state %s", ops->name);
		return;
	}
	ops->response(self, rsp);
}

static void
on_client_busy(SmpClient *client, guint16 group, guint8 id, guint pause_ms, gpointer user_data)
{
	SmpUpdate *self = user_data;
	g_autofree char *command = smp_command_describe(group, id);

	update_log(self, "device busy with %s; asking again in %.1f s", command, pause_ms / 1000.0);
}

static const SmpClientCallbacks client_callbacks = {
        .link_opened = on_link_opened,
        .link_closed = on_link_closed,
        .busy = on_client_busy,
};

static void
smp_update_start(DfuEngine *engine)
{
	enter((SmpUpdate *)engine, ST_OPENING);
}

static void
smp_update_cancel(DfuEngine *engine)
{
	fail((SmpUpdate *)engine, DFU_STATUS_CANCELLED, "cancelled");
}

static void
smp_update_finalize(DfuEngine *engine)
{
	SmpUpdate *self = (SmpUpdate *)engine;

	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_pointer(&self->upload, smp_upload_free);
	smp_client_free(self->client);
	dfu_transport_free(self->transport);
	dfu_plan_free(self->plan);
	g_ptr_array_unref(self->work);
	g_clear_pointer(&self->identity, g_variant_unref);
	g_free(self->downgrade_images);
	g_free(self);
}

static const DfuEngineClass smp_update_class = {
        .name = "smp",
        .start = smp_update_start,
        .cancel = smp_update_cancel,
        .finalize = smp_update_finalize,
};

DfuEngine *
smp_update_new(DfuTransport *transport, DfuPlan *plan, const SmpUpdateOptions *options,
               const DfuEngineCallbacks *callbacks, gpointer user_data)
{
	SmpUpdate *self = g_new0(SmpUpdate, 1);

	dfu_engine_init(&self->parent, &smp_update_class, callbacks, user_data);
	self->transport = transport;
	self->opt = *options;
	self->opt.identity = NULL;
	self->downgrade_images = g_strdup(options->allow_downgrade_images);
	self->opt.allow_downgrade_images = self->downgrade_images;
	self->mode = SMP_BOOT_MODE_UNKNOWN;
	/* the work of a job without a bundle comes from what the device holds */
	self->plan = plan != NULL ? plan : dfu_plan_new_empty();
	/* what the device holds was allowed when it was uploaded; only confirm confirms it */
	if (options->kind != DFU_JOB_KIND_UPDATE) {
		self->opt.allow_downgrade = TRUE;
		self->opt.confirm = options->kind == DFU_JOB_KIND_CONFIRM;
	}
	self->identity = options->identity != NULL ? g_variant_ref(options->identity) : NULL;
	self->client = smp_client_new(transport, &client_callbacks, self);
	self->work = g_ptr_array_new_with_free_func((GDestroyNotify)image_work_free);
	/* one work item per image number; the plan lists the builds of one image side by side */
	for (guint i = 0; i < self->plan->images->len; i++) {
		DfuPlanImage *img = g_ptr_array_index(self->plan->images, i);
		ImageWork *w =
		        self->work->len > 0 ? g_ptr_array_index(self->work, self->work->len - 1) : NULL;

		if (w == NULL || w->img->image_index != img->image_index) {
			w = g_new0(ImageWork, 1);
			w->img = img;
			g_ptr_array_add(self->work, w);
		}
		if (img->slot >= 0 && img->slot < (int)G_N_ELEMENTS(w->variants))
			w->variants[img->slot] = img;
	}
	return &self->parent;
}
