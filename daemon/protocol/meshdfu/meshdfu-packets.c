/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "meshdfu-packets.h"

static void
put(MeshMessage *msg, guint32 v, gsize n)
{
	mesh_put_le(msg->data + msg->len, v, n);
	msg->len += n;
}

static void
begin(MeshMessage *msg, guint8 opcode)
{
	msg->len = 0;
	msg->data[msg->len++] = opcode;
}

void
mesh_message_echo(MeshMessage *msg, const guint8 *payload, gsize len)
{
	begin(msg, MESH_OP_ECHO);
	len = MIN(len, sizeof(msg->data) - 1);
	memcpy(msg->data + 1, payload, len);
	msg->len += len;
}

void
mesh_message_state_get(MeshMessage *msg)
{
	begin(msg, MESH_OP_DFU_STATE_GET);
}

void
mesh_message_abort(MeshMessage *msg)
{
	begin(msg, MESH_OP_DFU_ABORT);
}

void
mesh_message_state(MeshMessage *msg, const MeshInitPacket *init, guint32 tid)
{
	begin(msg, MESH_OP_DFU_DATA);
	put(msg, MESH_PACKET_STATE, 2);
	put(msg, init->type, 1);
	put(msg, MESH_STATE_INFO_SOURCE, 1);
	put(msg, tid, 4);
	msg->len += mesh_fwid_encode(init->type, &init->fwid, msg->data + msg->len);
}

void
mesh_message_start(MeshMessage *msg, const MeshInitPacket *init, guint32 tid)
{
	begin(msg, MESH_OP_DFU_DATA);
	put(msg, MESH_PACKET_DATA, 2);
	put(msg, 0, 2);
	put(msg, tid, 4);
	put(msg, init->start_addr, 4);
	put(msg, init->length / 4, 4);
	put(msg, init->is_signed ? MESH_SIGNATURE_SIZE : 0, 2);
	put(msg, MESH_START_FLAGS, 1);
}

void
mesh_message_segment(MeshMessage *msg, guint16 packet_type, const MeshImage *image, guint32 tid,
                     guint segment)
{
	gsize fw_len = 0;
	const guint8 *fw = g_bytes_get_data(image->files->firmware, &fw_len);
	guint fw_segments = (guint)((fw_len + MESH_SEGMENT_SIZE - 1) / MESH_SEGMENT_SIZE);
	const guint8 *src;
	gsize n;

	begin(msg, MESH_OP_DFU_DATA);
	put(msg, packet_type, 2);
	put(msg, segment, 2);
	put(msg, tid, 4);
	/* signature segments never share a segment with the firmware's short tail */
	if (segment <= fw_segments) {
		src = fw + (gsize)(segment - 1) * MESH_SEGMENT_SIZE;
		n = MIN((gsize)MESH_SEGMENT_SIZE, fw_len - (gsize)(segment - 1) * MESH_SEGMENT_SIZE);
	} else {
		src = image->init.signature + (gsize)(segment - fw_segments - 1) * MESH_SEGMENT_SIZE;
		n = MESH_SEGMENT_SIZE;
	}
	memcpy(msg->data + msg->len, src, n);
	msg->len += n;
}

static const guint8 known_opcodes[] = {
        MESH_OP_DFU_DATA,
        MESH_EVT_DEVICE_STARTED,
        MESH_EVT_ECHO_RSP,
        0x83,
        MESH_EVT_CMD_RSP,
        0xA0,
        0xA1,
        MESH_EVT_DFU_START,
        MESH_EVT_DFU_END,
        MESH_EVT_BANK_AVAILABLE,
        0xA5,
        0xA6,
};

gboolean
mesh_event_opcode_known(guint8 opcode)
{
	return memchr(known_opcodes, opcode, sizeof(known_opcodes)) != NULL;
}

/* a DFU packet the node passes on: its FWID beacon, or a data request heard from the mesh */
static gboolean
parse_dfu_packet(const guint8 *p, gsize len, MeshEvent *event)
{
	if (len < 2)
		return FALSE;
	event->packet_type = (guint16)mesh_get_le(p, 2);
	if (event->packet_type == MESH_PACKET_FWID) {
		if (len < 16)
			return FALSE;
		event->fwid.sd = (guint16)mesh_get_le(p + 2, 2);
		event->fwid.bl_id = p[4];
		event->fwid.bl_version = p[5];
		return mesh_fwid_decode(MESH_DFU_TYPE_APPLICATION, p + 6, len - 6, &event->fwid);
	}
	if (event->packet_type == MESH_PACKET_DATA_REQ) {
		if (len < 8)
			return FALSE;
		event->segment = (guint16)mesh_get_le(p + 2, 2);
		event->tid = mesh_get_le(p + 4, 4);
	}
	return TRUE;
}

/* role, type, FWID (10): the head of the start and end events and of state get */
static gboolean
parse_transfer(const guint8 *p, gsize len, MeshEvent *event)
{
	if (len < 12)
		return FALSE;
	event->role = p[0];
	event->dfu_type = p[1];
	mesh_fwid_decode(event->dfu_type, p + 2, 10, &event->fwid);
	return TRUE;
}

gboolean
mesh_event_parse(const guint8 *msg, gsize len, MeshEvent *event)
{
	const guint8 *p = msg + 1;
	gsize n = len - 1;

	memset(event, 0, sizeof(*event));
	if (len == 0)
		return FALSE;
	event->opcode = msg[0];
	event->payload = p;
	event->payload_len = n;
	switch (event->opcode) {
	case MESH_EVT_CMD_RSP:
		if (n < 2)
			return FALSE;
		event->command = p[0];
		event->status = p[1];
		/* state get: role, type, FWID, state, progress */
		if (event->command == MESH_OP_DFU_STATE_GET && event->status == MESH_STATUS_SUCCESS) {
			if (n < 2 + 14 || !parse_transfer(p + 2, n - 2, event))
				return FALSE;
			event->dfu_state = p[14];
		}
		return TRUE;
	case MESH_EVT_DEVICE_STARTED:
		if (n < 1)
			return FALSE;
		event->mode = p[0];
		return TRUE;
	case MESH_OP_DFU_DATA:
		return parse_dfu_packet(p, n, event);
	case MESH_EVT_DFU_START:
		return parse_transfer(p, n, event);
	case MESH_EVT_DFU_END:
		if (!parse_transfer(p, n, event) || n < 13)
			return FALSE;
		event->end_reason = p[12];
		return TRUE;
	default:
		return TRUE;
	}
}

static const char *const end_reasons[] = {
        "success",
        "the node already runs this firmware",
        "the application aborted it",
        "too much packet loss",
        "the signature did not verify",
        "no START received",
        "timeout",
        "no memory",
        "invalid device page",
        "segment violation",
        "MBR call failed",
        "invalid transfer",
        "bank in the bootloader area",
        "bank and destination overlap",
};

const char *
mesh_end_reason_to_string(guint8 reason)
{
	return reason < G_N_ELEMENTS(end_reasons) ? end_reasons[reason] : "unknown reason";
}

static const struct {
	guint8 status;
	const char *name;
} statuses[] = {
        {0x00, "success"},           {0x80, "unknown error"}, {0x81, "internal error"},
        {0x82, "command unknown"},   {0x83, "invalid state"}, {0x84, "invalid length"},
        {0x85, "invalid parameter"}, {0x86, "busy"},          {0x87, "invalid data"},
        {0x8E, "rejected"},          {0x93, "timeout"},       {0x98, "invalid key data"},
};

const char *
mesh_status_to_string(guint8 status)
{
	for (gsize i = 0; i < G_N_ELEMENTS(statuses); i++) {
		if (statuses[i].status == status)
			return statuses[i].name;
	}
	return "unknown status";
}
