/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "slip-transport.h"

#include "serial-transport.h"
#include "slip.h"

static gsize
slip_wire_size(gsize len)
{
	/* escapes are rare in firmware; rate accounting counts the END only */
	return len + 1;
}

static gpointer
decoder_new(gsize max_frame)
{
	return slip_decoder_new(max_frame);
}

static void
decoder_feed(gpointer dec, const guint8 *data, gsize len, DfuSerialFrameFunc func, gpointer user_data)
{
	slip_decoder_feed(dec, data, len, func, user_data);
}

static void
decoder_reset(gpointer dec)
{
	slip_decoder_reset(dec);
}

static void
decoder_free(gpointer dec)
{
	slip_decoder_free(dec);
}

static const DfuSerialFraming slip_framing = {
        .encode = slip_encode,
        .wire_size = slip_wire_size,
        .decoder_new = decoder_new,
        .decoder_feed = decoder_feed,
        .decoder_reset = decoder_reset,
        .decoder_free = decoder_free,
};

DfuTransport *
dfu_slip_transport_new(const char *path, guint baud)
{
	return dfu_serial_transport_new_framed(path, baud, &slip_framing);
}
