/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-config.h"
#include "dfu-fetch.h"
#include "dfu-runner.h"

G_BEGIN_DECLS

/*
 * The runner that does real updates: it reads the job's bundle into a
 * verified plan, opens the transport named by the target and drives the
 * protocol engine for it.
 */
DfuRunner *dfu_job_runner_new(DfuConfig *config);
void dfu_job_runner_free(DfuRunner *runner);
/* the daemon's fetcher (borrowed, it outlives the runner's attempts): atfota jobs look at the
 * first bytes of their URL with it; without one they do not */
void dfu_job_runner_set_fetcher(DfuRunner *runner, DfuFetcher *fetcher);

/* the daemon's option that runs dfu_job_runner_check_bundle() in a process of its own */
#define DFU_CHECK_BUNDLE_OPTION "--check-bundle"
/* the exit status of a check whose bundle was refused; any other failure is a crash */
#define DFU_CHECK_BUNDLE_EXIT_REFUSED 65

/*
 * The body of that process: parses the bundle at path as the verify step
 * would (without the trust checks) and returns the exit status: 0 when it
 * parses, DFU_CHECK_BUNDLE_EXIT_REFUSED when it is refused.
 */
int dfu_job_runner_check_bundle(const char *path, const char *name);

G_END_DECLS
