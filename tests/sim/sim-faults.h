/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The fault plan of --fault SPEC options. Request and response numbers count
 * from 1 over the simulator's life; byte thresholds count upload bytes
 * written to flash.
 */
typedef enum {
	SIM_FAULT_DROP_REQUEST,      /* drop-request@N */
	SIM_FAULT_CORRUPT_RESPONSE,  /* corrupt-response@N */
	SIM_FAULT_TRUNCATE_RESPONSE, /* truncate-response@N */
	SIM_FAULT_GARBAGE,           /* garbage@N */
	SIM_FAULT_SILENT_AFTER,      /* silent-after@N */
	SIM_FAULT_HANGUP_AT,         /* hangup-at@BYTES */
	SIM_FAULT_RESET_AT,          /* reset-at@BYTES */
	SIM_FAULT_ERROR,             /* error@GROUP:ID:RC[:COUNT] */
	SIM_FAULT_BUSY,              /* busy@N */
} SimFaultKind;

typedef struct _SimFaultPlan SimFaultPlan;

SimFaultPlan *sim_fault_plan_new(void);
void sim_fault_plan_free(SimFaultPlan *plan);
gboolean sim_fault_plan_add(SimFaultPlan *plan, const char *spec, GError **error);

/* a fault of kind planned for exactly request/response number n */
gboolean sim_fault_plan_at(SimFaultPlan *plan, SimFaultKind kind, guint64 n);
/* silent-after: TRUE when request n comes after the silence started */
gboolean sim_fault_plan_silent(SimFaultPlan *plan, guint64 n);
/* error@: the rc to answer for group/id, using up one of its count */
gboolean sim_fault_plan_take_error(SimFaultPlan *plan, guint group, guint id, guint *rc);
/* hangup-at / reset-at: TRUE once, when upload_bytes reached the threshold */
gboolean sim_fault_plan_take_threshold(SimFaultPlan *plan, SimFaultKind kind, guint64 upload_bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimFaultPlan, sim_fault_plan_free)

G_END_DECLS
