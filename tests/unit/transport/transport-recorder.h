/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"

G_BEGIN_DECLS

/* what a transport reported to its owner; each report stops the loop */
typedef struct {
	GMainLoop *loop;
	gboolean opened;
	GError *open_error;
	gboolean closed;
	GError *close_error;
	GPtrArray *packets; /* GBytes* */
} TransportRecorder;

void transport_recorder_init(TransportRecorder *rec);
void transport_recorder_clear(TransportRecorder *rec);
/* makes rec the owner of t */
void transport_recorder_attach(TransportRecorder *rec, DfuTransport *t);

G_END_DECLS
