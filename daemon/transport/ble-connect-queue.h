/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A controller takes one LE connection attempt at a time: BlueZ answers a
 * second Connect() with InProgress. Within the daemon attempts on one
 * adapter therefore wait their turn here instead of racing for it.
 */
typedef struct _BleConnectTicket BleConnectTicket;

typedef void (*BleConnectTurnFunc)(gpointer user_data);

/* queues for the adapter; func is called from the loop when it is this ticket's turn */
BleConnectTicket *ble_connect_queue_join(const char *adapter, BleConnectTurnFunc func, gpointer user_data);
/* leaves the queue or gives the turn to the next one; NULL is ignored */
void ble_connect_queue_leave(BleConnectTicket *ticket);
/* attempts waiting or running on the adapter */
guint ble_connect_queue_length(const char *adapter);

G_END_DECLS
