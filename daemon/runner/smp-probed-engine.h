/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-framing-probe.h"
#include "smp-update.h"

G_BEGIN_DECLS

/*
 * The SMP engine for a serial device whose framing the target does not name:
 * it first finds the framing the device answers in (dfu-framing-probe.h),
 * says which in the log, then runs the SMP update over the same link. Takes
 * ownership of transport and plan; options->identity stays borrowed until
 * the update starts, which takes its own reference.
 */
DfuEngine *smp_probed_engine_new(DfuTransport *transport, DfuPlan *plan, const SmpUpdateOptions *options,
                                 const DfuFramingProbeOptions *probe_options,
                                 const DfuEngineCallbacks *callbacks, gpointer user_data);

G_END_DECLS
