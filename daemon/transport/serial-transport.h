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
/* the termios speed constant for a baud rate, 0 when the rate is not supported */
guint dfu_serial_speed_from_baud(guint baud);

G_END_DECLS
