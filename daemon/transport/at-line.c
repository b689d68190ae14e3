/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "at-line.h"

#include <string.h>

#define FOTA_PREFIX "#XFOTA:"
#define FOTA_MAX_STAGE 5

static const struct {
	AtTerminator term;
	const char *name;
	const char *bytes;
} terminators[] = {
        {AT_TERMINATOR_CR, "cr", "\r"},
        {AT_TERMINATOR_LF, "lf", "\n"},
        {AT_TERMINATOR_CRLF, "crlf", "\r\n"},
};

gboolean
at_terminator_from_string(const char *text, AtTerminator *out)
{
	for (gsize i = 0; text != NULL && i < G_N_ELEMENTS(terminators); i++) {
		if (g_ascii_strcasecmp(text, terminators[i].name) == 0) {
			*out = terminators[i].term;
			return TRUE;
		}
	}
	return FALSE;
}

const char *
at_terminator_to_string(AtTerminator term)
{
	for (gsize i = 0; i < G_N_ELEMENTS(terminators); i++) {
		if (terminators[i].term == term)
			return terminators[i].name;
	}
	g_return_val_if_reached("cr");
}

GBytes *
at_line_encode_command(const char *command, AtTerminator term)
{
	const char *end = terminators[0].bytes;
	g_autofree char *line = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(terminators); i++) {
		if (terminators[i].term == term)
			end = terminators[i].bytes;
	}
	line = g_strconcat(command, end, NULL);
	return g_bytes_new(line, strlen(line));
}

/* comma-separated integers, spaces allowed around them; FALSE unless there are exactly n_values */
gboolean
at_line_parse_numbers(const char *text, const char *prefix, gint64 *values, guint n_values)
{
	g_auto(GStrv) fields = NULL;

	if (!g_str_has_prefix(text, prefix))
		return FALSE;
	fields = g_strsplit(text + strlen(prefix), ",", -1);
	if (g_strv_length(fields) != n_values)
		return FALSE;
	for (guint i = 0; i < n_values; i++) {
		if (!g_ascii_string_to_signed(g_strstrip(fields[i]), 10, G_MININT64, G_MAXINT64, &values[i],
		                              NULL))
			return FALSE;
	}
	return TRUE;
}

/* stage,status or stage,status,info with a stage in range; anything else is an information line */
static gboolean
classify_fota(const char *text, AtLine *out)
{
	gint64 v[3];

	if (at_line_parse_numbers(text, FOTA_PREFIX, v, 3)) {
		out->has_info = TRUE;
		out->info = v[2];
	} else if (!at_line_parse_numbers(text, FOTA_PREFIX, v, 2)) {
		return FALSE;
	}
	if (v[0] < 0 || v[0] > FOTA_MAX_STAGE || v[1] < 0 || v[1] > G_MAXINT)
		return FALSE;
	out->kind = AT_LINE_FOTA;
	out->stage = v[0];
	out->status = v[1];
	return TRUE;
}

static const struct {
	const char *text;
	AtLineKind kind;
	gboolean prefix; /* followed by ": <n>" */
} line_kinds[] = {
        {"OK", AT_LINE_OK, FALSE},
        {"ERROR", AT_LINE_ERROR, FALSE},
        {"+CME ERROR:", AT_LINE_CME_ERROR, TRUE},
        {"+CMS ERROR:", AT_LINE_CMS_ERROR, TRUE},
        {"Ready", AT_LINE_READY, FALSE},
        {"INIT ERROR", AT_LINE_INIT_ERROR, FALSE},
};

void
at_line_classify(const char *text, AtLine *out)
{
	*out = (AtLine){.kind = AT_LINE_TEXT, .text = text, .code = -1};

	for (gsize i = 0; i < G_N_ELEMENTS(line_kinds); i++) {
		g_autofree char *number = NULL;

		if (!line_kinds[i].prefix) {
			if (strcmp(text, line_kinds[i].text) == 0)
				out->kind = line_kinds[i].kind;
			continue;
		}
		if (!g_str_has_prefix(text, line_kinds[i].text))
			continue;
		out->kind = line_kinds[i].kind;
		/* verbose error texts (AT+CMEE=2) have no number */
		number = g_strstrip(g_strdup(text + strlen(line_kinds[i].text)));
		if (!g_ascii_string_to_signed(number, 10, 0, G_MAXINT, &out->code, NULL))
			out->code = -1;
	}
	if (out->kind == AT_LINE_TEXT)
		classify_fota(text, out);
}

gboolean
at_line_is_final(const AtLine *line)
{
	return line->kind == AT_LINE_OK || line->kind == AT_LINE_ERROR || line->kind == AT_LINE_CME_ERROR ||
	       line->kind == AT_LINE_CMS_ERROR;
}

struct _AtLineDecoder {
	GByteArray *line;
	gsize max_line;
	gboolean overlong; /* skipping the rest of a line that grew too long */
	guint dropped;
};

AtLineDecoder *
at_line_decoder_new(gsize max_line)
{
	AtLineDecoder *dec = g_new0(AtLineDecoder, 1);

	dec->line = g_byte_array_new();
	dec->max_line = max_line;
	return dec;
}

void
at_line_decoder_free(AtLineDecoder *dec)
{
	if (dec == NULL)
		return;
	g_byte_array_unref(dec->line);
	g_free(dec);
}

void
at_line_decoder_reset(AtLineDecoder *dec)
{
	g_byte_array_set_size(dec->line, 0);
	dec->overlong = FALSE;
}

guint
at_line_decoder_get_dropped(AtLineDecoder *dec)
{
	return dec->dropped;
}

static void
end_line(AtLineDecoder *dec, AtLineFunc func, gpointer user_data)
{
	AtLine line;
	g_autofree char *text = NULL;

	if (dec->overlong || dec->line->len == 0) {
		at_line_decoder_reset(dec);
		return;
	}
	text = g_strndup((const char *)dec->line->data, dec->line->len);
	at_line_decoder_reset(dec);
	at_line_classify(text, &line);
	func(&line, user_data);
}

void
at_line_decoder_feed(AtLineDecoder *dec, const guint8 *data, gsize len, AtLineFunc func, gpointer user_data)
{
	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\r' || data[i] == '\n' || data[i] == '\0') {
			end_line(dec, func, user_data);
			continue;
		}
		if (dec->overlong)
			continue;
		if (dec->line->len >= dec->max_line) {
			dec->overlong = TRUE;
			dec->dropped++;
			continue;
		}
		g_byte_array_append(dec->line, &data[i], 1);
	}
}
