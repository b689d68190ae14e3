/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nrfdfu-engine.h"

#include <string.h>

#include "dfu-error.h"
#include "nrfdfu-commands.h"

/* pings before a silent port counts as no bootloader: it may still be starting */
#define PING_TRIES 5
#define REOPEN_INTERVAL_MS 200
/* the SDK's UART transport: a SLIP buffer of 2 * (64 + 1) + 1 bytes */
#define DEFAULT_MTU 131
/* a second inconsistency in one image starts the image over (doc §7.3) */
#define MAX_INCONSISTENCIES 1
#define MAX_RESTARTS 1
/* bytes read at a time to compute a CRC over what the bootloader holds */
#define CRC_READ 4096

typedef enum {
	ST_IDLE,
	ST_OPENING,
	ST_PING,
	ST_SET_PRN,
	ST_GET_MTU,
	ST_SELECT,
	ST_CREATE,
	ST_CHECK_START, /* CRC right after a create on resume: where the target really starts */
	ST_WRITE,       /* streaming; waits for the PRN notification when one is due */
	ST_CRC,
	ST_EXECUTE,
	ST_REBOOTING, /* the image was activated; reconnect for the next one */
	ST_DONE,
	ST_COUNT
} State;

typedef struct {
	DfuEngine parent;
	DfuTransport *transport;
	DfuPlan *plan;
	NrfDfuOptions opt;
	State state;
	DfuJobPhase phase;
	guint timer;

	guint image; /* index in plan->nrf5->images */
	guint skipped;
	guint64 total;
	guint64 done_before;
	gsize chunk;
	guint prn;
	gboolean prn_fitted; /* over GATT, fitted to the writes of a data object once known */
	State after_prn;
	guint pings;
	gint64 deadline;

	/* the object being worked on */
	NrfDfuObjectType type;
	guint32 max_size;
	guint32 obj_start;
	guint32 obj_end;
	guint32 sent;
	guint writes; /* since the last create or notification */
	guint retries;
	guint inconsistencies;
	guint restarts;
	gboolean check_start;
	gboolean boundary_execute; /* an execute on resume: 0x08 means it was executed before */

	/* CRC-32 of the selected bytes [0, crc_off), and of [0, mark_off) at the object's start:
	 * the image is read from its file, so a CRC is extended rather than computed again */
	NrfDfuObjectType crc_type;
	guint crc_image;
	guint32 crc_off;
	guint32 crc;
	guint32 mark_off;
	guint32 mark_crc;
	gboolean mark_known;
	guint8 *buf; /* one write, or one CRC read */
} NrfDfuEngine;

typedef struct {
	const char *name;
	DfuJobPhase phase;
	void (*enter)(NrfDfuEngine *self);
	/* the opcode whose answer the state waits for, -1 for none */
	gint opcode;
	void (*answer)(NrfDfuEngine *self, const NrfDfuResponse *rsp);
} StateOps;

static const StateOps state_table[ST_COUNT];

static void
enter(NrfDfuEngine *self, State state)
{
	const StateOps *ops = &state_table[state];

	self->state = state;
	if (ops->phase != DFU_JOB_PHASE_NONE && ops->phase != self->phase) {
		self->phase = ops->phase;
		dfu_engine_emit_phase(&self->parent, ops->phase);
	}
	ops->enter(self);
}

static Nrf5Image *
cur_image(NrfDfuEngine *self)
{
	return g_ptr_array_index(self->plan->nrf5->images, self->image);
}

static guint32
cur_len(NrfDfuEngine *self)
{
	Nrf5Image *img = cur_image(self);

	if (self->type == NRFDFU_OBJECT_COMMAND)
		return (guint32)g_bytes_get_size(img->init_packet);
	return (guint32)dfu_image_data_get_size(img->stream);
}

/* len bytes at off of the selected object type: the init packet, or the firmware from its file */
static gboolean
read_bytes(NrfDfuEngine *self, guint32 off, gsize len, GError **error)
{
	Nrf5Image *img = cur_image(self);

	if (self->type == NRFDFU_OBJECT_COMMAND) {
		memcpy(self->buf, (const guint8 *)g_bytes_get_data(img->init_packet, NULL) + off, len);
		return TRUE;
	}
	return dfu_image_data_read(img->stream, off, self->buf, len, error);
}

/* the running CRC belongs to the selected bytes; another type or image starts it again */
static void
crc_sync(NrfDfuEngine *self)
{
	if (self->crc_type == self->type && self->crc_image == self->image)
		return;
	self->crc_type = self->type;
	self->crc_image = self->image;
	self->crc_off = self->crc = 0;
	self->mark_known = FALSE;
}

static void
note_mark(NrfDfuEngine *self)
{
	if (self->crc_off != self->mark_off)
		return;
	self->mark_crc = self->crc;
	self->mark_known = TRUE;
}

/* bytes at off going out: the running CRC takes them when they continue it */
static void
crc_feed(NrfDfuEngine *self, guint32 off, const guint8 *data, gsize n)
{
	crc_sync(self);
	if (self->crc_off != off)
		return;
	note_mark(self);
	self->crc = nrfdfu_crc32(self->crc, data, n);
	self->crc_off += (guint32)n;
	note_mark(self);
}

/* CRC-32 of the selected bytes [0, offset), read on from the nearest point known before it */
static gboolean
crc_upto(NrfDfuEngine *self, guint32 offset, guint32 *crc, GError **error)
{
	crc_sync(self);
	if (offset < self->crc_off) {
		gboolean from_mark = self->mark_known && offset >= self->mark_off;

		self->crc_off = from_mark ? self->mark_off : 0;
		self->crc = from_mark ? self->mark_crc : 0;
	}
	while (self->crc_off < offset) {
		gsize n = MIN(CRC_READ, offset - self->crc_off);

		/* stop at the object's start to remember its CRC */
		if (self->crc_off < self->mark_off)
			n = MIN(n, self->mark_off - self->crc_off);
		if (!read_bytes(self, self->crc_off, n, error))
			return FALSE;
		crc_feed(self, self->crc_off, self->buf, n);
	}
	*crc = self->crc;
	return TRUE;
}

static const char *
type_name(NrfDfuEngine *self)
{
	return self->type == NRFDFU_OBJECT_COMMAND ? "init packet" : "firmware";
}

static void
finish(NrfDfuEngine *self, guint result, GError *error, GVariant *device_error)
{
	if (self->state == ST_DONE) {
		g_clear_error(&error);
		if (device_error != NULL)
			g_variant_unref(g_variant_ref_sink(device_error));
		return;
	}
	self->state = ST_DONE;
	g_clear_handle_id(&self->timer, g_source_remove);
	dfu_transport_close(self->transport);
	if (error != NULL)
		dfu_engine_emit_log(&self->parent, "stopped: %s", error->message);
	dfu_engine_finish(&self->parent, result, error, device_error);
	g_clear_error(&error);
}

static void fail(NrfDfuEngine *self, DfuStatus status, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
fail(NrfDfuEngine *self, DfuStatus status, const char *format, ...)
{
	g_autofree char *msg = NULL;
	va_list args;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	finish(self, DFU_STATUS_NONE, g_error_new_literal(DFU_ERROR, status, msg), NULL);
}

static void
fail_refused(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	finish(self, DFU_STATUS_NONE, nrfdfu_response_error(rsp), nrfdfu_response_device_error(rsp));
}

static void
fail_error(NrfDfuEngine *self, GError *error)
{
	finish(self, DFU_STATUS_NONE, error, NULL);
}

/* does the bootloader's CRC of [0, offset) match the image? FALSE with the job failed when
 * the image cannot be read */
static gboolean
crc_matches(NrfDfuEngine *self, guint32 offset, guint32 crc, gboolean *matches)
{
	g_autoptr(GError) error = NULL;
	guint32 mine = 0;

	if (!crc_upto(self, offset, &mine, &error)) {
		fail_error(self, g_steal_pointer(&error));
		return FALSE;
	}
	*matches = mine == crc;
	return TRUE;
}

static gboolean
on_timeout(gpointer user_data)
{
	NrfDfuEngine *self = user_data;

	self->timer = 0;
	if (self->state == ST_PING && self->pings < PING_TRIES) {
		enter(self, ST_PING);
		return G_SOURCE_REMOVE;
	}
	fail(self, DFU_STATUS_RESPONSE_TIMEOUT, "no answer from the bootloader in state %s",
	     state_table[self->state].name);
	return G_SOURCE_REMOVE;
}

static void
arm_timer(NrfDfuEngine *self, guint ms)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(ms, on_timeout, self);
}

/* sends a request; timeout_ms 0 when no answer is due */
static gboolean
send_request(NrfDfuEngine *self, GBytes *req, guint timeout_ms)
{
	g_autoptr(GError) error = NULL;

	if (!dfu_transport_send(self->transport, g_bytes_get_data(req, NULL), g_bytes_get_size(req),
	                        &error)) {
		fail_error(self, g_steal_pointer(&error));
		return FALSE;
	}
	if (timeout_ms > 0)
		arm_timer(self, timeout_ms);
	return TRUE;
}

static void
request(NrfDfuEngine *self, GBytes *req)
{
	g_autoptr(GBytes) owned = req;
	send_request(self, owned, self->opt.timeout_ms);
}

static void
report_progress(NrfDfuEngine *self, guint32 offset)
{
	if (self->type == NRFDFU_OBJECT_DATA)
		dfu_engine_emit_progress(&self->parent, self->done_before + offset, self->total);
}

/* the object [start, end) of the selected type, sending from sent */
static void
set_object(NrfDfuEngine *self, guint32 start, guint32 sent)
{
	self->obj_start = start;
	self->obj_end = MIN(start + self->max_size, cur_len(self));
	self->sent = sent;
	self->retries = 0;
	crc_sync(self);
	if (self->mark_off != start) {
		self->mark_off = start;
		self->mark_known = FALSE;
		note_mark(self);
	}
}

/* ---- connecting ---- */

static void
enter_opening(NrfDfuEngine *self)
{
	dfu_transport_open(self->transport);
}

static gboolean
on_reopen(gpointer user_data)
{
	NrfDfuEngine *self = user_data;

	self->timer = 0;
	enter(self, ST_OPENING);
	return G_SOURCE_REMOVE;
}

/* largest write whose worst-case SLIP frame fits the bootloader's buffer (mtu 0: no SLIP), in flash words */
static void
set_chunk(NrfDfuEngine *self, guint mtu)
{
	gsize chunk = mtu != 0 ? ((mtu - 1) / 2 - 1) & ~(gsize)3 : G_MAXSIZE;
	gsize link = dfu_transport_max_message(self->transport);

	if (link > 1)
		chunk = MIN(chunk, (link - 1) & ~(gsize)3);
	self->chunk = MAX(chunk, 4);
	g_free(self->buf);
	self->buf = g_malloc(MAX(self->chunk, CRC_READ));
}

static void
on_opened(DfuTransport *transport, const GError *error, gpointer user_data)
{
	NrfDfuEngine *self = user_data;

	if (self->state != ST_OPENING)
		return;
	if (error == NULL && self->opt.gatt) {
		/* the link itself proves the bootloader; the ATT MTU sets the writes */
		self->deadline = 0;
		set_chunk(self, 0);
		dfu_engine_emit_log(&self->parent, "GATT: %" G_GSIZE_FORMAT " bytes per write", self->chunk);
		self->type = NRFDFU_OBJECT_COMMAND;
		self->after_prn = ST_SELECT;
		enter(self, ST_SET_PRN);
		return;
	}
	if (error == NULL) {
		self->pings = 0;
		enter(self, ST_PING);
		return;
	}
	/* after a reset the port may be gone for a while (USB re-enumeration) */
	if (self->deadline != 0 && g_get_monotonic_time() < self->deadline &&
	    (g_error_matches(error, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND) ||
	     g_error_matches(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED))) {
		self->timer = g_timeout_add(REOPEN_INTERVAL_MS, on_reopen, self);
		return;
	}
	fail_error(self, g_error_copy(error));
}

static void
enter_ping(NrfDfuEngine *self)
{
	self->pings++;
	request(self, nrfdfu_request_ping((guint8)self->pings));
}

/* any answer proves a bootloader, even a refusal */
static void
on_ping(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	GVariantBuilder state;

	g_variant_builder_init(&state, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&state, "{sv}", "bootloader", g_variant_new_string("nRF5 SDK Secure DFU"));
	dfu_engine_emit_report(&self->parent, g_variant_builder_end(&state));
	self->deadline = 0;
	self->after_prn = ST_GET_MTU;
	enter(self, ST_SET_PRN);
}

static void
enter_set_prn(NrfDfuEngine *self)
{
	request(self, nrfdfu_request_set_prn((guint16)self->prn));
}

static void
on_set_prn(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	self->writes = 0;
	enter(self, self->after_prn);
}

static void
enter_get_mtu(NrfDfuEngine *self)
{
	request(self, nrfdfu_request(NRFDFU_OP_GET_MTU, NULL, 0));
}

static void
on_get_mtu(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	g_autoptr(GError) error = NULL;
	guint16 mtu = DEFAULT_MTU;

	if (rsp->result == NRFDFU_RESULT_SUCCESS && !nrfdfu_response_get_mtu(rsp, &mtu, &error)) {
		fail_error(self, g_steal_pointer(&error));
		return;
	}
	if (mtu < 11) {
		fail(self, DFU_STATUS_PROTOCOL_ERROR, "the bootloader reports an MTU of %u bytes", mtu);
		return;
	}
	set_chunk(self, mtu);
	dfu_engine_emit_log(&self->parent, "bootloader MTU %u: %" G_GSIZE_FORMAT " bytes per write", mtu,
	                    self->chunk);
	self->type = NRFDFU_OBJECT_COMMAND;
	enter(self, ST_SELECT);
}

/* ---- objects ---- */

static void
enter_select(NrfDfuEngine *self)
{
	request(self, nrfdfu_request_select(self->type));
}

static void
enter_create(NrfDfuEngine *self)
{
	request(self, nrfdfu_request_create(self->type, self->obj_end - self->obj_start));
}

/* create the command object again: the bootloader drops all progress of the image */
static void
restart_image(NrfDfuEngine *self, const char *why)
{
	if (self->restarts++ >= MAX_RESTARTS) {
		fail(self, DFU_STATUS_PROTOCOL_ERROR, "image %s: %s again after starting over",
		     cur_image(self)->bin_file, why);
		return;
	}
	dfu_engine_emit_log(&self->parent, "image %s: %s; starting the image over", cur_image(self)->bin_file,
	                    why);
	self->type = NRFDFU_OBJECT_COMMAND;
	self->inconsistencies = 0;
	self->check_start = FALSE;
	self->max_size = MAX(self->max_size, cur_len(self));
	set_object(self, 0, 0);
	enter(self, ST_CREATE);
}

/* the device's progress does not add up: rewind once, then start the image over */
static gboolean
inconsistent(NrfDfuEngine *self, const char *why)
{
	if (self->inconsistencies++ < MAX_INCONSISTENCIES) {
		dfu_engine_emit_log(&self->parent, "image %s: %s", cur_image(self)->bin_file, why);
		return TRUE;
	}
	restart_image(self, why);
	return FALSE;
}

static void
select_command(NrfDfuEngine *self, guint32 offset, guint32 crc)
{
	guint32 len = cur_len(self);
	gboolean matches = FALSE;

	if (len > self->max_size) {
		fail(self, DFU_STATUS_IMAGE_TOO_LARGE, "init packet of %s: %u bytes, the bootloader takes %u",
		     cur_image(self)->dat_file, len, self->max_size);
		return;
	}
	self->max_size = len;
	if (offset > 0 && offset <= len && !crc_matches(self, offset, crc, &matches))
		return;
	if (offset == 0 || offset > len || !matches) {
		/* creating it again discards the data progress, so only when it differs */
		set_object(self, 0, 0);
		enter(self, ST_CREATE);
		return;
	}
	dfu_engine_emit_log(&self->parent, "init packet: the bootloader holds %u of %u bytes", offset, len);
	set_object(self, 0, offset);
	enter(self, offset < len ? ST_WRITE : ST_EXECUTE);
}

static void
select_data(NrfDfuEngine *self, guint32 offset, guint32 crc)
{
	guint32 len = cur_len(self);
	gboolean matches = TRUE;
	guint32 r;

	if (offset > len) {
		restart_image(self, "the bootloader reports more firmware than the image has");
		return;
	}
	if (offset > 0 && !crc_matches(self, offset, crc, &matches))
		return;
	if (!matches) {
		guint32 start;

		if (!inconsistent(self,
		                  "the bootloader's CRC does not match the image; rewinding one object"))
			return;
		r = offset % self->max_size;
		start = r != 0 ? offset - r : offset - self->max_size;
		self->check_start = TRUE;
		set_object(self, start, start);
		report_progress(self, start);
		enter(self, ST_CREATE);
		return;
	}
	report_progress(self, offset);
	if (offset == 0) {
		set_object(self, 0, 0);
		enter(self, ST_CREATE);
		return;
	}
	dfu_engine_emit_log(&self->parent, "firmware: resuming at %u of %u bytes", offset, len);
	r = offset % self->max_size;
	if (r != 0) {
		/* finish the object the bootloader holds part of, without creating it */
		set_object(self, offset - r, offset);
		enter(self, ST_WRITE);
		return;
	}
	/* at a boundary: the object before may be executed already */
	set_object(self, offset - MIN(offset, self->max_size), offset);
	self->obj_end = offset;
	self->boundary_execute = offset < len;
	enter(self, ST_EXECUTE);
}

/*
 * Over GATT, a PRN of as many writes as a data object takes: the bootloader
 * counts from each create, so its notification after an object's last write
 * carries the checksum that a CRC request would, one round trip sooner. The
 * last object of an image, shorter, still asks. Selects again once set.
 */
static gboolean
fit_prn(NrfDfuEngine *self)
{
	guint writes = (guint)((self->max_size + self->chunk - 1) / self->chunk);

	if (!self->opt.gatt || self->prn_fitted || self->prn != 0 || writes < 2 || writes > G_MAXUINT16)
		return FALSE;
	self->prn_fitted = TRUE;
	self->prn = writes;
	self->after_prn = ST_SELECT;
	enter(self, ST_SET_PRN);
	return TRUE;
}

static void
on_select(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	g_autoptr(GError) error = NULL;
	guint32 max_size = 0, offset = 0, crc = 0;

	if (rsp->result != NRFDFU_RESULT_SUCCESS) {
		fail_refused(self, rsp);
		return;
	}
	if (!nrfdfu_response_get_select(rsp, &max_size, &offset, &crc, &error)) {
		fail_error(self, g_steal_pointer(&error));
		return;
	}
	if (max_size == 0 || (self->type == NRFDFU_OBJECT_DATA && max_size % 4 != 0)) {
		fail(self, DFU_STATUS_PROTOCOL_ERROR, "the bootloader reports objects of %u bytes", max_size);
		return;
	}
	self->max_size = max_size;
	if (self->type == NRFDFU_OBJECT_DATA && fit_prn(self))
		return;
	if (self->type == NRFDFU_OBJECT_COMMAND)
		select_command(self, offset, crc);
	else
		select_data(self, offset, crc);
}

static void
on_create(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	if (rsp->result != NRFDFU_RESULT_SUCCESS) {
		fail_refused(self, rsp);
		return;
	}
	self->writes = 0;
	if (self->check_start) {
		self->check_start = FALSE;
		enter(self, ST_CHECK_START);
		return;
	}
	enter(self, ST_WRITE);
}

static void
enter_crc(NrfDfuEngine *self)
{
	request(self, nrfdfu_request(NRFDFU_OP_CRC, NULL, 0));
}

/* a create rewinds the bootloader to its last executed object: make sure that is where we start */
static void
on_check_start(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	g_autoptr(GError) error = NULL;
	guint32 offset = 0, crc = 0;
	guint32 len = cur_len(self);
	guint32 created = self->obj_end - self->obj_start;
	gboolean matches = FALSE;

	if (!nrfdfu_response_get_crc(rsp, &offset, &crc, &error)) {
		fail_error(self, g_steal_pointer(&error));
		return;
	}
	if (offset == self->obj_start) {
		enter(self, ST_WRITE);
		return;
	}
	if (offset < len && offset % self->max_size == 0 && !crc_matches(self, offset, crc, &matches))
		return;
	if (!matches) {
		restart_image(self, "the bootloader starts the object where the image has no boundary");
		return;
	}
	dfu_engine_emit_log(&self->parent, "firmware: the bootloader continues at %u, not %u", offset,
	                    self->obj_start);
	set_object(self, offset, offset);
	report_progress(self, offset);
	if (self->obj_end - self->obj_start != created) {
		self->check_start = TRUE;
		enter(self, ST_CREATE);
		return;
	}
	enter(self, ST_WRITE);
}

static void
enter_write(NrfDfuEngine *self)
{
	while (self->sent < self->obj_end) {
		gsize n = MIN(self->chunk, self->obj_end - self->sent);
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) req = NULL;

		if (!read_bytes(self, self->sent, n, &error)) {
			fail_error(self, g_steal_pointer(&error));
			return;
		}
		crc_feed(self, self->sent, self->buf, n);
		req = nrfdfu_request(NRFDFU_OP_WRITE, self->buf, n);
		if (!send_request(self, req, 0))
			return;
		self->sent += n;
		report_progress(self, self->sent);
		if (self->prn != 0 && ++self->writes == self->prn) {
			/* the notification paces the writes and checks them on the way */
			self->writes = 0;
			arm_timer(self, self->opt.timeout_ms);
			return;
		}
	}
	enter(self, ST_CRC);
}

/* the object did not arrive whole: send it again, with a notification after every write */
static void
object_mismatch(NrfDfuEngine *self, guint32 offset)
{
	if (++self->retries > self->opt.object_retries) {
		fail(self, DFU_STATUS_UPLOAD_CORRUPTED, "%s object at %u: CRC still wrong after %u attempts",
		     type_name(self), self->obj_start, self->retries);
		return;
	}
	dfu_engine_emit_log(&self->parent,
	                    "%s object at %u: the bootloader has %u bytes with another CRC; sending it again",
	                    type_name(self), self->obj_start, offset);
	self->sent = self->obj_start;
	report_progress(self, self->obj_start);
	if (self->prn != 1) {
		self->prn = 1;
		self->after_prn = ST_CREATE;
		enter(self, ST_SET_PRN);
		return;
	}
	enter(self, ST_CREATE);
}

static void
check_crc(NrfDfuEngine *self, const NrfDfuResponse *rsp, guint32 expected)
{
	g_autoptr(GError) error = NULL;
	guint32 offset = 0, crc = 0;
	gboolean matches = FALSE;

	if (rsp->result != NRFDFU_RESULT_SUCCESS) {
		fail_refused(self, rsp);
		return;
	}
	if (!nrfdfu_response_get_crc(rsp, &offset, &crc, &error)) {
		fail_error(self, g_steal_pointer(&error));
		return;
	}
	if (offset == expected && !crc_matches(self, expected, crc, &matches))
		return;
	if (!matches) {
		object_mismatch(self, offset);
		return;
	}
	enter(self, self->sent < self->obj_end ? ST_WRITE : ST_EXECUTE);
}

/* a PRN notification while streaming */
static void
on_write_notification(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	check_crc(self, rsp, self->sent);
}

static void
on_crc(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	check_crc(self, rsp, self->obj_end);
}

static void
enter_execute(NrfDfuEngine *self)
{
	g_autoptr(GBytes) req = nrfdfu_request(NRFDFU_OP_EXECUTE, NULL, 0);
	gboolean last = self->type == NRFDFU_OBJECT_DATA && self->obj_end == cur_len(self);

	/* the last execute validates and activates the whole image */
	send_request(self, req, last ? self->opt.execute_timeout_ms : self->opt.timeout_ms);
}

static void
image_done(NrfDfuEngine *self)
{
	self->done_before += dfu_image_data_get_size(cur_image(self)->stream);
	self->image++;
	if (self->image == self->plan->nrf5->images->len) {
		dfu_engine_emit_progress(&self->parent, self->total, self->total);
		finish(self, self->skipped == self->image ? DFU_STATUS_UP_TO_DATE : DFU_STATUS_SUCCESS, NULL,
		       NULL);
		return;
	}
	enter(self, ST_REBOOTING);
}

static void
next_data_object(NrfDfuEngine *self)
{
	guint32 len = cur_len(self);

	self->inconsistencies = 0;
	if (self->obj_end == len) {
		dfu_engine_emit_log(&self->parent, "image %s: sent and activated (%u bytes)",
		                    cur_image(self)->bin_file, len);
		image_done(self);
		return;
	}
	set_object(self, self->obj_end, self->obj_end);
	enter(self, ST_CREATE);
}

static void
on_execute_command(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	if (rsp->result == NRFDFU_RESULT_EXTENDED_ERROR && rsp->extended == NRFDFU_EXT_FW_ALREADY_PRESENT) {
		dfu_engine_emit_log(&self->parent, "image %s: already on the device",
		                    cur_image(self)->bin_file);
		self->skipped++;
		image_done(self);
		return;
	}
	if (rsp->result != NRFDFU_RESULT_SUCCESS) {
		fail_refused(self, rsp);
		return;
	}
	self->type = NRFDFU_OBJECT_DATA;
	enter(self, ST_SELECT);
}

static void
on_execute(NrfDfuEngine *self, const NrfDfuResponse *rsp)
{
	gboolean boundary = self->boundary_execute;

	self->boundary_execute = FALSE;
	if (self->type == NRFDFU_OBJECT_COMMAND) {
		on_execute_command(self, rsp);
		return;
	}
	if (rsp->result == NRFDFU_RESULT_NOT_PERMITTED) {
		/* SDK 15-17 refuse a second execute after a reconnect: the object was executed */
		if (boundary) {
			next_data_object(self);
			return;
		}
		if (inconsistent(self, "the bootloader refused to execute an object; creating it again")) {
			self->check_start = TRUE;
			set_object(self, self->obj_start, self->obj_start);
			enter(self, ST_CREATE);
		}
		return;
	}
	if (rsp->result != NRFDFU_RESULT_SUCCESS) {
		fail_refused(self, rsp);
		return;
	}
	next_data_object(self);
}

/* ---- between images ---- */

static gboolean
on_reset_delay(gpointer user_data)
{
	NrfDfuEngine *self = user_data;

	self->timer = 0;
	self->deadline = g_get_monotonic_time() + (gint64)self->opt.reconnect_timeout_ms * 1000;
	self->restarts = 0;
	self->inconsistencies = 0;
	self->prn = self->opt.prn;
	self->prn_fitted = FALSE;
	enter(self, ST_OPENING);
	return G_SOURCE_REMOVE;
}

static void
enter_rebooting(NrfDfuEngine *self)
{
	/* the bootloader resets to activate the image; a USB port goes away with it */
	dfu_transport_close(self->transport);
	self->timer = g_timeout_add(self->opt.reset_delay_ms, on_reset_delay, self);
}

static void
enter_nothing(NrfDfuEngine *self)
{
}

static const StateOps state_table[ST_COUNT] = {
        [ST_IDLE] = {"idle", DFU_JOB_PHASE_NONE, enter_nothing, -1, NULL},
        [ST_OPENING] = {"opening", DFU_JOB_PHASE_CONNECTING, enter_opening, -1, NULL},
        [ST_PING] = {"ping", DFU_JOB_PHASE_CONNECTING, enter_ping, NRFDFU_OP_PING, on_ping},
        [ST_SET_PRN] = {"set PRN", DFU_JOB_PHASE_INSPECTING, enter_set_prn, NRFDFU_OP_SET_PRN, on_set_prn},
        [ST_GET_MTU] = {"get MTU", DFU_JOB_PHASE_INSPECTING, enter_get_mtu, NRFDFU_OP_GET_MTU, on_get_mtu},
        [ST_SELECT] = {"select", DFU_JOB_PHASE_INSPECTING, enter_select, NRFDFU_OP_SELECT, on_select},
        [ST_CREATE] = {"create", DFU_JOB_PHASE_UPLOADING, enter_create, NRFDFU_OP_CREATE, on_create},
        [ST_CHECK_START] = {"check start", DFU_JOB_PHASE_UPLOADING, enter_crc, NRFDFU_OP_CRC, on_check_start},
        [ST_WRITE] = {"write", DFU_JOB_PHASE_UPLOADING, enter_write, NRFDFU_OP_CRC, on_write_notification},
        [ST_CRC] = {"CRC", DFU_JOB_PHASE_UPLOADING, enter_crc, NRFDFU_OP_CRC, on_crc},
        [ST_EXECUTE] = {"execute", DFU_JOB_PHASE_UPLOADING, enter_execute, NRFDFU_OP_EXECUTE, on_execute},
        [ST_REBOOTING] = {"rebooting", DFU_JOB_PHASE_RESETTING, enter_rebooting, -1, NULL},
        [ST_DONE] = {"done", DFU_JOB_PHASE_NONE, enter_nothing, -1, NULL},
};

static void
on_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	NrfDfuEngine *self = user_data;
	const StateOps *ops = &state_table[self->state];
	g_autoptr(GError) error = NULL;
	NrfDfuResponse rsp;

	/* noise on the line: whatever it hid shows up as a timeout or a CRC mismatch */
	if (!nrfdfu_response_parse(data, len, &rsp, &error)) {
		dfu_engine_emit_log(&self->parent, "ignored: %s", error->message);
		return;
	}
	/* a late notification or an answer to a request given up on */
	if (ops->answer == NULL || ops->opcode != rsp.opcode) {
		g_debug("nrfdfu: ignoring a %s response in state %s", nrfdfu_opcode_to_string(rsp.opcode),
		        ops->name);
		return;
	}
	g_clear_handle_id(&self->timer, g_source_remove);
	ops->answer(self, &rsp);
}

static void
on_closed(DfuTransport *transport, const GError *error, gpointer user_data)
{
	NrfDfuEngine *self = user_data;

	if (self->state == ST_REBOOTING || self->state == ST_DONE)
		return;
	fail_error(self, g_error_copy(error));
}

static const DfuTransportCallbacks transport_callbacks = {
        .opened = on_opened,
        .packet = on_packet,
        .closed = on_closed,
};

static void
nrfdfu_engine_start(DfuEngine *engine)
{
	NrfDfuEngine *self = (NrfDfuEngine *)engine;

	if (self->plan->kind != DFU_BUNDLE_NRF5_ZIP || self->plan->nrf5->images->len == 0) {
		fail(self, DFU_STATUS_UNSUPPORTED_BUNDLE, "a Nordic DFU target takes an nRF5 DFU package");
		return;
	}
	enter(self, ST_OPENING);
}

static void
nrfdfu_engine_cancel(DfuEngine *engine)
{
	NrfDfuEngine *self = (NrfDfuEngine *)engine;
	g_autoptr(GBytes) abort = nrfdfu_request(NRFDFU_OP_ABORT, NULL, 0);

	/* the bootloader resets and keeps what it saved; its answer is not awaited */
	if (dfu_transport_is_open(self->transport) && self->state != ST_DONE)
		dfu_transport_send(self->transport, g_bytes_get_data(abort, NULL), g_bytes_get_size(abort),
		                   NULL);
	fail(self, DFU_STATUS_CANCELLED, "cancelled");
}

static void
nrfdfu_engine_finalize(DfuEngine *engine)
{
	NrfDfuEngine *self = (NrfDfuEngine *)engine;

	g_clear_handle_id(&self->timer, g_source_remove);
	dfu_transport_free(self->transport);
	dfu_plan_free(self->plan);
	g_free(self->buf);
	g_free(self);
}

static const DfuEngineClass nrfdfu_engine_class = {
        .name = "nrfdfu",
        .start = nrfdfu_engine_start,
        .cancel = nrfdfu_engine_cancel,
        .finalize = nrfdfu_engine_finalize,
};

DfuEngine *
nrfdfu_engine_new(DfuTransport *transport, DfuPlan *plan, const NrfDfuOptions *options,
                  const DfuEngineCallbacks *callbacks, gpointer user_data)
{
	NrfDfuEngine *self = g_new0(NrfDfuEngine, 1);

	dfu_engine_init(&self->parent, &nrfdfu_engine_class, callbacks, user_data);
	self->transport = transport;
	self->plan = plan;
	self->opt = *options;
	self->prn = options->prn;
	self->phase = DFU_JOB_PHASE_NONE;
	self->buf = g_malloc(CRC_READ);
	dfu_transport_set_callbacks(transport, &transport_callbacks, self);
	for (guint i = 0; plan->nrf5 != NULL && i < plan->nrf5->images->len; i++) {
		Nrf5Image *img = g_ptr_array_index(plan->nrf5->images, i);
		self->total += dfu_image_data_get_size(img->stream);
	}
	return &self->parent;
}
