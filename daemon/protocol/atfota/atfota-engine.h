/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "at-line.h"
#include "dfu-engine.h"
#include "dfu-fetch.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * An nRF91 module running Nordic's AT firmware updates itself: it is given
 * a URL with AT#XFOTA, downloads the image over LTE, reports #XFOTA
 * notifications, and installs the image at its next reset. This engine
 * drives and watches that: start, progress, a stalled download stopped and
 * resumed, the reset, the result the module reports after it. Given a local
 * file instead, the engine pushes the image over the UART itself where the
 * firmware takes one (Serial Modem's AT#XDFU* commands), then activates and
 * verifies it the same way.
 */
/* what Nordic's own host script writes per AT#XDFUWRITE */
#define ATFOTA_PUSH_CHUNK_SIZE 4096

typedef struct {
	guint op; /* DFU_FOTA_OP_* */
	const char *url;
	/* instead of url: a local image the host pushes over the UART (Serial Modem with AT#XDFUINIT) */
	const char *file;
	const char *source;    /* what the image is called in messages; NULL: file */
	gsize push_chunk_size; /* bytes per AT#XDFUWRITE; 0: ATFOTA_PUSH_CHUNK_SIZE */
	gboolean has_sec_tag;
	guint sec_tag;
	gboolean has_pdn;
	guint pdn;
	const char *expected_version; /* NULL: any version other than before will do */
	gboolean confirm;             /* FALSE: stop once the module holds the image (STAGED) */
	AtTerminator terminator;
	guint command_timeout_ms;
	guint ready_timeout_ms;  /* for Ready after opening, before probing with AT */
	guint probes;            /* AT probes before the module counts as silent */
	guint stall_timeout_ms;  /* a download without a notification for this long is stalled */
	guint stall_retries;     /* stalls stopped and resumed before the attempt fails */
	guint reset_timeout_ms;  /* from AT#XRESET to Ready */
	guint result_timeout_ms; /* from Ready to the update's result */
	/* what an earlier attempt of the job left (the engine's identity a{sv}), NULL for none */
	GVariant *identity;
	/* borrowed: the first bytes at url are checked against the op before the module downloads
	 * them, when the daemon reaches the server; NULL: the module's own check alone */
	DfuFetcher *fetcher;
} AtfotaOptions;

/* takes the transport, which must pass bytes through unframed */
DfuEngine *atfota_engine_new(DfuTransport *transport, const AtfotaOptions *options,
                             const DfuEngineCallbacks *callbacks, gpointer user_data);

G_END_DECLS
