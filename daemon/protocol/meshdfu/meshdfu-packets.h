/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mesh-package.h"

G_BEGIN_DECLS

/*
 * The serial commands and events of the nRF5 SDK for Mesh that a DFU source
 * uses, and the OpenMesh DFU packets that opcode 0x78 carries, as bytes
 * without the length byte of the serial framing. Multi-byte fields are
 * little-endian.
 */
#define MESH_OP_ECHO 0x02
#define MESH_OP_RADIO_RESET 0x0E
#define MESH_OP_DFU_DATA 0x78
#define MESH_OP_DFU_ABORT 0xD3
#define MESH_OP_DFU_STATE_GET 0xD6
#define MESH_EVT_DEVICE_STARTED 0x81
#define MESH_EVT_ECHO_RSP 0x82
#define MESH_EVT_CMD_RSP 0x84
#define MESH_EVT_DFU_START 0xA2
#define MESH_EVT_DFU_END 0xA3
#define MESH_EVT_BANK_AVAILABLE 0xA4

/* status byte of a command response */
#define MESH_STATUS_SUCCESS 0x00
#define MESH_STATUS_CMD_UNKNOWN 0x82
#define MESH_STATUS_INVALID_STATE 0x83
#define MESH_STATUS_INVALID_PARAMETER 0x85
#define MESH_STATUS_BUSY 0x86
#define MESH_STATUS_INVALID_DATA 0x87

/* mode byte of Device started */
#define MESH_MODE_BOOTLOADER 1
#define MESH_MODE_APPLICATION 2

#define MESH_PACKET_FWID 0xFFFE
#define MESH_PACKET_STATE 0xFFFD
#define MESH_PACKET_DATA 0xFFFC
#define MESH_PACKET_DATA_REQ 0xFFFB
#define MESH_PACKET_DATA_RSP 0xFFFA

/* role bytes of state get and of the start and end events */
#define MESH_ROLE_NONE 0
#define MESH_ROLE_TARGET 1
#define MESH_ROLE_RELAY 2

/* transfer info of the source's STATE: authority 7, flood */
#define MESH_STATE_INFO_SOURCE 0x0F
/* START flags: first and last part of a single transfer */
#define MESH_START_FLAGS 0x0C

/* the largest serial message the DFU uses: opcode, packet type, segment, TID, 16 bytes */
#define MESH_MESSAGE_MAX 32

typedef struct {
	guint8 data[MESH_MESSAGE_MAX];
	gsize len;
} MeshMessage;

void mesh_message_echo(MeshMessage *msg, const guint8 *payload, gsize len);
void mesh_message_state_get(MeshMessage *msg);
void mesh_message_abort(MeshMessage *msg);
void mesh_message_state(MeshMessage *msg, const MeshInitPacket *init, guint32 tid);
void mesh_message_start(MeshMessage *msg, const MeshInitPacket *init, guint32 tid);
/* DATA (or DATA_RSP) of segment >= 1: firmware, then the signature */
void mesh_message_segment(MeshMessage *msg, guint16 packet_type, const MeshImage *image, guint32 tid,
                          guint segment);

/* what the node sent, parsed as far as its opcode says */
typedef struct {
	guint8 opcode;
	/* MESH_EVT_CMD_RSP */
	guint8 command;
	guint8 status;
	/* MESH_EVT_DEVICE_STARTED */
	guint8 mode;
	/* MESH_OP_DFU_DATA (a packet the node passes on) */
	guint16 packet_type;
	guint16 segment; /* DATA_REQ */
	guint32 tid;     /* DATA_REQ */
	MeshFwid fwid;   /* FWID beacon: every field; state get: the application's */
	/* MESH_EVT_DFU_START, MESH_EVT_DFU_END, state get */
	guint8 role;
	guint8 dfu_type;
	guint8 end_reason;
	guint8 dfu_state;
	/* MESH_EVT_ECHO_RSP and whatever else: the bytes after the opcode */
	const guint8 *payload;
	gsize payload_len;
} MeshEvent;

/* FALSE for frames too short for what their opcode says */
gboolean mesh_event_parse(const guint8 *msg, gsize len, MeshEvent *event);
/* TRUE for the opcodes a mesh node sends: anything else came from noise on the line */
gboolean mesh_event_opcode_known(guint8 opcode);
/* "too much packet loss" for end reason 3, and so on */
const char *mesh_end_reason_to_string(guint8 reason);
const char *mesh_status_to_string(guint8 status);

G_END_DECLS
