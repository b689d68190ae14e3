/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* opcode + handle in front of every ATT write and notification value */
#define BLE_ATT_HEADER 3

/* The numbers of a BLE connection that set how fast and how late data moves. */
typedef struct {
	guint mtu;            /* ATT MTU */
	double interval_ms;   /* connection interval */
	gboolean phy_2m;      /* LE 2M instead of LE 1M */
	guint data_length;    /* LL payload bytes per PDU */
	guint pdus_per_event; /* per direction; 0 = as many as fit in the interval */
	guint link_queue;     /* client→device writes the link holds */
} BleLinkModel;

/* on-air time of one unencrypted LL data PDU with payload bytes */
double ble_link_model_pdu_us(const BleLinkModel *model, guint payload);
/* LL PDUs one direction carries in one connection event */
guint ble_link_model_pdus_per_event(const BleLinkModel *model);
/* LL PDUs that carry one ATT PDU of att_len bytes (header included) */
guint ble_link_model_pdus_for_att(const BleLinkModel *model, gsize att_len);
/* most ATT write-value bytes per second client→device, with full-size writes */
double ble_link_model_ceiling(const BleLinkModel *model);

G_END_DECLS
