/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "dfu-bundle.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) bundle = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;

	fuzz_quiet_logs();
	plan = dfu_plan_load_bytes(bundle, "fuzz", &error);
	/* exactly one of a plan or an error */
	if ((plan == NULL) == (error == NULL))
		__builtin_trap();
	return 0;
}
