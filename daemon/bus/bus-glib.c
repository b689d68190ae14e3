/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <poll.h>

#include "bus-glib.h"
#include "dfu-fd-watch.h"

typedef struct {
	GSource source;
	sd_bus *bus;
	gpointer fd_tag;
	GIOCondition condition;
} DfuBusSource;

static GIOCondition
poll_to_condition(int events)
{
	GIOCondition cond = 0;

	if (events & POLLIN)
		cond |= G_IO_IN;
	if (events & POLLOUT)
		cond |= G_IO_OUT;
	return cond;
}

/* milliseconds until sd-bus wants to be called, -1 for never */
static gint
bus_source_timeout_ms(DfuBusSource *self)
{
	guint64 deadline = 0;
	gint64 now;

	if (sd_bus_get_timeout(self->bus, &deadline) <= 0 || deadline == UINT64_MAX)
		return -1;
	/* both clocks are CLOCK_MONOTONIC on Linux */
	now = g_get_monotonic_time();
	if (deadline <= (guint64)now)
		return 0;
	return (gint)MIN((deadline - (guint64)now + 999) / 1000, (guint64)G_MAXINT);
}

static gboolean
bus_source_prepare(GSource *source, gint *timeout)
{
	DfuBusSource *self = (DfuBusSource *)source;
	int events = sd_bus_get_events(self->bus);

	/* a closed bus still has to be dispatched once so that the failure is seen */
	if (events < 0) {
		*timeout = 0;
		return TRUE;
	}
	/* modifying the fd wakes the loop up: doing it on every prepare would spin */
	if (poll_to_condition(events) != self->condition) {
		self->condition = poll_to_condition(events);
		g_source_modify_unix_fd(source, self->fd_tag, self->condition | G_IO_ERR | G_IO_HUP);
	}
	*timeout = bus_source_timeout_ms(self);
	return *timeout == 0;
}

static gboolean
bus_source_check(GSource *source)
{
	DfuBusSource *self = (DfuBusSource *)source;

	if (g_source_query_unix_fd(source, self->fd_tag) != 0)
		return TRUE;
	return bus_source_timeout_ms(self) == 0;
}

static gboolean
bus_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	DfuBusSource *self = (DfuBusSource *)source;
	int r;

	do {
		r = sd_bus_process(self->bus, NULL);
	} while (r > 0);

	if (r < 0 || !sd_bus_is_open(self->bus)) {
		if (r < 0)
			g_debug("bus connection failed: %s", g_strerror(-r));
		if (callback != NULL)
			callback(user_data);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void
bus_source_finalize(GSource *source)
{
	DfuBusSource *self = (DfuBusSource *)source;

	self->bus = sd_bus_unref(self->bus);
}

static GSourceFuncs bus_source_funcs = {
        .prepare = bus_source_prepare,
        .check = bus_source_check,
        .dispatch = bus_source_dispatch,
        .finalize = bus_source_finalize,
};

GSource *
dfu_bus_source_new(sd_bus *bus)
{
	GSource *source;
	DfuBusSource *self;
	int fd;

	g_return_val_if_fail(bus != NULL, NULL);

	fd = sd_bus_get_fd(bus);
	g_return_val_if_fail(fd >= 0, NULL);

	source = g_source_new(&bus_source_funcs, sizeof(DfuBusSource));
	g_source_set_static_name(source, "sd-bus");
	self = (DfuBusSource *)source;
	self->bus = sd_bus_ref(bus);
	self->condition = G_IO_IN;
	self->fd_tag = g_source_add_unix_fd(source, fd, self->condition | G_IO_ERR | G_IO_HUP);
	dfu_fd_watch_prepare(source);
	return source;
}

guint
dfu_bus_attach_glib(sd_bus *bus, GMainContext *context, GSourceFunc on_disconnect, gpointer user_data)
{
	g_autoptr(GSource) source = dfu_bus_source_new(bus);

	if (source == NULL)
		return 0;
	g_source_set_callback(source, on_disconnect, user_data, NULL);
	return g_source_attach(source, context);
}
