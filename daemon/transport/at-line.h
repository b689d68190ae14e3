/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * AT command lines as Nordic's Serial LTE Modem and Serial Modem firmware
 * speak them: commands end in a terminator chosen when the firmware was
 * built; answers are CRLF-framed lines, a command's information lines then
 * one final result, with unsolicited notifications possible at any moment,
 * also between a command and its result.
 */
typedef enum {
	AT_TERMINATOR_CR,
	AT_TERMINATOR_LF,
	AT_TERMINATOR_CRLF,
} AtTerminator;

/* "cr", "lf" or "crlf"; FALSE for anything else */
gboolean at_terminator_from_string(const char *text, AtTerminator *out);
const char *at_terminator_to_string(AtTerminator term);

/* the bytes of one command line ("AT#XFOTA=0") with its terminator */
GBytes *at_line_encode_command(const char *command, AtTerminator term);

typedef enum {
	AT_LINE_TEXT,       /* an information line of the command in flight, or another notification */
	AT_LINE_OK,         /* final: success */
	AT_LINE_ERROR,      /* final: plain ERROR */
	AT_LINE_CME_ERROR,  /* final: +CME ERROR: <n> */
	AT_LINE_CMS_ERROR,  /* final: +CMS ERROR: <n> */
	AT_LINE_READY,      /* unsolicited: the firmware booted and accepts commands */
	AT_LINE_INIT_ERROR, /* unsolicited: the firmware booted but failed to initialise */
	AT_LINE_FOTA,       /* unsolicited: #XFOTA: <stage>,<status>[,<info>] */
} AtLineKind;

typedef struct {
	AtLineKind kind;
	const char *text; /* the line without its CR/LF, valid during the callback */
	gint64 code;      /* CME/CMS error number; -1 when it is not a number */
	guint stage;      /* FOTA only */
	guint status;
	gboolean has_info;
	gint64 info;
} AtLine;

/* one line on its own; TRUE for the final results */
void at_line_classify(const char *text, AtLine *out);
gboolean at_line_is_final(const AtLine *line);

/*
 * A #XFOTA: line with two numbers whose first is above the stage range is
 * the answer of AT#XFOTA=7 (area size, offset) rather than a notification:
 * at_line_classify() leaves it as TEXT and this reads it.
 */
gboolean at_line_parse_numbers(const char *text, const char *prefix, gint64 *values, guint n_values);

typedef void (*AtLineFunc)(const AtLine *line, gpointer user_data);

/*
 * Streaming splitter: feed it whatever the tty gives; it calls func once per
 * non-empty line ended by CR, LF or NUL. A line longer than max_line is
 * dropped whole and counted.
 */
typedef struct _AtLineDecoder AtLineDecoder;
AtLineDecoder *at_line_decoder_new(gsize max_line);
void at_line_decoder_free(AtLineDecoder *dec);
void at_line_decoder_feed(AtLineDecoder *dec, const guint8 *data, gsize len, AtLineFunc func,
                          gpointer user_data);
void at_line_decoder_reset(AtLineDecoder *dec);
guint at_line_decoder_get_dropped(AtLineDecoder *dec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AtLineDecoder, at_line_decoder_free)

G_END_DECLS
