/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-mcuboot.h"
#include "smp-message.h"

G_BEGIN_DECLS

/* what the device knows when it answers */
typedef struct {
	SimMcuboot *model;
	gboolean params; /* mcumgr params command built in */
	guint buf_size;
	guint buf_count;
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
void sim_reply_clear(SimReply *reply);
/* v1 rc for a group code, as a current server translates it for v1 requests */
guint sim_group_rc_to_v1(guint group, guint rc);

G_END_DECLS
