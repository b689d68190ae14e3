/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/* a serial port carrying SLIP frames (slip.h): the nRF5 SDK's serial DFU transport */
DfuTransport *dfu_slip_transport_new(const char *path, guint baud);

G_END_DECLS
