/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-connect-queue.h"

struct _BleConnectTicket {
	char *adapter;
	BleConnectTurnFunc func;
	gpointer user_data;
	gboolean has_turn;
};

typedef struct {
	GQueue tickets; /* the head holds the turn once its call is made */
	guint turn_idle;
} AdapterQueue;

/* adapter name -> AdapterQueue; one main loop owns it */
static GHashTable *queues;

static void
adapter_queue_free(AdapterQueue *q)
{
	g_clear_handle_id(&q->turn_idle, g_source_remove);
	g_free(q);
}

static AdapterQueue *
queue_for(const char *adapter, gboolean create)
{
	AdapterQueue *q;

	if (queues == NULL) {
		if (!create)
			return NULL;
		queues = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		                               (GDestroyNotify)adapter_queue_free);
	}
	q = g_hash_table_lookup(queues, adapter);
	if (q == NULL && create) {
		q = g_new0(AdapterQueue, 1);
		g_queue_init(&q->tickets);
		g_hash_table_insert(queues, g_strdup(adapter), q);
	}
	return q;
}

static gboolean
on_turn_idle(gpointer user_data)
{
	AdapterQueue *q = user_data;
	BleConnectTicket *head = g_queue_peek_head(&q->tickets);

	q->turn_idle = 0;
	if (head != NULL && !head->has_turn) {
		head->has_turn = TRUE;
		head->func(head->user_data);
	}
	return G_SOURCE_REMOVE;
}

/* the turn is always handed over from the loop, never inside join or leave */
static void
schedule_turn(AdapterQueue *q)
{
	BleConnectTicket *head = g_queue_peek_head(&q->tickets);

	if (head != NULL && !head->has_turn && q->turn_idle == 0)
		q->turn_idle = g_idle_add(on_turn_idle, q);
}

BleConnectTicket *
ble_connect_queue_join(const char *adapter, BleConnectTurnFunc func, gpointer user_data)
{
	AdapterQueue *q = queue_for(adapter, TRUE);
	BleConnectTicket *t = g_new0(BleConnectTicket, 1);

	t->adapter = g_strdup(adapter);
	t->func = func;
	t->user_data = user_data;
	g_queue_push_tail(&q->tickets, t);
	schedule_turn(q);
	return t;
}

void
ble_connect_queue_leave(BleConnectTicket *t)
{
	AdapterQueue *q;

	if (t == NULL)
		return;
	q = queue_for(t->adapter, FALSE);
	if (q != NULL) {
		g_queue_remove(&q->tickets, t);
		if (g_queue_is_empty(&q->tickets))
			g_hash_table_remove(queues, t->adapter);
		else
			schedule_turn(q);
	}
	if (queues != NULL && g_hash_table_size(queues) == 0)
		g_clear_pointer(&queues, g_hash_table_unref);
	g_free(t->adapter);
	g_free(t);
}

guint
ble_connect_queue_length(const char *adapter)
{
	AdapterQueue *q = queue_for(adapter, FALSE);

	return q != NULL ? g_queue_get_length(&q->tickets) : 0;
}
