/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-connect-queue.h"

typedef struct {
	GString *order;
	char name;
	BleConnectTicket *ticket;
} Waiter;

static void
on_turn(gpointer user_data)
{
	Waiter *w = user_data;
	g_string_append_c(w->order, w->name);
}

static void
spin(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/* one attempt per adapter at a time, in the order they came; adapters do not wait for each other */
static void
test_turns(void)
{
	g_autoptr(GString) order = g_string_new(NULL);
	Waiter a = {order, 'a', NULL}, b = {order, 'b', NULL}, c = {order, 'c', NULL}, x = {order, 'x', NULL};

	a.ticket = ble_connect_queue_join("hci0", on_turn, &a);
	b.ticket = ble_connect_queue_join("hci0", on_turn, &b);
	c.ticket = ble_connect_queue_join("hci0", on_turn, &c);
	x.ticket = ble_connect_queue_join("hci1", on_turn, &x);
	/* never from inside join */
	g_assert_cmpstr(order->str, ==, "");
	spin();
	g_assert_cmpstr(order->str, ==, "ax");
	g_assert_cmpuint(ble_connect_queue_length("hci0"), ==, 3);

	/* one that gives up while waiting is skipped */
	ble_connect_queue_leave(b.ticket);
	spin();
	g_assert_cmpstr(order->str, ==, "ax");
	ble_connect_queue_leave(a.ticket);
	g_assert_cmpstr(order->str, ==, "ax");
	spin();
	g_assert_cmpstr(order->str, ==, "axc");
	ble_connect_queue_leave(c.ticket);
	ble_connect_queue_leave(x.ticket);
	ble_connect_queue_leave(NULL);
	g_assert_cmpuint(ble_connect_queue_length("hci0"), ==, 0);
	g_assert_cmpuint(ble_connect_queue_length("hci1"), ==, 0);
}

/* leaving before the turn came: no call afterwards */
static void
test_leave_before_turn(void)
{
	g_autoptr(GString) order = g_string_new(NULL);
	Waiter a = {order, 'a', NULL};

	a.ticket = ble_connect_queue_join("hci0", on_turn, &a);
	ble_connect_queue_leave(a.ticket);
	spin();
	g_assert_cmpstr(order->str, ==, "");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ble-connect-queue/turns", test_turns);
	g_test_add_func("/ble-connect-queue/leave-before-turn", test_leave_before_turn);
	return g_test_run();
}
