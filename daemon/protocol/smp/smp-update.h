/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"
#include "dfu-engine.h"
#include "dfu-job.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * The MCUboot update sequence over SMP as an event-driven state machine:
 * parameters, image state, upload, check the slot, test, reset, wait for the
 * device, check what runs, confirm. Recoverable trouble (link lost, a device
 * that is not back yet) is handled inside where it can be; what ends the
 * attempt is reported through done with a DfuStatus.
 */
typedef struct {
	guint timeout_ms;
	guint first_timeout_ms;
	guint retries;
	guint max_window;
	guint reset_timeout_ms;
	gboolean confirm;
	gboolean force;
	gboolean allow_downgrade;
	/* comma list of image numbers or names ("app", "net", file name) that may go back */
	const char *allow_downgrade_images;
	/* what an earlier attempt recorded of the device (borrowed a{sv}); NULL at first */
	GVariant *identity;
	/*
	 * An update, or without a plan: refresh (read the device's state, change
	 * nothing), confirm (boot a pending image with a reset if it does not run
	 * yet, then confirm it; confirm a running unconfirmed one) or reset (reset
	 * a device with such an image and read it back: the result is STAGED when
	 * the pending image now runs for its test). Confirm and reset end with
	 * NOTHING_STAGED on a device that holds no such image.
	 */
	DfuJobKind kind;
} SmpUpdateOptions;

/*
 * takes ownership of transport and plan (NULL for all kinds but an update); the engine's identity (see
 * DfuEngineCallbacks) is "hashes" (as, hex) of every image the device listed
 * when the job first reached it: after every reconnect the device must run
 * one of those or one of the plan's, or the job ends with DEVICE_MISMATCH
 * before anything more is sent
 */
DfuEngine *smp_update_new(DfuTransport *transport, DfuPlan *plan, const SmpUpdateOptions *options,
                          const DfuEngineCallbacks *callbacks, gpointer user_data);

G_END_DECLS
