/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* where a node's current action stands; kept on disk so that restarts lose nothing */
typedef enum {
	HB_STAGE_NONE,       /* no action */
	HB_STAGE_SUBMITTING, /* the job is being submitted: written before the call */
	HB_STAGE_FETCHING,   /* a fetch-only job downloads the artifact into dfud's cache */
	HB_STAGE_FETCHED,    /* the artifact is in the cache; the install waits (window, update skip) */
	HB_STAGE_INSTALLING, /* the install job runs */
	HB_STAGE_FINISHED,   /* the job is over; the server has not taken the closing feedback yet */
	HB_STAGE_CLOSED,     /* the server has the outcome; the action never runs again */
} HbStage;

typedef struct {
	char *action; /* hawkBit's action id, NULL for none */
	HbStage stage;
	gboolean fetch_only; /* the job being submitted only downloads */
	char *job;           /* dfud's job object path */
	gboolean cancel_requested;
	guint code; /* dfud's status code once finished */
	char *status_name;
	char *message;
	gboolean cancelled; /* the job ended cancelled because the server asked */
	char *facts;        /* the configData the server last took */
	char *local_job;    /* the last update made beside the agent (dfuctl) that installedBase reported */
} HbRecord;

const char *hb_stage_to_string(HbStage stage);
/* a missing file is an empty record; a damaged one is an error */
HbRecord *hb_record_load(const char *path, GError **error);
/* written to a temporary file and renamed, so a crash leaves the old or the new record */
gboolean hb_record_save(const HbRecord *record, const char *path, GError **error);
/* forgets the action, keeps what the server knows of the node */
void hb_record_reset(HbRecord *record, const char *action);
void hb_record_free(HbRecord *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HbRecord, hb_record_free)

G_END_DECLS
