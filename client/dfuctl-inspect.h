/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"

G_BEGIN_DECLS

/* the lines `dfuctl inspect` prints for a plan */
char *dfuctl_format_plan(const DfuPlan *plan);
/* the plan as one JSON line */
char *dfuctl_json_plan(const DfuPlan *plan);
/* "dfuctl: <file>: failed: <name> (<code>): <message>" and the hint */
char *dfuctl_format_bundle_failure(const GError *error);

G_END_DECLS
