/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "meshdfu-engine.h"

#include "dfu-error.h"
#include "dfu-hex.h"
#include "dfu-job.h"
#include "meshdfu-packets.h"

/* the port is drained until it was quiet this long, or for this long at most */
#define DRAIN_QUIET_MS 100
#define DRAIN_MAX_MS 1000
#define ECHO_PAYLOAD_SIZE 4
#define PAGE_SIZE 4096
/* the identity is kept at most this often while segments go out */
#define IDENTITY_INTERVAL_US (2 * G_USEC_PER_SEC)
/*
 * Empty Echo frames ("01 02") that realign a frame parser that lost count: a
 * parser in the middle of a frame of up to 255 bytes is through it within
 * them, and from then on takes 01 or 02 for a length and lands on a frame
 * boundary. The node answers each with an empty Echo response.
 */
#define RESYNC_FRAMES 128
/* a serial node that loses the transfer this often without a segment taken in between is broken */
#define MAX_NODE_RESTARTS 5

typedef enum {
	ST_IDLE,
	ST_OPENING,  /* the port, then the drain */
	ST_DRAINING, /* stale frames until the line is quiet */
	ST_ECHO,     /* Echo with a random payload until it comes back */
	ST_MODE,     /* state get: application or bootloader, and whether a transfer runs */
	ST_FWID,     /* the node's firmware ID beacon, against the package */
	ST_STATE,    /* STATE twice, a pause after each */
	ST_START,    /* START */
	ST_ERASE,    /* the nodes erase their bank */
	ST_DATA,     /* segments at the interval, requested ones first */
	ST_TAIL,     /* requests only, until the mesh is quiet */
	ST_ENDING,   /* the serial node's end, bank flash and restart with the new firmware ID */
	ST_DONE,
} MeshDfuState;

typedef struct _MeshDfuEngine MeshDfuEngine;

/* what to do with the serial node's answer to a command (BUSY is handled before) */
typedef void (*AnswerFunc)(MeshDfuEngine *self, const MeshEvent *answer);

struct _MeshDfuEngine {
	DfuEngine parent;
	MeshDfuOptions opt;
	DfuTransport *transport;
	DfuPlan *plan;
	const MeshImage *image;
	guint image_index;    /* of the package's images, sent in order */
	guint64 bytes_before; /* of the images sent before this one */
	guint64 bytes_total;  /* of all images */
	MeshDfuState state;
	guint timer;       /* the state's own wait */
	guint quiet_timer; /* drain and tail: restarted by traffic */
	/* what came during the probe, for the diagnosis */
	guint frames;
	guint noise_frames;
	gboolean echo_wrong;
	gboolean bootloader_seen;
	guint echo_sends;
	GArray *echo_payloads; /* guint32 */
	/* the command waiting for its answer */
	MeshMessage pending;
	const char *pending_what;
	AnswerFunc pending_answer;
	guint pending_sends;
	gint64 busy_since_us;
	guint ack_timer;
	/* the transfer */
	guint32 tid;
	guint total; /* segments */
	guint next;  /* the next segment to send */
	guint acked; /* segments the serial node took, in order */
	gboolean resuming;
	guint32 stale_tid; /* of an earlier attempt, given up */
	guint state_sends;
	GArray *requests; /* guint16: segments asked for, oldest first */
	MeshFwid node_fwid;
	gboolean have_fwid;
	guint8 serial_role; /* MESH_ROLE_*, from the start event */
	gboolean ended;
	gboolean restarted;  /* since the end of the transfer */
	guint node_restarts; /* in a row, without a segment taken in between */
	guint restart_next;  /* the segment due at the last of them */
	guint resyncs;
	guint resync_answers; /* empty Echo responses: the node hears the gateway */
	gint64 identity_us;
	char *package_id;
};

static void set_state(MeshDfuEngine *self, MeshDfuState state);
static void send_next(MeshDfuEngine *self);
static void image_done(MeshDfuEngine *self, const char *message);

static void
stop_timers(MeshDfuEngine *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_handle_id(&self->quiet_timer, g_source_remove);
	g_clear_handle_id(&self->ack_timer, g_source_remove);
	self->pending_answer = NULL;
}

static void
finish(MeshDfuEngine *self, guint result, GError *error)
{
	g_autoptr(GError) owned = error;

	if (self->state == ST_DONE)
		return;
	self->state = ST_DONE;
	stop_timers(self);
	dfu_engine_finish(&self->parent, result, owned, NULL);
}

static void G_GNUC_PRINTF(3, 4) fail(MeshDfuEngine *self, DfuStatus code, const char *format, ...)
{
	va_list args;
	g_autofree char *message = NULL;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	finish(self, DFU_STATUS_NONE, g_error_new_literal(DFU_ERROR, code, message));
}

/* the outcome's message says what the mesh can and cannot tell */
static void
succeed(MeshDfuEngine *self, const char *message)
{
	finish(self, DFU_STATUS_SUCCESS, g_error_new_literal(DFU_ERROR, DFU_STATUS_SUCCESS, message));
}

static gsize
image_bytes(const MeshImage *image)
{
	return g_bytes_get_size(image->files->firmware) + (image->init.is_signed ? MESH_SIGNATURE_SIZE : 0);
}

static void
emit_progress(MeshDfuEngine *self)
{
	gsize done = MIN((gsize)self->acked * MESH_SEGMENT_SIZE, image_bytes(self->image));

	dfu_engine_emit_progress(&self->parent, self->bytes_before + done, self->bytes_total);
}

/* what a later attempt needs to go on with this transaction while the nodes still wait for it */
static void
keep_identity(MeshDfuEngine *self)
{
	GVariantDict dict;

	self->identity_us = g_get_monotonic_time();
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "mesh-package", "s", self->package_id);
	g_variant_dict_insert(&dict, "mesh-image", "u", self->image_index);
	g_variant_dict_insert(&dict, "mesh-tid", "u", self->tid);
	g_variant_dict_insert(&dict, "mesh-next", "u", self->next);
	g_variant_dict_insert(&dict, "mesh-time", "x", g_get_real_time());
	dfu_engine_emit_identity(&self->parent, g_variant_dict_end(&dict));
}

/* ---- one command at a time, each until the serial node answers it ---- */

static gboolean on_ack_timeout(gpointer user_data);

static gboolean
write_message(MeshDfuEngine *self, const MeshMessage *msg)
{
	g_autoptr(GError) error = NULL;

	if (dfu_transport_send(self->transport, msg->data, msg->len, &error))
		return TRUE;
	finish(self, DFU_STATUS_NONE, g_steal_pointer(&error));
	return FALSE;
}

/* the serial interface has no resynchronisation of its own: one lost byte shifts every frame after it */
static gboolean
resync(MeshDfuEngine *self)
{
	static const guint8 empty[1];
	MeshMessage msg;

	if (self->resyncs == 0)
		dfu_engine_emit_log(&self->parent,
		                    "the %s packet went unanswered twice or came garbled: bytes may be lost "
		                    "on the line; realigning the node's frame parser with %u empty Echo "
		                    "frames before each such resend",
		                    self->pending_what, RESYNC_FRAMES);
	self->resyncs++;
	mesh_message_echo(&msg, empty, 0);
	for (guint i = 0; i < RESYNC_FRAMES; i++) {
		if (!write_message(self, &msg))
			return FALSE;
	}
	return TRUE;
}

static void
resend(MeshDfuEngine *self)
{
	self->pending_sends++;
	if (write_message(self, &self->pending))
		self->ack_timer = g_timeout_add(self->opt.ack_timeout_ms, on_ack_timeout, self);
}

static void
send_command(MeshDfuEngine *self, const MeshMessage *msg, const char *what, AnswerFunc answer)
{
	g_clear_handle_id(&self->ack_timer, g_source_remove);
	self->pending = *msg;
	self->pending_what = what;
	self->pending_answer = answer;
	self->pending_sends = 0;
	self->busy_since_us = 0;
	resend(self);
}

/* what nrfutil users know these failures by, and what usually causes them */
static const struct {
	const char *what;
	const char *cause;
} silence_causes[] = {
        {"state get", "the application may not be the mesh DFU example's or may lack the DFU module"},
        {"STATE", "the serial node is busy or restarted"},
        {"START", "the node is probably still erasing its bank, or it restarted"},
        {"DATA", "the link or the serial node went away in the middle of the transfer"},
        {"DATA_RSP", "the link or the serial node went away while missed segments were served"},
};

/*
 * The node answered the realigning Echo frames, yet packets still go wrong:
 * bytes are lost or garbled on the line, not the node gone.
 */
static gboolean
fail_line_errors(MeshDfuEngine *self, const char *what)
{
	if (self->resyncs == 0 || self->resync_answers == 0)
		return FALSE;
	fail(self, DFU_STATUS_MESH_LINE_ERRORS,
	     "%s, although the node answered %u of the empty Echo frames of %u realignments of its frame "
	     "parser: bytes are lost or garbled on the UART",
	     what, self->resync_answers, self->resyncs);
	return TRUE;
}

static gboolean
on_ack_timeout(gpointer user_data)
{
	MeshDfuEngine *self = user_data;
	const char *cause = "the link went away";
	g_autofree char *what = NULL;

	self->ack_timer = 0;
	if (self->pending_sends < self->opt.tries) {
		/* a lost answer costs one resend; a second silence looks like a parser out of step */
		if (self->pending_sends < 2 || resync(self))
			resend(self);
		return G_SOURCE_REMOVE;
	}
	what = g_strdup_printf("the serial node did not answer the %s packet, sent %u times",
	                       self->pending_what, self->pending_sends);
	if (fail_line_errors(self, what))
		return G_SOURCE_REMOVE;
	for (gsize i = 0; i < G_N_ELEMENTS(silence_causes); i++) {
		if (g_strcmp0(silence_causes[i].what, self->pending_what) == 0)
			cause = silence_causes[i].cause;
	}
	fail(self, DFU_STATUS_RESPONSE_TIMEOUT,
	     "the serial node did not answer the %s packet, sent %u times: %s", self->pending_what,
	     self->pending_sends, cause);
	return G_SOURCE_REMOVE;
}

static void
on_command_answer(MeshDfuEngine *self, const MeshEvent *event)
{
	AnswerFunc answer = self->pending_answer;
	gint64 now = g_get_monotonic_time();

	if (answer == NULL || event->command != self->pending.data[0])
		return;
	g_clear_handle_id(&self->ack_timer, g_source_remove);
	/* BUSY is the node erasing or writing flash: the same packet again, later */
	if (event->status == MESH_STATUS_BUSY) {
		if (self->busy_since_us == 0) {
			self->busy_since_us = now;
			dfu_engine_emit_log(&self->parent,
			                    "the serial node is busy with the %s packet (erasing or "
			                    "writing flash): sending it again later",
			                    self->pending_what);
		}
		if (now - self->busy_since_us > (gint64)self->opt.busy_timeout_ms * 1000) {
			fail(self, DFU_STATUS_DEVICE_BUSY,
			     "the serial node answered BUSY to the %s packet for %u s: its bank erase takes "
			     "longer than that; raise EraseTimePerPageSec or BusyTimeoutSec",
			     self->pending_what, self->opt.busy_timeout_ms / 1000);
			return;
		}
		self->pending_sends--;
		self->ack_timer = g_timeout_add(self->opt.ack_timeout_ms, on_ack_timeout, self);
		return;
	}
	self->pending_answer = NULL;
	answer(self, event);
}

/* a status the answer handler did not expect: the packet again, up to the tries */
static void
refused(MeshDfuEngine *self, const MeshEvent *event, AnswerFunc answer)
{
	if (self->pending_sends < self->opt.tries) {
		self->pending_answer = answer;
		resend(self);
		return;
	}
	fail(self, DFU_STATUS_DEVICE_ERROR,
	     "the serial node answered %s (0x%02x) to the %s packet, sent %u times",
	     mesh_status_to_string(event->status), event->status, self->pending_what, self->pending_sends);
}

/* ---- opening and probing the link ---- */

static void
enter_opening(MeshDfuEngine *self)
{
	dfu_transport_open(self->transport);
}

static gboolean
on_drained(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->quiet_timer = 0;
	g_clear_handle_id(&self->timer, g_source_remove);
	set_state(self, ST_ECHO);
	return G_SOURCE_REMOVE;
}

static gboolean
on_drain_limit(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	g_clear_handle_id(&self->quiet_timer, g_source_remove);
	set_state(self, ST_ECHO);
	return G_SOURCE_REMOVE;
}

/* stale events from before the job would be taken for answers: the line must go quiet first */
static void
enter_draining(MeshDfuEngine *self)
{
	self->quiet_timer = g_timeout_add(DRAIN_QUIET_MS, on_drained, self);
	self->timer = g_timeout_add(DRAIN_MAX_MS, on_drain_limit, self);
}

static void
on_drain_frame(MeshDfuEngine *self, const MeshEvent *event)
{
	g_clear_handle_id(&self->quiet_timer, g_source_remove);
	self->quiet_timer = g_timeout_add(DRAIN_QUIET_MS, on_drained, self);
}

static gboolean on_echo_timeout(gpointer user_data);

static void
send_echo(MeshDfuEngine *self)
{
	guint32 value = g_random_int();
	guint8 payload[ECHO_PAYLOAD_SIZE];
	MeshMessage msg;

	for (gsize i = 0; i < sizeof(payload); i++)
		payload[i] = (guint8)(value >> (8 * i));
	g_array_append_val(self->echo_payloads, value);
	mesh_message_echo(&msg, payload, sizeof(payload));
	self->echo_sends++;
	if (write_message(self, &msg))
		self->timer = g_timeout_add(self->opt.ack_timeout_ms, on_echo_timeout, self);
}

/* the diagnosis of the field's most common failure, from what the line brought */
static void
fail_echo(MeshDfuEngine *self)
{
	g_autofree char *tried = g_strdup_printf("%u Echo probes at %u baud with%s RTS/CTS", self->echo_sends,
	                                         self->opt.baud, self->opt.rtscts ? "" : "out");

	if (self->echo_wrong)
		fail(self, DFU_STATUS_MESH_ECHO_MISMATCH,
		     "the node answered %s with other bytes than it was sent: bytes are lost or changed on "
		     "the "
		     "line, or another program talks to the node",
		     tried);
	else if (self->noise_frames > 0)
		fail(self, DFU_STATUS_MESH_GARBLED,
		     "%u of %u frames from the node are no mesh serial frames and none answered %s: a baud "
		     "rate "
		     "mismatch (the mesh stack runs at 115200; set baud= to the node's rate)",
		     self->noise_frames, self->frames, tried);
	else if (self->frames > 0)
		fail(self, DFU_STATUS_MESH_NOT_HEARD,
		     "the node sends frames (%u) but answered none of %s: it does not hear the gateway; "
		     "check "
		     "RTS/CTS (rtscts= in the target), the CTS line and the USB-UART bridge",
		     self->frames, tried);
	else
		fail(self, DFU_STATUS_MESH_SILENT,
		     "not a byte from the node in answer to %s: its firmware has no mesh serial interface (a "
		     "plain application from an earlier DFU, a dfu_no_serial build), or this is not the "
		     "node's port",
		     tried);
}

static gboolean
on_echo_timeout(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	if (self->echo_sends < self->opt.tries)
		send_echo(self);
	else
		fail_echo(self);
	return G_SOURCE_REMOVE;
}

static void
enter_echo(MeshDfuEngine *self)
{
	send_echo(self);
}

/* any payload sent so far: an answer to an earlier probe may come late */
static gboolean
echo_matches(MeshDfuEngine *self, const MeshEvent *event)
{
	for (guint i = 0; event->payload_len == ECHO_PAYLOAD_SIZE && i < self->echo_payloads->len; i++) {
		guint32 sent = g_array_index(self->echo_payloads, guint32, i);
		guint32 got = 0;

		for (gsize k = ECHO_PAYLOAD_SIZE; k > 0; k--)
			got = (got << 8) | event->payload[k - 1];
		if (got == sent)
			return TRUE;
	}
	return FALSE;
}

static void
on_echo_frame(MeshDfuEngine *self, const MeshEvent *event)
{
	if (event->opcode != MESH_EVT_ECHO_RSP)
		return;
	if (!echo_matches(self, event)) {
		self->echo_wrong = TRUE;
		return;
	}
	dfu_engine_emit_log(&self->parent, "the node answers the Echo after %u probe%s", self->echo_sends,
	                    self->echo_sends == 1 ? "" : "s");
	set_state(self, ST_MODE);
}

static const char *const role_names[] = {"none", "target", "relay", "source"};

static const char *
role_name(guint8 role)
{
	return role < G_N_ELEMENTS(role_names) ? role_names[role] : "unknown";
}

static void
on_abort_answer(MeshDfuEngine *self, const MeshEvent *answer)
{
	set_state(self, ST_FWID);
}

static void
on_mode_answer(MeshDfuEngine *self, const MeshEvent *answer)
{
	/* the bootloader's serial handler knows Echo and DFU packets only */
	if (answer->status == MESH_STATUS_CMD_UNKNOWN) {
		fail(self, DFU_STATUS_MESH_BOOTLOADER,
		     "the serial node answers from the mesh bootloader%s: it returns to its application by "
		     "itself after 10 s when that is valid; mesh DFU runs in the application",
		     self->bootloader_seen ? " (it reported starting in it)" : "");
		return;
	}
	if (answer->status != MESH_STATUS_SUCCESS) {
		refused(self, answer, on_mode_answer);
		return;
	}
	/* the transaction of an earlier attempt, which this one gave up: the node is told to drop it */
	if (answer->role != MESH_ROLE_NONE && !self->resuming && self->stale_tid != 0) {
		MeshMessage msg;

		dfu_engine_emit_log(
		        &self->parent,
		        "the serial node still takes part in transaction 0x%08x of an earlier attempt: "
		        "aborting it",
		        self->stale_tid);
		self->stale_tid = 0;
		mesh_message_abort(&msg);
		send_command(self, &msg, "abort", on_abort_answer);
		return;
	}
	if (answer->role != MESH_ROLE_NONE && !self->resuming) {
		fail(self, DFU_STATUS_DEVICE_BUSY,
		     "the serial node takes part in another transfer (as %s, %s): it must end or time out "
		     "first",
		     role_name(answer->role), mesh_dfu_type_to_string(answer->dfu_type));
		return;
	}
	/* a node in the transfer sends no beacons; it took the firmware ID check when it began */
	if (answer->role != MESH_ROLE_NONE) {
		dfu_engine_emit_log(&self->parent, "the serial node is still in the transfer, as %s",
		                    role_name(answer->role));
		self->serial_role = answer->role;
		set_state(self, ST_STATE);
		return;
	}
	set_state(self, ST_FWID);
}

static void
enter_mode(MeshDfuEngine *self)
{
	MeshMessage msg;

	mesh_message_state_get(&msg);
	send_command(self, &msg, "state get", on_mode_answer);
}

/* ---- the firmware ID: the mesh ignores, without a word, what it does not want ---- */

static gint
compare_fwid(MeshDfuType type, const MeshFwid *node, const MeshFwid *package, gboolean *same_line)
{
	switch (type) {
	case MESH_DFU_TYPE_APPLICATION:
		*same_line = node->company == package->company && node->app_id == package->app_id;
		return (package->app_version > node->app_version) -
		       (package->app_version < node->app_version);
	case MESH_DFU_TYPE_BOOTLOADER:
		*same_line = node->bl_id == package->bl_id;
		return (package->bl_version > node->bl_version) - (package->bl_version < node->bl_version);
	case MESH_DFU_TYPE_SOFTDEVICE:
		/* the application's policy decides; another SoftDevice is all a source can tell */
		*same_line = TRUE;
		return node->sd == package->sd ? 0 : 1;
	}
	*same_line = FALSE;
	return 0;
}

/* what the serial node runs, for the device inventory */
static void
report_node(MeshDfuEngine *self)
{
	const MeshFwid *fwid = &self->node_fwid;
	g_autofree char *id =
	        g_strdup_printf("company 0x%08x application 0x%04x", fwid->company, fwid->app_id);
	g_autofree char *version = g_strdup_printf("%u", fwid->app_version);
	g_autofree char *bootloader =
	        g_strdup_printf("nRF5 SDK for Mesh, bootloader id %u version %u, SoftDevice 0x%04x",
	                        fwid->bl_id, fwid->bl_version, fwid->sd);
	const char *flags[] = {"active", NULL};
	GVariantBuilder image, images, state;

	g_variant_builder_init(&image, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&image, "{sv}", "image", g_variant_new_uint32(0));
	g_variant_builder_add(&image, "{sv}", "slot", g_variant_new_uint32(0));
	g_variant_builder_add(&image, "{sv}", "version", g_variant_new_string(version));
	g_variant_builder_add(&image, "{sv}", "firmware-id", g_variant_new_string(id));
	g_variant_builder_add(&image, "{sv}", "flags", g_variant_new_strv(flags, -1));
	g_variant_builder_init(&images, G_VARIANT_TYPE("aa{sv}"));
	g_variant_builder_add_value(&images, g_variant_builder_end(&image));
	g_variant_builder_init(&state, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&state, "{sv}", "images", g_variant_builder_end(&images));
	g_variant_builder_add(&state, "{sv}", "bootloader", g_variant_new_string(bootloader));
	dfu_engine_emit_report(&self->parent, g_variant_builder_end(&state));
}

static void
check_fwid(MeshDfuEngine *self)
{
	const MeshInitPacket *init = &self->image->init;
	g_autofree char *node = mesh_fwid_to_string(init->type, &self->node_fwid);
	g_autofree char *package = mesh_fwid_to_string(init->type, &init->fwid);
	gboolean same_line = FALSE;
	gint newer = compare_fwid(init->type, &self->node_fwid, &init->fwid, &same_line);

	g_clear_handle_id(&self->timer, g_source_remove);
	report_node(self);
	dfu_engine_emit_log(&self->parent, "the serial node runs %s; the package holds %s", node, package);
	if (!same_line) {
		fail(self, DFU_STATUS_MESH_OTHER_FIRMWARE,
		     "the serial node runs %s and the package holds %s: the mesh ignores firmware of another "
		     "company, application or bootloader ID without a word",
		     node, package);
		return;
	}
	/* an earlier attempt's transfer that ended while the daemon was away */
	if (newer == 0 && self->resuming) {
		image_done(self,
		           "the serial node already runs the package's firmware: the transfer of an "
		           "earlier attempt ended; nodes beyond the serial node cannot confirm receipt");
		return;
	}
	if (newer <= 0) {
		fail(self, DFU_STATUS_MESH_NOT_NEWER,
		     "the serial node runs %s and the package holds %s: the mesh takes only a strictly "
		     "higher "
		     "version and would ignore this one without a word",
		     node, package);
		return;
	}
	set_state(self, ST_STATE);
}

static gboolean
on_fwid_timeout(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	fail(self, DFU_STATUS_RESPONSE_TIMEOUT,
	     "the serial node sent no firmware ID beacon in %u ms: without it dfud cannot tell whether the "
	     "mesh wants the package",
	     self->opt.fwid_timeout_ms);
	return G_SOURCE_REMOVE;
}

static void
enter_fwid(MeshDfuEngine *self)
{
	if (self->have_fwid) {
		check_fwid(self);
		return;
	}
	self->timer = g_timeout_add(self->opt.fwid_timeout_ms, on_fwid_timeout, self);
}

/* ---- announcing the transfer ---- */

static gboolean
on_state_wait(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	set_state(self, self->state_sends < 2 ? ST_STATE : ST_START);
	return G_SOURCE_REMOVE;
}

static void
on_state_answer(MeshDfuEngine *self, const MeshEvent *answer)
{
	if (answer->status != MESH_STATUS_SUCCESS) {
		refused(self, answer, on_state_answer);
		return;
	}
	/* twice, so that the nodes' applications catch the transaction ID */
	self->timer = g_timeout_add(self->opt.state_wait_ms, on_state_wait, self);
}

static void
enter_state(MeshDfuEngine *self)
{
	MeshMessage msg;

	if (self->state_sends == 0)
		dfu_engine_emit_log(&self->parent, "announcing transaction 0x%08x: %s, %u segments",
		                    self->tid, mesh_dfu_type_to_string(self->image->init.type), self->total);
	self->state_sends++;
	mesh_message_state(&msg, &self->image->init, self->tid);
	send_command(self, &msg, "STATE", on_state_answer);
}

static void
on_start_answer(MeshDfuEngine *self, const MeshEvent *answer)
{
	if (answer->status != MESH_STATUS_SUCCESS) {
		refused(self, answer, on_start_answer);
		return;
	}
	keep_identity(self);
	set_state(self, ST_ERASE);
}

static void
enter_start(MeshDfuEngine *self)
{
	MeshMessage msg;

	mesh_message_start(&msg, &self->image->init, self->tid);
	send_command(self, &msg, "START", on_start_answer);
}

static gboolean
on_erased(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	set_state(self, ST_DATA);
	return G_SOURCE_REMOVE;
}

static void
enter_erase(MeshDfuEngine *self)
{
	gsize pages = (g_bytes_get_size(self->image->files->firmware) + PAGE_SIZE - 1) / PAGE_SIZE;

	self->timer = g_timeout_add((guint)(pages * self->opt.erase_page_ms), on_erased, self);
}

/* ---- the data ---- */

static gboolean
on_interval(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->timer = 0;
	send_next(self);
	return G_SOURCE_REMOVE;
}

static void
after_interval(MeshDfuEngine *self)
{
	self->timer = g_timeout_add(self->opt.interval_ms, on_interval, self);
}

/* the serial node forgot the transaction (it restarted unseen): it is announced again */
static void
reannounce(MeshDfuEngine *self, const char *why)
{
	if (self->next != self->restart_next)
		self->node_restarts = 0;
	self->restart_next = self->next;
	if (++self->node_restarts > MAX_NODE_RESTARTS) {
		g_autofree char *what = g_strdup_printf(
		        "the serial node lost the transfer %u times in a row (%s)", self->node_restarts, why);

		if (fail_line_errors(self, what))
			return;
		fail(self, DFU_STATUS_DEVICE_ERROR, "%s without taking a segment: it keeps restarting", what);
		return;
	}
	dfu_engine_emit_log(
	        &self->parent,
	        "%s: announcing transaction 0x%08x again and going on from segment %u; the serial "
	        "node asks for what it lost",
	        why, self->tid, self->next);
	g_clear_handle_id(&self->ack_timer, g_source_remove);
	self->pending_answer = NULL;
	self->state_sends = 0;
	set_state(self, ST_STATE);
}

static void
on_data_answer(MeshDfuEngine *self, const MeshEvent *answer)
{
	guint16 segment = (guint16)(self->pending.data[3] | (self->pending.data[4] << 8));
	gboolean response = self->pending.data[1] == (MESH_PACKET_DATA_RSP & 0xFF);

	/* wrong transaction ID: first a frame garbled on the line, again the node back in idle */
	if (answer->status == MESH_STATUS_INVALID_DATA || answer->status == MESH_STATUS_INVALID_PARAMETER) {
		if (self->pending_sends < 2) {
			self->pending_answer = on_data_answer;
			if (resync(self))
				resend(self);
			return;
		}
		reannounce(self, "the serial node no longer knows the transaction");
		return;
	}
	if (answer->status != MESH_STATUS_SUCCESS) {
		refused(self, answer, on_data_answer);
		return;
	}
	if (!response && segment == self->next) {
		self->acked = self->next++;
		emit_progress(self);
		if (g_get_monotonic_time() - self->identity_us >= IDENTITY_INTERVAL_US)
			keep_identity(self);
	}
	after_interval(self);
}

static void
send_segment(MeshDfuEngine *self, guint16 packet_type, guint segment)
{
	MeshMessage msg;

	mesh_message_segment(&msg, packet_type, self->image, self->tid, segment);
	send_command(self, &msg, packet_type == MESH_PACKET_DATA ? "DATA" : "DATA_RSP", on_data_answer);
}

/* requested segments before new ones: a node with a gap holds up everything after it */
static void
send_next(MeshDfuEngine *self)
{
	if (self->requests->len > 0) {
		guint16 segment = g_array_index(self->requests, guint16, 0);

		g_array_remove_index(self->requests, 0);
		send_segment(self, MESH_PACKET_DATA_RSP, segment);
		return;
	}
	if (self->state == ST_DATA && self->next <= self->total) {
		send_segment(self, MESH_PACKET_DATA, self->next);
		return;
	}
	if (self->state == ST_DATA)
		set_state(self, ST_TAIL);
}

static void
enter_data(MeshDfuEngine *self)
{
	guint64 eta_s = (guint64)(self->total - self->next + 1) * self->opt.interval_ms / 1000;
	g_autofree char *eta = eta_s < 120 ? g_strdup_printf("%" G_GUINT64_FORMAT " s", eta_s)
	                                   : g_strdup_printf("%" G_GUINT64_FORMAT " min", (eta_s + 59) / 60);

	dfu_engine_emit_log(
	        &self->parent,
	        "sending segments %u to %u, one per %u ms: about %s; progress counts the segments "
	        "the serial node took, nodes beyond it cannot confirm receipt",
	        self->next, self->total, self->opt.interval_ms, eta);
	emit_progress(self);
	send_next(self);
}

static gboolean
on_tail_quiet(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	self->quiet_timer = 0;
	/* a request still in flight is served before the end */
	if (self->pending_answer != NULL || self->timer != 0 || self->requests->len > 0) {
		self->quiet_timer = g_timeout_add(self->opt.ack_timeout_ms, on_tail_quiet, self);
		return G_SOURCE_REMOVE;
	}
	set_state(self, ST_ENDING);
	return G_SOURCE_REMOVE;
}

static void
enter_tail(MeshDfuEngine *self)
{
	keep_identity(self);
	dfu_engine_emit_log(&self->parent,
	                    "all %u segments sent; serving requests until the mesh is quiet for %u ms",
	                    self->total, self->opt.tail_quiet_ms);
	self->quiet_timer = g_timeout_add(self->opt.tail_quiet_ms, on_tail_quiet, self);
	send_next(self);
}

static void
on_request(MeshDfuEngine *self, const MeshEvent *event)
{
	/* the frames carry no checksum: a START that lost a byte still parses, with another length */
	if (event->tid == self->tid && event->segment > self->total) {
		fail(self, DFU_STATUS_MESH_LINE_ERRORS,
		     "a node asks for segment %u of transaction 0x%08x, which has %u: it took a START "
		     "garbled on the UART and waits for segments that do not exist until it times out",
		     event->segment, self->tid, self->total);
		return;
	}
	if (event->tid != self->tid || event->segment == 0 || event->segment >= self->next)
		return;
	for (guint i = 0; i < self->requests->len; i++) {
		if (g_array_index(self->requests, guint16, i) == event->segment)
			return;
	}
	dfu_engine_emit_log(&self->parent, "a node asks for segment %u", event->segment);
	g_array_append_val(self->requests, event->segment);
	if (self->state != ST_TAIL)
		return;
	g_clear_handle_id(&self->quiet_timer, g_source_remove);
	self->quiet_timer = g_timeout_add(self->opt.tail_quiet_ms, on_tail_quiet, self);
	if (self->pending_answer == NULL && self->timer == 0)
		send_next(self);
}

/* ---- the end ---- */

static void
judge_new_fwid(MeshDfuEngine *self)
{
	const MeshInitPacket *init = &self->image->init;
	gboolean same_line = FALSE;
	g_autofree char *node = mesh_fwid_to_string(init->type, &self->node_fwid);

	report_node(self);
	if (compare_fwid(init->type, &self->node_fwid, &init->fwid, &same_line) == 0 && same_line) {
		g_autofree char *message = g_strdup_printf(
		        "the serial node restarted with %s; nodes beyond the serial node cannot confirm "
		        "receipt: the mesh does not acknowledge, they restart when they validated it",
		        node);

		image_done(self, message);
		return;
	}
	fail(self, DFU_STATUS_WRONG_VERSION, "the serial node restarted but runs %s", node);
}

static gboolean
on_end_timeout(gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	g_autofree char *what =
	        g_strdup_printf("the serial node did not %s within %u s after the transfer (its role: %s)",
	                        self->ended ? "restart with the new firmware ID" : "end the transfer",
	                        self->opt.end_timeout_ms / 1000, role_name(self->serial_role));

	self->timer = 0;
	/* after line errors, a packet that went through garbled is the likelier cause */
	if (!self->ended && fail_line_errors(self, what))
		return G_SOURCE_REMOVE;
	fail(self, DFU_STATUS_DEVICE_NOT_BACK, "%s", what);
	return G_SOURCE_REMOVE;
}

static void
enter_ending(MeshDfuEngine *self)
{
	/* a relay keeps nothing: the tail was all there was to do */
	if (self->serial_role == MESH_ROLE_RELAY) {
		image_done(self, "the serial node relayed the transfer; nodes beyond the serial node cannot "
		                 "confirm receipt: the mesh does not acknowledge, they restart when they "
		                 "validated it");
		return;
	}
	if (self->restarted && self->have_fwid) {
		judge_new_fwid(self);
		return;
	}
	dfu_engine_emit_log(&self->parent, "waiting for the serial node to end the transfer and restart");
	self->timer = g_timeout_add(self->opt.end_timeout_ms, on_end_timeout, self);
}

/* ---- events from the node ---- */

static const struct {
	MeshDfuState state;
	DfuJobPhase phase;
	void (*enter)(MeshDfuEngine *self);
	void (*on_frame)(MeshDfuEngine *self, const MeshEvent *event);
} states[] = {
        {ST_OPENING, DFU_JOB_PHASE_CONNECTING, enter_opening, NULL},
        {ST_DRAINING, DFU_JOB_PHASE_CONNECTING, enter_draining, on_drain_frame},
        {ST_ECHO, DFU_JOB_PHASE_CONNECTING, enter_echo, on_echo_frame},
        {ST_MODE, DFU_JOB_PHASE_INSPECTING, enter_mode, NULL},
        {ST_FWID, DFU_JOB_PHASE_INSPECTING, enter_fwid, NULL},
        {ST_STATE, DFU_JOB_PHASE_UPLOADING, enter_state, NULL},
        {ST_START, DFU_JOB_PHASE_UPLOADING, enter_start, NULL},
        {ST_ERASE, DFU_JOB_PHASE_UPLOADING, enter_erase, NULL},
        {ST_DATA, DFU_JOB_PHASE_UPLOADING, enter_data, NULL},
        {ST_TAIL, DFU_JOB_PHASE_UPLOADING, enter_tail, NULL},
        {ST_ENDING, DFU_JOB_PHASE_CONFIRMING, enter_ending, NULL},
};

static void
set_state(MeshDfuEngine *self, MeshDfuState state)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_handle_id(&self->quiet_timer, g_source_remove);
	self->state = state;
	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (states[i].state != state)
			continue;
		dfu_engine_emit_phase(&self->parent, states[i].phase);
		states[i].enter(self);
		return;
	}
}

static gboolean
transferring(MeshDfuEngine *self)
{
	return self->state >= ST_STATE && self->state <= ST_TAIL;
}

static void
on_started(MeshDfuEngine *self, const MeshEvent *event)
{
	if (event->mode == MESH_MODE_BOOTLOADER)
		self->bootloader_seen = TRUE;
	if (event->mode != MESH_MODE_APPLICATION)
		return;
	if (self->state == ST_ENDING || (self->ended && transferring(self))) {
		dfu_engine_emit_log(&self->parent, "the serial node restarted");
		self->restarted = TRUE;
		self->have_fwid = FALSE;
		return;
	}
	if (transferring(self))
		reannounce(self, "the serial node restarted during the transfer");
}

static void
on_beacon(MeshDfuEngine *self, const MeshEvent *event)
{
	self->node_fwid = event->fwid;
	self->have_fwid = TRUE;
	if (self->state == ST_FWID)
		check_fwid(self);
	else if (self->state == ST_ENDING && self->restarted)
		judge_new_fwid(self);
}

static void
on_transfer_event(MeshDfuEngine *self, const MeshEvent *event)
{
	/* what a node reports of a transfer before this one is none of this job's business */
	if (!transferring(self) && self->state != ST_ENDING)
		return;
	if (event->opcode == MESH_EVT_DFU_START) {
		self->serial_role = event->role;
		dfu_engine_emit_log(&self->parent, "the serial node takes part as %s",
		                    role_name(event->role));
		return;
	}
	if (event->opcode != MESH_EVT_DFU_END)
		return;
	if (event->end_reason != 0) {
		fail(self, event->end_reason == 4 ? DFU_STATUS_IMAGE_REJECTED : DFU_STATUS_DEVICE_ERROR,
		     "the serial node ended the transfer as %s: %s (end reason %u)", role_name(event->role),
		     mesh_end_reason_to_string(event->end_reason), event->end_reason);
		return;
	}
	dfu_engine_emit_log(&self->parent, "the serial node ended the transfer as %s with success",
	                    role_name(event->role));
	self->ended = TRUE;
}

static void
on_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	MeshDfuEngine *self = user_data;
	MeshEvent event;

	if (self->state == ST_DONE)
		return;
	self->frames++;
	if (!mesh_event_opcode_known(data[0]) || !mesh_event_parse(data, len, &event)) {
		self->noise_frames++;
		return;
	}
	if (event.opcode == MESH_EVT_ECHO_RSP && event.payload_len == 0)
		self->resync_answers++;
	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (states[i].state == self->state && states[i].on_frame != NULL)
			states[i].on_frame(self, &event);
	}
	if (self->state == ST_DONE)
		return;
	switch (event.opcode) {
	case MESH_EVT_CMD_RSP:
		on_command_answer(self, &event);
		break;
	case MESH_EVT_DEVICE_STARTED:
		on_started(self, &event);
		break;
	case MESH_OP_DFU_DATA:
		if (event.packet_type == MESH_PACKET_FWID)
			on_beacon(self, &event);
		else if (event.packet_type == MESH_PACKET_DATA_REQ &&
		         (self->state == ST_DATA || self->state == ST_TAIL))
			on_request(self, &event);
		break;
	default:
		on_transfer_event(self, &event);
		break;
	}
}

static void
on_opened(DfuTransport *transport, const GError *error, gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	if (error != NULL) {
		finish(self, DFU_STATUS_NONE, g_error_copy(error));
		return;
	}
	set_state(self, ST_DRAINING);
}

static void
on_closed(DfuTransport *transport, const GError *error, gpointer user_data)
{
	MeshDfuEngine *self = user_data;

	finish(self, DFU_STATUS_NONE, g_error_copy(error));
}

static const DfuTransportCallbacks transport_callbacks = {
        .opened = on_opened,
        .packet = on_packet,
        .closed = on_closed,
};

/* a new transaction for the package's image @index, from its first segment */
static void
select_image(MeshDfuEngine *self, guint index)
{
	self->image_index = index;
	self->image = g_ptr_array_index(self->plan->mesh->images, index);
	self->total = mesh_image_segments(self->image);
	self->bytes_before = 0;
	for (guint i = 0; i < index; i++)
		self->bytes_before += image_bytes(g_ptr_array_index(self->plan->mesh->images, i));
	self->tid = 0;
	self->next = 1;
	self->acked = 0;
	self->resuming = FALSE;
	self->state_sends = 0;
	g_array_set_size(self->requests, 0);
	self->serial_role = MESH_ROLE_NONE;
	self->ended = FALSE;
	self->restarted = FALSE;
	self->node_restarts = 0;
	self->restart_next = 0;
	self->echo_sends = 0;
	self->echo_wrong = FALSE;
	self->frames = 0;
	self->noise_frames = 0;
	g_array_set_size(self->echo_payloads, 0);
}

static void
new_tid(MeshDfuEngine *self)
{
	while (self->tid == 0 || self->tid == self->stale_tid)
		self->tid = g_random_int();
}

/* the serial node runs the image: the next one goes as nrfutil sends it, from the Echo on */
static void
image_done(MeshDfuEngine *self, const char *message)
{
	guint n = self->plan->mesh->images->len;

	if (self->image_index + 1 >= n) {
		g_autofree char *all = n > 1 ? g_strdup_printf("%u images sent; %s", n, message) : NULL;

		succeed(self, all != NULL ? all : message);
		return;
	}
	dfu_engine_emit_log(&self->parent, "%s %s done (%s); image %u of %u follows",
	                    mesh_dfu_type_to_string(self->image->init.type), n > 1 ? "image" : "transfer",
	                    message, self->image_index + 2, n);
	select_image(self, self->image_index + 1);
	new_tid(self);
	keep_identity(self);
	set_state(self, ST_ECHO);
}

/* the transaction an earlier attempt began, if the nodes still wait for it */
static void
take_identity(MeshDfuEngine *self)
{
	const char *package = NULL;
	guint32 tid = 0;
	guint next = 0, index = 0;
	gint64 when = 0;
	gint64 idle_ms;

	if (self->opt.identity == NULL ||
	    !g_variant_lookup(self->opt.identity, "mesh-package", "&s", &package) ||
	    g_strcmp0(package, self->package_id) != 0)
		return;
	/* the images before it are on the nodes already */
	if (g_variant_lookup(self->opt.identity, "mesh-image", "u", &index) && index > 0 &&
	    index < self->plan->mesh->images->len) {
		select_image(self, index);
		dfu_engine_emit_log(&self->parent,
		                    "images 1 to %u of the package were sent by an earlier "
		                    "attempt",
		                    index);
	}
	if (!g_variant_lookup(self->opt.identity, "mesh-tid", "u", &tid) ||
	    !g_variant_lookup(self->opt.identity, "mesh-next", "u", &next) ||
	    !g_variant_lookup(self->opt.identity, "mesh-time", "x", &when))
		return;
	idle_ms = (g_get_real_time() - when) / 1000;
	if (idle_ms < 0 || idle_ms >= self->opt.node_timeout_ms) {
		dfu_engine_emit_log(&self->parent,
		                    "the nodes dropped transaction 0x%08x (no data for %" G_GINT64_FORMAT
		                    " s): a new transfer starts from the first segment",
		                    tid, idle_ms / 1000);
		self->stale_tid = tid;
		return;
	}
	self->tid = tid;
	self->next = CLAMP(next, 1, self->total + 1);
	self->acked = self->next - 1;
	self->resuming = TRUE;
	dfu_engine_emit_log(
	        &self->parent,
	        "resuming transaction 0x%08x at segment %u: the nodes wait for it %" G_GINT64_FORMAT
	        " s more",
	        self->tid, self->next, (self->opt.node_timeout_ms - idle_ms) / 1000);
}

/*
 * A node whose device page holds a public key discards a transfer it cannot
 * verify only after the last segment: that is refused here, before a byte.
 */
static gboolean
check_signatures(MeshDfuEngine *self)
{
	for (guint i = 0; self->opt.node_key != NULL && i < self->plan->mesh->images->len; i++) {
		const MeshImage *image = g_ptr_array_index(self->plan->mesh->images, i);
		const char *type = mesh_dfu_type_to_string(image->init.type);
		g_autoptr(GError) error = NULL;
		const char *key;

		if (!image->init.is_signed) {
			fail(self, DFU_STATUS_MESH_UNSIGNED,
			     "the serial node's device page holds a public key but the package's %s is not "
			     "signed: the nodes would discard it after the last segment (end reason 4); sign "
			     "it with nrfutil dfu genpkg --mesh --key-file",
			     type);
			return FALSE;
		}
		key = mesh_image_verify(image, self->opt.node_key, &error);
		if (key == NULL) {
			fail(self, DFU_STATUS_MESH_WRONG_KEY,
			     "the package's %s is signed, but not with the key on the serial node's device "
			     "page (%s): the nodes would discard it after the last segment",
			     type, error->message);
			return FALSE;
		}
		dfu_engine_emit_log(&self->parent,
		                    "the %s's signature verifies with the serial node's key %s", type, key);
	}
	return TRUE;
}

static void
meshdfu_start(DfuEngine *engine)
{
	MeshDfuEngine *self = (MeshDfuEngine *)engine;

	if (self->plan->kind != DFU_BUNDLE_MESH_ZIP || self->plan->mesh->images->len == 0) {
		fail(self, DFU_STATUS_UNSUPPORTED_BUNDLE,
		     "a meshdfu target takes an nrfutil mesh DFU package");
		return;
	}
	if (!check_signatures(self))
		return;
	for (guint i = 0; i < self->plan->mesh->images->len; i++)
		self->bytes_total += image_bytes(g_ptr_array_index(self->plan->mesh->images, i));
	select_image(self, 0);
	take_identity(self);
	new_tid(self);
	set_state(self, ST_OPENING);
}

static void
meshdfu_cancel(DfuEngine *engine)
{
	MeshDfuEngine *self = (MeshDfuEngine *)engine;
	MeshMessage msg;

	if (self->state == ST_DONE)
		return;
	/* the nodes time out on their own; the serial node is told at once */
	if (transferring(self) || self->state == ST_ENDING) {
		mesh_message_abort(&msg);
		dfu_transport_send(self->transport, msg.data, msg.len, NULL);
		dfu_engine_emit_log(&self->parent, "broadcast stopped; the serial node was told to abort");
	}
	finish(self, DFU_STATUS_NONE, g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled"));
}

static void
meshdfu_finalize(DfuEngine *engine)
{
	MeshDfuEngine *self = (MeshDfuEngine *)engine;

	stop_timers(self);
	dfu_transport_free(self->transport);
	dfu_plan_free(self->plan);
	g_clear_pointer(&self->opt.identity, g_variant_unref);
	g_clear_pointer(&self->opt.node_key, dfu_key_ring_free);
	g_array_unref(self->echo_payloads);
	g_array_unref(self->requests);
	g_free(self->package_id);
	g_free(self);
}

static const DfuEngineClass meshdfu_class = {
        .name = "meshdfu",
        .start = meshdfu_start,
        .cancel = meshdfu_cancel,
        .finalize = meshdfu_finalize,
};

DfuEngine *
meshdfu_engine_new(DfuTransport *transport, DfuPlan *plan, const MeshDfuOptions *options,
                   const DfuEngineCallbacks *callbacks, gpointer user_data)
{
	MeshDfuEngine *self = g_new0(MeshDfuEngine, 1);

	dfu_engine_init(&self->parent, &meshdfu_class, callbacks, user_data);
	self->opt = *options;
	if (options->identity != NULL)
		self->opt.identity = g_variant_ref(options->identity);
	self->transport = transport;
	self->plan = plan;
	self->package_id = dfu_hex_encode(plan->bundle_sha256, sizeof(plan->bundle_sha256));
	self->echo_payloads = g_array_new(FALSE, FALSE, sizeof(guint32));
	self->requests = g_array_new(FALSE, FALSE, sizeof(guint16));
	dfu_transport_set_callbacks(transport, &transport_callbacks, self);
	return &self->parent;
}
