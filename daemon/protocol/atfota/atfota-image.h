/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* how many of an image's first bytes tell its kind */
#define ATFOTA_IMAGE_HEAD_SIZE 32

/*
 * Whether an image whose first bytes are head suits AT#XFOTA op (DFU_FOTA_OP_*),
 * judged before the module downloads or receives any of it; source names the
 * image in the message. Error: IMAGE_KIND_MISMATCH.
 */
gboolean atfota_image_check(guint op, const guint8 *head, gsize len, const char *source, GError **error);

G_END_DECLS
