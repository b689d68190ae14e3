/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "hawkbit-config.h"
#include "hawkbit-dfud.h"
#include "hawkbit-http.h"

G_BEGIN_DECLS

typedef struct _HbNode HbNode;

/* The agent: one HTTP queue, one bus connection to dfud, and a node per hawkBit target. */
typedef struct {
	HbConfig *config;
	HbHttp *http;
	HbDfud *dfud;
	char *state_dir;
	GPtrArray *nodes;    /* HbNode */
	GHashTable *jobs;    /* dfud job path -> HbNode, for the jobs the nodes wait for */
	GHashTable *devices; /* device name -> a{sv} of its org.dfud1.Device object, when dfud has them */
	gboolean started;
	guint refresh_id; /* reading the devices again after a job finished */
	GMainLoop *loop;
} HbAgent;

/* loop: quit when the bus connection is lost */
HbAgent *hb_agent_new(HbConfig *config, const char *state_dir, GMainLoop *loop, GError **error);
/* reads dfud's jobs and devices, then starts every node's polling at a jittered time */
void hb_agent_start(HbAgent *self);
void hb_agent_free(HbAgent *self);
/* the node waits for this job's changes */
void hb_agent_track_job(HbAgent *self, const char *path, HbNode *node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HbAgent, hb_agent_free)

G_END_DECLS
