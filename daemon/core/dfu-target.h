/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	DFU_LINK_SERIAL,
	DFU_LINK_BLE,
	DFU_LINK_UDP,
} DfuLinkType;

#define DFU_UDP_DEFAULT_PORT 1337
/* smallest datagram that still carries an upload chunk worth sending */
#define DFU_UDP_MIN_DATAGRAM 128
/* largest UDP payload over IPv4 (65535 - 8 - 20) */
#define DFU_UDP_MAX_DATAGRAM 65507

typedef enum {
	DFU_PROTOCOL_SMP,
	DFU_PROTOCOL_NRFDFU,
	DFU_PROTOCOL_ATFOTA,
	DFU_PROTOCOL_MESHDFU,
} DfuProtocolType;

/*
 * How messages travel on a serial line: SMP console lines (base64, CRC) or
 * bare SMP messages, which framing= chooses, SLIP frames, which the nRF5
 * bootloader speaks (protocol=nrfdfu), or the length-prefixed frames of the
 * nRF5 SDK for Mesh serial interface (protocol=meshdfu).
 */
typedef enum {
	DFU_FRAMING_CONSOLE,
	DFU_FRAMING_RAW,
	DFU_FRAMING_SLIP,
	DFU_FRAMING_MESH,
} DfuFraming;

/*
 * A parsed target URI:
 *   serial:/dev/ttyACM0?baud=115200[&protocol=smp|nrfdfu|atfota|meshdfu][&framing=console|raw]
 *     with atfota also [&terminator=cr|lf|crlf][&rtscts=true|false]
 *     with meshdfu also [&rtscts=true|false]: on unless turned off, and
 *     [&pubkey=/PATH.pem]: the public key on the serial node's device page
 *   ble:C4:12:34:56:78:9A[?adapter=hci0&protocol=smp|nrfdfu]
 *   udp:HOST[:PORT][?mtu=N&protocol=smp], HOST an IPv4 address, a host name
 *   or an IPv6 address in brackets with an optional zone: [fe80::1%eth0]
 * Unknown schemes, unknown query keys and bad values are refused with
 * DFU_STATUS_INVALID_ARGUMENT and a message naming the offending part.
 */
typedef struct {
	DfuLinkType link;
	DfuProtocolType protocol;
	char *path;             /* serial: device node */
	guint baud;             /* serial: 0 = configured default */
	DfuFraming framing;     /* serial SMP: console unless framing= says otherwise */
	gboolean framing_given; /* FALSE: the device may be probed for its framing */
	char *address;          /* ble: upper-case AA:BB:CC:DD:EE:FF; udp: HOST:PORT, IPv6 in brackets */
	char *adapter;          /* ble: default "hci0" */
	char *host;             /* udp: name or address literal (IPv6 without brackets, zone kept) */
	guint port;             /* udp: default 1337, Zephyr's MCUMGR_TRANSPORT_UDP_PORT */
	guint mtu;              /* udp: largest datagram; 0 = configured default */
	char *terminator;       /* serial atfota: AT command terminator "cr", "lf" or "crlf"; NULL = cr */
	gboolean rtscts;        /* serial atfota, meshdfu: hardware flow control */
	char *pubkey;           /* serial meshdfu: PEM of the device page's public key; NULL none */
	char *uri;              /* normalised form, used as the device key */
} DfuTarget;

DfuTarget *dfu_target_parse(const char *uri, GError **error);
void dfu_target_free(DfuTarget *target);
/* one device, however its URI was spelled: the tty, the BLE address or the UDP host:port */
const char *dfu_target_device_key(const DfuTarget *target);
const char *dfu_protocol_to_string(DfuProtocolType protocol);
const char *dfu_framing_to_string(DfuFraming framing);
/* "console" or "raw"; FALSE for anything else */
gboolean dfu_framing_from_string(const char *name, DfuFraming *framing);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuTarget, dfu_target_free)

G_END_DECLS
