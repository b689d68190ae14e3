/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "dfu-bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GLogWriterOutput
drop_logs(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	return G_LOG_WRITER_HANDLED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean quiet = FALSE;
	g_autoptr(GBytes) bundle = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;

	if (!quiet) {
		/* skipped-entry messages would flood the fuzzer's output */
		g_log_set_writer_func(drop_logs, NULL, NULL);
		quiet = TRUE;
	}
	plan = dfu_plan_load_bytes(bundle, "fuzz", &error);
	/* exactly one of a plan or an error */
	if ((plan == NULL) == (error == NULL))
		__builtin_trap();
	return 0;
}
