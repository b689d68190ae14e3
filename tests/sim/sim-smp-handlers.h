/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-faults.h"
#include "sim-mcuboot.h"
#include "smp-message.h"

G_BEGIN_DECLS

/* what the device knows when it answers */
typedef struct {
	SimMcuboot *model;
	gboolean params; /* mcumgr params command built in */
	guint buf_size;
	guint buf_count;
	gboolean errors_v2; /* answers v2 requests with `err {group, rc}` and v1 with a translated rc */
} SimHandlerContext;

/* the outcome of one request */
typedef struct {
	cbor_item_t *payload; /* success: the response map */
	gboolean failed;
	gboolean group_error; /* TRUE: rc is a code of group; FALSE: an SMP rc */
	guint group;
	guint rc;
	guint64 delay_us;     /* flash time before the answer */
	gsize upload_written; /* bytes written to flash */
	gboolean reset;       /* reboot once the answer is out */
} SimReply;

void sim_smp_handle(SimHandlerContext *ctx, const SmpMessage *req, SimReply *reply);
/*
 * One request message in, the device's response message out: the faults
 * planned for it (faults may be NULL; number counts requests from 1), the
 * handler, and any error in the style the request's version asks for. NULL
 * when msg has no SMP header. reply keeps what the server acts on (delay,
 * bytes written, reset); its payload is already in the message.
 */
GBytes *sim_smp_respond(SimHandlerContext *ctx, const guint8 *msg, gsize len, SimFaultPlan *faults,
                        guint64 number, SimReply *reply);
void sim_reply_clear(SimReply *reply);
/* v1 rc for a group code, as a current server translates it for v1 requests */
guint sim_group_rc_to_v1(guint group, guint rc);

G_END_DECLS
