/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The simulator's serial port: a pty whose slave is reachable through a
 * symlink, carried at baud/10 bytes per second in each direction (8N1), or
 * unthrottled with baud 0. A hang-up closes the master and removes the
 * symlink; a new pty appears after a delay, as a USB CDC device re-enumerates.
 */
typedef struct _SimLink SimLink;

typedef void (*SimLinkDataFunc)(const guint8 *data, gsize len, gpointer user_data);
/* the output queue ran empty (sent or dropped by a hang-up) */
typedef void (*SimLinkIdleFunc)(gpointer user_data);

SimLink *sim_link_new(const char *path, guint baud, SimLinkDataFunc on_data, SimLinkIdleFunc on_idle,
                      gpointer user_data, GError **error);
void sim_link_free(SimLink *link);
void sim_link_write(SimLink *link, const guint8 *data, gsize len);
gboolean sim_link_is_busy(SimLink *link);
void sim_link_hangup(SimLink *link, guint reappear_ms);
/*
 * The port is a USB device's with this serial number, as sysfs below root
 * shows it (class/tty/pts!N/device and the USB device above it). With
 * rename, a port that comes back after a hang-up has another name: the
 * symlink is PATH.2, PATH.3, …, as a re-enumerated ttyACM0 becomes ttyACM1.
 */
gboolean sim_link_set_usb(SimLink *link, const char *root, const char *serial, gboolean rename,
                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimLink, sim_link_free)

G_END_DECLS
