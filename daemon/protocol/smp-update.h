/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"
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
typedef struct _SmpUpdate SmpUpdate;

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
	/*
	 * What an earlier attempt recorded of the device (borrowed a{sv}, see
	 * identity below); NULL when the job has not reached it yet.
	 */
	GVariant *identity;
} SmpUpdateOptions;

typedef struct {
	void (*phase)(SmpUpdate *update, DfuJobPhase phase, gpointer user_data);
	void (*progress)(SmpUpdate *update, guint64 done, guint64 total, gpointer user_data);
	void (*log)(SmpUpdate *update, const char *line, gpointer user_data);
	/*
	 * The device as first seen: "hashes" (as, hex) of every image it listed.
	 * Later attempts pass it back in the options; after every reconnect the
	 * device must run one of those images or one of the plan's, or the job
	 * ends with DEVICE_MISMATCH before anything more is sent.
	 */
	void (*identity)(SmpUpdate *update, GVariant *identity, gpointer user_data);
	/*
	 * Called once; result is SUCCESS, STAGED or UP_TO_DATE when error is NULL.
	 * Never called from inside smp_update_start() or smp_update_cancel().
	 */
	void (*done)(SmpUpdate *update, guint result, const GError *error, GVariant *device_error,
	             gpointer user_data);
} SmpUpdateCallbacks;

/* takes ownership of transport and plan */
SmpUpdate *smp_update_new(DfuTransport *transport, DfuPlan *plan, const SmpUpdateOptions *options,
                          const SmpUpdateCallbacks *callbacks, gpointer user_data);
void smp_update_start(SmpUpdate *update);
/* stops at once; done follows from the loop with DFU_STATUS_CANCELLED */
void smp_update_cancel(SmpUpdate *update);
void smp_update_free(SmpUpdate *update);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpUpdate, smp_update_free)

G_END_DECLS
