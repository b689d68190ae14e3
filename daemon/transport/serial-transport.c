/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "dfu-error.h"
#include "dfu-fd-watch.h"
#include "read-pacer.h"
#include "serial-transport.h"
#include "smp-console.h"
#include "serial-framing.h"
#include "usb-serial-number.h"

/* a decoded frame is at most this large; bounds memory on garbage */
#define SERIAL_MAX_FRAME (64 * 1024)
#define SERIAL_READ_SIZE 4096

typedef struct {
	DfuTransport parent;
	char *path;
	guint baud;
	int fd;
	GSource *read_source;
	DfuReadPacer pacer;
	guint frames_read; /* by the wake under way */
	gboolean reading;  /* in the read callback: what is sent goes out in one write after it */
	guint write_watch;
	guint open_idle;
	guint lost_idle;
	char *lost_reason;
	GByteArray *outq;
	SerialFramer *framer; /* NULL in stream mode: bytes pass through unframed */
	gboolean rtscts;
	GError *open_error;
	char *usb_serial; /* of the USB device behind the port, once it was opened */
	DfuUsbSerialFunc usb_learned;
	gpointer usb_user_data;
} SerialTransport;

static const struct {
	guint baud;
	speed_t speed;
} speed_table[] = {
        {9600, B9600},       {19200, B19200},     {38400, B38400},     {57600, B57600},
        {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
        {576000, B576000},   {921600, B921600},   {1000000, B1000000}, {1152000, B1152000},
        {1500000, B1500000}, {2000000, B2000000}, {3000000, B3000000}, {4000000, B4000000},
};

guint
dfu_serial_speed_from_baud(guint baud)
{
	for (gsize i = 0; i < G_N_ELEMENTS(speed_table); i++) {
		if (speed_table[i].baud == baud)
			return speed_table[i].speed;
	}
	return 0;
}

static void serial_close(DfuTransport *transport);
static gboolean flush_outq(SerialTransport *self);

static void
serial_lost(SerialTransport *self, const char *why)
{
	g_autoptr(GError) error = g_error_new(DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: %s", self->path, why);

	serial_close(&self->parent);
	dfu_transport_emit_closed(&self->parent, error);
}

static void
on_frame(const guint8 *msg, gsize len, gpointer user_data)
{
	SerialTransport *self = user_data;

	self->frames_read++;
	dfu_transport_emit_packet(&self->parent, msg, len);
}

static void
drop_read_source(SerialTransport *self)
{
	if (self->read_source == NULL)
		return;
	g_source_destroy(self->read_source);
	g_clear_pointer(&self->read_source, g_source_unref);
}

/* framed links carry answers to requests: the next wake can wait for several */
static void
pace_reads(SerialTransport *self)
{
	gint64 until;

	if (self->framer == NULL)
		return;
	until = dfu_read_pacer_woke(&self->pacer, g_get_monotonic_time(), self->frames_read);
	if (until != 0)
		dfu_held_watch_hold(self->read_source, self->pacer.early_us, until);
}

/* reads what is there; FALSE when a callback closed the link, *lost set when the read failed */
static gboolean
drain_line(SerialTransport *self, int fd, GIOCondition condition, const char **lost)
{
	guint8 buf[SERIAL_READ_SIZE];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (self->framer != NULL)
				serial_framer_feed(self->framer, buf, n, on_frame, self);
			else
				dfu_transport_emit_packet(&self->parent, buf, n);
			if (self->fd < 0)
				return FALSE;
			/* a short read emptied the line: asking again would only return EAGAIN */
			if ((gsize)n < sizeof(buf) && !(condition & (G_IO_HUP | G_IO_ERR)))
				return TRUE;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			*lost = g_strerror(errno);
		else if (n == 0)
			*lost = "end of file";
		return TRUE;
	}
}

static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
	SerialTransport *self = user_data;
	const char *lost = NULL;
	gboolean open;

	self->frames_read = 0;
	self->reading = TRUE;
	/* drain what is there before looking at HUP: the last frame may precede it */
	open = drain_line(self, fd, condition, &lost);
	self->reading = FALSE;
	if (!open)
		return G_SOURCE_REMOVE;
	if (lost == NULL && (condition & (G_IO_HUP | G_IO_ERR)))
		lost = "hang-up";
	if (lost != NULL) {
		serial_lost(self, lost);
		return G_SOURCE_REMOVE;
	}
	if (self->write_watch == 0 && !flush_outq(self))
		return G_SOURCE_CONTINUE;
	pace_reads(self);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_lost_idle(gpointer user_data)
{
	SerialTransport *self = user_data;
	g_autofree char *why = g_steal_pointer(&self->lost_reason);

	self->lost_idle = 0;
	serial_lost(self, why);
	return G_SOURCE_REMOVE;
}

/* a write failed: reported from the loop, so that no caller of send() sees the link vanish under it */
static void
schedule_lost(SerialTransport *self, const char *why)
{
	if (self->lost_idle != 0)
		return;
	self->lost_reason = g_strdup(why);
	self->lost_idle = g_idle_add(on_lost_idle, self);
}

static gboolean
on_writable(gint fd, GIOCondition condition, gpointer user_data)
{
	SerialTransport *self = user_data;

	if (flush_outq(self) && self->outq->len > 0)
		return G_SOURCE_CONTINUE;
	self->write_watch = 0;
	return G_SOURCE_REMOVE;
}

/* FALSE when the link was lost */
static gboolean
flush_outq(SerialTransport *self)
{
	while (self->outq->len > 0) {
		ssize_t n = write(self->fd, self->outq->data, self->outq->len);
		if (n > 0) {
			g_byte_array_remove_range(self->outq, 0, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		g_byte_array_set_size(self->outq, 0);
		schedule_lost(self, g_strerror(errno));
		return FALSE;
	}
	if (self->outq->len > 0 && self->write_watch == 0)
		self->write_watch = dfu_fd_watch_add(self->fd, G_IO_OUT, on_writable, self);
	return TRUE;
}

static gboolean
configure_tty(SerialTransport *self, GError **error)
{
	struct termios tio;
	guint speed = dfu_serial_speed_from_baud(self->baud);

	if (speed == 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s: unsupported baud rate %u",
		            self->path, self->baud);
		return FALSE;
	}
	if (tcgetattr(self->fd, &tio) < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: not a terminal: %s", self->path,
		            g_strerror(errno));
		return FALSE;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(CRTSCTS | CSTOPB | PARENB);
	if (self->rtscts)
		tio.c_cflag |= CRTSCTS;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, speed);
	cfsetospeed(&tio, speed);
	if (tcsetattr(self->fd, TCSANOW, &tio) < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED, "%s: cannot configure: %s",
		            self->path, g_strerror(errno));
		return FALSE;
	}
	/* stale bytes from before we opened would only confuse the decoder */
	tcflush(self->fd, TCIOFLUSH);
	return TRUE;
}

static int
open_failed(const char *path, int errsv, GError **error)
{
	g_set_error(error, DFU_ERROR, errsv == ENOENT ? DFU_STATUS_LINK_NOT_FOUND : DFU_STATUS_CONNECT_FAILED,
	            "%s: %s", path, g_strerror(errsv));
	return -1;
}

static int
not_serial(const char *path, const char *why, GError **error)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "%s is not a serial device (%s)", path,
	            why);
	return -1;
}

int
dfu_serial_open_device(const char *path, GError **error)
{
	g_autofree char *real = NULL;
	g_autofree char *reopen = NULL;
	struct stat st;
	int path_fd;
	int fd;

	/* the caller names the path and the daemon may be privileged: nothing is opened for
	 * reading or writing until it is known to be a device node, and then a terminal */
	real = realpath(path, NULL);
	if (real == NULL)
		return open_failed(path, errno, error);
	if (!g_str_has_prefix(real, "/dev/")) {
		g_autofree char *why = g_strdup_printf("%s is outside /dev", real);
		return not_serial(path, why, error);
	}
	path_fd = open(real, O_PATH | O_CLOEXEC);
	if (path_fd < 0)
		return open_failed(path, errno, error);
	if (fstat(path_fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
		close(path_fd);
		return not_serial(path, "not a character device", error);
	}
	/* through the descriptor, so that the node checked is the node opened */
	reopen = g_strdup_printf("/proc/self/fd/%d", path_fd);
	fd = open(reopen, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	close(path_fd);
	if (fd < 0)
		return open_failed(path, errno, error);
	if (!isatty(fd)) {
		close(fd);
		return not_serial(path, "not a terminal", error);
	}
	return fd;
}

/*
 * The port by its path, or else, when the path is gone and the port was a
 * USB device's, the port that device has now: a device that reset may come
 * back under another name.
 */
static int
open_port(SerialTransport *self, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *real = NULL;
	g_autofree char *node = NULL;
	int fd = dfu_serial_open_device(self->path, &local);

	if (fd >= 0) {
		real = realpath(self->path, NULL);
		node = real != NULL ? usb_serial_number_of_tty(usb_sysfs_root(), real) : NULL;
		if (node != NULL) {
			g_free(self->usb_serial);
			self->usb_serial = g_steal_pointer(&node);
			if (self->usb_learned != NULL)
				self->usb_learned(self->usb_serial, self->usb_user_data);
		}
		return fd;
	}
	if (self->usb_serial != NULL && g_error_matches(local, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND))
		node = usb_tty_with_serial_number(usb_sysfs_root(), self->usb_serial);
	if (node == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return -1;
	}
	g_debug("%s: gone; the USB device with serial number %s is at %s now", self->path, self->usb_serial,
	        node);
	return dfu_serial_open_device(node, error);
}

static gboolean
serial_open_now(SerialTransport *self, GError **error)
{
	self->fd = open_port(self, error);
	if (self->fd < 0)
		return FALSE;
	/* other openers get EBUSY while we hold the line */
	if (ioctl(self->fd, TIOCEXCL) < 0 && errno != ENOTTY)
		g_debug("%s: TIOCEXCL: %s", self->path, g_strerror(errno));
	if (!configure_tty(self, error)) {
		close(self->fd);
		self->fd = -1;
		return FALSE;
	}
	if (self->framer != NULL)
		serial_framer_reset(self->framer);
	g_byte_array_set_size(self->outq, 0);
	dfu_read_pacer_reset(&self->pacer);
	self->read_source = dfu_held_watch_new(self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, self);
	g_source_attach(self->read_source, NULL);
	return TRUE;
}

static gboolean
on_open_idle(gpointer user_data)
{
	SerialTransport *self = user_data;
	g_autoptr(GError) error = g_steal_pointer(&self->open_error);

	self->open_idle = 0;
	dfu_transport_emit_opened(&self->parent, error);
	return G_SOURCE_REMOVE;
}

static void
serial_open(DfuTransport *transport)
{
	SerialTransport *self = (SerialTransport *)transport;

	g_clear_error(&self->open_error);
	if (self->fd < 0)
		serial_open_now(self, &self->open_error);
	/* opened is reported from the loop, never from inside open() */
	if (self->open_idle == 0)
		self->open_idle = g_idle_add(on_open_idle, self);
}

static gboolean
serial_send(DfuTransport *transport, const guint8 *data, gsize len, GError **error)
{
	SerialTransport *self = (SerialTransport *)transport;
	g_autoptr(GBytes) lines = NULL;
	gsize n = 0;
	const guint8 *p;

	if (self->fd < 0 || self->lost_idle != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: not open", self->path);
		return FALSE;
	}
	lines = self->framer != NULL ? serial_framer_encode(self->framer, data, len) : g_bytes_new(data, len);
	p = g_bytes_get_data(lines, &n);
	g_byte_array_append(self->outq, p, n);
	if (self->reading)
		return TRUE;
	if (self->write_watch == 0 && !flush_outq(self)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_LINK_LOST, "%s: write failed", self->path);
		return FALSE;
	}
	return TRUE;
}

static void
serial_close(DfuTransport *transport)
{
	SerialTransport *self = (SerialTransport *)transport;

	/* what a read callback sent just before closing goes out as it would have without the batching */
	if (self->reading && self->fd >= 0 && self->write_watch == 0 && self->outq->len > 0)
		flush_outq(self);
	self->reading = FALSE;
	drop_read_source(self);
	g_clear_handle_id(&self->write_watch, g_source_remove);
	g_clear_handle_id(&self->open_idle, g_source_remove);
	g_clear_handle_id(&self->lost_idle, g_source_remove);
	g_clear_pointer(&self->lost_reason, g_free);
	if (self->fd >= 0) {
		close(self->fd);
		self->fd = -1;
	}
	transport->is_open = FALSE;
}

static gsize
serial_wire_size(DfuTransport *transport, gsize len)
{
	SerialTransport *self = (SerialTransport *)transport;

	return self->framer != NULL ? serial_framer_encoded_size(self->framer, len) : len;
}

static void
serial_expect(DfuTransport *transport, guint answers, gint64 deadline_us)
{
	SerialTransport *self = (SerialTransport *)transport;

	dfu_read_pacer_expect(&self->pacer, answers, deadline_us);
}

static void
serial_finalize(DfuTransport *transport)
{
	SerialTransport *self = (SerialTransport *)transport;

	serial_close(transport);
	g_clear_error(&self->open_error);
	g_clear_pointer(&self->framer, serial_framer_free);
	g_byte_array_unref(self->outq);
	g_free(self->path);
	g_free(self->usb_serial);
	g_free(self);
}

/* one class per framing: they differ in what the framing adds to the device's buffer */
#define SERIAL_CLASS(overhead)                                                                               \
	{                                                                                                    \
		.name = "serial", .open = serial_open, .send = serial_send, .close = serial_close,           \
		.wire_size = serial_wire_size, .netbuf_overhead = (overhead), .expect = serial_expect,       \
		.finalize = serial_finalize,                                                                 \
	}

static const DfuTransportClass serial_classes[] = {
        /* the 2-byte length and the CRC are decoded into the device's buffer too */
        [DFU_FRAMING_CONSOLE] = SERIAL_CLASS(SMP_CONSOLE_NETBUF_OVERHEAD),
        [DFU_FRAMING_RAW] = SERIAL_CLASS(0),
        [DFU_FRAMING_SLIP] = SERIAL_CLASS(0),
        [DFU_FRAMING_MESH] = SERIAL_CLASS(0),
};

DfuTransport *
dfu_serial_transport_new(const char *path, guint baud, DfuFraming framing)
{
	SerialTransport *self = g_new0(SerialTransport, 1);

	self->parent.klass = &serial_classes[framing];
	self->path = g_strdup(path);
	self->baud = baud;
	self->fd = -1;
	self->outq = g_byte_array_new();
	self->framer = serial_framer_new(framing, SERIAL_MAX_FRAME);
	return &self->parent;
}

void
dfu_serial_transport_set_framing(DfuTransport *transport, DfuFraming framing)
{
	SerialTransport *self = (SerialTransport *)transport;

	g_return_if_fail(transport->klass->open == serial_open && self->framer != NULL);
	transport->klass = &serial_classes[framing];
	serial_framer_set_framing(self->framer, framing);
}

DfuTransport *
dfu_serial_transport_new_stream(const char *path, guint baud, gboolean rtscts)
{
	DfuTransport *transport = dfu_serial_transport_new(path, baud, DFU_FRAMING_RAW);
	SerialTransport *self = (SerialTransport *)transport;

	g_clear_pointer(&self->framer, serial_framer_free);
	dfu_serial_transport_set_rtscts(transport, rtscts);
	return transport;
}

void
dfu_serial_transport_set_rtscts(DfuTransport *transport, gboolean rtscts)
{
	SerialTransport *self = (SerialTransport *)transport;

	g_return_if_fail(transport->klass->open == serial_open);
	self->rtscts = rtscts;
}

void
dfu_serial_transport_set_usb_serial(DfuTransport *transport, const char *serial, DfuUsbSerialFunc learned,
                                    gpointer user_data)
{
	SerialTransport *self = (SerialTransport *)transport;

	g_return_if_fail(transport->klass->open == serial_open);
	if (serial != NULL) {
		g_free(self->usb_serial);
		self->usb_serial = g_strdup(serial);
	}
	self->usb_learned = learned;
	self->usb_user_data = user_data;
}
