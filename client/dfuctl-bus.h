/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

#include "dfuctl-job.h"

G_BEGIN_DECLS

#define DFUCTL_BUS_NAME "org.dfud1"
#define DFUCTL_MANAGER_PATH "/org/dfud1"
#define DFUCTL_MANAGER_INTERFACE "org.dfud1.Manager"
#define DFUCTL_JOB_INTERFACE "org.dfud1.Job"
#define DFUCTL_DEVICE_INTERFACE "org.dfud1.Device"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(sd_bus_error, sd_bus_error_free)

/* the system bus, or the session bus when session is set */
sd_bus *dfuctl_bus_open(gboolean session, GError **error);
/* r and bus_error of a failed call as a DFU_ERROR; returns FALSE when r < 0 */
gboolean dfuctl_bus_check(int r, const sd_bus_error *bus_error, GError **error);
/* the unique name of the daemon, starting it when the bus can */
char *dfuctl_bus_get_daemon(sd_bus *bus, GError **error);
/* all properties of a job; reply_cookie (optional) gets the cookie of the reply */
DfuctlJob *dfuctl_bus_get_job(sd_bus *bus, const char *path, guint64 *reply_cookie, GError **error);
/* the history of a job as a(xs): microseconds since the epoch and text */
GVariant *dfuctl_bus_get_log(sd_bus *bus, const char *path, GError **error);
/* the finished jobs the daemon remembers, oldest first, as aa{sv} */
GVariant *dfuctl_bus_get_history(sd_bus *bus, GError **error);
/* the properties of the manager as a{sv} */
GVariant *dfuctl_bus_get_manager(sd_bus *bus, GError **error);
/* every object of the daemon with its interfaces and properties (a{oa{sa{sv}}}); reply_cookie
 * (optional) gets the cookie of the reply */
GVariant *dfuctl_bus_get_objects(sd_bus *bus, guint64 *reply_cookie, GError **error);
typedef void (*DfuctlBusObjectFunc)(const char *path, GVariant *properties, gpointer data);
/* calls each_object with the path and properties (a{sv}) of every object of objects (as
 * dfuctl_bus_get_objects returns them) that has interface */
void dfuctl_bus_for_each_object(GVariant *objects, const char *interface, DfuctlBusObjectFunc each_object,
                                gpointer data);
/*
 * The jobs in one of states (NULL or empty: any) of device (a name or a
 * target; NULL: any), by id, with their device's name where the daemon has
 * one; read page_size at a time (0: in one call)
 */
GPtrArray *dfuctl_bus_query_jobs(sd_bus *bus, const char *const *states, const char *device,
                                 guint32 page_size, GError **error);
/* every device as an a{sv} of its properties and "Path", by name */
GPtrArray *dfuctl_bus_get_devices(sd_bus *bus, GError **error);

G_END_DECLS
