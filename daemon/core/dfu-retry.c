/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-retry.h"

guint
dfu_retry_delay_ms(guint base_ms, guint attempt)
{
	guint64 delay = base_ms;

	for (guint i = 1; i < attempt && delay < DFU_RETRY_DELAY_MAX_MS; i++)
		delay *= 2;
	return (guint)MIN(delay, DFU_RETRY_DELAY_MAX_MS);
}
