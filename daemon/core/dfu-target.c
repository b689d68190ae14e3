/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bluetooth/bluetooth.h>
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
};

/* which protocols each link can carry: AT commands only exist on a serial modem */
static const guint protocol_links[] = {
        [DFU_PROTOCOL_SMP] = LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE),
        [DFU_PROTOCOL_NRFDFU] = LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE),
        [DFU_PROTOCOL_ATFOTA] = LINK_MASK(DFU_LINK_SERIAL),
};

static const char *const framing_names[] = {
        [DFU_FRAMING_CONSOLE] = "console",
        [DFU_FRAMING_RAW] = "raw",
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
	target->framing_given = dfu_framing_from_string(value, &target->framing);
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

static const TargetOption target_options[] = {
        {"baud", LINK_MASK(DFU_LINK_SERIAL), parse_baud, "a positive integer"},
        {"protocol", LINK_MASK(DFU_LINK_SERIAL) | LINK_MASK(DFU_LINK_BLE), parse_protocol,
         "smp, nrfdfu or atfota (atfota on serial only)"},
        {"adapter", LINK_MASK(DFU_LINK_BLE), parse_adapter, "hciN"},
        {"framing", LINK_MASK(DFU_LINK_SERIAL), parse_framing, "console or raw"},
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
	} else {
		g_string_append_printf(str, "ble:%s", target->address);
		if (adapter_given) {
			g_string_append_printf(str, "%cadapter=%s", sep, target->adapter);
			sep = '&';
		}
	}
	if (target->protocol != DFU_PROTOCOL_SMP) {
		g_string_append_printf(str, "%cprotocol=%s", sep, dfu_protocol_to_string(target->protocol));
		sep = '&';
	}
	if (target->framing_given)
		g_string_append_printf(str, "%cframing=%s", sep, dfu_framing_to_string(target->framing));
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
		            "target '%s' has no scheme (serial: or ble:)", uri);
		return NULL;
	}
	scheme = g_strndup(uri, colon - uri);
	if (g_strcmp0(scheme, "serial") == 0) {
		target->link = DFU_LINK_SERIAL;
	} else if (g_strcmp0(scheme, "ble") == 0) {
		target->link = DFU_LINK_BLE;
		target->adapter = g_strdup("hci0");
	} else {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "unknown scheme '%s' in target '%s' (serial: or ble:)", scheme, uri);
		return NULL;
	}
	query = strchr(colon + 1, '?');
	body = query != NULL ? g_strndup(colon + 1, query - colon - 1) : g_strdup(colon + 1);
	if (target->link == DFU_LINK_SERIAL) {
		if (!parse_serial_path(target, body, uri, error))
			return NULL;
	} else if (!parse_ble_address(target, body, uri, error)) {
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
	g_free(target->uri);
	g_free(target);
}
