/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-engine.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/* how an engine under test ended, and the loop that waits for it */
typedef struct {
	GMainLoop *loop;
	gboolean done;
	guint result;
	GError *error;
	GVariant *device_error;
} EngineOutcome;

void engine_outcome_init(EngineOutcome *self);
void engine_outcome_clear(EngineOutcome *self);
/* from the engine's done callback: keeps what it says and ends the loop */
void engine_outcome_take(EngineOutcome *self, guint result, const GError *error, GVariant *device_error);
/* forgets the last outcome, starts the engine and runs the loop until something ends it */
void engine_outcome_run(EngineOutcome *self, DfuEngine *engine);

/*
 * An in-memory link: *host is the engine's end; the device's end, returned
 * open, hands what the engine sends to callbacks->packet.
 */
DfuTransport *engine_test_device_end(const DfuTransportCallbacks *callbacks, gpointer user_data,
                                     DfuTransport **host);
/* the opened and closed callbacks of a device end that needs neither */
void engine_test_ignore_link_event(DfuTransport *transport, const GError *error, gpointer user_data);

G_END_DECLS
