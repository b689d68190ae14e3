/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The serial framing of Nordic's nRF5 SDK for Mesh (mesh stack and mesh
 * bootloader): one length byte counting the opcode and payload that follow,
 * no start marker, no CRC, no escaping. A receiver can only count, so a lost
 * or extra byte shifts every later frame; the decoder gives up a frame that
 * stays unfinished across a pause in the stream, which is the only point
 * where the two sides can agree again.
 */
#define MESH_SERIAL_MAX_FRAME 255 /* opcode and payload */
#define MESH_SERIAL_GAP_US (100 * G_TIME_SPAN_MILLISECOND)

/* the bytes on the wire for opcode and payload (msg), NULL when msg is empty or too long */
GBytes *mesh_serial_encode(const guint8 *msg, gsize len);
gsize mesh_serial_encoded_size(gsize len);

/* msg[0] is the opcode, len at least 1 */
typedef void (*MeshSerialFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);

typedef struct _MeshSerialDecoder MeshSerialDecoder;
/* gap_us: the pause that ends an unfinished frame, 0 = never */
MeshSerialDecoder *mesh_serial_decoder_new(gint64 gap_us);
void mesh_serial_decoder_free(MeshSerialDecoder *dec);
/* now_us: when the bytes arrived (monotonic); func is called once per complete frame */
void mesh_serial_decoder_feed(MeshSerialDecoder *dec, const guint8 *data, gsize len, gint64 now_us,
                              MeshSerialFrameFunc func, gpointer user_data);
void mesh_serial_decoder_reset(MeshSerialDecoder *dec);
/* zero length bytes and frames given up after a pause */
guint mesh_serial_decoder_get_bad_frames(MeshSerialDecoder *dec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeshSerialDecoder, mesh_serial_decoder_free)

G_END_DECLS
