/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DFU_RETRY_DELAY_MAX_MS 60000u

/* back-off before the next attempt: base × 2^(attempt−1), capped at 60 s */
guint dfu_retry_delay_ms(guint base_ms, guint attempt);

G_END_DECLS
