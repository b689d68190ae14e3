/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sim-faults.h"

typedef struct {
	SimFaultKind kind;
	guint64 n; /* request/response number or byte threshold */
	guint group;
	guint id;
	guint rc;
	guint remaining; /* uses left for error@, 1 for one-shot thresholds */
} SimFault;

struct _SimFaultPlan {
	GArray *faults;
};

static const struct {
	const char *name;
	SimFaultKind kind;
} fault_names[] = {
        {"drop-request", SIM_FAULT_DROP_REQUEST},
        {"corrupt-response", SIM_FAULT_CORRUPT_RESPONSE},
        {"truncate-response", SIM_FAULT_TRUNCATE_RESPONSE},
        {"garbage", SIM_FAULT_GARBAGE},
        {"silent-after", SIM_FAULT_SILENT_AFTER},
        {"hangup-at", SIM_FAULT_HANGUP_AT},
        {"reset-at", SIM_FAULT_RESET_AT},
        {"error", SIM_FAULT_ERROR},
        {"busy", SIM_FAULT_BUSY},
};

SimFaultPlan *
sim_fault_plan_new(void)
{
	SimFaultPlan *plan = g_new0(SimFaultPlan, 1);

	plan->faults = g_array_new(FALSE, TRUE, sizeof(SimFault));
	return plan;
}

void
sim_fault_plan_free(SimFaultPlan *plan)
{
	if (plan == NULL)
		return;
	g_array_unref(plan->faults);
	g_free(plan);
}

static gboolean
parse_number(const char *str, guint64 max, guint64 *out)
{
	return g_ascii_string_to_unsigned(str, 10, 0, max, out, NULL);
}

static gboolean
parse_error_args(const char *args, SimFault *fault)
{
	g_auto(GStrv) parts = g_strsplit(args, ":", -1);
	guint n = g_strv_length(parts);
	guint64 values[4] = {0, 0, 0, 1};

	if (n < 3 || n > 4)
		return FALSE;
	for (guint i = 0; i < n; i++) {
		if (!parse_number(parts[i], G_MAXUINT16, &values[i]))
			return FALSE;
	}
	fault->group = (guint)values[0];
	fault->id = (guint)values[1];
	fault->rc = (guint)values[2];
	fault->remaining = (guint)values[3];
	return fault->remaining > 0;
}

gboolean
sim_fault_plan_add(SimFaultPlan *plan, const char *spec, GError **error)
{
	const char *at = strchr(spec, '@');
	g_autofree char *name = NULL;
	SimFault fault = {.remaining = 1};
	gboolean known = FALSE;
	gboolean ok;

	if (at == NULL) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "fault \"%s\" lacks @", spec);
		return FALSE;
	}
	name = g_strndup(spec, (gsize)(at - spec));
	for (gsize i = 0; i < G_N_ELEMENTS(fault_names); i++) {
		if (g_strcmp0(fault_names[i].name, name) == 0) {
			fault.kind = fault_names[i].kind;
			known = TRUE;
		}
	}
	if (!known) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown fault \"%s\"", name);
		return FALSE;
	}
	if (fault.kind == SIM_FAULT_ERROR)
		ok = parse_error_args(at + 1, &fault);
	else
		ok = parse_number(at + 1, G_MAXUINT64, &fault.n) &&
		     (fault.n > 0 || fault.kind == SIM_FAULT_SILENT_AFTER ||
		      fault.kind == SIM_FAULT_HANGUP_AT || fault.kind == SIM_FAULT_RESET_AT);
	if (!ok) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "bad arguments in fault \"%s\"",
		            spec);
		return FALSE;
	}
	g_array_append_val(plan->faults, fault);
	return TRUE;
}

gboolean
sim_fault_plan_at(SimFaultPlan *plan, SimFaultKind kind, guint64 n)
{
	for (guint i = 0; i < plan->faults->len; i++) {
		const SimFault *fault = &g_array_index(plan->faults, SimFault, i);
		if (fault->kind == kind && fault->n == n)
			return TRUE;
	}
	return FALSE;
}

gboolean
sim_fault_plan_silent(SimFaultPlan *plan, guint64 n)
{
	for (guint i = 0; i < plan->faults->len; i++) {
		const SimFault *fault = &g_array_index(plan->faults, SimFault, i);
		if (fault->kind == SIM_FAULT_SILENT_AFTER && n > fault->n)
			return TRUE;
	}
	return FALSE;
}

gboolean
sim_fault_plan_take_error(SimFaultPlan *plan, guint group, guint id, guint *rc)
{
	for (guint i = 0; i < plan->faults->len; i++) {
		SimFault *fault = &g_array_index(plan->faults, SimFault, i);
		if (fault->kind == SIM_FAULT_ERROR && fault->group == group && fault->id == id &&
		    fault->remaining > 0) {
			fault->remaining--;
			*rc = fault->rc;
			return TRUE;
		}
	}
	return FALSE;
}

gboolean
sim_fault_plan_take_threshold(SimFaultPlan *plan, SimFaultKind kind, guint64 upload_bytes)
{
	for (guint i = 0; i < plan->faults->len; i++) {
		SimFault *fault = &g_array_index(plan->faults, SimFault, i);
		if (fault->kind == kind && fault->remaining > 0 && upload_bytes >= fault->n) {
			fault->remaining = 0;
			return TRUE;
		}
	}
	return FALSE;
}
