/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* bytes as lower-case hex digits, two per byte; free with g_free */
char *dfu_hex_encode(const guint8 *data, gsize len);

G_END_DECLS
