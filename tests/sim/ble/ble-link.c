/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-link.h"

/* events run late when the loop was busy; this many are caught up in one tick at most */
#define BLE_MAX_EVENTS_PER_TICK 8

typedef struct {
	guint handle;
	GBytes *value;
	guint pdus_left; /* LL PDUs still to go over the air */
} BleAttPdu;

struct _BleLink {
	BleLinkModel model;
	BleLinkCallbacks callbacks;
	gpointer user_data;
	guint pdus_per_event;
	gint64 anchor_us; /* time of event 0 */
	gint64 last_event;
	GQueue writes;   /* BleAttPdu*, client→device */
	GQueue notifies; /* BleAttPdu*, device→client */
	guint timer;
	gboolean dispatching;
	gboolean closed;
};

static void
att_pdu_free(BleAttPdu *pdu)
{
	g_bytes_unref(pdu->value);
	g_free(pdu);
}

BleLink *
ble_link_new(const BleLinkModel *model, const BleLinkCallbacks *callbacks, gpointer user_data)
{
	BleLink *link = g_new0(BleLink, 1);

	link->model = *model;
	link->callbacks = *callbacks;
	link->user_data = user_data;
	link->pdus_per_event = ble_link_model_pdus_per_event(model);
	link->anchor_us = g_get_monotonic_time();
	g_queue_init(&link->writes);
	g_queue_init(&link->notifies);
	return link;
}

static void
link_destroy(BleLink *link)
{
	g_clear_handle_id(&link->timer, g_source_remove);
	g_queue_clear_full(&link->writes, (GDestroyNotify)att_pdu_free);
	g_queue_clear_full(&link->notifies, (GDestroyNotify)att_pdu_free);
	g_free(link);
}

void
ble_link_free(BleLink *link)
{
	if (link == NULL)
		return;
	if (link->dispatching) {
		link->closed = TRUE;
		return;
	}
	link_destroy(link);
}

gboolean
ble_link_write_room(BleLink *link)
{
	return !link->closed && g_queue_get_length(&link->writes) < link->model.link_queue;
}

static double
interval_us(BleLink *link)
{
	return link->model.interval_ms * 1000.0;
}

/* the last event at or before now */
static gint64
event_index(BleLink *link, gint64 now)
{
	return (gint64)((double)(now - link->anchor_us) / interval_us(link));
}

static gboolean on_event_timer(gpointer data);

/* arms the timer for the next event; events that passed while idle carried nothing */
static void
schedule(BleLink *link)
{
	gint64 now = g_get_monotonic_time();
	gint64 next_us;

	/* while events run, the timer is armed once they are done */
	if (link->timer != 0 || link->closed || link->dispatching ||
	    (g_queue_is_empty(&link->writes) && g_queue_is_empty(&link->notifies)))
		return;
	link->last_event = MAX(link->last_event, event_index(link, now));
	next_us = link->anchor_us + (gint64)((double)(link->last_event + 1) * interval_us(link));
	link->timer = g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)MAX((next_us - now + 999) / 1000, 0),
	                                 on_event_timer, link, NULL);
}

static void
enqueue(BleLink *link, GQueue *queue, guint handle, const guint8 *value, gsize len)
{
	BleAttPdu *pdu = g_new0(BleAttPdu, 1);

	pdu->handle = handle;
	pdu->value = g_bytes_new(value, len);
	pdu->pdus_left = ble_link_model_pdus_for_att(&link->model, len + BLE_ATT_HEADER);
	g_queue_push_tail(queue, pdu);
	schedule(link);
}

void
ble_link_write(BleLink *link, guint handle, const guint8 *value, gsize len)
{
	enqueue(link, &link->writes, handle, value, len);
}

void
ble_link_notify(BleLink *link, guint handle, const guint8 *value, gsize len)
{
	enqueue(link, &link->notifies, handle, value, len);
}

guint
ble_link_write_pending(BleLink *link)
{
	return g_queue_get_length(&link->writes);
}

guint
ble_link_notify_pending(BleLink *link)
{
	return g_queue_get_length(&link->notifies);
}

typedef void (*DeliverFunc)(guint handle, const guint8 *value, gsize len, gpointer user_data);

/* one direction of one event: PDUs go until the budget or the queue ends */
static void
run_direction(BleLink *link, GQueue *queue, gboolean gated, DeliverFunc deliver)
{
	guint budget = link->pdus_per_event;

	while (!link->closed && !g_queue_is_empty(queue)) {
		BleAttPdu *head = g_queue_peek_head(queue);
		guint n = MIN(budget, head->pdus_left);

		head->pdus_left -= n;
		budget -= n;
		if (head->pdus_left > 0)
			break;
		/* a device without buffers leaves the write in the link; it is retried next event */
		if (gated && !link->callbacks.can_deliver(link->user_data))
			break;
		head = g_queue_pop_head(queue);
		deliver(head->handle, g_bytes_get_data(head->value, NULL), g_bytes_get_size(head->value),
		        link->user_data);
		att_pdu_free(head);
		if (budget == 0)
			break;
	}
}

static void
run_event(BleLink *link)
{
	gboolean was_full = !ble_link_write_room(link);

	/* answers made during this event leave at the next one */
	run_direction(link, &link->notifies, FALSE, link->callbacks.deliver_notify);
	run_direction(link, &link->writes, TRUE, link->callbacks.deliver_write);
	if (was_full && ble_link_write_room(link))
		link->callbacks.write_space(link->user_data);
}

static gboolean
on_event_timer(gpointer data)
{
	BleLink *link = data;
	gint64 due = event_index(link, g_get_monotonic_time());
	guint ran = 0;

	link->timer = 0;
	link->dispatching = TRUE;
	/* the timer may fire a little early: at least the event it was armed for runs */
	due = MAX(due, link->last_event + 1);
	while (link->last_event < due && ran < BLE_MAX_EVENTS_PER_TICK && !link->closed) {
		link->last_event++;
		ran++;
		run_event(link);
	}
	link->last_event = MAX(link->last_event, due);
	link->dispatching = FALSE;
	if (link->closed)
		link_destroy(link);
	else
		schedule(link);
	return G_SOURCE_REMOVE;
}
