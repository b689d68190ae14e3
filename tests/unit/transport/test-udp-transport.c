/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UDP transport against sockets in the test playing the device: one
 * message per datagram both ways, replies larger than a request, several
 * messages in one datagram, datagrams from other addresses ignored, one
 * socket shared by the transports of several devices, the
 * datagram limit, host names that do not resolve, IPv4 and IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dfu-error.h"
#include "transport-recorder.h"
#include "udp-transport.h"

typedef struct {
	TransportRecorder rec;
	DfuTransport *t;
	int device;   /* the device's socket */
	int stranger; /* another socket on the same host */
	guint port;
	gboolean opened;
	GError *open_error;
	gboolean closed;
	GPtrArray *packets;             /* GBytes* */
	struct sockaddr_storage client; /* where the transport sends from */
	socklen_t client_len;
} Fixture;

static gboolean
on_timeout(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_CONTINUE;
}

/* runs the loop until a callback stops it, or for at most ms */
static void
run_for(Fixture *f, guint ms)
{
	guint timer = g_timeout_add(ms, on_timeout, f->rec.loop);

	g_main_loop_run(f->rec.loop);
	g_source_remove(timer);
}

/* a socket bound to loopback on a free port; -1 when the family has no loopback here */
static int
bind_loopback(int family, guint *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static gboolean
fixture_init(Fixture *f, int family, const char *host, gsize mtu)
{
	guint stranger_port = 0;

	memset(f, 0, sizeof(*f));
	transport_recorder_init(&f->rec);
	f->device = bind_loopback(family, &f->port);
	f->stranger = bind_loopback(family, &stranger_port);
	if (f->device < 0 || f->stranger < 0)
		return FALSE;
	f->t = dfu_udp_transport_new(host, f->port, mtu);
	transport_recorder_attach(&f->rec, f->t);
	return TRUE;
}

static void
fixture_clear(Fixture *f)
{
	g_clear_pointer(&f->t, dfu_transport_free);
	if (f->device >= 0)
		close(f->device);
	if (f->stranger >= 0)
		close(f->stranger);
	transport_recorder_clear(&f->rec);
}

static void
open_ok(Fixture *f)
{
	dfu_transport_open(f->t);
	g_assert_false(f->rec.opened); /* reported from the loop only */
	run_for(f, 5000);
	g_assert_true(f->rec.opened);
	g_assert_no_error(f->rec.open_error);
	g_assert_true(dfu_transport_is_open(f->t));
}

/* an SMP message of len bytes in all, its payload bytes set to fill */
static GByteArray *
smp_message(gsize len, guint8 seq, guint8 fill)
{
	GByteArray *msg = g_byte_array_sized_new(len);
	gsize payload = len - 8;

	g_byte_array_set_size(msg, len);
	memset(msg->data, fill, len);
	msg->data[0] = 0x0b;
	msg->data[1] = 0;
	msg->data[2] = (guint8)(payload >> 8);
	msg->data[3] = (guint8)payload;
	msg->data[4] = 0;
	msg->data[5] = 0;
	msg->data[6] = seq;
	msg->data[7] = 0;
	return msg;
}

/* what the device received, and from where (remembered for replies) */
static gssize
device_receive(Fixture *f, guint8 *buf, gsize size)
{
	struct pollfd pfd = {.fd = f->device, .events = POLLIN};

	g_assert_cmpint(poll(&pfd, 1, 5000), ==, 1);
	f->client_len = sizeof(f->client);
	return recvfrom(f->device, buf, size, 0, (struct sockaddr *)&f->client, &f->client_len);
}

static void
reply_from(Fixture *f, int fd, const GByteArray *msg)
{
	g_assert_cmpint(sendto(fd, msg->data, msg->len, 0, (struct sockaddr *)&f->client, f->client_len), ==,
	                (gssize)msg->len);
}

static void
check_exchange(int family, const char *host)
{
	Fixture f;
	g_autoptr(GByteArray) request = smp_message(100, 7, 0x11);
	g_autoptr(GByteArray) big = smp_message(3000, 7, 0x22);
	g_autoptr(GByteArray) stranger = smp_message(20, 7, 0x33);
	g_autoptr(GByteArray) two = smp_message(30, 8, 0x44);
	g_autoptr(GByteArray) second = smp_message(40, 9, 0x55);
	g_autoptr(GError) error = NULL;
	guint8 buf[2048];

	if (!fixture_init(&f, family, host, 1232)) {
		fixture_clear(&f);
		g_test_skip("no loopback for this address family");
		return;
	}
	open_ok(&f);
	g_assert_true(dfu_transport_send(f.t, request->data, request->len, &error));
	g_assert_no_error(error);
	g_assert_cmpint(device_receive(&f, buf, sizeof(buf)), ==, 100);
	g_assert_cmpmem(buf, 100, request->data, request->len);

	/* a stranger first: dropped without a word; then the device, with more than any request */
	reply_from(&f, f.stranger, stranger);
	reply_from(&f, f.device, big);
	run_for(&f, 5000);
	g_assert_cmpuint(f.rec.packets->len, ==, 1);
	g_assert_cmpmem(g_bytes_get_data(f.rec.packets->pdata[0], NULL),
	                g_bytes_get_size(f.rec.packets->pdata[0]), big->data, big->len);

	/* two messages in one datagram are two packets; a stray tail is not carried over */
	g_byte_array_append(two, second->data, second->len);
	g_byte_array_append(two, request->data, 5);
	reply_from(&f, f.device, two);
	run_for(&f, 5000);
	g_assert_cmpuint(f.rec.packets->len, ==, 3);
	g_assert_cmpuint(g_bytes_get_size(f.rec.packets->pdata[1]), ==, 30);
	g_assert_cmpmem(g_bytes_get_data(f.rec.packets->pdata[2], NULL), 40, second->data, second->len);
	reply_from(&f, f.device, second);
	run_for(&f, 5000);
	g_assert_cmpuint(f.rec.packets->len, ==, 4);
	g_assert_cmpuint(g_bytes_get_size(f.rec.packets->pdata[3]), ==, 40);
	g_assert_false(f.rec.closed);
	fixture_clear(&f);
}

static void
test_udp_ipv4(void)
{
	check_exchange(AF_INET, "127.0.0.1");
}

static void
test_udp_ipv6(void)
{
	check_exchange(AF_INET6, "::1");
}

static void
test_udp_max_message(void)
{
	Fixture f;
	g_autoptr(GByteArray) fits = smp_message(512, 1, 0);
	g_autoptr(GByteArray) too_long = smp_message(513, 2, 0);
	g_autoptr(GError) error = NULL;
	guint8 buf[1024];

	g_assert_true(fixture_init(&f, AF_INET, "127.0.0.1", 512));
	g_assert_cmpuint(dfu_transport_max_message(f.t), ==, 512);
	g_assert_true(dfu_transport_whole_messages(f.t));
	g_assert_cmpuint(dfu_transport_guess_window(f.t), ==, 1);
	g_assert_cmpuint(dfu_transport_netbuf_overhead(f.t), ==, 0);
	open_ok(&f);
	g_assert_true(dfu_transport_send(f.t, fits->data, fits->len, &error));
	g_assert_cmpint(device_receive(&f, buf, sizeof(buf)), ==, 512);
	g_assert_false(dfu_transport_send(f.t, too_long->data, too_long->len, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "513 bytes does not fit one datagram of 512"));
	fixture_clear(&f);
}

static void
test_udp_unresolvable(void)
{
	Fixture f;

	g_assert_true(fixture_init(&f, AF_INET, "no-such-node.invalid", 1232));
	dfu_transport_open(f.t);
	run_for(&f, 30000);
	g_assert_true(f.rec.opened);
	g_assert_nonnull(f.rec.open_error);
	g_test_message("%s", f.rec.open_error->message);
	/* an answer from DNS says not found; without a resolver at hand it is a failure to connect */
	g_assert_true(g_error_matches(f.rec.open_error, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND) ||
	              g_error_matches(f.rec.open_error, DFU_ERROR, DFU_STATUS_CONNECT_FAILED));
	g_assert_nonnull(strstr(f.rec.open_error->message, "cannot resolve host 'no-such-node.invalid'"));
	g_assert_false(dfu_transport_is_open(f.t));
	fixture_clear(&f);
}

static void
test_udp_reopen(void)
{
	Fixture f;
	g_autoptr(GByteArray) request = smp_message(16, 3, 0);
	guint8 buf[64];

	g_assert_true(fixture_init(&f, AF_INET, "localhost", 1232));
	/* freed while the name is being resolved: no callback ever comes */
	dfu_transport_open(f.t);
	g_clear_pointer(&f.t, dfu_transport_free);
	run_for(&f, 500);
	g_assert_false(f.rec.opened);

	f.t = dfu_udp_transport_new("127.0.0.1", f.port, 1232);
	transport_recorder_attach(&f.rec, f.t);
	open_ok(&f);
	dfu_transport_close(f.t);
	g_assert_false(dfu_transport_is_open(f.t));
	g_assert_false(dfu_transport_send(f.t, request->data, request->len, NULL));
	f.rec.opened = FALSE;
	open_ok(&f);
	g_assert_true(dfu_transport_send(f.t, request->data, request->len, NULL));
	g_assert_cmpint(device_receive(&f, buf, sizeof(buf)), ==, 16);
	fixture_clear(&f);
}

/* two devices: one socket, one local port, and each transport gets only its own device's answers */
static void
test_udp_shared_socket(void)
{
	Fixture a;
	Fixture b;
	g_autoptr(GByteArray) request = smp_message(16, 4, 0);
	g_autoptr(GByteArray) answer = smp_message(20, 4, 0x66);
	guint8 buf[64];

	g_assert_true(fixture_init(&a, AF_INET, "127.0.0.1", 1232));
	g_assert_true(fixture_init(&b, AF_INET, "127.0.0.1", 1232));
	open_ok(&a);
	open_ok(&b);
	g_assert_true(dfu_transport_send(a.t, request->data, request->len, NULL));
	g_assert_true(dfu_transport_send(b.t, request->data, request->len, NULL));
	g_assert_cmpint(device_receive(&a, buf, sizeof(buf)), ==, 16);
	g_assert_cmpint(device_receive(&b, buf, sizeof(buf)), ==, 16);
	g_assert_cmpuint(a.client_len, ==, b.client_len);
	g_assert_cmpmem(&a.client, a.client_len, &b.client, b.client_len);

	reply_from(&b, b.device, answer);
	run_for(&b, 5000);
	g_assert_cmpuint(b.rec.packets->len, ==, 1);
	g_assert_cmpuint(a.rec.packets->len, ==, 0);
	/* b's device is a stranger to a */
	reply_from(&a, b.device, answer);
	reply_from(&a, a.device, request);
	run_for(&a, 5000);
	g_assert_cmpuint(a.rec.packets->len, ==, 1);
	g_assert_cmpuint(g_bytes_get_size(a.rec.packets->pdata[0]), ==, 16);
	g_assert_cmpuint(b.rec.packets->len, ==, 2);
	fixture_clear(&b);
	/* the socket stays for the transport that still holds it */
	reply_from(&a, a.device, request);
	run_for(&a, 5000);
	g_assert_cmpuint(a.rec.packets->len, ==, 2);
	fixture_clear(&a);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/transport/udp/ipv4", test_udp_ipv4);
	g_test_add_func("/transport/udp/ipv6", test_udp_ipv6);
	g_test_add_func("/transport/udp/max-message", test_udp_max_message);
	g_test_add_func("/transport/udp/unresolvable", test_udp_unresolvable);
	g_test_add_func("/transport/udp/reopen", test_udp_reopen);
	g_test_add_func("/transport/udp/shared-socket", test_udp_shared_socket);
	return g_test_run();
}
