/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "dfu-job.h"

G_BEGIN_DECLS

/*
 * Reads the a{sv} options of Submit/SubmitUrl from m into options (which the
 * caller clears with dfu_job_options_clear). Unknown keys and wrong types fail
 * with org.dfud1.Error.InvalidArgument naming the key; returns 0 or a negative errno.
 */
int dfu_bus_options_read(sd_bus_message *m, DfuJobOptions *options, sd_bus_error *ret_error);

G_END_DECLS
