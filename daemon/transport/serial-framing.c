/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "serial-framing.h"

#include "mesh-serial.h"
#include "smp-console.h"
#include "slip.h"
#include "smp-raw.h"

struct _SerialFramer {
	DfuFraming framing;
	SmpConsoleDecoder *console;
	SmpRawDecoder *raw;
	SlipDecoder *slip;
	MeshSerialDecoder *mesh;
};

static GBytes *
raw_encode(const guint8 *msg, gsize len)
{
	return g_bytes_new(msg, len);
}

static gsize
raw_encoded_size(gsize len)
{
	return len;
}

static gsize
slip_encoded_size(gsize len)
{
	/* escapes are rare in firmware: rate accounting counts the END only */
	return len + 1;
}

static const struct {
	GBytes *(*encode)(const guint8 *msg, gsize len);
	gsize (*encoded_size)(gsize len);
} framings[] = {
        [DFU_FRAMING_CONSOLE] = {smp_console_encode, smp_console_encoded_size},
        [DFU_FRAMING_RAW] = {raw_encode, raw_encoded_size},
        [DFU_FRAMING_SLIP] = {slip_encode, slip_encoded_size},
        [DFU_FRAMING_MESH] = {mesh_serial_encode, mesh_serial_encoded_size},
};

SerialFramer *
serial_framer_new(DfuFraming framing, gsize max_frame)
{
	SerialFramer *framer = g_new0(SerialFramer, 1);

	framer->framing = framing;
	framer->console = smp_console_decoder_new(max_frame);
	framer->raw = smp_raw_decoder_new(max_frame, SMP_RAW_GAP_US);
	framer->slip = slip_decoder_new(max_frame);
	framer->mesh = mesh_serial_decoder_new(MESH_SERIAL_GAP_US);
	return framer;
}

void
serial_framer_free(SerialFramer *framer)
{
	if (framer == NULL)
		return;
	smp_console_decoder_free(framer->console);
	smp_raw_decoder_free(framer->raw);
	slip_decoder_free(framer->slip);
	mesh_serial_decoder_free(framer->mesh);
	g_free(framer);
}

void
serial_framer_set_framing(SerialFramer *framer, DfuFraming framing)
{
	framer->framing = framing;
	serial_framer_reset(framer);
}

GBytes *
serial_framer_encode(SerialFramer *framer, const guint8 *msg, gsize len)
{
	return framings[framer->framing].encode(msg, len);
}

gsize
serial_framer_encoded_size(SerialFramer *framer, gsize msg_len)
{
	return framings[framer->framing].encoded_size(msg_len);
}

void
serial_framer_feed(SerialFramer *framer, const guint8 *data, gsize len, SerialFrameFunc func,
                   gpointer user_data)
{
	switch (framer->framing) {
	case DFU_FRAMING_CONSOLE:
		smp_console_decoder_feed(framer->console, data, len, func, user_data);
		break;
	case DFU_FRAMING_RAW:
		smp_raw_decoder_feed(framer->raw, data, len, g_get_monotonic_time(), func, user_data);
		break;
	case DFU_FRAMING_SLIP:
		slip_decoder_feed(framer->slip, data, len, func, user_data);
		break;
	case DFU_FRAMING_MESH:
		mesh_serial_decoder_feed(framer->mesh, data, len, g_get_monotonic_time(), func, user_data);
		break;
	}
}

void
serial_framer_reset(SerialFramer *framer)
{
	smp_console_decoder_reset(framer->console);
	smp_raw_decoder_reset(framer->raw);
	slip_decoder_reset(framer->slip);
	mesh_serial_decoder_reset(framer->mesh);
}

guint
serial_framer_get_bad_frames(SerialFramer *framer)
{
	switch (framer->framing) {
	case DFU_FRAMING_CONSOLE:
		return smp_console_decoder_get_bad_frames(framer->console);
	case DFU_FRAMING_RAW:
		return smp_raw_decoder_get_bad_frames(framer->raw);
	case DFU_FRAMING_SLIP:
		return slip_decoder_get_bad_frames(framer->slip);
	case DFU_FRAMING_MESH:
		return mesh_serial_decoder_get_bad_frames(framer->mesh);
	}
	g_return_val_if_reached(0);
}
