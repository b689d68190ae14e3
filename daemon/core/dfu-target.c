/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bluetooth/bluetooth.h>
#include <net/if.h>
#include <string.h>

#include "dfu-error.h"
#include "dfu-target.h"

#define LINK_MASK(link) (1u << (link))

typedef gboolean (*TargetOptionParser)(DfuTarget *target, const char *value);

typedef struct {
	const char *key;
	guint links; /* LINK_MASK of the link types that accept the key */
	TargetOptionParser parse;
	const char *expected; /* what a valid value looks like, for messages */
} TargetOption;

static const char *const protocol_names[] = {
        [DFU_PROTOCOL_SMP] = "smp",
        [DFU_PROTOCOL_NRFDFU] = "nrfdfu",
        [DFU_PROTOCOL_ATFOTA] = "atfota",
        [DFU_PROTOCOL_MESHDFU] = "meshdfu",
};

/* which protocols each link can carry: AT commands only exist on a serial modem, UDP carries SMP only */
static const guint protocol_links[] = {
        [DFU_PROTOCOL_SMP] = LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE) | LINK_MASK(DFU_LINK_UDP),
        [DFU_PROTOCOL_NRFDFU] = LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE),
        [DFU_PROTOCOL_ATFOTA] = LINK_MASK(DFU_LINK_SERIAL),
        [DFU_PROTOCOL_MESHDFU] = LINK_MASK(DFU_LINK_SERIAL),
};

static const char *const framing_names[] = {
        [DFU_FRAMING_CONSOLE] = "console",
        [DFU_FRAMING_RAW] = "raw",
        [DFU_FRAMING_SLIP] = "slip",
        [DFU_FRAMING_MESH] = "mesh",
};

const char *
dfu_framing_to_string(DfuFraming framing)
{
	return (guint)framing < G_N_ELEMENTS(framing_names) ? framing_names[framing] : "unknown";
}

const char *
dfu_protocol_to_string(DfuProtocolType protocol)
{
	return (guint)protocol < G_N_ELEMENTS(protocol_names) ? protocol_names[protocol] : "unknown";
}

static gboolean
parse_baud(DfuTarget *target, const char *value)
{
	guint64 baud = 0;

	if (!g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT32, &baud, NULL))
		return FALSE;
	target->baud = (guint)baud;
	return TRUE;
}

static gboolean
parse_terminator(DfuTarget *target, const char *value)
{
	static const char *const terminators[] = {"cr", "lf", "crlf"};

	for (guint i = 0; i < G_N_ELEMENTS(terminators); i++) {
		if (g_strcmp0(terminators[i], value) == 0) {
			g_free(target->terminator);
			target->terminator = g_strdup(value);
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
parse_rtscts(DfuTarget *target, const char *value)
{
	target->rtscts = g_strcmp0(value, "true") == 0;
	return target->rtscts || g_strcmp0(value, "false") == 0;
}

static gboolean
parse_pubkey(DfuTarget *target, const char *value)
{
	if (!g_path_is_absolute(value))
		return FALSE;
	g_free(target->pubkey);
	target->pubkey = g_strdup(value);
	return TRUE;
}

static gboolean
parse_protocol(DfuTarget *target, const char *value)
{
	for (guint i = 0; i < G_N_ELEMENTS(protocol_names); i++) {
		if (g_strcmp0(protocol_names[i], value) == 0 &&
		    (protocol_links[i] & LINK_MASK(target->link))) {
			target->protocol = i;
			return TRUE;
		}
	}
	return FALSE;
}

gboolean
dfu_framing_from_string(const char *name, DfuFraming *framing)
{
	for (guint i = 0; i < G_N_ELEMENTS(framing_names); i++) {
		if (g_strcmp0(framing_names[i], name) == 0) {
			*framing = i;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
parse_framing(DfuTarget *target, const char *value)
{
	/* SLIP and mesh frames go with the protocols that speak them, never with SMP */
	target->framing_given = dfu_framing_from_string(value, &target->framing) &&
	                        target->framing != DFU_FRAMING_SLIP && target->framing != DFU_FRAMING_MESH;
	return target->framing_given;
}

static gboolean
parse_adapter(DfuTarget *target, const char *value)
{
	if (!g_str_has_prefix(value, "hci") ||
	    !g_ascii_string_to_unsigned(value + 3, 10, 0, 1023, NULL, NULL))
		return FALSE;
	g_free(target->adapter);
	target->adapter = g_strdup(value);
	return TRUE;
}

static gboolean
parse_mtu(DfuTarget *target, const char *value)
{
	guint64 mtu = 0;

	if (!g_ascii_string_to_unsigned(value, 10, DFU_UDP_MIN_DATAGRAM, DFU_UDP_MAX_DATAGRAM, &mtu, NULL))
		return FALSE;
	target->mtu = (guint)mtu;
	return TRUE;
}

static const TargetOption target_options[] = {
        {"baud", LINK_MASK(DFU_LINK_SERIAL), parse_baud, "a positive integer"},
        {"protocol", LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE) | LINK_MASK(DFU_LINK_UDP),
         parse_protocol,
         "smp, nrfdfu, atfota or meshdfu (atfota and meshdfu on serial only, smp only on udp)"},
        {"adapter", LINK_MASK(DFU_LINK_BLE), parse_adapter, "hciN"},
        {"terminator", LINK_MASK(DFU_LINK_SERIAL), parse_terminator, "cr, lf or crlf"},
        {"rtscts", LINK_MASK(DFU_LINK_SERIAL), parse_rtscts, "true or false"},
        {"mtu", LINK_MASK(DFU_LINK_UDP), parse_mtu,
         "a datagram size from " G_STRINGIFY(DFU_UDP_MIN_DATAGRAM) " to " G_STRINGIFY(
                 DFU_UDP_MAX_DATAGRAM) " bytes"},
        {"framing", LINK_MASK(DFU_LINK_SERIAL), parse_framing, "console or raw"},
        {"pubkey", LINK_MASK(DFU_LINK_SERIAL), parse_pubkey, "an absolute path of a PEM public key"},
};

static const TargetOption *
target_option_lookup(const char *key)
{
	for (guint i = 0; i < G_N_ELEMENTS(target_options); i++) {
		if (g_strcmp0(target_options[i].key, key) == 0)
			return &target_options[i];
	}
	return NULL;
}

/* *seen gets a bit per option given, by its index in target_options */
static gboolean
parse_query(DfuTarget *target, const char *query, const char *uri, guint *seen_out, GError **error)
{
	g_auto(GStrv) pairs = g_strsplit(query, "&", -1);
	guint seen = 0;

	/* g_strsplit gives no pieces for "", but a bare '?' is still an empty option */
	if (query[0] == '\0') {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "unknown option '' in target '%s'",
		            uri);
		return FALSE;
	}

	for (guint i = 0; pairs[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(pairs[i], "=", 2);
		const TargetOption *option = target_option_lookup(kv[0] != NULL ? kv[0] : "");
		guint bit;

		if (option == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "unknown option '%s' in target '%s'", kv[0] != NULL ? kv[0] : "", uri);
			return FALSE;
		}
		if ((option->links & LINK_MASK(target->link)) == 0) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "option '%s' does not apply to target '%s'", option->key, uri);
			return FALSE;
		}
		bit = 1u << (option - target_options);
		if (seen & bit) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "option '%s' given twice in target '%s'", option->key, uri);
			return FALSE;
		}
		seen |= bit;
		*seen_out = seen;
		if (kv[1] == NULL || !option->parse(target, kv[1])) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "option '%s' in target '%s' must be %s", option->key, uri,
			            option->expected);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_serial_path(DfuTarget *target, const char *path, const char *uri, GError **error)
{
	if (path[0] != '/' || path[1] == '\0') {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "serial path '%s' in target '%s' is not an absolute device path", path, uri);
		return FALSE;
	}
	for (const char *p = path; *p != '\0'; p++) {
		if (g_ascii_iscntrl(*p)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "serial path in target '%s' contains a control character", uri);
			return FALSE;
		}
	}
	target->path = g_strdup(path);
	return TRUE;
}

static gboolean
parse_ble_address(DfuTarget *target, const char *address, const char *uri, GError **error)
{
	bdaddr_t ba;
	char normal[18];

	/* bachk takes any length of hex per field and a trailing colon: be strict first */
	if (strlen(address) != 17 || bachk(address) < 0 || str2ba(address, &ba) < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "BLE address '%s' in target '%s' is not six hex pairs like C4:12:34:56:78:9A",
		            address, uri);
		return FALSE;
	}
	ba2str(&ba, normal);
	target->address = g_strdup(normal);
	return TRUE;
}

/* an interface name or index after '%' in an IPv6 literal */
static gboolean
valid_zone(const char *zone)
{
	if (zone[0] == '\0' || strlen(zone) >= IF_NAMESIZE)
		return FALSE;
	for (const char *p = zone; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr("._-", *p) == NULL)
			return FALSE;
	}
	return TRUE;
}

/* a bracketed IPv6 literal, normalised (zero runs compressed, lower case), zone kept */
static char *
parse_ipv6_host(const char *text)
{
	g_autofree char *addr = g_strdup(text);
	char *zone = strchr(addr, '%');
	struct in6_addr in6;
	char normal[INET6_ADDRSTRLEN];

	if (zone != NULL)
		*zone++ = '\0';
	if (inet_pton(AF_INET6, addr, &in6) != 1 || (zone != NULL && !valid_zone(zone)))
		return NULL;
	inet_ntop(AF_INET6, &in6, normal, sizeof(normal));
	return zone != NULL ? g_strdup_printf("%s%%%s", normal, zone) : g_strdup(normal);
}

/* an IPv4 literal or a DNS name (letters, digits, '-' inside labels), lower-cased */
static char *
parse_name_host(const char *text)
{
	struct in_addr in4;
	gsize len = strlen(text);

	if (inet_pton(AF_INET, text, &in4) == 1)
		return g_strdup(text);
	if (len == 0 || len > 253 || text[0] == '.' || text[0] == '-')
		return NULL;
	for (const char *p = text; *p != '\0'; p++) {
		gboolean label_edge = p[1] == '\0' || p[1] == '.' || p == text || p[-1] == '.';
		if (*p == '.' ? p[1] == '.' : !(g_ascii_isalnum(*p) || (*p == '-' && !label_edge)))
			return NULL;
	}
	return g_ascii_strdown(text, -1);
}

/* HOST[:PORT] with HOST a name, an IPv4 address or [IPv6%zone] */
static gboolean
parse_udp_address(DfuTarget *target, const char *body, const char *uri, GError **error)
{
	g_autofree char *host_text = NULL;
	const char *port_text = NULL;
	guint64 port = DFU_UDP_DEFAULT_PORT;

	if (body[0] == '[') {
		const char *close = strchr(body, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "address '%s' in target '%s' must be [IPv6] or [IPv6]:PORT", body, uri);
			return FALSE;
		}
		host_text = g_strndup(body + 1, close - body - 1);
		target->host = parse_ipv6_host(host_text);
		port_text = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strchr(body, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "IPv6 address '%s' in target '%s' needs brackets: udp:[%s]", body, uri,
			            body);
			return FALSE;
		}
		host_text = colon != NULL ? g_strndup(body, colon - body) : g_strdup(body);
		target->host = parse_name_host(host_text);
		port_text = colon != NULL ? colon + 1 : NULL;
	}
	if (target->host == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "host '%s' in target '%s' is not an IPv4 address, a host name or a bracketed "
		            "IPv6 address",
		            host_text, uri);
		return FALSE;
	}
	if (port_text != NULL && !g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &port, NULL)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "port '%s' in target '%s' is not a number from 1 to 65535", port_text, uri);
		return FALSE;
	}
	target->port = (guint)port;
	target->address = strchr(target->host, ':') != NULL
	                          ? g_strdup_printf("[%s]:%u", target->host, target->port)
	                          : g_strdup_printf("%s:%u", target->host, target->port);
	return TRUE;
}

static gboolean
option_given(guint seen, const char *key)
{
	const TargetOption *option = target_option_lookup(key);
	return option != NULL && (seen & (1u << (option - target_options))) != 0;
}

/* adapter_given: an adapter named in the URI stays, even hci0: the configured default may differ */
static char *
target_normalise(const DfuTarget *target, gboolean adapter_given)
{
	GString *str = g_string_new(NULL);
	char sep = '?';

	if (target->link == DFU_LINK_SERIAL) {
		g_string_append_printf(str, "serial:%s", target->path);
		if (target->baud != 0) {
			g_string_append_printf(str, "%cbaud=%u", sep, target->baud);
			sep = '&';
		}
	} else if (target->link == DFU_LINK_BLE) {
		g_string_append_printf(str, "ble:%s", target->address);
		if (adapter_given) {
			g_string_append_printf(str, "%cadapter=%s", sep, target->adapter);
			sep = '&';
		}
	} else {
		g_string_append_printf(str, "udp:%s", target->address);
		if (target->mtu != 0) {
			g_string_append_printf(str, "%cmtu=%u", sep, target->mtu);
			sep = '&';
		}
	}
	if (target->protocol != DFU_PROTOCOL_SMP) {
		g_string_append_printf(str, "%cprotocol=%s", sep, dfu_protocol_to_string(target->protocol));
		sep = '&';
	}
	if (target->framing_given)
		g_string_append_printf(str, "%cframing=%s", sep, dfu_framing_to_string(target->framing));
	if (target->terminator != NULL)
		g_string_append_printf(str, "&terminator=%s", target->terminator);
	if (target->pubkey != NULL)
		g_string_append_printf(str, "&pubkey=%s", target->pubkey);
	/* each protocol names only what differs from its own default */
	if (target->rtscts != (target->protocol == DFU_PROTOCOL_MESHDFU))
		g_string_append_printf(str, "&rtscts=%s", target->rtscts ? "true" : "false");
	return g_string_free(str, FALSE);
}

DfuTarget *
dfu_target_parse(const char *uri, GError **error)
{
	g_autoptr(DfuTarget) target = g_new0(DfuTarget, 1);
	g_autofree char *scheme = NULL;
	g_autofree char *body = NULL;
	const char *colon;
	const char *query;
	guint seen = 0;

	if (uri == NULL || uri[0] == '\0') {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "empty target");
		return NULL;
	}
	colon = strchr(uri, ':');
	if (colon == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "target '%s' has no scheme (serial:, ble: or udp:)", uri);
		return NULL;
	}
	scheme = g_strndup(uri, colon - uri);
	if (g_strcmp0(scheme, "serial") == 0) {
		target->link = DFU_LINK_SERIAL;
	} else if (g_strcmp0(scheme, "ble") == 0) {
		target->link = DFU_LINK_BLE;
		target->adapter = g_strdup("hci0");
	} else if (g_strcmp0(scheme, "udp") == 0) {
		target->link = DFU_LINK_UDP;
	} else {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "unknown scheme '%s' in target '%s' (serial:, ble: or udp:)", scheme, uri);
		return NULL;
	}
	query = strchr(colon + 1, '?');
	body = query != NULL ? g_strndup(colon + 1, query - colon - 1) : g_strdup(colon + 1);
	if (target->link == DFU_LINK_SERIAL) {
		if (!parse_serial_path(target, body, uri, error))
			return NULL;
	} else if (target->link == DFU_LINK_BLE) {
		if (!parse_ble_address(target, body, uri, error))
			return NULL;
	} else if (!parse_udp_address(target, body, uri, error)) {
		return NULL;
	}
	if (query != NULL && !parse_query(target, query + 1, uri, &seen, error))
		return NULL;
	/* the other protocols have framings of their own */
	if (target->framing_given && target->protocol != DFU_PROTOCOL_SMP) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "option 'framing' in target '%s' applies to protocol smp only", uri);
		return NULL;
	}
	/* the line settings mean nothing to the other protocols: silently ignoring them would mislead */
	if (option_given(seen, "terminator") && target->protocol != DFU_PROTOCOL_ATFOTA) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "target '%s': terminator applies to protocol=atfota only", uri);
		return NULL;
	}
	if (option_given(seen, "rtscts") && target->protocol != DFU_PROTOCOL_ATFOTA &&
	    target->protocol != DFU_PROTOCOL_MESHDFU) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "target '%s': rtscts applies to protocol=atfota and protocol=meshdfu only", uri);
		return NULL;
	}
	if (option_given(seen, "pubkey") && target->protocol != DFU_PROTOCOL_MESHDFU) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "target '%s': pubkey applies to protocol=meshdfu only", uri);
		return NULL;
	}
	/* the mesh stack and its bootloader run with hardware flow control */
	if (!option_given(seen, "rtscts") && target->protocol == DFU_PROTOCOL_MESHDFU)
		target->rtscts = TRUE;
	target->uri = target_normalise(target, option_given(seen, "adapter"));
	return g_steal_pointer(&target);
}

void
dfu_target_free(DfuTarget *target)
{
	if (target == NULL)
		return;
	g_free(target->path);
	g_free(target->address);
	g_free(target->adapter);
	g_free(target->host);
	g_free(target->terminator);
	g_free(target->pubkey);
	g_free(target->uri);
	g_free(target);
}

const char *
dfu_target_device_key(const DfuTarget *target)
{
	return target->link == DFU_LINK_SERIAL ? target->path : target->address;
}
