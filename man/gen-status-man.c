/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Prints the dfud-status(7) man page from the status table that the daemon
 * and dfuctl use, so that the page cannot drift from the code.
 */
#include <stdio.h>

#include "config.h"
#include "dfu-status.h"

typedef struct {
	DfuStatusKind kind;
	guint first;
	guint last;
	const char *title;
	const char *meaning;
} StatusRange;

static const StatusRange ranges[] = {
        {DFU_STATUS_KIND_OUTCOME, 0, 9, "Outcome",
         "The job has no result yet, or it ended well: success, staged and up-to-date are successes "
         "(job state succeeded, dfuctl exits with 0, or 2 for up-to-date)."},
        {DFU_STATUS_KIND_RECOVERABLE, 10, 99, "Recoverable",
         "The link or the device failed in a way that may pass. The daemon tries the job again with "
         "back-off (MaxAttempts and RetryDelaySec in dfud.conf(5)); when no attempt is left the job "
         "fails with the code of the last attempt."},
        {DFU_STATUS_KIND_DEVICE, 100, 149, "Device refused or failed",
         "The device answered but refused a step or ended up in an unexpected state. Trying again "
         "with the same bundle does not help."},
        {DFU_STATUS_KIND_BUNDLE, 150, 199, "Bundle is wrong",
         "The bundle cannot be installed as it is: it is damaged, of an unsupported kind, or not "
         "meant for this device. Nothing was sent to the device."},
        {DFU_STATUS_KIND_JOB, 200, 249, "Job control",
         "The job was cancelled, refused or interrupted by the daemon itself, not by the device."},
};

/* Escapes text for a troff text line; hyphen_as_minus keeps names copyable. */
static void
append_escaped(GString *out, const char *text, gboolean hyphen_as_minus)
{
	if (*text == '.' || *text == '\'')
		g_string_append(out, "\\&");
	for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '\\')
			g_string_append(out, "\\e");
		else if (c == '-' && hyphen_as_minus)
			g_string_append(out, "\\-");
		else if (c > 0x7f)
			g_string_append_printf(out, "\\[u%04X]", c);
		else
			g_string_append_c(out, (char)c);
	}
}

static void
append_sentence(GString *out, const char *text)
{
	append_escaped(out, text, FALSE);
	if (!g_str_has_suffix(text, "."))
		g_string_append_c(out, '.');
	g_string_append_c(out, '\n');
}

static void
append_header(GString *out)
{
	g_string_append(out, ".\\\" SPDX-License-Identifier: LGPL-2.1-or-later\n"
	                     ".\\\" Generated from the status table in daemon/core/dfu-status.c.\n");
	g_string_append_printf(out, ".TH DFUD-STATUS 7 \"\" \"dfud %s\" \"dfud\"\n.nr HY 0\n.nh\n",
	                       PACKAGE_VERSION);
	g_string_append(out,
	                ".SH NAME\n"
	                "dfud-status \\- status codes of dfud update jobs\n"
	                ".SH DESCRIPTION\n"
	                "Every update job of\n"
	                ".BR dfud (8)\n"
	                "ends with exactly one status code from one table.\n"
	                "The code and its name are the job's\n"
	                ".B StatusCode\n"
	                "and\n"
	                ".B StatusName\n"
	                "properties on D\\-Bus, the second argument of the\n"
	                ".B JobFinished\n"
	                "signal, and what\n"
	                ".BR dfuctl (1)\n"
	                "prints when a job fails:\n"
	                ".PP\n"
	                ".RS\n"
	                ".EX\n"
	                "dfuctl: job 7 failed: response\\-timeout (12): ...\n"
	                "hint: Wrong baud rate, ...\n"
	                ".EE\n"
	                ".RE\n"
	                ".PP\n"
	                "A method call that fails returns the D\\-Bus error\n"
	                ".BI org.dfud1.Error. Name\n"
	                "of the same entry.\n"
	                ".B dfuctl codes\n"
	                "prints this table.\n"
	                "Codes are never renumbered; new ones are only added.\n"
	                ".PP\n"
	                "Many failures also carry the raw code that the device or server gave, in the job's\n"
	                ".B DeviceError\n"
	                "property (for SMP the result code, or its group and code).\n"
	                ".SH RANGES\n"
	                "The number tells the kind of result, so that a script can act on the range\n"
	                "without knowing every code.\n");
	for (gsize i = 0; i < G_N_ELEMENTS(ranges); i++) {
		g_string_append_printf(out, ".TP\n.B %u\\(en%u %s\n.br\n", ranges[i].first, ranges[i].last,
		                       ranges[i].title);
		append_sentence(out, ranges[i].meaning);
	}
}

static void
append_entry(GString *out, const DfuStatusInfo *info)
{
	g_string_append_printf(out, ".TP\n.B %u ", (guint)info->code);
	append_escaped(out, info->name, TRUE);
	/* a short tag would otherwise share its line with the summary */
	g_string_append(out, "\n.br\n");
	append_sentence(out, info->summary);
	if (info->hint[0] != '\0') {
		g_string_append(out, ".IP\n");
		append_sentence(out, info->hint);
	}
	g_string_append_printf(out, ".IP\nD\\-Bus error: \\fBorg.dfud1.Error.%s\\fR\n", info->dbus_error);
}

static const StatusRange *
find_range(guint code)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ranges); i++) {
		if (code >= ranges[i].first && code <= ranges[i].last)
			return &ranges[i];
	}
	return NULL;
}

/* Fails when the ranges described here no longer match how the code classifies codes. */
static gboolean
check_ranges(void)
{
	gsize n_entries = 0;
	const DfuStatusInfo *table = dfu_status_table(&n_entries);

	for (gsize i = 0; i < G_N_ELEMENTS(ranges); i++) {
		if (dfu_status_kind(ranges[i].first) != ranges[i].kind ||
		    dfu_status_kind(ranges[i].last) != ranges[i].kind ||
		    (ranges[i].first > 0 && dfu_status_kind(ranges[i].first - 1) == ranges[i].kind)) {
			g_printerr("gen-status-man: range %u-%u does not match dfu_status_kind()\n",
			           ranges[i].first, ranges[i].last);
			return FALSE;
		}
	}
	for (gsize i = 0; i < n_entries; i++) {
		if (find_range(table[i].code) == NULL) {
			g_printerr("gen-status-man: code %u is in no documented range\n",
			           (guint)table[i].code);
			return FALSE;
		}
	}
	return TRUE;
}

static void
append_codes(GString *out)
{
	gsize n_entries = 0;
	const DfuStatusInfo *table = dfu_status_table(&n_entries);

	g_string_append(out, ".SH CODES\n");
	for (gsize r = 0; r < G_N_ELEMENTS(ranges); r++) {
		g_string_append_printf(out, ".SS %s (%u\\(en%u)\n", ranges[r].title, ranges[r].first,
		                       ranges[r].last);
		for (gsize i = 0; i < n_entries; i++) {
			if (dfu_status_kind(table[i].code) == ranges[r].kind)
				append_entry(out, &table[i]);
		}
	}
}

static void
append_footer(GString *out)
{
	g_string_append(out, ".SH SEE ALSO\n"
	                     ".BR dfuctl (1),\n"
	                     ".BR dfud.conf (5),\n"
	                     ".BR dfud (8)\n");
}

int
main(int argc, char **argv)
{
	g_autoptr(GString) out = g_string_new(NULL);

	if (argc != 1) {
		g_printerr("Usage: %s > dfud-status.7\n", argv[0]);
		return 1;
	}
	if (!check_ranges())
		return 1;
	append_header(out);
	append_codes(out);
	append_footer(out);
	if (fwrite(out->str, 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
		g_printerr("gen-status-man: cannot write the page\n");
		return 1;
	}
	return 0;
}
