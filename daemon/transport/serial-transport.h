/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * SMP over a UART: a tty in raw mode at a fixed baud rate, console framing
 * (smp-console.h) on top. Opened exclusively so that no second program
 * interleaves frames on the line.
 */
DfuTransport *dfu_serial_transport_new(const char *path, guint baud);

/* How messages are framed on the line; the SMP console framing is the default. */
typedef void (*DfuSerialFrameFunc)(const guint8 *msg, gsize len, gpointer user_data);
typedef struct {
	GBytes *(*encode)(const guint8 *msg, gsize len);
	/* bytes on the wire for a message of len bytes */
	gsize (*wire_size)(gsize len);
	gpointer (*decoder_new)(gsize max_frame);
	void (*decoder_feed)(gpointer dec, const guint8 *data, gsize len, DfuSerialFrameFunc func,
	                     gpointer user_data);
	void (*decoder_reset)(gpointer dec);
	void (*decoder_free)(gpointer dec);
} DfuSerialFraming;

/* the same tty handling with another framing (SLIP for the nRF5 bootloader) */
DfuTransport *dfu_serial_transport_new_framed(const char *path, guint baud, const DfuSerialFraming *framing);
/*
 * Opens a serial device read-write, non-blocking, never as the controlling
 * terminal. Symbolic links (/dev/serial/by-id/...) are followed, but the
 * device itself must be a character device below /dev and a terminal.
 * Errors: LINK_NOT_FOUND when it does not exist, INVALID_ARGUMENT when it
 * is not a serial device, CONNECT_FAILED when it cannot be opened.
 */
int dfu_serial_open_device(const char *path, GError **error);
/* the termios speed constant for a baud rate, 0 when the rate is not supported */
guint dfu_serial_speed_from_baud(guint baud);

G_END_DECLS
