/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The bytes of one image as an engine sends them, read a chunk at a time:
 * from memory, or from a file, so that a running job holds a chunk of its
 * image rather than all of it. Reference counted; reads may come from any
 * thread.
 */
typedef struct _DfuImageData DfuImageData;

DfuImageData *dfu_image_data_new_bytes(GBytes *bytes);
/* the size bytes at offset of the open file fd, which the image data takes over */
DfuImageData *dfu_image_data_new_file(int fd, guint64 offset, gsize size);
DfuImageData *dfu_image_data_ref(DfuImageData *self);
void dfu_image_data_unref(DfuImageData *self);

gsize dfu_image_data_get_size(DfuImageData *self);
/* copies len bytes from off into buf; a file that cannot be read or ends early is BUNDLE_UNREADABLE */
gboolean dfu_image_data_read(DfuImageData *self, guint64 off, guint8 *buf, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuImageData, dfu_image_data_unref)

G_END_DECLS
