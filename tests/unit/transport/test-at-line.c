/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "at-line.h"

typedef struct {
	AtLineKind kind;
	char *text;
	gint64 code;
	guint stage, status;
	gboolean has_info;
	gint64 info;
} Seen;

static void
collect(const AtLine *line, gpointer user_data)
{
	GArray *seen = user_data;
	Seen s = {line->kind,   g_strdup(line->text), line->code, line->stage,
	          line->status, line->has_info,       line->info};
	g_array_append_val(seen, s);
}

static void
seen_clear(gpointer p)
{
	g_free(((Seen *)p)->text);
}

static GArray *
decode(const char *input, gsize chunk)
{
	g_autoptr(AtLineDecoder) dec = at_line_decoder_new(64);
	GArray *seen = g_array_new(FALSE, TRUE, sizeof(Seen));
	gsize len = strlen(input);

	g_array_set_clear_func(seen, seen_clear);
	for (gsize off = 0; off < len; off += chunk)
		at_line_decoder_feed(dec, (const guint8 *)input + off, MIN(chunk, len - off), collect, seen);
	return seen;
}

/* a notification between a command's information line and its final result, in every chunking */
static void
test_interleaved(void)
{
	const char *input = "\r\n#XSLMVER: \"2.5.0\"\r\n\r\n#XFOTA: 1,0,45\r\n\r\nOK\r\n";

	for (gsize chunk = 1; chunk <= strlen(input); chunk++) {
		g_autoptr(GArray) seen = decode(input, chunk);
		Seen *s = (Seen *)seen->data;

		g_assert_cmpuint(seen->len, ==, 3);
		g_assert_cmpint(s[0].kind, ==, AT_LINE_TEXT);
		g_assert_cmpstr(s[0].text, ==, "#XSLMVER: \"2.5.0\"");
		g_assert_cmpint(s[1].kind, ==, AT_LINE_FOTA);
		g_assert_cmpuint(s[1].stage, ==, 1);
		g_assert_cmpuint(s[1].status, ==, 0);
		g_assert_true(s[1].has_info);
		g_assert_cmpint(s[1].info, ==, 45);
		g_assert_cmpint(s[2].kind, ==, AT_LINE_OK);
	}
}

static void
test_classify(void)
{
	static const struct {
		const char *text;
		AtLineKind kind;
		gint64 code;
		gboolean final;
	} cases[] = {
	        {"OK", AT_LINE_OK, -1, TRUE},
	        {"ERROR", AT_LINE_ERROR, -1, TRUE},
	        {"+CME ERROR: 23", AT_LINE_CME_ERROR, 23, TRUE},
	        {"+CMS ERROR: 500", AT_LINE_CMS_ERROR, 500, TRUE},
	        {"+CME ERROR: memory failure", AT_LINE_CME_ERROR, -1, TRUE},
	        {"Ready", AT_LINE_READY, -1, FALSE},
	        {"INIT ERROR", AT_LINE_INIT_ERROR, -1, FALSE},
	        {"#XFOTA: 4,0", AT_LINE_FOTA, -1, FALSE},
	        {"#XFOTA: 5,1,71303171", AT_LINE_FOTA, -1, FALSE},
	        {"#XFOTA: 1,1,-22", AT_LINE_FOTA, -1, FALSE},
	        /* the answer of AT#XFOTA=7 has a first value beyond any stage */
	        {"#XFOTA: 1048576,0", AT_LINE_TEXT, -1, FALSE},
	        {"#XFOTA: (0,1,2,3,7,9),<file_url>", AT_LINE_TEXT, -1, FALSE},
	        {"#XFOTA: 1,x", AT_LINE_TEXT, -1, FALSE},
	        {"OKAY", AT_LINE_TEXT, -1, FALSE},
	        {"+CGMR: x", AT_LINE_TEXT, -1, FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		AtLine line;

		at_line_classify(cases[i].text, &line);
		g_assert_cmpint(line.kind, ==, cases[i].kind);
		g_assert_cmpint(line.code, ==, cases[i].code);
		g_assert_cmpint(at_line_is_final(&line), ==, cases[i].final);
	}
}

static void
test_cancel_without_info(void)
{
	AtLine line;

	at_line_classify("#XFOTA: 1,2", &line);
	g_assert_cmpint(line.kind, ==, AT_LINE_FOTA);
	g_assert_false(line.has_info);
	g_assert_cmpuint(line.status, ==, 2);
}

static void
test_numbers(void)
{
	gint64 v[2];

	g_assert_true(at_line_parse_numbers("#XFOTA: 1048576, 2621440", "#XFOTA:", v, 2));
	g_assert_cmpint(v[0], ==, 1048576);
	g_assert_cmpint(v[1], ==, 2621440);
	g_assert_false(at_line_parse_numbers("#XFOTA: 1,2,3", "#XFOTA:", v, 2));
	g_assert_false(at_line_parse_numbers("#XFOTO: 1,2", "#XFOTA:", v, 2));
}

/* junk that never ends a line is dropped whole; the next line is intact */
static void
test_overlong(void)
{
	g_autoptr(AtLineDecoder) dec = at_line_decoder_new(8);
	g_autoptr(GArray) seen = g_array_new(FALSE, TRUE, sizeof(Seen));
	const char *input = "0123456789abcdef\r\nOK\r\n\0\0Ready\n";

	g_array_set_clear_func(seen, seen_clear);
	at_line_decoder_feed(dec, (const guint8 *)input, 31, collect, seen);
	g_assert_cmpuint(seen->len, ==, 2);
	g_assert_cmpint(((Seen *)seen->data)[0].kind, ==, AT_LINE_OK);
	g_assert_cmpint(((Seen *)seen->data)[1].kind, ==, AT_LINE_READY);
	g_assert_cmpuint(at_line_decoder_get_dropped(dec), ==, 1);
}

static void
test_terminators(void)
{
	static const struct {
		const char *name;
		const char *bytes;
	} cases[] = {{"cr", "AT\r"}, {"LF", "AT\n"}, {"crlf", "AT\r\n"}};
	AtTerminator term;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) b = NULL;
		g_autofree char *lower = g_ascii_strdown(cases[i].name, -1);

		g_assert_true(at_terminator_from_string(cases[i].name, &term));
		b = at_line_encode_command("AT", term);
		g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), cases[i].bytes,
		                strlen(cases[i].bytes));
		g_assert_cmpstr(at_terminator_to_string(term), ==, lower);
	}
	g_assert_false(at_terminator_from_string("null", &term));
	g_assert_false(at_terminator_from_string(NULL, &term));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/at-line/interleaved", test_interleaved);
	g_test_add_func("/at-line/classify", test_classify);
	g_test_add_func("/at-line/cancel-without-info", test_cancel_without_info);
	g_test_add_func("/at-line/numbers", test_numbers);
	g_test_add_func("/at-line/overlong", test_overlong);
	g_test_add_func("/at-line/terminators", test_terminators);
	return g_test_run();
}
