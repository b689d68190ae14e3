/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-target.h"

typedef struct {
	const char *uri;
	const char *normalised;
	DfuLinkType link;
	DfuProtocolType protocol;
	guint baud;
	const char *adapter;
} GoodTarget;

static const GoodTarget good_targets[] = {
        {"serial:/dev/ttyACM0", "serial:/dev/ttyACM0", DFU_LINK_SERIAL, DFU_PROTOCOL_SMP, 0, NULL},
        {"serial:/dev/ttyACM0?baud=115200", "serial:/dev/ttyACM0?baud=115200", DFU_LINK_SERIAL,
         DFU_PROTOCOL_SMP, 115200, NULL},
        {"serial:/dev/ttyUSB0?protocol=nrfdfu", "serial:/dev/ttyUSB0?protocol=nrfdfu", DFU_LINK_SERIAL,
         DFU_PROTOCOL_NRFDFU, 0, NULL},
        {"serial:/dev/ttyACM1?protocol=atfota&baud=9600", "serial:/dev/ttyACM1?baud=9600&protocol=atfota",
         DFU_LINK_SERIAL, DFU_PROTOCOL_ATFOTA, 9600, NULL},
        {"serial:/dev/ttyACM1?rtscts=true&terminator=crlf&protocol=atfota",
         "serial:/dev/ttyACM1?protocol=atfota&terminator=crlf&rtscts=true", DFU_LINK_SERIAL,
         DFU_PROTOCOL_ATFOTA, 0, NULL},
        {"serial:/dev/ttyACM1?protocol=atfota&rtscts=false&terminator=lf",
         "serial:/dev/ttyACM1?protocol=atfota&terminator=lf", DFU_LINK_SERIAL, DFU_PROTOCOL_ATFOTA, 0, NULL},
        {"serial:/dev/ttyACM0?protocol=meshdfu", "serial:/dev/ttyACM0?protocol=meshdfu", DFU_LINK_SERIAL,
         DFU_PROTOCOL_MESHDFU, 0, NULL},
        {"serial:/dev/ttyACM0?rtscts=false&baud=1000000&protocol=meshdfu",
         "serial:/dev/ttyACM0?baud=1000000&protocol=meshdfu&rtscts=false", DFU_LINK_SERIAL,
         DFU_PROTOCOL_MESHDFU, 1000000, NULL},
        {"serial:/dev/ttyACM0?protocol=meshdfu&rtscts=true", "serial:/dev/ttyACM0?protocol=meshdfu",
         DFU_LINK_SERIAL, DFU_PROTOCOL_MESHDFU, 0, NULL},
        {"serial:/dev/ttyACM0?pubkey=/etc/dfud/node.pem&protocol=meshdfu",
         "serial:/dev/ttyACM0?protocol=meshdfu&pubkey=/etc/dfud/node.pem", DFU_LINK_SERIAL,
         DFU_PROTOCOL_MESHDFU, 0, NULL},
        {"serial:/dev/ttyACM0?protocol=smp", "serial:/dev/ttyACM0", DFU_LINK_SERIAL, DFU_PROTOCOL_SMP, 0,
         NULL},
        {"ble:C4:12:34:56:78:9A", "ble:C4:12:34:56:78:9A", DFU_LINK_BLE, DFU_PROTOCOL_SMP, 0, "hci0"},
        {"ble:c4:12:34:56:78:9a?adapter=hci1", "ble:C4:12:34:56:78:9A?adapter=hci1", DFU_LINK_BLE,
         DFU_PROTOCOL_SMP, 0, "hci1"},
        {"ble:C4:12:34:56:78:9A?protocol=nrfdfu&adapter=hci0",
         "ble:C4:12:34:56:78:9A?adapter=hci0&protocol=nrfdfu", DFU_LINK_BLE, DFU_PROTOCOL_NRFDFU, 0, "hci0"},
};

typedef struct {
	const char *uri;
	const char *message_part; /* the offending part must be named */
} BadTarget;

static const BadTarget bad_targets[] = {
        {"", "empty"},
        {"ttyACM0", "no scheme"},
        {"usb:/dev/x", "unknown scheme 'usb'"},
        {"serial:dev/ttyACM0", "'dev/ttyACM0'"},
        {"serial:", "not an absolute"},
        {"serial:/", "not an absolute"},
        {"serial:/dev/x?bad=1", "unknown option 'bad' in target 'serial:/dev/x?bad=1'"},
        {"serial:/dev/x?baud=0", "option 'baud'"},
        {"serial:/dev/x?baud=-5", "option 'baud'"},
        {"serial:/dev/x?baud=fast", "option 'baud'"},
        {"serial:/dev/x?baud=99999999999", "option 'baud'"},
        {"serial:/dev/x?baud", "option 'baud'"},
        {"serial:/dev/x?baud=9600&baud=9600", "given twice"},
        {"serial:/dev/x?protocol=xmodem", "option 'protocol'"},
        {"serial:/dev/x?adapter=hci0", "option 'adapter' does not apply"},
        {"serial:/dev/x?", "unknown option ''"},
        {"serial:/dev/x?baud=9600&", "unknown option ''"},
        {"ble:C4:12:34:56:78", "BLE address 'C4:12:34:56:78'"},
        {"ble:C4:12:34:56:78:9G", "BLE address"},
        {"ble:C4-12-34-56-78-9A", "BLE address"},
        {"ble:C4:12:34:56:78:9A:", "BLE address"},
        {"ble:C4:12:34:56:78:9A?adapter=usb0", "option 'adapter'"},
        {"ble:C4:12:34:56:78:9A?adapter=hci", "option 'adapter'"},
        {"ble:C4:12:34:56:78:9A?baud=9600", "option 'baud' does not apply"},
        {"ble:C4:12:34:56:78:9A?protocol=atfota", "option 'protocol'"},
        {"ble:C4:12:34:56:78:9A?mtu=512", "option 'mtu' does not apply"},
        {"serial:/dev/x?mtu=512", "option 'mtu' does not apply"},
        {"serial:/dev/x?protocol=atfota&terminator=nul", "cr, lf or crlf"},
        {"serial:/dev/x?protocol=atfota&rtscts=yes", "true or false"},
        {"serial:/dev/x?terminator=lf", "terminator applies to protocol=atfota only"},
        {"serial:/dev/x?rtscts=true&protocol=nrfdfu",
         "rtscts applies to protocol=atfota and protocol=meshdfu"},
        {"serial:/dev/x?protocol=meshdfu&terminator=lf", "terminator applies to protocol=atfota only"},
        {"serial:/dev/x?protocol=meshdfu&framing=mesh", "option 'framing'"},
        {"serial:/dev/x?protocol=meshdfu&rtscts=off", "true or false"},
        {"serial:/dev/x?protocol=meshdfu&pubkey=node.pem", "an absolute path"},
        {"serial:/dev/x?pubkey=/etc/dfud/node.pem", "pubkey applies to protocol=meshdfu only"},
        {"ble:C4:12:34:56:78:9A?pubkey=/k.pem", "option 'pubkey' does not apply"},
        {"ble:C4:12:34:56:78:9A?protocol=meshdfu", "option 'protocol'"},
        {"udp:192.0.2.1?protocol=meshdfu", "smp only on udp"},
        {"ble:C4:12:34:56:78:9A?terminator=lf", "option 'terminator' does not apply"},
        {"udp:", "host '' in target 'udp:'"},
        {"udp::1337", "host ''"},
        {"udp:192.0.2.1:", "port '' in target"},
        {"udp:192.0.2.1:0", "port '0'"},
        {"udp:192.0.2.1:65536", "port '65536'"},
        {"udp:192.0.2.1:http", "port 'http'"},
        {"udp:fd00::1", "IPv6 address 'fd00::1' in target 'udp:fd00::1' needs brackets"},
        {"udp:[fd00::1", "must be [IPv6]"},
        {"udp:[fd00::1]x", "must be [IPv6]"},
        {"udp:[fd00::1]:", "port ''"},
        {"udp:[192.0.2.1]", "host '192.0.2.1'"},
        {"udp:[fd00::g]", "host 'fd00::g'"},
        {"udp:[fe80::1%]", "host 'fe80::1%'"},
        {"udp:[fe80::1%eth/0]", "host 'fe80::1%eth/0'"},
        {"udp:bad_name.local", "host 'bad_name.local'"},
        {"udp:-node.local", "host '-node.local'"},
        {"udp:node-.local", "host 'node-.local'"},
        {"udp:node..local", "host 'node..local'"},
        {"udp:192.0.2.1?protocol=nrfdfu",
         "option 'protocol' in target 'udp:192.0.2.1?protocol=nrfdfu' must be"},
        {"udp:192.0.2.1?protocol=atfota", "smp only on udp"},
        {"udp:192.0.2.1?adapter=hci0", "option 'adapter' does not apply"},
        {"udp:192.0.2.1?baud=9600", "option 'baud' does not apply"},
        {"udp:192.0.2.1?mtu=127", "option 'mtu'"},
        {"udp:192.0.2.1?mtu=65508", "option 'mtu'"},
        {"udp:192.0.2.1?mtu=big", "option 'mtu'"},
        {"udp:192.0.2.1?mtu=512&mtu=512", "given twice"},
        {"serial:/dev/x?framing=slip",
         "option 'framing' in target 'serial:/dev/x?framing=slip' must be console or raw"},
        {"serial:/dev/x?framing=", "option 'framing'"},
        {"serial:/dev/x?framing=raw&protocol=nrfdfu", "'framing' in target"},
        {"ble:C4:12:34:56:78:9A?framing=raw", "option 'framing' does not apply"},
};

static const struct {
	const char *uri;
	const char *normalised;
	DfuFraming framing;
	gboolean given;
} framing_targets[] = {
        {"serial:/dev/ttyACM0", "serial:/dev/ttyACM0", DFU_FRAMING_CONSOLE, FALSE},
        {"serial:/dev/ttyACM0?framing=raw", "serial:/dev/ttyACM0?framing=raw", DFU_FRAMING_RAW, TRUE},
        {"serial:/dev/ttyACM0?framing=console&baud=9600", "serial:/dev/ttyACM0?baud=9600&framing=console",
         DFU_FRAMING_CONSOLE, TRUE},
};

/* a framing given stays in the URI (it is how the device is reached); none given means probing */
static void
test_target_framing(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(framing_targets); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuTarget) target = dfu_target_parse(framing_targets[i].uri, &error);

		g_assert_no_error(error);
		g_assert_cmpstr(target->uri, ==, framing_targets[i].normalised);
		g_assert_cmpint(target->framing, ==, framing_targets[i].framing);
		g_assert_cmpint(target->framing_given, ==, framing_targets[i].given);
	}
	g_assert_cmpstr(dfu_framing_to_string(DFU_FRAMING_RAW), ==, "raw");
}

static void
test_target_good(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(good_targets); i++) {
		const GoodTarget *t = &good_targets[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuTarget) target = dfu_target_parse(t->uri, &error);

		g_assert_no_error(error);
		g_assert_nonnull(target);
		g_assert_cmpstr(target->uri, ==, t->normalised);
		g_assert_cmpint(target->link, ==, t->link);
		g_assert_cmpint(target->protocol, ==, t->protocol);
		g_assert_cmpuint(target->baud, ==, t->baud);
		g_assert_cmpstr(target->adapter, ==, t->adapter);
		if (t->link == DFU_LINK_BLE)
			g_assert_cmpstr(target->address, ==, "C4:12:34:56:78:9A");
		else
			g_assert_true(target->path[0] == '/');
	}
}

typedef struct {
	const char *uri;
	const char *normalised;
	const char *host;
	guint port;
	guint mtu;
	const char *address; /* the device key */
} GoodUdpTarget;

static const GoodUdpTarget good_udp_targets[] = {
        {"udp:192.0.2.1", "udp:192.0.2.1:1337", "192.0.2.1", 1337, 0, "192.0.2.1:1337"},
        {"udp:192.0.2.1:1337", "udp:192.0.2.1:1337", "192.0.2.1", 1337, 0, "192.0.2.1:1337"},
        {"udp:192.0.2.1:5683?mtu=512", "udp:192.0.2.1:5683?mtu=512", "192.0.2.1", 5683, 512,
         "192.0.2.1:5683"},
        {"udp:[fd00::1]:1337", "udp:[fd00::1]:1337", "fd00::1", 1337, 0, "[fd00::1]:1337"},
        {"udp:[FD00:0:0::1]", "udp:[fd00::1]:1337", "fd00::1", 1337, 0, "[fd00::1]:1337"},
        {"udp:[fe80::1%eth0]", "udp:[fe80::1%eth0]:1337", "fe80::1%eth0", 1337, 0, "[fe80::1%eth0]:1337"},
        {"udp:[fe80::1%wpan0]:9?protocol=smp&mtu=1232", "udp:[fe80::1%wpan0]:9?mtu=1232", "fe80::1%wpan0", 9,
         1232, "[fe80::1%wpan0]:9"},
        {"udp:node.local:1337", "udp:node.local:1337", "node.local", 1337, 0, "node.local:1337"},
        {"udp:Sensor-7.Example.com", "udp:sensor-7.example.com:1337", "sensor-7.example.com", 1337, 0,
         "sensor-7.example.com:1337"},
        {"udp:localhost?mtu=65507", "udp:localhost:1337?mtu=65507", "localhost", 1337, 65507,
         "localhost:1337"},
};

static void
test_target_udp(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(good_udp_targets); i++) {
		const GoodUdpTarget *t = &good_udp_targets[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuTarget) target = dfu_target_parse(t->uri, &error);
		g_autoptr(DfuTarget) again = NULL;

		g_test_message("udp target '%s'", t->uri);
		g_assert_no_error(error);
		g_assert_cmpint(target->link, ==, DFU_LINK_UDP);
		g_assert_cmpint(target->protocol, ==, DFU_PROTOCOL_SMP);
		g_assert_cmpstr(target->uri, ==, t->normalised);
		g_assert_cmpstr(target->host, ==, t->host);
		g_assert_cmpuint(target->port, ==, t->port);
		g_assert_cmpuint(target->mtu, ==, t->mtu);
		g_assert_cmpstr(target->address, ==, t->address);
		again = dfu_target_parse(target->uri, NULL);
		g_assert_cmpstr(again->uri, ==, target->uri);
	}
}

static void
test_target_normalised_is_stable(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(good_targets); i++) {
		g_autoptr(DfuTarget) target = dfu_target_parse(good_targets[i].uri, NULL);
		g_autoptr(DfuTarget) again = dfu_target_parse(target->uri, NULL);

		g_assert_nonnull(again);
		g_assert_cmpstr(again->uri, ==, target->uri);
	}
}

static void
test_target_bad(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad_targets); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DfuTarget) target = dfu_target_parse(bad_targets[i].uri, &error);

		g_test_message("bad target '%s'", bad_targets[i].uri);
		g_assert_null(target);
		g_assert_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT);
		g_test_message("'%s': %s", bad_targets[i].uri, error->message);
		g_assert_nonnull(strstr(error->message, bad_targets[i].message_part));
	}
}

/* the mesh stack runs its UART with RTS/CTS: on unless the target turns it off */
static void
test_target_meshdfu_flow_control(void)
{
	g_autoptr(DfuTarget) plain = dfu_target_parse("serial:/dev/ttyACM0?protocol=meshdfu", NULL);
	g_autoptr(DfuTarget) off =
	        dfu_target_parse("serial:/dev/ttyACM0?protocol=meshdfu&rtscts=false", NULL);
	g_autoptr(DfuTarget) at = dfu_target_parse("serial:/dev/ttyACM0?protocol=atfota", NULL);

	g_assert_true(plain->rtscts);
	g_assert_false(off->rtscts);
	g_assert_false(at->rtscts);
	g_assert_cmpstr(dfu_framing_to_string(DFU_FRAMING_MESH), ==, "mesh");
}

static void
test_target_protocol_names(void)
{
	g_assert_cmpstr(dfu_protocol_to_string(DFU_PROTOCOL_SMP), ==, "smp");
	g_assert_cmpstr(dfu_protocol_to_string(DFU_PROTOCOL_ATFOTA), ==, "atfota");
	g_assert_cmpstr(dfu_protocol_to_string((DfuProtocolType)42), ==, "unknown");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/core/target/good", test_target_good);
	g_test_add_func("/core/target/meshdfu-flow-control", test_target_meshdfu_flow_control);
	g_test_add_func("/core/target/udp", test_target_udp);
	g_test_add_func("/core/target/framing", test_target_framing);
	g_test_add_func("/core/target/normalised-is-stable", test_target_normalised_is_stable);
	g_test_add_func("/core/target/bad", test_target_bad);
	g_test_add_func("/core/target/protocol-names", test_target_protocol_names);
	return g_test_run();
}
