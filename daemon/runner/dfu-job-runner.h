/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-config.h"
#include "dfu-runner.h"

G_BEGIN_DECLS

/*
 * The runner that does real updates: it reads the job's bundle into a
 * verified plan, opens the transport named by the target and drives the
 * protocol engine for it.
 */
DfuRunner *dfu_job_runner_new(DfuConfig *config);
void dfu_job_runner_free(DfuRunner *runner);

G_END_DECLS
