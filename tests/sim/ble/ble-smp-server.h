/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-smp-device.h"

G_BEGIN_DECLS

typedef struct {
	SimSmpDeviceConfig device; /* buf_size: largest request message */
	gboolean reassembly;       /* a request may span writes */
	gboolean drop_when_full;   /* a request beyond buf_count is discarded, not held in the link */
} BleSmpConfig;

typedef struct {
	/* one whole response message, to be split into notifications */
	void (*send)(const guint8 *msg, gsize len, gpointer user_data);
	/* the device reboots: the link drops (the model already did its reboot) */
	void (*reset)(gpointer user_data);
	/* the device drops the link (disconnect-at fault) */
	void (*disconnect)(gpointer user_data);
} BleSmpCallbacks;

/*
 * SMP over GATT: reassembles requests from ATT writes by the header length
 * for the device; a request keeps its netbuf until its answer is over the air.
 */
typedef struct _BleSmpServer BleSmpServer;

BleSmpServer *ble_smp_server_new(const BleSmpConfig *config, SimMcuboot *model, SimFaultPlan *faults,
                                 const BleSmpCallbacks *callbacks, gpointer user_data);
void ble_smp_server_free(BleSmpServer *server);
/* one ATT write value */
void ble_smp_server_write(BleSmpServer *server, const guint8 *value, gsize len);
/* FALSE while all netbufs are taken and full requests must wait in the link */
gboolean ble_smp_server_can_accept(BleSmpServer *server);
/* the last notification of an answer went over the air: its netbuf is free */
void ble_smp_server_response_sent(BleSmpServer *server);
/* the connection went: partial and queued requests are lost */
void ble_smp_server_link_lost(BleSmpServer *server);
gboolean ble_smp_server_write_state(BleSmpServer *server, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BleSmpServer, ble_smp_server_free)

G_END_DECLS
