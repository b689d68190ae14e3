/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"

static GLogWriterOutput
drop_logs(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	return G_LOG_WRITER_HANDLED;
}

void
fuzz_quiet_logs(void)
{
	static gboolean quiet = FALSE;

	/* GLib takes a writer only once per process */
	if (quiet)
		return;
	g_log_set_writer_func(drop_logs, NULL, NULL);
	quiet = TRUE;
}
