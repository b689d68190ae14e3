/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>

#include "meshdfu-packets.h"
#include "sim-meshnode.h"

/* the mesh's own delays, before the time scale */
#define ERASE_PAGE_MS 90
#define VALIDATE_MS 30000
#define REQUEST_INTERVAL_MS 10000
#define DATA_TIMEOUT_MS 600000
#define BOOTLOADER_YIELD_MS 10000
#define RESTART_MS 200
#define PAGE_SIZE 4096
#define FRAME_MAX 256

typedef enum {
	NODE_IDLE,
	NODE_READY,
	NODE_TARGET,
	NODE_RELAY,
	NODE_VALIDATE,
} NodeState;

static const char *const node_state_names[] = {"idle", "ready", "target", "relay", "validate"};

typedef struct _SimMesh SimMesh;

typedef struct {
	SimMesh *mesh;
	guint index; /* 0: the serial node */
	MeshFwid fwid;
	NodeState state;
	guint32 tid;
	guint8 type;
	MeshFwid new_fwid;
	guint total; /* segments of the transfer */
	guint32 start_addr;
	guint32 length;  /* bytes of firmware */
	guint16 sig_len; /* bytes of signature after it */
	guint8 *have;    /* per segment, index 1..total */
	guint8 *data;    /* what the segments held, 16 bytes each */
	guint highest;   /* the newest segment seen */
	guint received;
	gboolean busy; /* erasing the bank */
	guint erase_timer;
	guint request_timer;
	guint validate_timer;
	guint timeout_timer;
	guint updates;
	guint requests;
	guint32 rng;
} SimNode;

struct _SimMesh {
	SimMeshConfig cfg;
	SimMeshOutputFunc output;
	gpointer user_data;
	GByteArray *in;
	guint64 in_bytes;
	SimNode *serial;
	GPtrArray *remote; /* SimNode* */
	gboolean in_bootloader;
	guint beacon_timer;
	guint mode_timer;
	guint acks;
	gboolean rebooted;
	gboolean hangup_due;
	gboolean hung_up;
	GArray *tids; /* guint32, each transaction a START announced */
	guint echoes;
	guint aborts;
	guint forwarded_requests;
	guint restarts;
	guint busy_answers;
	guint unauthorized; /* transfers a node discarded for their signature */
	guint32 garbage_rng;
};

static guint
scaled(SimMesh *mesh, guint ms)
{
	return MAX(1u, (guint)(ms / mesh->cfg.time_scale));
}

static guint32
next_random(guint32 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* a frame on the wire; at the wrong rate the host sees only noise */
static void
emit(SimMesh *mesh, const guint8 *msg, gsize len)
{
	guint8 frame[FRAME_MAX];

	if (mesh->cfg.no_serial)
		return;
	frame[0] = (guint8)len;
	memcpy(frame + 1, msg, len);
	if (mesh->cfg.wrong_baud) {
		for (gsize i = 0; i <= len; i++)
			frame[i] = (guint8)next_random(&mesh->garbage_rng);
	}
	mesh->output(frame, len + 1, mesh->user_data);
}

static void
emit_started(SimMesh *mesh, guint8 mode)
{
	const guint8 msg[] = {MESH_EVT_DEVICE_STARTED, mode, 0, mode == MESH_MODE_APPLICATION ? 0xFE : 0};

	emit(mesh, msg, sizeof(msg));
}

static void
emit_answer(SimMesh *mesh, guint8 command, guint8 status)
{
	const guint8 msg[] = {MESH_EVT_CMD_RSP, command, status};

	emit(mesh, msg, sizeof(msg));
}

/* role, type, the transfer's firmware ID (10 bytes) */
static gsize
put_transfer(SimNode *node, guint8 role, guint8 *out)
{
	out[0] = role;
	out[1] = node->type;
	memset(out + 2, 0, 10);
	mesh_fwid_encode(node->type, &node->new_fwid, out + 2);
	return 12;
}

static void
emit_transfer_event(SimNode *node, guint8 opcode, guint8 role, gint reason)
{
	guint8 msg[16] = {opcode};
	gsize n = 1 + put_transfer(node, role, msg + 1);

	if (reason >= 0)
		msg[n++] = (guint8)reason;
	emit(node->mesh, msg, n);
}

/* ---- the DFU state machine of one node ---- */

static void
node_reset(SimNode *node)
{
	g_clear_handle_id(&node->erase_timer, g_source_remove);
	g_clear_handle_id(&node->request_timer, g_source_remove);
	g_clear_handle_id(&node->validate_timer, g_source_remove);
	g_clear_handle_id(&node->timeout_timer, g_source_remove);
	g_clear_pointer(&node->have, g_free);
	g_clear_pointer(&node->data, g_free);
	node->state = NODE_IDLE;
	node->tid = 0;
	node->total = 0;
	node->highest = 0;
	node->received = 0;
	node->busy = FALSE;
}

static void
node_free(SimNode *node)
{
	node_reset(node);
	g_free(node);
}

/* the device page's rules: same company and application, or bootloader ID, and a higher version */
static gboolean
node_wants(SimNode *node, guint8 type, const MeshFwid *fwid)
{
	if (node->index == 0 && node->mesh->cfg.relay_only)
		return FALSE;
	switch (type) {
	case MESH_DFU_TYPE_APPLICATION:
		return fwid->company == node->fwid.company && fwid->app_id == node->fwid.app_id &&
		       fwid->app_version > node->fwid.app_version;
	case MESH_DFU_TYPE_BOOTLOADER:
		return fwid->bl_id == node->fwid.bl_id && fwid->bl_version > node->fwid.bl_version;
	default:
		/* the example application never takes a SoftDevice */
		return FALSE;
	}
}

static void send_request(SimNode *node);

static gboolean
on_request_timer(gpointer user_data)
{
	SimNode *node = user_data;

	send_request(node);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_data_timeout(gpointer user_data)
{
	SimNode *node = user_data;

	node->timeout_timer = 0;
	if (node->index == 0)
		emit_transfer_event(node, MESH_EVT_DFU_END,
		                    node->state == NODE_RELAY ? MESH_ROLE_RELAY : MESH_ROLE_TARGET, 6);
	node_reset(node);
	return G_SOURCE_REMOVE;
}

static void
touch(SimNode *node)
{
	g_clear_handle_id(&node->timeout_timer, g_source_remove);
	node->timeout_timer = g_timeout_add(scaled(node->mesh, DATA_TIMEOUT_MS), on_data_timeout, node);
}

static gboolean
on_restarted(gpointer user_data)
{
	SimNode *node = user_data;
	SimMesh *mesh = node->mesh;

	mesh->restarts++;
	emit_started(mesh, MESH_MODE_APPLICATION);
	return G_SOURCE_REMOVE;
}

/* with a key on the device page, the signature after the firmware must verify with it */
static gboolean
node_authorized(SimNode *node)
{
	DfuKeyRing *key = node->mesh->cfg.public_key;
	MeshInitPacket init = {.type = node->type,
	                       .start_addr = node->start_addr,
	                       .length = node->length,
	                       .fwid = node->new_fwid};
	gsize fw_segments = (node->length + MESH_SEGMENT_SIZE - 1) / MESH_SEGMENT_SIZE;
	g_autoptr(GBytes) firmware = NULL;
	g_autoptr(GBytes) message = NULL;

	if (key == NULL)
		return TRUE;
	if (node->sig_len != MESH_SIGNATURE_SIZE)
		return FALSE;
	firmware = g_bytes_new(node->data, node->length);
	message = mesh_signed_message(&init, firmware);
	return dfu_signature_verify_raw_p256(key, message, node->data + fw_segments * MESH_SEGMENT_SIZE,
	                                     NULL) != NULL;
}

/* the type's part of the firmware ID changes, the rest stays */
static void
node_take_fwid(SimNode *node)
{
	if (node->type == MESH_DFU_TYPE_APPLICATION) {
		node->fwid.company = node->new_fwid.company;
		node->fwid.app_id = node->new_fwid.app_id;
		node->fwid.app_version = node->new_fwid.app_version;
	} else if (node->type == MESH_DFU_TYPE_BOOTLOADER) {
		node->fwid.bl_id = node->new_fwid.bl_id;
		node->fwid.bl_version = node->new_fwid.bl_version;
	} else {
		node->fwid.sd = node->new_fwid.sd;
	}
}

/* the bank is valid: the node flashes it and restarts with the new firmware */
static gboolean
on_validated(gpointer user_data)
{
	SimNode *node = user_data;
	SimMesh *mesh = node->mesh;

	node->validate_timer = 0;
	if (!node_authorized(node)) {
		mesh->unauthorized++;
		if (node->index == 0)
			emit_transfer_event(node, MESH_EVT_DFU_END, MESH_ROLE_TARGET, 4);
		node_reset(node);
		return G_SOURCE_REMOVE;
	}
	if (node->index == 0) {
		guint8 msg[24] = {MESH_EVT_BANK_AVAILABLE};
		gsize n = 1 + put_transfer(node, MESH_ROLE_TARGET, msg + 1) - 1;

		emit_transfer_event(node, MESH_EVT_DFU_END, MESH_ROLE_TARGET, 0);
		/* type and FWID without the role byte, then start, length and is_signed */
		memmove(msg + 1, msg + 2, n - 1);
		mesh_put_le(msg + n, 0x40000, 4);
		mesh_put_le(msg + n + 4, node->total * MESH_SEGMENT_SIZE, 4);
		msg[n + 8] = 0;
		emit(mesh, msg, n + 9);
		g_timeout_add(scaled(mesh, RESTART_MS), on_restarted, node);
	}
	node_take_fwid(node);
	node->updates++;
	node_reset(node);
	return G_SOURCE_REMOVE;
}

static guint
first_missing(SimNode *node, guint below)
{
	for (guint s = 1; s < below && s <= node->total; s++) {
		if (!node->have[s])
			return s;
	}
	return 0;
}

static gboolean
on_erased(gpointer user_data)
{
	SimNode *node = user_data;

	node->erase_timer = 0;
	node->busy = FALSE;
	return G_SOURCE_REMOVE;
}

static void
node_store(SimNode *node, guint segment, const guint8 *bytes, gsize len)
{
	if (segment == 0 || segment > node->total || node->have[segment])
		return;
	node->have[segment] = 1;
	memcpy(node->data + (segment - 1) * MESH_SEGMENT_SIZE, bytes, MIN(len, MESH_SEGMENT_SIZE));
	node->received++;
	node->highest = MAX(node->highest, segment);
	if (node->received == node->total) {
		g_clear_handle_id(&node->request_timer, g_source_remove);
		node->state = NODE_VALIDATE;
		node->validate_timer = g_timeout_add(scaled(node->mesh, VALIDATE_MS), on_validated, node);
		return;
	}
	/* the serial node asks its host for the next gap as soon as one is filled */
	if (node->index == 0 && segment < node->highest && first_missing(node, node->highest) != 0)
		send_request(node);
	/* a gap older than the segment before: ask at once, then at the slow interval */
	if (first_missing(node, node->highest) != 0 && node->request_timer == 0) {
		send_request(node);
		node->request_timer =
		        g_timeout_add(scaled(node->mesh, REQUEST_INTERVAL_MS), on_request_timer, node);
	}
}

/* the answer to a DFU packet; also what the node does with it */
static guint8
node_receive(SimNode *node, const guint8 *p, gsize len)
{
	SimMesh *mesh = node->mesh;
	guint16 type = (guint16)mesh_get_le(p, 2);
	guint32 tid;

	if (type == MESH_PACKET_STATE && len >= 10) {
		MeshFwid fwid = {0};

		tid = mesh_get_le(p + 4, 4);
		if (node->state != NODE_IDLE || !mesh_fwid_decode(p[2], p + 8, len - 8, &fwid))
			return MESH_STATUS_SUCCESS;
		node->type = p[2];
		node->new_fwid = fwid;
		node->tid = tid;
		if (node_wants(node, p[2], &fwid))
			node->state = NODE_READY;
		else if (node->index == 0)
			node->state = NODE_RELAY;
		else
			node->tid = 0;
		return MESH_STATUS_SUCCESS;
	}
	if ((type != MESH_PACKET_DATA && type != MESH_PACKET_DATA_RSP) || len < 8)
		return MESH_STATUS_INVALID_PARAMETER;
	tid = mesh_get_le(p + 4, 4);
	if (node->state == NODE_IDLE || tid != node->tid)
		return MESH_STATUS_INVALID_DATA;
	if (mesh_get_le(p + 2, 2) == 0) {
		guint32 words = mesh_get_le(p + 12, 4);
		guint16 sig_len = (guint16)mesh_get_le(p + 16, 2);
		guint pages = (words * 4 + PAGE_SIZE - 1) / PAGE_SIZE;

		touch(node);
		/* a START again is a duplicate: nodes keep what they have */
		if (node->state != NODE_READY && (node->state != NODE_RELAY || node->total != 0))
			return MESH_STATUS_SUCCESS;
		if (node->index == 0)
			g_array_append_val(mesh->tids, tid);
		node->total =
		        (words * 4 + MESH_SEGMENT_SIZE - 1) / MESH_SEGMENT_SIZE + sig_len / MESH_SEGMENT_SIZE;
		node->start_addr = mesh_get_le(p + 8, 4);
		node->length = words * 4;
		node->sig_len = sig_len;
		if (node->state == NODE_RELAY) {
			emit_transfer_event(node, MESH_EVT_DFU_START, MESH_ROLE_RELAY, -1);
			return MESH_STATUS_SUCCESS;
		}
		node->state = NODE_TARGET;
		node->have = g_new0(guint8, node->total + 1);
		node->data = g_malloc0((gsize)node->total * MESH_SEGMENT_SIZE);
		node->busy = TRUE;
		node->erase_timer =
		        g_timeout_add(mesh->cfg.erase_page_ms != 0 ? pages * mesh->cfg.erase_page_ms
		                                                   : scaled(mesh, pages * ERASE_PAGE_MS),
		                      on_erased, node);
		if (node->index == 0)
			emit_transfer_event(node, MESH_EVT_DFU_START, MESH_ROLE_TARGET, -1);
		return MESH_STATUS_SUCCESS;
	}
	if (node->busy) {
		mesh->busy_answers++;
		return MESH_STATUS_BUSY;
	}
	/* a node that missed START cannot take data */
	if (node->state == NODE_READY)
		return MESH_STATUS_INVALID_DATA;
	touch(node);
	if (node->state == NODE_TARGET)
		node_store(node, mesh_get_le(p + 2, 2), p + 8, len - 8);
	return MESH_STATUS_SUCCESS;
}

/* oldest gap first: answered by the serial node from its bank, or passed to the host */
static void
send_request(SimNode *node)
{
	SimMesh *mesh = node->mesh;
	guint below = node->highest + 1;
	guint16 segment;
	guint8 msg[9] = {MESH_OP_DFU_DATA};

	if (node->state != NODE_TARGET)
		return;
	/* with no data for a while, a gap at the end counts too */
	if (first_missing(node, below) == 0)
		below = node->total + 1;
	segment = (guint16)first_missing(node, below);
	if (segment == 0) {
		g_clear_handle_id(&node->request_timer, g_source_remove);
		return;
	}
	node->requests++;
	if (node->index != 0 && mesh->serial->have != NULL && mesh->serial->tid == node->tid &&
	    segment <= mesh->serial->total && mesh->serial->have[segment]) {
		node_store(node, segment, mesh->serial->data + (segment - 1) * MESH_SEGMENT_SIZE,
		           MESH_SEGMENT_SIZE);
		return;
	}
	mesh_put_le(msg + 1, MESH_PACKET_DATA_REQ, 2);
	mesh_put_le(msg + 3, segment, 2);
	mesh_put_le(msg + 5, node->tid, 4);
	mesh->forwarded_requests++;
	emit(mesh, msg, sizeof(msg));
}

/* what the serial node took goes out on the air: each remote node may miss a DATA packet */
static void
broadcast(SimMesh *mesh, const guint8 *p, gsize len)
{
	guint16 type = (guint16)mesh_get_le(p, 2);

	for (guint i = 0; i < mesh->remote->len; i++) {
		SimNode *node = g_ptr_array_index(mesh->remote, i);
		gboolean data = type == MESH_PACKET_DATA && mesh_get_le(p + 2, 2) != 0;

		if (data && next_random(&node->rng) % 100 < mesh->cfg.remote_loss)
			continue;
		node_receive(node, p, len);
	}
}

/* ---- the serial node ---- */

static gboolean
on_beacon(gpointer user_data)
{
	SimMesh *mesh = user_data;
	SimNode *node = mesh->serial;
	guint8 msg[17] = {MESH_OP_DFU_DATA};

	if (mesh->in_bootloader || node->state != NODE_IDLE)
		return G_SOURCE_CONTINUE;
	mesh_put_le(msg + 1, MESH_PACKET_FWID, 2);
	mesh_put_le(msg + 3, node->fwid.sd, 2);
	msg[5] = node->fwid.bl_id;
	msg[6] = node->fwid.bl_version;
	mesh_fwid_encode(MESH_DFU_TYPE_APPLICATION, &node->fwid, msg + 7);
	emit(mesh, msg, sizeof(msg));
	return G_SOURCE_CONTINUE;
}

static gboolean
on_yield(gpointer user_data)
{
	SimMesh *mesh = user_data;

	mesh->mode_timer = 0;
	mesh->in_bootloader = FALSE;
	emit_started(mesh, MESH_MODE_APPLICATION);
	return G_SOURCE_REMOVE;
}

/* a forced reboot keeps the node in its bootloader, which returns to a valid application later */
static void
enter_bootloader(SimMesh *mesh, gboolean yield)
{
	node_reset(mesh->serial);
	mesh->in_bootloader = TRUE;
	emit_started(mesh, MESH_MODE_BOOTLOADER);
	if (yield)
		mesh->mode_timer = g_timeout_add(scaled(mesh, BOOTLOADER_YIELD_MS), on_yield, mesh);
}

static void
answer_state_get(SimMesh *mesh)
{
	SimNode *node = mesh->serial;
	guint8 msg[19] = {MESH_EVT_CMD_RSP, MESH_OP_DFU_STATE_GET, MESH_STATUS_SUCCESS};
	guint8 role = node->state == NODE_IDLE    ? MESH_ROLE_NONE
	              : node->state == NODE_RELAY ? MESH_ROLE_RELAY
	                                          : MESH_ROLE_TARGET;

	if (node->state == NODE_IDLE) {
		node->type = MESH_DFU_TYPE_APPLICATION;
		node->new_fwid = node->fwid;
	}
	put_transfer(node, role, msg + 3);
	msg[15] = (guint8)node->state;
	msg[16] = node->total != 0 ? (guint8)(node->received * 100 / node->total) : 0;
	emit(mesh, msg, 17);
}

static void
dfu_packet(SimMesh *mesh, const guint8 *p, gsize len)
{
	guint16 type = len >= 2 ? (guint16)mesh_get_le(p, 2) : 0;
	guint16 segment = len >= 4 ? (guint16)mesh_get_le(p + 2, 2) : 0;
	guint8 status;

	/* the bridge goes before the packet reaches the node; the mesh carries on without the host */
	if (mesh->cfg.hangup_at != 0 && !mesh->hung_up && type == MESH_PACKET_DATA &&
	    segment == mesh->cfg.hangup_at) {
		mesh->hung_up = TRUE;
		mesh->hangup_due = TRUE;
		return;
	}
	if (mesh->cfg.reboot_at != 0 && !mesh->rebooted && type == MESH_PACKET_DATA &&
	    segment == mesh->cfg.reboot_at) {
		mesh->rebooted = TRUE;
		node_reset(mesh->serial);
		g_timeout_add(scaled(mesh, RESTART_MS), on_restarted, mesh->serial);
		return;
	}
	status = node_receive(mesh->serial, p, len);
	if (status == MESH_STATUS_SUCCESS)
		broadcast(mesh, p, len);
	mesh->acks++;
	if (mesh->cfg.drop_acks != 0 && mesh->acks % mesh->cfg.drop_acks == 0)
		return;
	if (mesh->in_bootloader && len >= 2) {
		const guint8 msg[] = {MESH_EVT_CMD_RSP, MESH_OP_DFU_DATA, status, p[0], p[1]};
		emit(mesh, msg, sizeof(msg));
		return;
	}
	emit_answer(mesh, MESH_OP_DFU_DATA, status);
}

static void
command(SimMesh *mesh, const guint8 *msg, gsize len)
{
	guint8 echo[FRAME_MAX];

	switch (msg[0]) {
	case MESH_OP_ECHO:
		mesh->echoes++;
		memcpy(echo, msg, len);
		echo[0] = MESH_EVT_ECHO_RSP;
		if (mesh->cfg.echo_mismatch && len > 1)
			echo[1] ^= 0xFF;
		emit(mesh, echo, len);
		return;
	case MESH_OP_RADIO_RESET:
		enter_bootloader(mesh, TRUE);
		return;
	case MESH_OP_DFU_DATA:
		dfu_packet(mesh, msg + 1, len - 1);
		return;
	default:
		break;
	}
	/* the bootloader knows only Echo, radio reset and DFU packets */
	if (mesh->in_bootloader) {
		emit_answer(mesh, msg[0], MESH_STATUS_CMD_UNKNOWN);
		return;
	}
	if (msg[0] == MESH_OP_DFU_STATE_GET) {
		answer_state_get(mesh);
	} else if (msg[0] == MESH_OP_DFU_ABORT) {
		gboolean running = mesh->serial->state != NODE_IDLE;

		mesh->aborts++;
		node_reset(mesh->serial);
		emit_answer(mesh, msg[0], running ? MESH_STATUS_SUCCESS : MESH_STATUS_INVALID_STATE);
	} else {
		emit_answer(mesh, msg[0], MESH_STATUS_CMD_UNKNOWN);
	}
}

void
sim_mesh_input(SimMesh *mesh, const guint8 *data, gsize len)
{
	/* without mesh serial, at the wrong rate or with CTS stuck nothing the host sends is understood */
	if (mesh->cfg.no_serial || mesh->cfg.wrong_baud || mesh->cfg.stuck_cts)
		return;
	for (gsize i = 0; i < len; i++) {
		mesh->in_bytes++;
		if (mesh->cfg.byte_loss != 0 && mesh->in_bytes % mesh->cfg.byte_loss == 0)
			continue;
		g_byte_array_append(mesh->in, &data[i], 1);
		/* no resynchronisation: the first byte is a length, whatever it was meant to be */
		if (mesh->in->data[0] == 0) {
			g_byte_array_set_size(mesh->in, 0);
			continue;
		}
		if (mesh->in->len < (guint)mesh->in->data[0] + 1)
			continue;
		command(mesh, mesh->in->data + 1, mesh->in->data[0]);
		g_byte_array_set_size(mesh->in, 0);
	}
}

gboolean
sim_mesh_take_hangup(SimMesh *mesh)
{
	gboolean due = mesh->hangup_due;

	mesh->hangup_due = FALSE;
	return due;
}

static SimNode *
node_new(SimMesh *mesh, guint index)
{
	SimNode *node = g_new0(SimNode, 1);

	node->mesh = mesh;
	node->index = index;
	node->fwid = mesh->cfg.fwid;
	node->rng = mesh->cfg.seed * 2654435761u + index + 1;
	return node;
}

SimMesh *
sim_mesh_new(const SimMeshConfig *config, SimMeshOutputFunc output, gpointer user_data)
{
	SimMesh *mesh = g_new0(SimMesh, 1);

	mesh->cfg = *config;
	if (mesh->cfg.time_scale <= 0)
		mesh->cfg.time_scale = 1;
	mesh->output = output;
	mesh->user_data = user_data;
	mesh->in = g_byte_array_new();
	mesh->tids = g_array_new(FALSE, FALSE, sizeof(guint32));
	mesh->serial = node_new(mesh, 0);
	mesh->remote = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
	mesh->garbage_rng = config->seed | 1;
	for (guint i = 0; i < config->remote_nodes; i++)
		g_ptr_array_add(mesh->remote, node_new(mesh, i + 1));
	return mesh;
}

void
sim_mesh_free(SimMesh *mesh)
{
	if (mesh == NULL)
		return;
	g_clear_handle_id(&mesh->beacon_timer, g_source_remove);
	g_clear_handle_id(&mesh->mode_timer, g_source_remove);
	node_free(mesh->serial);
	g_ptr_array_unref(mesh->remote);
	g_byte_array_unref(mesh->in);
	g_array_unref(mesh->tids);
	g_free(mesh);
}

void
sim_mesh_boot(SimMesh *mesh)
{
	if (mesh->cfg.bootloader)
		enter_bootloader(mesh, FALSE);
	else
		emit_started(mesh, MESH_MODE_APPLICATION);
	if (mesh->cfg.beacon_ms > 0)
		mesh->beacon_timer = g_timeout_add(mesh->cfg.beacon_ms, on_beacon, mesh);
}

static void
add_node(JsonBuilder *b, SimNode *node)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, node->fwid.app_version);
	json_builder_set_member_name(b, "bl_version");
	json_builder_add_int_value(b, node->fwid.bl_version);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, node_state_names[node->state]);
	json_builder_set_member_name(b, "received");
	json_builder_add_int_value(b, node->received);
	json_builder_set_member_name(b, "requests");
	json_builder_add_int_value(b, node->requests);
	json_builder_set_member_name(b, "updates");
	json_builder_add_int_value(b, node->updates);
	json_builder_end_object(b);
}

char *
sim_mesh_state_json(SimMesh *mesh)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "serial");
	add_node(b, mesh->serial);
	json_builder_set_member_name(b, "remote");
	json_builder_begin_array(b);
	for (guint i = 0; i < mesh->remote->len; i++)
		add_node(b, g_ptr_array_index(mesh->remote, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "tids");
	json_builder_begin_array(b);
	for (guint i = 0; i < mesh->tids->len; i++)
		json_builder_add_int_value(b, g_array_index(mesh->tids, guint32, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "echoes");
	json_builder_add_int_value(b, mesh->echoes);
	json_builder_set_member_name(b, "aborts");
	json_builder_add_int_value(b, mesh->aborts);
	json_builder_set_member_name(b, "forwarded_requests");
	json_builder_add_int_value(b, mesh->forwarded_requests);
	json_builder_set_member_name(b, "restarts");
	json_builder_add_int_value(b, mesh->restarts);
	json_builder_set_member_name(b, "busy_answers");
	json_builder_add_int_value(b, mesh->busy_answers);
	json_builder_set_member_name(b, "unauthorized");
	json_builder_add_int_value(b, mesh->unauthorized);
	json_builder_set_member_name(b, "acks");
	json_builder_add_int_value(b, mesh->acks);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}
