/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "hawkbit-agent.h"
#include "hawkbit-config.h"

G_BEGIN_DECLS

/*
 * One hawkBit target: its poll loop, the action it works on as one dfud job,
 * and the feedback. States are the HbStage of its persisted record; events
 * are the poll timer, HTTP answers and the job's changes on the bus.
 */
HbNode *hb_node_new(HbAgent *agent, const HbNodeConfig *config, GError **error);
void hb_node_free(HbNode *node);
const char *hb_node_get_controller_id(HbNode *node);
/* the first poll after delay_s; objects (dfud's jobs) settle a submission a restart interrupted */
void hb_node_start(HbNode *node, double delay_s, GVariant *objects);
void hb_node_job_changed(HbNode *node, GVariant *changed);
/* the job finished, or dfud came back: read the job's state again */
void hb_node_check_job(HbNode *node);

G_END_DECLS
