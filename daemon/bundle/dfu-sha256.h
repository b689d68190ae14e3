/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DFU_SHA256_LEN 32
#define DFU_SHA256_HEX_LEN 64

/* A running SHA-256 over a stream (a bundle as it is copied or downloaded). */
typedef struct _DfuSha256 DfuSha256;

DfuSha256 *dfu_sha256_new(void);
void dfu_sha256_free(DfuSha256 *self);
void dfu_sha256_reset(DfuSha256 *self);
void dfu_sha256_update(DfuSha256 *self, const void *data, gsize len);
/* the digest of what was fed so far, in lower-case hex; the hash stays open */
char *dfu_sha256_hex(const DfuSha256 *self);

/* s holds exactly a digest in hex, either case */
gboolean dfu_sha256_is_hex(const char *s);

/* the digest of one buffer */
gboolean dfu_sha256_digest(const void *data, gsize len, guint8 out[DFU_SHA256_LEN], GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuSha256, dfu_sha256_free)

G_END_DECLS
