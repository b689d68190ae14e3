/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-nesting.h"

#include "dfu-error.h"

static gboolean
check_size(gsize len, const DfuNestingLimits *limits, GError **error)
{
	if (len <= limits->max_size)
		return TRUE;
	g_set_error(error, DFU_ERROR, limits->code,
	            "%s is %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT " allowed",
	            limits->what, len, limits->max_size);
	return FALSE;
}

static gboolean
too_deep(const DfuNestingLimits *limits, GError **error)
{
	g_set_error(error, DFU_ERROR, limits->code, "%s nests deeper than %u levels", limits->what,
	            limits->max_depth);
	return FALSE;
}

gboolean
dfu_json_check_limits(const char *data, gsize len, const DfuNestingLimits *limits, GError **error)
{
	gboolean in_string = FALSE;
	guint depth = 0;

	g_return_val_if_fail(limits != NULL, FALSE);
	if (!check_size(len, limits, error))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		char c = data[i];

		if (in_string) {
			/* an escape hides the next byte: \" does not end the string */
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (depth == limits->max_depth)
				return too_deep(limits, error);
			depth++;
		} else if ((c == ']' || c == '}') && depth > 0) {
			/* a surplus closer is the parser's to report */
			depth--;
		}
	}
	return TRUE;
}

typedef struct {
	guint64 remaining; /* items still to come in a definite container */
	gboolean indefinite;
} CborLevel;

/* Reads the argument of the CBOR head at *pos; *indefinite for additional info 31. */
static gboolean
cbor_read_head(const guint8 *buf, gsize len, gsize *pos, guint64 *value, gboolean *indefinite)
{
	guint8 info = buf[*pos] & 0x1f;
	gsize width;

	(*pos)++;
	*indefinite = info == 31;
	*value = info;
	if (info < 24 || info == 31)
		return TRUE;
	if (info > 27)
		return FALSE;
	width = (gsize)1 << (info - 24);
	if (len - *pos < width)
		return FALSE;
	*value = 0;
	for (gsize i = 0; i < width; i++)
		*value = (*value << 8) | buf[(*pos)++];
	return TRUE;
}

static gboolean
cbor_fail(const DfuNestingLimits *limits, const char *why, gsize pos, GError **error)
{
	g_set_error(error, DFU_ERROR, limits->code, "%s %s at byte %" G_GSIZE_FORMAT, limits->what, why, pos);
	return FALSE;
}

gboolean
dfu_cbor_check_limits(const guint8 *data, gsize len, const DfuNestingLimits *limits, GError **error)
{
	/* levels[0] stands for the one top-level item; each container or tag adds one */
	g_autofree CborLevel *levels = NULL;
	guint depth = 1;
	gsize pos = 0;

	g_return_val_if_fail(limits != NULL, FALSE);
	if (!check_size(len, limits, error))
		return FALSE;
	levels = g_new0(CborLevel, (gsize)limits->max_depth + 1);
	levels[0].remaining = 1;
	while (depth > 0) {
		CborLevel *top = &levels[depth - 1];
		gsize head = pos;
		guint8 major;
		guint64 value;
		gboolean indefinite;

		if (!top->indefinite && top->remaining == 0) {
			depth--;
			continue;
		}
		if (pos >= len)
			return cbor_fail(limits, "is truncated", pos, error);
		if (top->indefinite && data[pos] == 0xff) {
			pos++;
			depth--;
			continue;
		}
		if (!top->indefinite)
			top->remaining--;
		major = data[pos] >> 5;
		if (!cbor_read_head(data, len, &pos, &value, &indefinite))
			return cbor_fail(limits, "has a truncated or reserved item head", head, error);
		if (indefinite && (major < 2 || major == 6 || major == 7))
			return cbor_fail(limits, "has a misplaced indefinite length or break", head, error);
		if ((major == 2 || major == 3) && !indefinite) {
			if (value > len - pos)
				return cbor_fail(limits, "announces a string longer than it holds", head,
				                 error);
			pos += (gsize)value;
			continue;
		}
		if (major < 2 || major == 7)
			continue;
		/* arrays need a byte per item, maps two per pair; a tag wraps one item */
		if ((major == 4 && !indefinite && value > len - pos) ||
		    (major == 5 && !indefinite && value > (len - pos) / 2))
			return cbor_fail(limits, "announces more items than it holds", head, error);
		if (depth > limits->max_depth)
			return too_deep(limits, error);
		levels[depth].indefinite = indefinite;
		levels[depth].remaining = major == 6 ? 1 : major == 5 ? value * 2 : value;
		depth++;
	}
	return TRUE;
}
