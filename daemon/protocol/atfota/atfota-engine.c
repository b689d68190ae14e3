/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "atfota-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at-link.h"
#include "atfota-image.h"
#include "atfota-push.h"
#include "dfu-error.h"
#include "dfu-job.h"

/* the modem library's DFU results that AT#XFOTA passes on as <info> */
#define MODEM_DFU_INTERNAL 71303169
#define MODEM_DFU_HARDWARE 71303170
#define MODEM_DFU_AUTH 71303171
#define MODEM_DFU_UUID 71303172
#define MODEM_DFU_VOLTAGE_LOW 71303173

#define STAGE_INIT 0
#define STAGE_DOWNLOADING 1
#define STAGE_ERASE_PENDING 2
#define STAGE_ERASED 3
#define STAGE_DOWNLOADED 4
#define STAGE_COMPLETE 5

#define STATUS_OK 0
#define STATUS_ERROR 1
#define STATUS_CANCELLED 2
#define STATUS_REVERTED 3

typedef enum {
	ST_IDLE,
	ST_PEEKING,    /* the first bytes at the URL, when the daemon reaches it, tell the image's kind */
	ST_CONNECTING, /* open, then Ready or an answered probe */
	ST_DETECTING,  /* lineage and ops */
	ST_READING_BASELINE, /* the version that runs before the update */
	ST_LISTENING,        /* restarted on SLM: a download still running shows by its notifications */
	ST_STARTING,         /* AT#XFOTA=<op>,<url>... until its final result */
	ST_DOWNLOADING,      /* #XFOTA: 1,0,<pct> ... until 4,0 */
	ST_STOPPING,         /* stalled: AT#XFOTA=0, then the same start again */
	ST_RESETTING,        /* AT#XRESET until Ready */
	ST_VERIFYING,        /* #XFOTA: 5,<status>[,<info>] */
	ST_MODEM_RESETTING,  /* AT#XMODEMRESET: the result comes before its OK */
	ST_ENABLING_MODEM,   /* AT+CFUN=1: the modem reset leaves the modem off */
	ST_READING_VERSION,  /* what runs now */
	ST_PUSH_PROBING,     /* a local image: AT#XDFUINIT=? lists the image types the module takes */
	ST_PUSHING,          /* AT#XDFUINIT, AT#XDFUWRITE..., AT#XDFUAPPLY */
	ST_DONE,
} AtfotaState;

typedef struct {
	DfuEngine parent;
	AtfotaOptions opt;
	char *url;
	char *expected_version;
	char *start_command;
	AtLink *link;
	AtfotaState state;
	AtModemInfo modem;
	guint timer;
	guint stalls;
	gint64 start_errno;   /* from #XFOTA: 1,1,<errno> just before the start's ERROR */
	gboolean downloaded;  /* 4,0 came before the start's OK */
	gboolean expect_stop; /* our own AT#XFOTA=0: its cancel notification is no failure */
	gboolean adopted;     /* activating an image the module held before this attempt started */
	gboolean probing;     /* resetting to learn whether the module holds the image */
	char *version_before;
	char *version_after;
	char *result_text; /* the #XFOTA: 4,1 or 5,... line of the activation */
	char *file;        /* a local image the host pushes; NULL: the module downloads url */
	char *source;
	DfuImageData *image; /* the file, open */
	AtfotaPush *push;
	DfuPeek *peek;
} AtfotaEngine;

/* the image type of AT#XDFUINIT for each op; a full modem image comes in segments dfud does not push */
static const struct {
	guint op;
	guint type;
} push_types[] = {
        {DFU_FOTA_OP_APPLICATION, 0},
        {DFU_FOTA_OP_MODEM_DELTA, 1},
        {DFU_FOTA_OP_BOOTLOADER, 3},
};

static gboolean
push_type(guint op, guint *type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(push_types); i++) {
		if (push_types[i].op == op) {
			*type = push_types[i].type;
			return TRUE;
		}
	}
	return FALSE;
}

/* how the module's failures end a job, first match wins */
static const struct {
	guint stage_min, stage_max;
	guint status;
	gint64 info_min, info_max;
	DfuStatus code;
	const char *what;
	const char *hint;
} failures[] = {
        {STAGE_INIT, STAGE_DOWNLOADING, STATUS_ERROR, 1, 1, DFU_STATUS_FETCH_FAILED,
         "the module could not download the image",
         "check the module's LTE coverage and that the server is reachable from the cellular network; "
         "the job is retried and the download resumes"},
        {STAGE_INIT, STAGE_DOWNLOADING, STATUS_ERROR, 2, 2, DFU_STATUS_IMAGE_REJECTED,
         "the module rejected the image as invalid",
         "the file at the URL is not a valid update for this module (corrupted, or signed with "
         "another key)"},
        {STAGE_INIT, STAGE_DOWNLOADING, STATUS_ERROR, 3, 3, DFU_STATUS_UNSUPPORTED_BUNDLE,
         "the image is of another kind than the update asked for",
         "the URL points to a modem image for an application update or the reverse: check the "
         "fota-op option"},
        {STAGE_INIT, STAGE_DOWNLOADING, STATUS_ERROR, 4, 4, DFU_STATUS_DEVICE_ERROR,
         "the module failed internally during the download", "see the module's log; reset it and retry"},
        {STAGE_DOWNLOADING, STAGE_DOWNLOADING, STATUS_ERROR, G_MININT64, -1, DFU_STATUS_UPLOAD_REFUSED,
         "the module refused to start the download",
         "info is the errno: a malformed or too long URL, a sec-tag without credentials (AT%CMNG), "
         "or another download already running"},
        {STAGE_INIT, STAGE_ERASED, STATUS_CANCELLED, G_MININT64, G_MAXINT64, DFU_STATUS_CANCELLED,
         "the module cancelled the download", "something else sent AT#XFOTA=0 to the module"},
        {STAGE_DOWNLOADED, STAGE_COMPLETE, STATUS_ERROR, MODEM_DFU_VOLTAGE_LOW, MODEM_DFU_VOLTAGE_LOW,
         DFU_STATUS_DEVICE_BUSY, "the modem postponed the update: its supply voltage is too low",
         "the old firmware keeps running; the update is applied at a later reset once the supply "
         "is stable"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_ERROR, MODEM_DFU_INTERNAL, MODEM_DFU_INTERNAL,
         DFU_STATUS_DEVICE_ERROR, "the modem failed internally while it installed the update",
         "the modem may not start; recover it with a full modem update through the debugger"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_ERROR, MODEM_DFU_HARDWARE, MODEM_DFU_HARDWARE,
         DFU_STATUS_DEVICE_ERROR, "the modem reported a hardware error while it installed the update",
         "the module may be damaged; replace it or recover it through the debugger"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_ERROR, MODEM_DFU_AUTH, MODEM_DFU_AUTH,
         DFU_STATUS_IMAGE_REJECTED, "the modem refused the image's signature",
         "the old firmware keeps running; the image is not an official one for this modem"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_ERROR, MODEM_DFU_UUID, MODEM_DFU_UUID,
         DFU_STATUS_DEVICE_MISMATCH, "the modem image is a delta from another firmware version",
         "the old firmware keeps running; use the delta made for the modem version it runs"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_REVERTED, G_MININT64, G_MAXINT64, DFU_STATUS_ROLLED_BACK,
         "the module went back to the old application after the reset",
         "MCUboot did not accept the new image or it failed to start; check the image's signing key"},
        {STAGE_COMPLETE, STAGE_COMPLETE, STATUS_ERROR, G_MININT64, G_MAXINT64, DFU_STATUS_ROLLED_BACK,
         "the update did not take after the reset",
         "info is MCUboot's swap type or an errno: the image was not booted as a test image, or "
         "(Serial Modem) it is older than the running one"},
        {STAGE_INIT, STAGE_COMPLETE, STATUS_ERROR, G_MININT64, G_MAXINT64, DFU_STATUS_DEVICE_ERROR,
         "the module reported an update error", "see DeviceError for the stage, status and info"},
};

static void set_state(AtfotaEngine *self, AtfotaState state);

/* the outcome is reported from the loop, never from inside start or cancel */
static void
finish(AtfotaEngine *self, guint result, GError *error, GVariant *device_error)
{
	if (self->state == ST_DONE) {
		g_clear_error(&error);
		if (device_error != NULL)
			g_variant_unref(g_variant_ref_sink(device_error));
		return;
	}
	self->state = ST_DONE;
	g_clear_handle_id(&self->timer, g_source_remove);
	dfu_engine_finish(&self->parent, result, error, device_error);
	g_clear_error(&error);
}

static void
fail(AtfotaEngine *self, const GError *error)
{
	finish(self, DFU_STATUS_NONE, g_error_copy(error), NULL);
}

static GVariant *
fota_device_error(AtfotaEngine *self, const AtLine *line)
{
	GVariantDict dict;

	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "fota-stage", "u", line->stage);
	g_variant_dict_insert(&dict, "fota-status", "u", line->status);
	if (line->has_info)
		g_variant_dict_insert(&dict, "fota-info", "x", line->info);
	/* what ran before and after the reset tells a revert from an update that took */
	if (line->stage == STAGE_COMPLETE && self->version_before != NULL)
		g_variant_dict_insert(&dict, "version-before", "s", self->version_before);
	if (line->stage == STAGE_COMPLETE && self->version_after != NULL)
		g_variant_dict_insert(&dict, "version-after", "s", self->version_after);
	if (line->stage == STAGE_COMPLETE && self->expected_version != NULL)
		g_variant_dict_insert(&dict, "version-expected", "s", self->expected_version);
	return g_variant_dict_end(&dict);
}

static void
fail_fota(AtfotaEngine *self, const AtLine *line)
{
	gint64 info = line->has_info ? line->info : 0;

	for (gsize i = 0; i < G_N_ELEMENTS(failures); i++) {
		if (line->stage < failures[i].stage_min || line->stage > failures[i].stage_max ||
		    line->status != failures[i].status || info < failures[i].info_min ||
		    info > failures[i].info_max)
			continue;
		finish(self, DFU_STATUS_NONE,
		       g_error_new(DFU_ERROR, failures[i].code, "%s (%s): %s", failures[i].what, line->text,
		                   failures[i].hint),
		       fota_device_error(self, line));
		return;
	}
	finish(self, DFU_STATUS_NONE,
	       g_error_new(DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR, "unexpected notification %s", line->text),
	       fota_device_error(self, line));
}

static void
send_or_fail(AtfotaEngine *self, const char *command, AtLinkReplyFunc reply)
{
	g_autoptr(GError) error = NULL;

	dfu_engine_emit_log(&self->parent, "> %s", command);
	if (!at_link_send(self->link, command, self->opt.command_timeout_ms, reply, self, &error))
		fail(self, error);
}

static gboolean
modem_only(AtfotaEngine *self)
{
	return self->opt.op == DFU_FOTA_OP_MODEM_DELTA || self->opt.op == DFU_FOTA_OP_MODEM_FULL;
}

/* what shows whether the update took; a bootloader update changes none of the versions read here */
/* the start an earlier attempt had the module run: the identity the job kept */
#define IDENTITY_START "fota-start"

static gboolean
started_before(AtfotaEngine *self)
{
	const char *start = NULL;

	return self->opt.identity != NULL &&
	       g_variant_lookup(self->opt.identity, IDENTITY_START, "&s", &start) &&
	       g_strcmp0(start, self->start_command) == 0;
}

/* the module runs our start: a later attempt, also after a restart of the daemon, knows it */
static void
remember_start(AtfotaEngine *self)
{
	GVariantDict dict;

	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, IDENTITY_START, "s", self->start_command);
	dfu_engine_emit_identity(&self->parent, g_variant_dict_end(&dict));
}

/*
 * Serial LTE Modem, unlike Serial Modem, takes a second start while it
 * holds a downloaded image, and downloads it again: when an earlier attempt
 * started this download (the daemon may have died since), find out first
 * what the module does.
 */
static AtfotaState
first_fota_state(AtfotaEngine *self)
{
	if (self->file != NULL)
		return ST_PUSHING;
	return self->modem.lineage == AT_LINEAGE_SLM && started_before(self) ? ST_LISTENING : ST_STARTING;
}

static const char *
version_command(AtfotaEngine *self)
{
	if (self->opt.op == DFU_FOTA_OP_BOOTLOADER)
		return NULL;
	return modem_only(self) ? "AT+CGMR" : at_lineage_version_command(self->modem.lineage);
}

/* the version answer names the version: as a whole, not as the start of 1.10 when 1.1 is asked for */
static gboolean
names_version(const char *answer, const char *version)
{
	gsize n = strlen(version);

	for (const char *p = answer != NULL ? strstr(answer, version) : NULL; p != NULL;
	     p = strstr(p + 1, version)) {
		gboolean start = p == answer || !(g_ascii_isalnum(p[-1]) || p[-1] == '.');
		gboolean end = !(g_ascii_isalnum(p[n]) || p[n] == '.');

		if (start && end)
			return TRUE;
	}
	return FALSE;
}

static char *
join_lines(GPtrArray *lines)
{
	g_ptr_array_add(lines, NULL);
	return g_strjoinv(" ", (char **)lines->pdata);
}

static void
on_ready(AtLink *link, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	if (self->state == ST_RESETTING) {
		/* a module that reboots at once never answers the reset itself */
		at_link_abandon(self->link);
		dfu_engine_emit_log(&self->parent, "the module is back");
		/* Serial Modem may report no #XFOTA result for a pushed image: what runs tells */
		set_state(self, self->file != NULL && version_command(self) != NULL ? ST_READING_VERSION
		                                                                    : ST_VERIFYING);
		return;
	}
	set_state(self, ST_DETECTING);
}

static void
enter_connecting(AtfotaEngine *self)
{
	at_link_open(self->link);
}

/* nothing was sent to the module but questions: the image has to come from a URL */
static void
refuse_push(AtfotaEngine *self, const char *why)
{
	finish(self, DFU_STATUS_NONE,
	       g_error_new(DFU_ERROR, DFU_STATUS_PUSH_NOT_SUPPORTED,
	                   "%s: the module cannot take %s from the host; put the image on a server the "
	                   "module reaches and start the job with its URL",
	                   why, self->opt.source),
	       NULL);
}

static void
on_push_probe_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error,
                    gpointer user_data)
{
	AtfotaEngine *self = user_data;
	guint type = 0;
	g_autofree char *why = NULL;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	push_type(self->opt.op, &type);
	if (final->kind != AT_LINE_OK) {
		refuse_push(self, "the firmware has no AT#XDFUINIT");
		return;
	}
	if ((at_parse_list_bits(info) & (1u << type)) == 0) {
		why = g_strdup_printf("the firmware's AT#XDFUINIT does not take image type %u", type);
		refuse_push(self, why);
		return;
	}
	set_state(self, version_command(self) != NULL ? ST_READING_BASELINE : ST_PUSHING);
}

static void
enter_push_probing(AtfotaEngine *self)
{
	send_or_fail(self, "AT#XDFUINIT=?", on_push_probe_reply);
}

static void
on_detected(AtLink *link, const AtModemInfo *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	at_modem_info_clear(&self->modem);
	self->modem.lineage = info->lineage;
	self->modem.version = g_strdup(info->version);
	self->modem.ops = info->ops;
	dfu_engine_emit_log(&self->parent, "%s, %s; AT#XFOTA ops 0x%x", at_lineage_to_string(info->lineage),
	                    info->version, info->ops);
	if (self->file != NULL && info->lineage == AT_LINEAGE_SLM) {
		refuse_push(self, "Serial LTE Modem firmware downloads its images itself");
		return;
	}
	if (self->file != NULL) {
		set_state(self, ST_PUSH_PROBING);
		return;
	}
	if ((info->ops & (1u << self->opt.op)) == 0) {
		g_autoptr(GError) refused =
		        g_error_new(DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		                    "this module's firmware does not offer AT#XFOTA op %u "
		                    "(it lists 0x%x): pick another fota-op or update "
		                    "its application first",
		                    self->opt.op, info->ops);
		fail(self, refused);
		return;
	}
	set_state(self, version_command(self) != NULL ? ST_READING_BASELINE : first_fota_state(self));
}

static void
enter_detecting(AtfotaEngine *self)
{
	at_link_detect(self->link, self->opt.command_timeout_ms, on_detected, self);
}

/* FALSE, with the job failed, unless the command ended with OK */
static gboolean
reply_ok(AtfotaEngine *self, const char *command, const AtLine *final, const GError *error)
{
	g_autoptr(GError) failed = NULL;

	if (error != NULL) {
		fail(self, error);
		return FALSE;
	}
	if (final->kind == AT_LINE_OK)
		return TRUE;
	failed = g_error_new(DFU_ERROR, DFU_STATUS_DEVICE_ERROR, "the module answered %s to %s", final->text,
	                     command);
	fail(self, failed);
	return FALSE;
}

/* the version that ran before a push is judged against, also when an earlier attempt's image took */
#define IDENTITY_VERSION_BEFORE "fota-version-before"

static void
keep_version_before(AtfotaEngine *self)
{
	const char *before = NULL;
	GVariantDict dict;

	if (self->opt.identity != NULL &&
	    g_variant_lookup(self->opt.identity, IDENTITY_VERSION_BEFORE, "&s", &before)) {
		dfu_engine_emit_log(&self->parent, "an earlier attempt started its push while %s ran",
		                    before);
		g_free(self->version_before);
		self->version_before = g_strdup(before);
		return;
	}
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, IDENTITY_VERSION_BEFORE, "s", self->version_before);
	dfu_engine_emit_identity(&self->parent, g_variant_dict_end(&dict));
}

static void
on_baseline_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (!reply_ok(self, version_command(self), final, error))
		return;
	g_free(self->version_before);
	self->version_before = join_lines(info);
	dfu_engine_emit_log(&self->parent, "running before the update: %s", self->version_before);
	if (self->file != NULL)
		keep_version_before(self);
	/* nothing to download; a restarted job whose module held the image still activates it */
	if (self->expected_version != NULL && names_version(self->version_before, self->expected_version) &&
	    !started_before(self)) {
		dfu_engine_emit_log(&self->parent, "the module runs %s already", self->expected_version);
		finish(self, DFU_STATUS_UP_TO_DATE, NULL, NULL);
		return;
	}
	set_state(self, first_fota_state(self));
}

static void
enter_reading_baseline(AtfotaEngine *self)
{
	send_or_fail(self, version_command(self), on_baseline_reply);
}

/* modem-only updates are activated by resetting the modem alone, where the firmware can */
static void
activate(AtfotaEngine *self)
{
	set_state(self, modem_only(self) ? ST_MODEM_RESETTING : ST_RESETTING);
}

static void
on_start_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	g_autoptr(GError) refused = NULL;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	if (final->kind == AT_LINE_OK) {
		remember_start(self);
		if (self->downloaded)
			activate(self);
		else
			set_state(self, ST_DOWNLOADING);
		return;
	}
	/* after a restart of the daemon the module may still be downloading this very image */
	if (self->start_errno == -EALREADY || self->start_errno == -EINPROGRESS) {
		dfu_engine_emit_log(&self->parent, "the module is already downloading; following it");
		remember_start(self);
		set_state(self, ST_DOWNLOADING);
		return;
	}
	if (self->start_errno != 0) {
		g_autofree char *text = g_strdup_printf("#XFOTA: 1,1,%" G_GINT64_FORMAT, self->start_errno);
		AtLine line;

		at_line_classify(text, &line);
		fail_fota(self, &line);
		return;
	}
	/* Serial Modem keeps a downloaded image across a restart of the host and refuses another
	 * download until a reset activates it: finish that update instead of starting a second */
	if (self->modem.lineage == AT_LINEAGE_SM && final->kind == AT_LINE_ERROR) {
		dfu_engine_emit_log(&self->parent, "the module refuses a new download: it still holds the "
		                                   "downloaded image, which the reset activates");
		self->adopted = TRUE;
		dfu_engine_emit_progress(&self->parent, 100, 100);
		if (!self->opt.confirm)
			finish(self, DFU_STATUS_STAGED, NULL, NULL);
		else
			activate(self);
		return;
	}
	refused = g_error_new(DFU_ERROR, DFU_STATUS_UPLOAD_REFUSED,
	                      "the module answered %s to the start command: bad parameters", final->text);
	fail(self, refused);
}

static void
enter_starting(AtfotaEngine *self)
{
	self->start_errno = 0;
	self->downloaded = FALSE;
	send_or_fail(self, self->start_command, on_start_reply);
}

static gboolean
on_stall_timer(gpointer user_data)
{
	AtfotaEngine *self = user_data;

	self->timer = 0;
	self->stalls++;
	if (self->stalls > self->opt.stall_retries) {
		g_autoptr(GError) error =
		        g_error_new(DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT,
		                    "the module's download made no progress for %u s, %u times: check its "
		                    "LTE coverage and the server",
		                    self->opt.stall_timeout_ms / 1000, self->stalls);
		fail(self, error);
		return G_SOURCE_REMOVE;
	}
	dfu_engine_emit_log(&self->parent, "no progress for %u ms: stopping the download to resume it",
	                    self->opt.stall_timeout_ms);
	set_state(self, ST_STOPPING);
	return G_SOURCE_REMOVE;
}

static void
arm_stall_timer(AtfotaEngine *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	if (self->state == ST_DOWNLOADING)
		self->timer = g_timeout_add(self->opt.stall_timeout_ms, on_stall_timer, self);
}

static void
enter_downloading(AtfotaEngine *self)
{
	arm_stall_timer(self);
}

static void
on_stop_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	/* the same start command resumes where the download stopped */
	set_state(self, ST_STARTING);
}

static void
enter_stopping(AtfotaEngine *self)
{
	self->expect_stop = TRUE;
	send_or_fail(self, "AT#XFOTA=0", on_stop_reply);
}

/* silence: no download runs; a reset activates an image the module holds, and without one no result comes */
static gboolean
on_listen_timeout(gpointer user_data)
{
	AtfotaEngine *self = user_data;

	self->timer = 0;
	dfu_engine_emit_log(&self->parent, "the module is not downloading: resetting it to learn whether it "
	                                   "holds the image");
	self->probing = TRUE;
	set_state(self, ST_RESETTING);
	return G_SOURCE_REMOVE;
}

static void
enter_listening(AtfotaEngine *self)
{
	dfu_engine_emit_log(&self->parent,
	                    "an earlier attempt started this download: listening to the module");
	self->timer = g_timeout_add(self->opt.stall_timeout_ms, on_listen_timeout, self);
}

static void on_fota_download(AtfotaEngine *self, const AtLine *line);

/* the download an earlier attempt started goes on: follow it without a start of its own */
static void
on_fota_listening(AtfotaEngine *self, const AtLine *line)
{
	if (line->stage == STAGE_DOWNLOADING && line->status == STATUS_OK) {
		dfu_engine_emit_log(&self->parent, "the module is still downloading; following it");
		set_state(self, ST_DOWNLOADING);
	}
	on_fota_download(self, line);
}

static void
downloaded(AtfotaEngine *self)
{
	dfu_engine_emit_log(&self->parent, "the module holds the new image");
	if (self->file == NULL)
		dfu_engine_emit_progress(&self->parent, 100, 100);
	if (!self->opt.confirm) {
		finish(self, DFU_STATUS_STAGED, NULL, NULL);
		return;
	}
	if (self->state == ST_STARTING)
		self->downloaded = TRUE;
	else
		activate(self);
}

static void
on_push_progress(guint64 done, guint64 total, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	dfu_engine_emit_progress(&self->parent, done, total);
}

static void
on_push_log(const char *line, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	dfu_engine_emit_log(&self->parent, "%s", line);
}

static void
on_push_done(const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	downloaded(self);
}

static const AtfotaPushCallbacks push_callbacks = {
        .progress = on_push_progress,
        .log = on_push_log,
        .done = on_push_done,
};

/* a push starts from offset 0: AT#XDFUINIT starts the module's update area over */
static void
enter_pushing(AtfotaEngine *self)
{
	AtfotaPushOptions opt = {
	        .chunk_size = self->opt.push_chunk_size,
	        .command_timeout_ms = self->opt.command_timeout_ms,
	        .write_timeout_ms = self->opt.stall_timeout_ms,
	        .write_retries = self->opt.stall_retries,
	};

	push_type(self->opt.op, &opt.type);
	g_clear_pointer(&self->push, atfota_push_free);
	self->push = atfota_push_new(self->link, self->image, &opt, &push_callbacks, self);
	atfota_push_start(self->push);
}

static void
on_fota_download(AtfotaEngine *self, const AtLine *line)
{
	if (line->status == STATUS_OK) {
		arm_stall_timer(self);
		if (line->stage == STAGE_DOWNLOADING && line->has_info)
			dfu_engine_emit_progress(&self->parent, CLAMP(line->info, 0, 100), 100);
		else if (line->stage == STAGE_DOWNLOADED)
			downloaded(self);
		return;
	}
	if (line->status == STATUS_CANCELLED && self->expect_stop) {
		self->expect_stop = FALSE;
		return;
	}
	/* the start's errno comes just before its ERROR, which ends the start */
	if (self->state == ST_STARTING && line->stage == STAGE_DOWNLOADING && line->status == STATUS_ERROR &&
	    line->has_info && line->info < 0) {
		self->start_errno = line->info;
		return;
	}
	fail_fota(self, line);
}

static void
on_reset_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	g_autoptr(GError) refused = NULL;

	/* no answer is normal: the module may reboot before it sends OK */
	if (final == NULL || final->kind == AT_LINE_OK)
		return;
	refused = g_error_new(DFU_ERROR, DFU_STATUS_DEVICE_ERROR, "the module answered %s to AT#XRESET",
	                      final->text);
	fail(self, refused);
}

static void
enter_resetting(AtfotaEngine *self)
{
	g_clear_pointer(&self->result_text, g_free);
	at_link_wait_ready(self->link, self->opt.reset_timeout_ms, self->opt.probes, on_ready, self);
	send_or_fail(self, "AT#XRESET", on_reset_reply);
}

/* an adopted image that brings no result was no image at all: the start was refused for itself */
static void
fail_no_result(AtfotaEngine *self)
{
	g_autoptr(GError) error = NULL;

	if (self->adopted)
		error = g_error_new_literal(DFU_ERROR, DFU_STATUS_UPLOAD_REFUSED,
		                            "the module refused the start command and had no update to "
		                            "activate either: check the URL, sec-tag and pdn");
	else
		error = g_error_new_literal(DFU_ERROR, DFU_STATUS_DEVICE_ERROR,
		                            "the module reported no update result after its reset");
	fail(self, error);
}

static void
judge(AtfotaEngine *self, const AtLine *result)
{
	gboolean changed = g_strcmp0(self->version_after, self->version_before) != 0;

	/* the user said what must run: that alone decides a reported success */
	if (result->status == STATUS_OK && self->expected_version != NULL) {
		if (names_version(self->version_after, self->expected_version)) {
			finish(self, DFU_STATUS_SUCCESS, NULL, NULL);
			return;
		}
		finish(self, DFU_STATUS_NONE,
		       g_error_new(DFU_ERROR, DFU_STATUS_WRONG_VERSION,
		                   "the module reports the update installed (%s) but runs %s, not %s: the "
		                   "image at the URL is another version than the job expected",
		                   result->text, self->version_after, self->expected_version),
		       fota_device_error(self, result));
		return;
	}

	if (result->status == STATUS_OK && (changed || version_command(self) == NULL)) {
		finish(self, DFU_STATUS_SUCCESS, NULL, NULL);
		return;
	}
	/* the module's word alone is not enough: it confirms what booted, not what was downloaded */
	if (result->status == STATUS_OK) {
		finish(self, DFU_STATUS_NONE,
		       g_error_new(DFU_ERROR, DFU_STATUS_ROLLED_BACK,
		                   "the module reports the update installed (%s) but still runs %s: the "
		                   "image at the URL is the running version, or it was not booted",
		                   result->text, self->version_after),
		       fota_device_error(self, result));
		return;
	}
	if (changed) {
		finish(self, DFU_STATUS_NONE,
		       g_error_new(DFU_ERROR, DFU_STATUS_WRONG_VERSION,
		                   "the module reports the update failed (%s) yet runs %s instead of %s: "
		                   "the new image may run unconfirmed and go back at the next reset",
		                   result->text, self->version_after, self->version_before),
		       fota_device_error(self, result));
		return;
	}
	fail_fota(self, result);
}

/* a pushed image without a result of the module's own stands on the version that runs */
static void
activation_result(AtfotaEngine *self, AtLine *result)
{
	if (self->result_text != NULL) {
		at_line_classify(self->result_text, result);
		return;
	}
	*result = (AtLine){
	        .kind = AT_LINE_FOTA,
	        .text = "no #XFOTA result after the reset",
	        .code = -1,
	        .stage = STAGE_COMPLETE,
	        .status = STATUS_OK,
	};
}

static void
on_version_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	AtLine result;

	activation_result(self, &result);
	if (error == NULL && final->kind == AT_LINE_OK) {
		g_free(self->version_after);
		self->version_after = join_lines(info);
		dfu_engine_emit_log(&self->parent, "running after the update: %s", self->version_after);
		judge(self, &result);
		return;
	}
	/* a failed update may leave the module unable to say what runs; its result says more */
	if (result.status != STATUS_OK)
		fail_fota(self, &result);
	else
		reply_ok(self, version_command(self), final, error);
}

static void
enter_reading_version(AtfotaEngine *self)
{
	send_or_fail(self, version_command(self), on_version_reply);
}

/* the activation's result, then what runs */
static void
conclude(AtfotaEngine *self)
{
	AtLine result;

	if (self->result_text == NULL && self->file == NULL) {
		fail_no_result(self);
		return;
	}
	activation_result(self, &result);
	if (result.stage != STAGE_COMPLETE) {
		fail_fota(self, &result);
		return;
	}
	dfu_engine_emit_log(&self->parent, "the module reports the update %s",
	                    result.status == STATUS_OK ? "installed" : "failed");
	if (version_command(self) != NULL)
		set_state(self, ST_READING_VERSION);
	else
		judge(self, &result);
}

static void
keep_result(AtfotaEngine *self, const AtLine *line)
{
	g_free(self->result_text);
	self->result_text = g_strdup(line->text);
}

/* after a push the version is read at once; a result the module reports meanwhile still counts */
static void
on_fota_late_result(AtfotaEngine *self, const AtLine *line)
{
	if (line->stage == STAGE_COMPLETE)
		keep_result(self, line);
}

static gboolean
on_result_timeout(gpointer user_data)
{
	AtfotaEngine *self = user_data;

	self->timer = 0;
	if (self->probing) {
		self->probing = FALSE;
		dfu_engine_emit_log(&self->parent,
		                    "the module held no downloaded image: starting the download");
		set_state(self, ST_STARTING);
		return G_SOURCE_REMOVE;
	}
	if (self->file != NULL) {
		conclude(self);
		return G_SOURCE_REMOVE;
	}
	fail_no_result(self);
	return G_SOURCE_REMOVE;
}

static void
enter_verifying(AtfotaEngine *self)
{
	self->timer = g_timeout_add(self->opt.result_timeout_ms, on_result_timeout, self);
}

static void
on_fota_result(AtfotaEngine *self, const AtLine *line)
{
	if (line->stage != STAGE_COMPLETE && line->status == STATUS_OK)
		return;
	keep_result(self, line);
	conclude(self);
}

/* the result comes while AT#XMODEMRESET is in flight; it is judged once the modem is back on */
static void
on_fota_modem_reset(AtfotaEngine *self, const AtLine *line)
{
	if (line->stage >= STAGE_DOWNLOADED)
		keep_result(self, line);
}

static void
on_modem_reset_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error,
                     gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	for (guint i = 0; i < info->len; i++)
		dfu_engine_emit_log(&self->parent, "< %s", (const char *)g_ptr_array_index(info, i));
	/* early Serial LTE Modem firmware has no modem reset: reset all of the module */
	if (final->kind != AT_LINE_OK && self->result_text == NULL) {
		dfu_engine_emit_log(&self->parent,
		                    "the module answered %s to AT#XMODEMRESET: resetting all of it",
		                    final->text);
		set_state(self, ST_RESETTING);
		return;
	}
	set_state(self, ST_ENABLING_MODEM);
}

static void
enter_modem_resetting(AtfotaEngine *self)
{
	g_clear_pointer(&self->result_text, g_free);
	send_or_fail(self, "AT#XMODEMRESET", on_modem_reset_reply);
}

static void
on_cfun_reply(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	/* the modem reset leaves the modem off */
	if (reply_ok(self, "AT+CFUN=1", final, error))
		conclude(self);
}

static void
enter_enabling_modem(AtfotaEngine *self)
{
	send_or_fail(self, "AT+CFUN=1", on_cfun_reply);
}

static void
on_peek_done(const guint8 *head, gsize len, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;
	g_autoptr(GError) mismatch = NULL;

	self->peek = NULL;
	if (error != NULL) {
		dfu_engine_emit_log(&self->parent,
		                    "the daemon cannot read %s (%s): the module, which may use another "
		                    "network, checks the image itself",
		                    self->url, error->message);
	} else if (!atfota_image_check(self->opt.op, head, len, self->url, &mismatch)) {
		finish(self, DFU_STATUS_NONE, g_steal_pointer(&mismatch), NULL);
		return;
	} else {
		dfu_engine_emit_log(&self->parent, "the first bytes at the URL suit fota-op %u",
		                    self->opt.op);
	}
	set_state(self, ST_CONNECTING);
}

/* the image's kind is checked before the module spends its LTE data on a wrong one */
static void
enter_peeking(AtfotaEngine *self)
{
	g_autoptr(GError) error = NULL;

	self->peek = dfu_fetcher_peek(self->opt.fetcher, self->url, ATFOTA_IMAGE_HEAD_SIZE, on_peek_done,
	                              self, &error);
	if (self->peek != NULL)
		return;
	dfu_engine_emit_log(&self->parent,
	                    "the daemon does not fetch %s (%s): the module checks the image itself",
	                    self->url, error->message);
	set_state(self, ST_CONNECTING);
}

static const struct {
	AtfotaState state;
	DfuJobPhase phase;
	void (*enter)(AtfotaEngine *self);
	void (*on_fota)(AtfotaEngine *self, const AtLine *line);
} states[] = {
        {ST_PEEKING, DFU_JOB_PHASE_INSPECTING, enter_peeking, NULL},
        {ST_CONNECTING, DFU_JOB_PHASE_CONNECTING, enter_connecting, NULL},
        {ST_DETECTING, DFU_JOB_PHASE_INSPECTING, enter_detecting, NULL},
        {ST_READING_BASELINE, DFU_JOB_PHASE_INSPECTING, enter_reading_baseline, NULL},
        {ST_LISTENING, DFU_JOB_PHASE_FETCHING, enter_listening, on_fota_listening},
        {ST_STARTING, DFU_JOB_PHASE_FETCHING, enter_starting, on_fota_download},
        {ST_DOWNLOADING, DFU_JOB_PHASE_FETCHING, enter_downloading, on_fota_download},
        {ST_STOPPING, DFU_JOB_PHASE_FETCHING, enter_stopping, on_fota_download},
        {ST_RESETTING, DFU_JOB_PHASE_RESETTING, enter_resetting, on_fota_result},
        {ST_VERIFYING, DFU_JOB_PHASE_CONFIRMING, enter_verifying, on_fota_result},
        {ST_MODEM_RESETTING, DFU_JOB_PHASE_RESETTING, enter_modem_resetting, on_fota_modem_reset},
        {ST_ENABLING_MODEM, DFU_JOB_PHASE_CONFIRMING, enter_enabling_modem, NULL},
        {ST_READING_VERSION, DFU_JOB_PHASE_CONFIRMING, enter_reading_version, on_fota_late_result},
        {ST_PUSH_PROBING, DFU_JOB_PHASE_INSPECTING, enter_push_probing, NULL},
        {ST_PUSHING, DFU_JOB_PHASE_UPLOADING, enter_pushing, NULL},
};

static void
set_state(AtfotaEngine *self, AtfotaState state)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	self->state = state;
	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (states[i].state != state)
			continue;
		dfu_engine_emit_phase(&self->parent, states[i].phase);
		states[i].enter(self);
		return;
	}
}

static void
on_notification(AtLink *link, const AtLine *line, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (self->state == ST_PUSHING && line->kind == AT_LINE_TEXT) {
		atfota_push_notification(self->push, line);
		return;
	}
	if (line->kind != AT_LINE_FOTA)
		return;
	dfu_engine_emit_log(&self->parent, "< %s", line->text);
	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (states[i].state == self->state && states[i].on_fota != NULL) {
			states[i].on_fota(self, line);
			return;
		}
	}
}

static void
on_opened(AtLink *link, const GError *error, gpointer user_data)
{
	AtfotaEngine *self = user_data;

	if (error != NULL) {
		fail(self, error);
		return;
	}
	at_link_wait_ready(self->link, self->opt.ready_timeout_ms, self->opt.probes, on_ready, self);
}

static void
on_closed(AtLink *link, const GError *error, gpointer user_data)
{
	fail(user_data, error);
}

static const AtLinkCallbacks link_callbacks = {
        .opened = on_opened,
        .closed = on_closed,
        .notification = on_notification,
};

/* the local image, open; its kind checked against the op before anything reaches the module */
static gboolean
open_image(AtfotaEngine *self, GError **error)
{
	int fd = open(self->file, O_RDONLY | O_CLOEXEC);
	guint8 head[ATFOTA_IMAGE_HEAD_SIZE] = {0};
	guint type;
	struct stat st;

	if (!push_type(self->opt.op, &type)) {
		if (fd >= 0)
			close(fd);
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "fota-op %u cannot be pushed from a file: a full modem image goes in segments "
		            "through the module's bootloader mode; give its URL",
		            self->opt.op);
		return FALSE;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE, "cannot read %s: %s", self->file,
		            fd < 0 ? g_strerror(errno) : "empty");
		if (fd >= 0)
			close(fd);
		return FALSE;
	}
	self->image = dfu_image_data_new_file(fd, 0, st.st_size);
	return dfu_image_data_read(self->image, 0, head, MIN(sizeof(head), (gsize)st.st_size), error) &&
	       atfota_image_check(self->opt.op, head, MIN(sizeof(head), (gsize)st.st_size), self->opt.source,
	                          error);
}

static void
atfota_start(DfuEngine *engine)
{
	AtfotaEngine *self = (AtfotaEngine *)engine;
	GError *error = NULL;

	if (self->file != NULL && !open_image(self, &error)) {
		finish(self, DFU_STATUS_NONE, error, NULL);
		return;
	}
	/* the module fails such a start anyway; refusing it here sends nothing at all */
	if (self->url != NULL && g_str_has_prefix(self->url, "https:") && !self->opt.has_sec_tag) {
		finish(self, DFU_STATUS_NONE,
		       g_error_new(DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                   "%s is an https URL: the module needs a sec-tag for it", self->url),
		       NULL);
		return;
	}
	set_state(self, self->url != NULL && self->opt.fetcher != NULL ? ST_PEEKING : ST_CONNECTING);
}

static void
atfota_cancel(DfuEngine *engine)
{
	AtfotaEngine *self = (AtfotaEngine *)engine;
	gboolean downloading =
	        self->state == ST_STARTING || self->state == ST_DOWNLOADING || self->state == ST_LISTENING;

	if (self->state == ST_DONE)
		return;
	g_clear_pointer(&self->peek, dfu_peek_cancel);
	/* a push stops between two steps: the module keeps its old firmware, never told to apply the image */
	if (self->state == ST_PUSHING)
		at_link_abandon(self->link);
	/* the module would go on downloading after the job is gone */
	if (downloading) {
		at_link_abandon(self->link);
		at_link_send(self->link, "AT#XFOTA=0", self->opt.command_timeout_ms, NULL, NULL, NULL);
	}
	finish(self, DFU_STATUS_NONE, g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled"),
	       NULL);
}

static void
atfota_finalize(DfuEngine *engine)
{
	AtfotaEngine *self = (AtfotaEngine *)engine;

	g_clear_handle_id(&self->timer, g_source_remove);
	atfota_push_free(self->push);
	dfu_peek_cancel(self->peek);
	g_clear_pointer(&self->image, dfu_image_data_unref);
	g_free(self->file);
	g_free(self->source);
	at_link_free(self->link);
	at_modem_info_clear(&self->modem);
	g_free(self->version_before);
	g_free(self->version_after);
	g_free(self->result_text);
	g_free(self->url);
	g_free(self->expected_version);
	g_free(self->start_command);
	g_free(self);
}

static const DfuEngineClass atfota_class = {
        .name = "atfota",
        .start = atfota_start,
        .cancel = atfota_cancel,
        .finalize = atfota_finalize,
};

static char *
start_command_new(const AtfotaOptions *opt)
{
	GString *cmd = g_string_new(NULL);

	g_string_append_printf(cmd, "AT#XFOTA=%u,\"%s\"", opt->op, opt->url);
	/* pdn_id follows sec_tag; an http download without a sec_tag leaves it empty */
	if (opt->has_sec_tag)
		g_string_append_printf(cmd, ",%u", opt->sec_tag);
	else if (opt->has_pdn)
		g_string_append(cmd, ",");
	if (opt->has_pdn)
		g_string_append_printf(cmd, ",%u", opt->pdn);
	return g_string_free(cmd, FALSE);
}

DfuEngine *
atfota_engine_new(DfuTransport *transport, const AtfotaOptions *options, const DfuEngineCallbacks *callbacks,
                  gpointer user_data)
{
	AtfotaEngine *self = g_new0(AtfotaEngine, 1);

	dfu_engine_init(&self->parent, &atfota_class, callbacks, user_data);
	self->opt = *options;
	if (self->opt.op == 0)
		self->opt.op = DFU_FOTA_OP_APPLICATION;
	self->url = g_strdup(options->url);
	self->opt.url = self->url;
	self->expected_version = g_strdup(options->expected_version);
	self->opt.expected_version = self->expected_version;
	self->file = g_strdup(options->file);
	self->opt.file = self->file;
	self->source = g_strdup(options->source != NULL ? options->source : options->file);
	self->opt.source = self->source;
	if (self->opt.push_chunk_size == 0)
		self->opt.push_chunk_size = ATFOTA_PUSH_CHUNK_SIZE;
	self->start_command = options->url != NULL ? start_command_new(&self->opt) : NULL;
	self->link = at_link_new(transport, options->terminator, &link_callbacks, self);
	return &self->parent;
}
