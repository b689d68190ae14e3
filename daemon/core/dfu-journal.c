/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "dfu-journal.h"

#define EXPORT_ENV "DFUD_JOURNAL_EXPORT"

typedef char *(*JournalMessageFunc)(DfuJob *job, const char *who, const DfuJournalDetail *detail);

typedef struct {
	const char *name;       /* DFUD_EVENT */
	const char *message_id; /* fixed for ever: journal catalogs and filters rely on it */
	JournalMessageFunc message;
	gboolean has_status;
} JournalKind;

static char *
message_submitted(DfuJob *job, const char *who, const DfuJournalDetail *detail)
{
	const char *source = dfu_job_get_source(job);

	if (dfu_job_get_kind(job) != DFU_JOB_KIND_UPDATE)
		return g_strdup_printf("%s: %s submitted", who,
		                       dfu_job_kind_to_string(dfu_job_get_kind(job)));
	if (source == NULL || source[0] == '\0')
		return g_strdup_printf("%s: submitted", who);
	return g_strdup_printf("%s: submitted, installs %s", who, source);
}

static char *
message_started(DfuJob *job, const char *who, const DfuJournalDetail *detail)
{
	return g_strdup_printf("%s: started", who);
}

static char *
message_attempt(DfuJob *job, const char *who, const DfuJournalDetail *detail)
{
	return g_strdup_printf("%s: attempt %u started", who, dfu_job_get_attempt(job));
}

static char *
message_retry(DfuJob *job, const char *who, const DfuJournalDetail *detail)
{
	gboolean download = detail->download != 0;

	return g_strdup_printf(
	        "%s: %s %u failed: %s: %s; retrying in %.1f s", who, download ? "download" : "attempt",
	        download ? detail->download : dfu_job_get_attempt(job),
	        dfu_status_to_name(detail->status_code), detail->message != NULL ? detail->message : "",
	        detail->retry_delay_ms / 1000.0);
}

static char *
message_finished(DfuJob *job, const char *who, const DfuJournalDetail *detail)
{
	return g_strdup_printf("%s: %s: %s: %s", who, dfu_job_state_to_string(dfu_job_get_state(job)),
	                       dfu_status_to_name(detail->status_code),
	                       detail->message != NULL ? detail->message : "");
}

static const JournalKind kinds[] = {
        [DFU_JOURNAL_SUBMITTED] = {"submitted", "acc75c219138446babfb766285627657", message_submitted},
        [DFU_JOURNAL_STARTED] = {"started", "b3e47886dac048439cab868250c87272", message_started},
        [DFU_JOURNAL_ATTEMPT] = {"attempt", "a7d5f1998b40445c8a52f7a0a864e155", message_attempt},
        [DFU_JOURNAL_RETRY] = {"retry", "859b94d083ab42f6a2bce80c3df514ee", message_retry, TRUE},
        [DFU_JOURNAL_FINISHED] = {"finished", "94af92672c6a4774b474b8c0a0417b47", message_finished, TRUE},
};

const char *
dfu_journal_message_id(DfuJournalEvent event)
{
	g_return_val_if_fail(event < G_N_ELEMENTS(kinds), NULL);
	return kinds[event].message_id;
}

static void
add_field(GPtrArray *fields, const char *name, const char *value)
{
	g_ptr_array_add(fields, g_strconcat(name, "=", value, NULL));
}

/* the entry as NAME=value strings, the same for the journal and the export file */
static GPtrArray *
journal_fields(DfuJournalEvent event, DfuJob *job, const DfuJournalDetail *detail)
{
	const JournalKind *kind = &kinds[event];
	GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
	const char *device = detail->device != NULL ? detail->device : dfu_job_get_target(job);
	g_autofree char *who =
	        g_strdup_printf("job %" G_GUINT64_FORMAT " for %s", dfu_job_get_id(job), device);
	g_autofree char *message = kind->message(job, who, detail);
	gboolean failed = event == DFU_JOURNAL_FINISHED && dfu_job_get_state(job) == DFU_JOB_STATE_FAILED;
	g_autofree char *priority = g_strdup_printf("%d", failed ? LOG_WARNING : LOG_INFO);
	g_autofree char *id = g_strdup_printf("%" G_GUINT64_FORMAT, dfu_job_get_id(job));
	g_autofree char *attempt = g_strdup_printf("%u", dfu_job_get_attempt(job));

	add_field(fields, "MESSAGE", message);
	add_field(fields, "MESSAGE_ID", kind->message_id);
	add_field(fields, "PRIORITY", priority);
	add_field(fields, "SYSLOG_IDENTIFIER", "dfud");
	add_field(fields, "DFUD_EVENT", kind->name);
	add_field(fields, "DFUD_KIND", dfu_job_kind_to_string(dfu_job_get_kind(job)));
	add_field(fields, "DFUD_JOB", id);
	add_field(fields, "DFUD_TARGET", dfu_job_get_target(job));
	add_field(fields, "DFUD_DEVICE", device);
	add_field(fields, "DFUD_ATTEMPT", attempt);
	if (dfu_job_get_source(job) != NULL && dfu_job_get_source(job)[0] != '\0')
		add_field(fields, "DFUD_SOURCE", dfu_job_get_source(job));
	if (kind->has_status) {
		g_autofree char *code = g_strdup_printf("%u", detail->status_code);

		add_field(fields, "DFUD_STATUS_CODE", code);
		add_field(fields, "DFUD_STATUS_NAME", dfu_status_to_name(detail->status_code));
	}
	if (event == DFU_JOURNAL_FINISHED)
		add_field(fields, "DFUD_STATE", dfu_job_state_to_string(dfu_job_get_state(job)));
	return fields;
}

/* one entry of the export format (systemd's JOURNAL_EXPORT_FORMATS): text fields as lines,
 * a value with a newline as its name, its size in 64-bit little endian and its bytes */
static GString *
export_entry(GPtrArray *fields)
{
	GString *entry = g_string_new(NULL);

	g_string_append_printf(entry, "__REALTIME_TIMESTAMP=%" G_GINT64_FORMAT "\n", g_get_real_time());
	for (guint i = 0; i < fields->len; i++) {
		const char *field = g_ptr_array_index(fields, i);
		const char *eq = strchr(field, '=');
		guint64 size = GUINT64_TO_LE((guint64)strlen(eq + 1));

		if (strchr(eq + 1, '\n') == NULL) {
			g_string_append_printf(entry, "%s\n", field);
			continue;
		}
		g_string_append_len(entry, field, eq - field);
		g_string_append_c(entry, '\n');
		g_string_append_len(entry, (const char *)&size, sizeof(size));
		g_string_append_printf(entry, "%s\n", eq + 1);
	}
	g_string_append_c(entry, '\n');
	return entry;
}

static void
export_write(const char *path, GPtrArray *fields)
{
	g_autoptr(GString) entry = export_entry(fields);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	/* one write per entry, so that concurrent readers never see half of one */
	if (fd < 0 || write(fd, entry->str, entry->len) != (ssize_t)entry->len)
		g_warning("cannot write the journal entry to %s: %s", path, g_strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* FALSE when journald did not take the entry */
static gboolean
journal_send(GPtrArray *fields)
{
	g_autofree struct iovec *iov = g_new0(struct iovec, fields->len);

	for (guint i = 0; i < fields->len; i++) {
		iov[i].iov_base = g_ptr_array_index(fields, i);
		iov[i].iov_len = strlen(iov[i].iov_base);
	}
	return sd_journal_sendv(iov, (int)fields->len) >= 0;
}

void
dfu_journal_job_event(DfuJournalEvent event, DfuJob *job, const DfuJournalDetail *detail)
{
	static const DfuJournalDetail none = {0};
	g_autoptr(GPtrArray) fields = NULL;
	const char *export_path = g_getenv(EXPORT_ENV);
	gboolean sent;

	g_return_if_fail(event < G_N_ELEMENTS(kinds));
	g_return_if_fail(DFU_IS_JOB(job));
	fields = journal_fields(event, job, detail != NULL ? detail : &none);
	if (export_path != NULL && export_path[0] != '\0') {
		export_write(export_path, fields);
		sent = TRUE;
	} else {
		sent = journal_send(fields);
	}
	/* run by hand or in a container, the line on standard error is what the operator sees */
	if (!sent || !g_log_writer_is_journald(STDERR_FILENO))
		g_printerr("dfud: %s\n", (const char *)g_ptr_array_index(fields, 0) + strlen("MESSAGE="));
}
