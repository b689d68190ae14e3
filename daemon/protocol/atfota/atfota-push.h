/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "at-link.h"
#include "dfu-image-data.h"

G_BEGIN_DECLS

/*
 * An image pushed over the UART to a Serial Modem that takes one
 * (AT#XDFUINIT, AT#XDFUWRITE in data mode, AT#XDFUAPPLY): init with the
 * size, chunks each written at its offset and acknowledged by an #XDFU
 * notification, then apply. The module then activates the image at its next
 * reset, as one it downloaded itself.
 */
typedef struct _AtfotaPush AtfotaPush;

typedef struct {
	guint type;               /* DFU image type: 0 app, 1 modem delta, 3 bootloader */
	gsize chunk_size;         /* bytes per AT#XDFUWRITE */
	guint command_timeout_ms; /* for the OK of a write and of apply */
	guint write_timeout_ms;   /* for AT#XDFUINIT (it erases) and each write's #XDFU */
	guint write_retries;      /* a chunk the module failed is written again this often */
} AtfotaPushOptions;

typedef struct {
	/* bytes the module acknowledged */
	void (*progress)(guint64 done, guint64 total, gpointer user_data);
	void (*log)(const char *line, gpointer user_data);
	/* NULL: applied; the module activates the image at its next reset */
	void (*done)(const GError *error, gpointer user_data);
} AtfotaPushCallbacks;

/* borrows link; takes a reference on image */
AtfotaPush *atfota_push_new(AtLink *link, DfuImageData *image, const AtfotaPushOptions *options,
                            const AtfotaPushCallbacks *callbacks, gpointer user_data);
void atfota_push_start(AtfotaPush *push);
/* the lines the link does not take as a command's answer: #XDATAMODE and #XDFU */
void atfota_push_notification(AtfotaPush *push, const AtLine *line);
/* stops between two steps; a chunk already queued still goes out */
void atfota_push_free(AtfotaPush *push);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AtfotaPush, atfota_push_free)

G_END_DECLS
