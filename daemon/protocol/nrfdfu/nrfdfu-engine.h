/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"
#include "dfu-engine.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

typedef struct {
	guint timeout_ms;           /* per response */
	guint execute_timeout_ms;   /* the last execute of an image: the bootloader checks the whole image */
	guint prn;                  /* CRC notification every n writes, 0 = off */
	guint object_retries;       /* re-sends of an object whose CRC does not match */
	guint reset_delay_ms;       /* before reconnecting after an image was activated */
	guint reconnect_timeout_ms; /* how long the port may stay away after a reset */
	/* over GATT: no ping or Get MTU (the bootloader need not answer them there); each
	 * write carries what the transport's largest message holds */
	gboolean gatt;
} NrfDfuOptions;

/*
 * Nordic Secure DFU (nRF5 SDK bootloaders): sends each image of an nRF5
 * package (init packet as the command object, then the firmware as data
 * objects) and resumes from whatever the bootloader reports. Takes the
 * transport and the plan.
 */
DfuEngine *nrfdfu_engine_new(DfuTransport *transport, DfuPlan *plan, const NrfDfuOptions *options,
                             const DfuEngineCallbacks *callbacks, gpointer user_data);

G_END_DECLS
