/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* posix_openpt, ptsname and cfmakeraw */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sim-link.h"

#define CHUNK_MAX 4096

struct _SimLink {
	char *path;
	guint rate; /* bytes per second, 0 = unthrottled */
	gsize chunk;
	SimLinkDataFunc on_data;
	SimLinkIdleFunc on_idle;
	gpointer user_data;
	int master;
	int slave; /* held open so the master never sees HUP */
	guint in_watch;
	guint in_timer;
	guint out_watch;
	guint out_timer;
	guint reappear_timer;
	gint64 rx_ready_at; /* monotonic µs before which no more input is taken */
	gint64 tx_ready_at;
	/* bytes were waiting when the line became free: the next ones follow on the wire
	 * without a gap, however late the timer fired */
	gboolean rx_backlog;
	gboolean tx_backlog;
	GByteArray *out;
	/* a USB device's port: its fake sysfs entry, and the name it has now */
	char *usb_root;
	char *usb_serial;
	gboolean usb_rename;
	guint generation;
	char *current;   /* the symlink */
	char *tty_entry; /* class/tty/pts!N */
};

static gboolean on_readable(int fd, GIOCondition cond, gpointer data);
static void flush_output(SimLink *link);

static gint64
wire_time_us(SimLink *link, gsize len)
{
	return (gint64)((guint64)len * G_USEC_PER_SEC / link->rate);
}

static guint
us_to_ms_ceil(gint64 us)
{
	return (guint)((us + 999) / 1000);
}

/* class/tty/pts!N/device -> devices/simusb/S-G/G:1.0; serial and idVendor in devices/simusb/S-G,
 * named for the serial number too, so that simulators sharing a tree keep apart */
static gboolean
add_usb_entry(SimLink *link, const char *slave_name, GError **error)
{
	g_autofree char *usb_dir = g_strdup_printf("%s/devices/simusb/%s-%u", link->usb_root,
	                                           link->usb_serial, link->generation);
	g_autofree char *iface = g_strdup_printf("%s/%u:1.0", usb_dir, link->generation);
	g_autofree char *name = g_strdup(slave_name + strlen("/dev/"));
	g_autofree char *serial_file = g_build_filename(usb_dir, "serial", NULL);
	g_autofree char *vendor_file = g_build_filename(usb_dir, "idVendor", NULL);
	g_autofree char *serial = g_strconcat(link->usb_serial, "\n", NULL);
	g_autofree char *device = NULL;

	g_strdelimit(name, "/", '!');
	g_free(link->tty_entry);
	link->tty_entry = g_strdup_printf("%s/class/tty/%s", link->usb_root, name);
	device = g_build_filename(link->tty_entry, "device", NULL);
	if (g_mkdir_with_parents(iface, 0755) < 0 || g_mkdir_with_parents(link->tty_entry, 0755) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make %s: %s",
		            link->tty_entry, g_strerror(errno));
		return FALSE;
	}
	/* Nordic's USB vendor id */
	if (!g_file_set_contents(serial_file, serial, -1, error) ||
	    !g_file_set_contents(vendor_file, "1915\n", -1, error))
		return FALSE;
	g_unlink(device);
	if (symlink(iface, device) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot link %s: %s", device,
		            g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* the port is gone: so is its sysfs entry */
static void
remove_usb_entry(SimLink *link)
{
	g_autofree char *device = NULL;

	if (link->tty_entry == NULL)
		return;
	device = g_build_filename(link->tty_entry, "device", NULL);
	g_unlink(device);
	g_rmdir(link->tty_entry);
	g_clear_pointer(&link->tty_entry, g_free);
}

static gboolean
open_pty(SimLink *link, GError **error)
{
	struct termios tio;
	const char *slave_name;
	g_autofree char *tmp = NULL;

	link->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (link->master < 0 || grantpt(link->master) < 0 || unlockpt(link->master) < 0 ||
	    (slave_name = ptsname(link->master)) == NULL) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create a pty: %s",
		            g_strerror(errno));
		return FALSE;
	}
	link->slave = open(slave_name, O_RDWR | O_NOCTTY);
	if (link->slave < 0 || !g_unix_set_fd_nonblocking(link->master, TRUE, error)) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s", slave_name,
		            g_strerror(errno));
		return FALSE;
	}
	/* raw on both ends: no echo, no line discipline, 8 bits */
	if (tcgetattr(link->slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(link->slave, TCSANOW, &tio);
		tcsetattr(link->master, TCSANOW, &tio);
	}
	link->generation++;
	g_free(link->current);
	link->current = link->usb_rename && link->generation > 1
	                        ? g_strdup_printf("%s.%u", link->path, link->generation)
	                        : g_strdup(link->path);
	/* replace the symlink atomically so a host never sees a half-made one */
	tmp = g_strconcat(link->current, ".new", NULL);
	g_unlink(tmp);
	if (symlink(slave_name, tmp) < 0 || g_rename(tmp, link->current) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot link %s to %s: %s",
		            link->current, slave_name, g_strerror(errno));
		return FALSE;
	}
	if (link->usb_root != NULL && !add_usb_entry(link, slave_name, error))
		return FALSE;
	link->rx_ready_at = 0;
	link->tx_ready_at = 0;
	link->rx_backlog = FALSE;
	link->tx_backlog = FALSE;
	link->in_watch = g_unix_fd_add(link->master, G_IO_IN, on_readable, link);
	return TRUE;
}

static void
close_pty(SimLink *link)
{
	g_clear_handle_id(&link->in_watch, g_source_remove);
	g_clear_handle_id(&link->in_timer, g_source_remove);
	g_clear_handle_id(&link->out_watch, g_source_remove);
	g_clear_handle_id(&link->out_timer, g_source_remove);
	if (link->master >= 0)
		close(link->master);
	if (link->slave >= 0)
		close(link->slave);
	link->master = -1;
	link->slave = -1;
}

static gboolean
on_input_allowed(gpointer data)
{
	SimLink *link = data;

	link->in_timer = 0;
	link->rx_backlog = TRUE;
	link->in_watch = g_unix_fd_add(link->master, G_IO_IN, on_readable, link);
	return G_SOURCE_REMOVE;
}

static gboolean
on_readable(int fd, GIOCondition cond, gpointer data)
{
	SimLink *link = data;
	guint8 buf[CHUNK_MAX];
	gint64 now = g_get_monotonic_time();
	gssize n;

	if (link->rate > 0 && now < link->rx_ready_at) {
		/* the bytes before are still on the wire: stop reading until they are through */
		link->in_watch = 0;
		link->in_timer =
		        g_timeout_add(us_to_ms_ceil(link->rx_ready_at - now), on_input_allowed, link);
		return G_SOURCE_REMOVE;
	}
	n = read(fd, buf, link->chunk);
	if (n <= 0)
		return G_SOURCE_CONTINUE;
	if (link->rate > 0)
		link->rx_ready_at = (link->rx_backlog ? link->rx_ready_at : MAX(now, link->rx_ready_at)) +
		                    wire_time_us(link, (gsize)n);
	link->rx_backlog = FALSE;
	link->on_data(buf, (gsize)n, link->user_data);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_output_timer(gpointer data)
{
	SimLink *link = data;

	link->out_timer = 0;
	link->tx_backlog = TRUE;
	flush_output(link);
	return G_SOURCE_REMOVE;
}

static gboolean
on_writable(int fd, GIOCondition cond, gpointer data)
{
	SimLink *link = data;

	link->out_watch = 0;
	flush_output(link);
	return G_SOURCE_REMOVE;
}

static void
flush_output(SimLink *link)
{
	while (link->out->len > 0 && link->out_timer == 0 && link->out_watch == 0) {
		gint64 now = g_get_monotonic_time();
		gssize n;

		if (link->rate > 0 && now < link->tx_ready_at) {
			link->out_timer =
			        g_timeout_add(us_to_ms_ceil(link->tx_ready_at - now), on_output_timer, link);
			return;
		}
		n = write(link->master, link->out->data, MIN(link->chunk, link->out->len));
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			link->out_watch = g_unix_fd_add(link->master, G_IO_OUT, on_writable, link);
			return;
		}
		if (n <= 0) {
			g_byte_array_set_size(link->out, 0);
			break;
		}
		g_byte_array_remove_range(link->out, 0, (guint)n);
		if (link->rate > 0)
			link->tx_ready_at =
			        (link->tx_backlog ? link->tx_ready_at : MAX(now, link->tx_ready_at)) +
			        wire_time_us(link, (gsize)n);
		link->tx_backlog = FALSE;
	}
	if (link->out->len == 0)
		link->on_idle(link->user_data);
}

SimLink *
sim_link_new(const char *path, guint baud, SimLinkDataFunc on_data, SimLinkIdleFunc on_idle,
             gpointer user_data, GError **error)
{
	g_autoptr(SimLink) link = g_new0(SimLink, 1);

	link->path = g_strdup(path);
	link->rate = baud / 10;
	/* about 5 ms of line time per read or write keeps pacing smooth */
	link->chunk = link->rate > 0 ? CLAMP(link->rate / 200, 1, CHUNK_MAX) : CHUNK_MAX;
	link->on_data = on_data;
	link->on_idle = on_idle;
	link->user_data = user_data;
	link->master = -1;
	link->slave = -1;
	link->out = g_byte_array_new();
	if (!open_pty(link, error))
		return NULL;
	return g_steal_pointer(&link);
}

void
sim_link_free(SimLink *link)
{
	if (link == NULL)
		return;
	close_pty(link);
	remove_usb_entry(link);
	g_clear_handle_id(&link->reappear_timer, g_source_remove);
	g_unlink(link->current);
	g_byte_array_unref(link->out);
	g_free(link->path);
	g_free(link->current);
	g_free(link->usb_root);
	g_free(link->usb_serial);
	g_free(link);
}

void
sim_link_write(SimLink *link, const guint8 *data, gsize len)
{
	/* nothing reaches a host while the device is gone */
	if (link->master < 0)
		return;
	g_byte_array_append(link->out, data, (guint)len);
	flush_output(link);
}

gboolean
sim_link_is_busy(SimLink *link)
{
	return link->out->len > 0;
}

static gboolean
on_reappear(gpointer data)
{
	SimLink *link = data;
	g_autoptr(GError) error = NULL;

	link->reappear_timer = 0;
	if (!open_pty(link, &error))
		g_error("link cannot come back: %s", error->message);
	return G_SOURCE_REMOVE;
}

void
sim_link_hangup(SimLink *link, guint reappear_ms)
{
	close_pty(link);
	remove_usb_entry(link);
	g_unlink(link->current);
	g_byte_array_set_size(link->out, 0);
	g_clear_handle_id(&link->reappear_timer, g_source_remove);
	link->reappear_timer = g_timeout_add(reappear_ms, on_reappear, link);
	link->on_idle(link->user_data);
}

gboolean
sim_link_set_usb(SimLink *link, const char *root, const char *serial, gboolean rename, GError **error)
{
	g_autofree char *slave = link->current != NULL ? g_file_read_link(link->current, NULL) : NULL;

	link->usb_root = g_strdup(root);
	link->usb_serial = g_strdup(serial);
	link->usb_rename = rename;
	return slave == NULL || add_usb_entry(link, slave, error);
}
