/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-job.h"

G_BEGIN_DECLS

/*
 * The job events an operator reads in the journal, each with its own
 * MESSAGE_ID and the fields DFUD_JOB, DFUD_TARGET, DFUD_DEVICE, DFUD_EVENT,
 * DFUD_KIND, DFUD_ATTEMPT and, where there is one, DFUD_STATUS_CODE and
 * DFUD_STATUS_NAME.
 * Entries go to the journal, or, when DFUD_JOURNAL_EXPORT names a file, are
 * appended to it in the journal's export format (for tests without journald).
 */
typedef enum {
	DFU_JOURNAL_SUBMITTED,
	DFU_JOURNAL_STARTED,  /* the job's first attempt begins */
	DFU_JOURNAL_ATTEMPT,  /* a later attempt begins, after a retry or a restart */
	DFU_JOURNAL_RETRY,    /* an attempt failed with a recoverable code; another follows */
	DFU_JOURNAL_FINISHED, /* the job succeeded, failed or was cancelled */
} DfuJournalEvent;

/* what the event says beyond the job itself */
typedef struct {
	const char *device;  /* the device's name from devices.d, NULL: the target stands for it */
	guint status_code;   /* RETRY: the cause; FINISHED: the result; else unused */
	const char *message; /* RETRY: the cause's message; FINISHED: the job's message */
	guint retry_delay_ms;
	guint download; /* RETRY: the number of the failed download when a download failed, else 0 */
} DfuJournalDetail;

void dfu_journal_job_event(DfuJournalEvent event, DfuJob *job, const DfuJournalDetail *detail);

/* the MESSAGE_ID of an event, 32 hex digits; for the documentation and the tests */
const char *dfu_journal_message_id(DfuJournalEvent event);

G_END_DECLS
