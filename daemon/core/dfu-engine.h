/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-job.h"

G_BEGIN_DECLS

/*
 * One attempt of one protocol's update sequence (SMP, Nordic Secure DFU, AT
 * #XFOTA, mesh DFU) as the runner sees it: started with what the protocol
 * needs (made by the engine's own constructor: a plan, a transport, options),
 * it reports phase, progress, log lines and, once, its outcome through the
 * callbacks, on the main loop. The runner picks the engine from the target's
 * protocol and the bundle's kind and knows nothing else of it.
 */
typedef struct _DfuEngine DfuEngine;

typedef struct {
	void (*phase)(DfuEngine *engine, DfuJobPhase phase, gpointer user_data);
	void (*progress)(DfuEngine *engine, guint64 done, guint64 total, gpointer user_data);
	void (*log)(DfuEngine *engine, const char *line, gpointer user_data);
	/*
	 * Optional: what the engine saw of the device when the job first reached
	 * it (an a{sv} of the engine's own making). The job keeps it and hands it
	 * to later attempts, so that an engine can tell another device from the
	 * one the job talked to.
	 */
	void (*identity)(DfuEngine *engine, GVariant *identity, gpointer user_data);
	/*
	 * Optional: the device's state as the engine last read it, an a{sv} with
	 * any of "images" aa{sv} (image u, slot u, version s, hash s, flags as),
	 * "bootloader" s and "bootloader-mode" s. A report replaces the keys it
	 * holds and leaves the others as an earlier report said them.
	 */
	void (*report)(DfuEngine *engine, GVariant *state, gpointer user_data);
	/*
	 * Called once, never from inside dfu_engine_start() or dfu_engine_cancel().
	 * result is SUCCESS, STAGED or UP_TO_DATE when error is NULL or holds that
	 * same code (then its message is the outcome's own); else error's code
	 * is a DfuStatus in DFU_ERROR; device_error is the device's raw answer
	 * (a{sv}, floating refs are sunk) or NULL.
	 */
	void (*done)(DfuEngine *engine, guint result, const GError *error, GVariant *device_error,
	             gpointer user_data);
} DfuEngineCallbacks;

typedef struct {
	const char *name;
	void (*start)(DfuEngine *self);
	/* stops at once; done follows from the loop with DFU_STATUS_CANCELLED */
	void (*cancel)(DfuEngine *self);
	/* frees what the engine holds beyond this struct, and the struct itself */
	void (*finalize)(DfuEngine *self);
} DfuEngineClass;

struct _DfuEngine {
	const DfuEngineClass *klass;
	const DfuEngineCallbacks *callbacks;
	gpointer user_data;
	/* the outcome dfu_engine_finish() holds until the loop reports it */
	guint done_idle;
	gboolean finished;
	guint done_result;
	GError *done_error;
	GVariant *done_device_error;
};

/* for implementations: the first member of an engine is a DfuEngine set up with this */
void dfu_engine_init(DfuEngine *self, const DfuEngineClass *klass, const DfuEngineCallbacks *callbacks,
                     gpointer user_data);

const char *dfu_engine_get_name(DfuEngine *self);
void dfu_engine_start(DfuEngine *self);
void dfu_engine_cancel(DfuEngine *self);
void dfu_engine_free(DfuEngine *self);

/* for implementations: each callback is optional but done */
void dfu_engine_emit_phase(DfuEngine *self, DfuJobPhase phase);
void dfu_engine_emit_progress(DfuEngine *self, guint64 done, guint64 total);
void dfu_engine_emit_log(DfuEngine *self, const char *format, ...) G_GNUC_PRINTF(2, 3);
void dfu_engine_emit_identity(DfuEngine *self, GVariant *identity);
/* state is floating or owned by the caller */
void dfu_engine_emit_report(DfuEngine *self, GVariant *state);
void dfu_engine_emit_done(DfuEngine *self, guint result, const GError *error, GVariant *device_error);
/*
 * The usual way to end: keeps the outcome and reports it through done from
 * the loop, so never from inside start or cancel. Only the first call counts;
 * a later device_error is dropped (floating refs are sunk).
 */
void dfu_engine_finish(DfuEngine *self, guint result, const GError *error, GVariant *device_error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuEngine, dfu_engine_free)

G_END_DECLS
