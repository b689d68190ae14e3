/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-job.h"

G_BEGIN_DECLS

/*
 * How the queue starts the work of a job without knowing protocols or
 * transports. A runner drives one job attempt asynchronously on the main
 * loop, updates the job's phase and progress, and calls done exactly once
 * (never from inside start). error's code is a DfuStatus in DFU_ERROR;
 * device_error is an optional a{sv} of the raw device code. result_code is
 * the outcome for success paths (SUCCESS, STAGED, UP_TO_DATE), when error is
 * NULL or holds that same code (then its message is the outcome's own).
 */
typedef void (*DfuRunnerDoneFunc)(DfuJob *job, guint result_code, const GError *error, GVariant *device_error,
                                  gpointer user_data);

typedef struct _DfuRunner DfuRunner;

typedef struct {
	/* returns an opaque attempt handle; done is called later with it finished */
	gpointer (*start)(DfuRunner *runner, DfuJob *job, DfuRunnerDoneFunc done, gpointer user_data);
	/* asks the attempt to stop; done is still called (with CANCELLED or the real outcome) */
	void (*cancel)(DfuRunner *runner, gpointer attempt);
	/* the key of the device a job talks to; two jobs with one key never run at once */
	char *(*device_key)(DfuRunner *runner, DfuJob *job);
	/* optional: the link a job's device is reached through that several devices share (a BLE
	 * adapter), and how many jobs may use it at once; NULL when there is none */
	char *(*link_key)(DfuRunner *runner, DfuJob *job, guint *limit);
	/* optional: TRUE when the job's device downloads the job's URL itself (a cellular modem);
	 * the daemon then fetches nothing and the job runs without a bundle */
	gboolean (*fetches_itself)(DfuRunner *runner, DfuJob *job);
	/* optional: TRUE when jobs of kind can run on the protocol of target (a URI); without it
	 * only updates run */
	gboolean (*supports_kind)(DfuRunner *runner, const char *target, DfuJobKind kind);
} DfuRunnerOps;

struct _DfuRunner {
	const DfuRunnerOps *ops;
};

G_END_DECLS
