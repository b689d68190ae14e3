/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-target.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * Finds the SMP framing a serial device answers in: mcumgr params in console
 * framing, then, with no answer, once more in raw framing. The timeouts are
 * short: a device that answers at all answers at once, and a silent one
 * should fail in seconds, not after every retry of a normal request.
 */
typedef struct _DfuFramingProbe DfuFramingProbe;

/* error NULL: the device answered in found; the link stays open in that framing */
typedef void (*DfuFramingProbeFunc)(DfuFraming found, const GError *error, gpointer user_data);

typedef struct {
	guint timeout_ms; /* per try */
	guint retries;    /* extra tries per framing */
	guint baud;       /* for the message when nothing answers */
	/* switches the link to another framing (dfu_serial_transport_set_framing) */
	void (*set_framing)(DfuTransport *transport, DfuFraming framing);
	/* optional: told what was found before func, e.g. to keep it for later attempts */
	void (*found)(DfuFraming framing, gpointer user_data);
	gpointer found_data;
} DfuFramingProbeOptions;

/* opens the borrowed transport and starts; func is called once, never from inside this call */
DfuFramingProbe *dfu_framing_probe_new(DfuTransport *transport, const DfuFramingProbeOptions *options,
                                       DfuFramingProbeFunc func, gpointer user_data);
/* stops a probe; the transport is left as it is */
void dfu_framing_probe_free(DfuFramingProbe *probe);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuFramingProbe, dfu_framing_probe_free)

G_END_DECLS
