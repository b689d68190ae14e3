/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-target.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * Messages over a UART: a tty in raw mode at a fixed baud rate, a framing of
 * serial-framing.h on top (SMP console lines, bare SMP messages, SLIP, mesh
 * serial frames).
 * Opened exclusively so that no second program interleaves frames on the line.
 */
DfuTransport *dfu_serial_transport_new(const char *path, guint baud, DfuFraming framing);
/* for the messages that follow, also on an open link (probing the device's framing) */
void dfu_serial_transport_set_framing(DfuTransport *transport, DfuFraming framing);
/*
 * The same tty without SMP framing: each packet is whatever bytes arrived or
 * are to be written, for line protocols whose codec sits above (AT commands);
 * rtscts turns on hardware flow control.
 */
DfuTransport *dfu_serial_transport_new_stream(const char *path, guint baud, gboolean rtscts);
/*
 * The serial number of the USB device behind the port, known from before (a
 * job's earlier run): when the path is gone the port is looked up by it.
 * learned, when not NULL, is called whenever an open finds the number.
 */
typedef void (*DfuUsbSerialFunc)(const char *serial, gpointer user_data);
void dfu_serial_transport_set_usb_serial(DfuTransport *transport, const char *serial,
                                         DfuUsbSerialFunc learned, gpointer user_data);
/* hardware flow control from the next open on */
void dfu_serial_transport_set_rtscts(DfuTransport *transport, gboolean rtscts);
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
