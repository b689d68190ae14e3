/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-error.h"
#include "smp-message.h"

G_BEGIN_DECLS

/*
 * Turns the error a device put in a response into the job's status code (by
 * table, with fallback the status of the step that failed) and the raw code
 * that DeviceError shows.
 */
GError *smp_device_error_to_gerror(const SmpError *err, const char *command, DfuStatus fallback);
/* a{sv}: smp-rc u, smp-group u (v2 only), smp-error s, smp-reason s (when given), command s */
GVariant *smp_device_error_to_variant(const SmpError *err, const char *command);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SmpError, smp_error_clear)

G_END_DECLS
