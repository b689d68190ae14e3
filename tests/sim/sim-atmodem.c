/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sim-atmodem.h"

#include "sim-http-download.h"

#include <string.h>

/* the modem library's "voltage low": the update waits for a later reset */
#define MODEM_DFU_VOLTAGE_LOW 71303173
#define EALREADY_NEG (-114)
#define EINVAL_NEG (-22)

struct _SimAtModem {
	SimAtModemConfig config;
	SimAtModemOutputFunc output;
	gpointer user_data;
	GString *input;
	char *version;
	char *last_start;
	guint op;
	guint percent;
	gboolean downloading;
	gboolean pending;   /* 4,0 reported, waiting for a reset */
	gboolean stalled;   /* the one stall happened */
	gboolean failed;    /* the one download error happened */
	gboolean modem_off; /* AT#XMODEMRESET leaves the modem in CFUN=0 */
	guint starts;
	guint downloads; /* starts from the first byte */
	guint stops;
	guint resets;
	guint modem_resets;
	guint timer;
	gboolean uart_off; /* DTR inactive */
	SimHttpDownload *http;
	GByteArray *image;   /* what the download brought so far */
	char *image_version; /* of the downloaded application image */
	guint dtr_timer;
};

static void
emit(SimAtModem *self, const char *line)
{
	g_autofree char *framed = g_strdup_printf("\r\n%s\r\n", line);

	if (self->uart_off)
		return;
	self->output((const guint8 *)framed, strlen(framed), self->user_data);
}

static void G_GNUC_PRINTF(2, 3) emitf(SimAtModem *self, const char *format, ...)
{
	va_list ap;
	g_autofree char *line = NULL;

	va_start(ap, format);
	line = g_strdup_vprintf(format, ap);
	va_end(ap);
	emit(self, line);
}

static gboolean
on_step(gpointer user_data)
{
	SimAtModem *self = user_data;

	if (self->config.stall_at != 0 && !self->stalled && self->percent >= self->config.stall_at) {
		/* the connection hangs: no more news until the host stops and restarts it */
		self->stalled = TRUE;
		self->timer = 0;
		return G_SOURCE_REMOVE;
	}
	if (self->config.download_error != 0 && !self->failed && self->percent >= 50) {
		self->failed = TRUE;
		self->downloading = FALSE;
		self->percent = 0;
		self->timer = 0;
		emitf(self, "#XFOTA: 1,1,%u", self->config.download_error);
		return G_SOURCE_REMOVE;
	}
	self->percent = MIN(self->percent + self->config.step_percent, 100u);
	emitf(self, "#XFOTA: 1,0,%u", self->percent);
	if (self->percent < 100)
		return G_SOURCE_CONTINUE;
	self->downloading = FALSE;
	self->pending = TRUE;
	self->timer = 0;
	emit(self, "#XFOTA: 4,0");
	return G_SOURCE_REMOVE;
}

static gboolean
on_start_idle(gpointer user_data)
{
	SimAtModem *self = user_data;

	emitf(self, "#XFOTA: 1,0,%u", self->percent);
	self->timer = g_timeout_add(self->config.step_ms, on_step, self);
	return G_SOURCE_REMOVE;
}

/* ---- a real download ---- */

#define MCUBOOT_MAGIC 0x96f3b83du
#define MCUBOOT_VERSION_OFFSET 20
#define CAUSE_DOWNLOAD_FAILED 1
#define CAUSE_TYPE_MISMATCH 3

static gboolean
is_mcuboot_image(GByteArray *image)
{
	return image->len >= MCUBOOT_VERSION_OFFSET + 8 &&
	       (image->data[0] | image->data[1] << 8 | image->data[2] << 16 |
	        (guint32)image->data[3] << 24) == MCUBOOT_MAGIC;
}

static void
http_data(const guint8 *data, gsize len, guint64 total, gpointer user_data)
{
	SimAtModem *self = user_data;
	guint percent;

	g_byte_array_append(self->image, data, (guint)len);
	percent = total > 0 ? (guint)MIN((guint64)self->image->len * 100 / total, 100) : 0;
	/* the last percent waits for the image to be checked */
	if (percent > self->percent && percent < 100) {
		self->percent = percent;
		emitf(self, "#XFOTA: 1,0,%u", percent);
	}
}

/* the module checks what it got: an application update must be an MCUboot image, a modem one must not */
static void
http_done(guint http_status, const GError *error, gpointer user_data)
{
	SimAtModem *self = user_data;
	const guint8 *v;

	self->http = NULL;
	self->downloading = FALSE;
	if (error != NULL) {
		/* the server has no such file: nothing to resume */
		if (http_status >= 400)
			g_byte_array_set_size(self->image, 0);
		emitf(self, "#XFOTA: 1,1,%d", CAUSE_DOWNLOAD_FAILED);
		return;
	}
	if (is_mcuboot_image(self->image) != (self->op == 1 || self->op == 5)) {
		g_byte_array_set_size(self->image, 0);
		self->percent = 0;
		emitf(self, "#XFOTA: 1,1,%d", CAUSE_TYPE_MISMATCH);
		return;
	}
	g_clear_pointer(&self->image_version, g_free);
	if (self->op == 1) {
		v = self->image->data + MCUBOOT_VERSION_OFFSET;
		self->image_version = g_strdup_printf("%u.%u.%u", v[0], v[1], v[2] | v[3] << 8);
	}
	self->percent = 100;
	emit(self, "#XFOTA: 1,0,100");
	self->pending = TRUE;
	emit(self, "#XFOTA: 4,0");
}

static const SimHttpDownloadCallbacks http_callbacks = {
        .data = http_data,
        .done = http_done,
};

/* the quoted URL of the start command; a download goes on from what the module holds */
static void
http_start(SimAtModem *self, const char *quoted)
{
	g_autofree char *url = g_strndup(quoted + 1, strlen(quoted) - MIN(strlen(quoted), 2));

	emitf(self, "#XFOTA: 1,0,%u", self->percent);
	self->http =
	        sim_http_download_start(url, self->image->len, self->config.ca_file, &http_callbacks, self);
}

/* something of an earlier download to resume */
static gboolean
has_progress(SimAtModem *self)
{
	return self->config.http ? self->image->len > 0 : self->percent > 0;
}

static gboolean
supports_op(SimAtModem *self, guint op)
{
	return op == 1 || op == 2 || op == 3 || (op == 5 && self->config.serial_modem);
}

static void
fota_start(SimAtModem *self, const char *command, const char *args)
{
	g_auto(GStrv) fields = g_strsplit(args, ",", 4);
	guint64 op = 0;

	if (g_strv_length(fields) < 2 || !g_ascii_string_to_unsigned(fields[0], 10, 1, 9, &op, NULL) ||
	    !supports_op(self, op)) {
		emit(self, "ERROR");
		return;
	}
	if (g_str_has_prefix(fields[1], "\"https:") && fields[2] == NULL) {
		emitf(self, "#XFOTA: 1,1,%d", EINVAL_NEG);
		emit(self, "ERROR");
		return;
	}
	if (self->downloading) {
		emitf(self, "#XFOTA: 1,1,%d", EALREADY_NEG);
		emit(self, "ERROR");
		return;
	}
	/* Serial Modem keeps a downloaded image until it is activated */
	if (self->pending && self->config.serial_modem) {
		emit(self, "ERROR");
		return;
	}
	/* the same command resumes; another starts over, and so does Serial LTE Modem holding an image:
	 * it downloads it a second time */
	if (g_strcmp0(self->last_start, command) != 0 || self->pending || !has_progress(self)) {
		self->percent = 0;
		self->pending = FALSE;
		self->downloads++;
		g_byte_array_set_size(self->image, 0);
	}
	g_free(self->last_start);
	self->last_start = g_strdup(command);
	self->op = op;
	self->starts++;
	self->downloading = TRUE;
	emit(self, "OK");
	if (self->config.http)
		http_start(self, fields[1]);
	else
		self->timer = g_idle_add(on_start_idle, self);
}

static void
fota_stop(SimAtModem *self)
{
	emit(self, "OK");
	if (!self->downloading)
		return;
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_pointer(&self->http, sim_http_download_cancel);
	self->downloading = FALSE;
	self->stops++;
	/* SLM prints no info field here */
	emit(self, self->config.serial_modem ? "#XFOTA: 1,2,0" : "#XFOTA: 1,2");
}

/* the stage saved at 4,0 outlives the host and the reset, which activates the image and reports it */
static void
activate(SimAtModem *self)
{
	if (self->config.activation_error == MODEM_DFU_VOLTAGE_LOW) {
		emitf(self, "#XFOTA: 4,1,%d", MODEM_DFU_VOLTAGE_LOW);
		return;
	}
	self->pending = FALSE;
	self->percent = 0;
	g_clear_pointer(&self->last_start, g_free);
	if (self->config.revert) {
		emit(self, "#XFOTA: 5,3");
	} else if (self->config.activation_error != 0) {
		emitf(self, "#XFOTA: 5,1,%" G_GINT64_FORMAT, self->config.activation_error);
	} else {
		g_free(self->version);
		self->version = g_strdup(self->image_version != NULL ? self->image_version
		                                                     : self->config.new_version);
		/* the new image booted, but marking it good failed */
		if (self->config.confirm_error != 0)
			emitf(self, "#XFOTA: 5,1,%" G_GINT64_FORMAT, self->config.confirm_error);
		else
			emit(self, "#XFOTA: 5,0");
	}
}

static gboolean
on_booted(gpointer user_data)
{
	SimAtModem *self = user_data;

	self->timer = 0;
	if (self->config.init_error) {
		emit(self, "INIT ERROR");
		return G_SOURCE_REMOVE;
	}
	emit(self, "Ready");
	if (self->pending)
		activate(self);
	return G_SOURCE_REMOVE;
}

/* resets the modem alone: it installs a modem image, the application keeps running */
static void
modem_reset(SimAtModem *self)
{
	if (self->config.no_modem_reset) {
		emit(self, "ERROR");
		return;
	}
	self->modem_resets++;
	self->modem_off = TRUE;
	if (self->pending && (self->op == 2 || self->op == 3))
		activate(self);
	emit(self, "#XMODEMRESET: 0");
	emit(self, "OK");
}

void
sim_atmodem_boot(SimAtModem *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_pointer(&self->http, sim_http_download_cancel);
	self->downloading = FALSE;
	self->timer = g_timeout_add(self->config.boot_ms, on_booted, self);
}

static gboolean
on_dtr_active(gpointer user_data)
{
	SimAtModem *self = user_data;

	self->dtr_timer = 0;
	self->uart_off = FALSE;
	return G_SOURCE_REMOVE;
}

static void
command(SimAtModem *self, const char *line)
{
	const char *version_command = self->config.serial_modem ? "AT#XSMVER" : "AT#XSLMVER";

	if (strcmp(line, "AT") == 0) {
		emit(self, "OK");
	} else if (strcmp(line, version_command) == 0) {
		emitf(self, "%s: \"%s\"", version_command + 2, self->version);
		emit(self, "OK");
	} else if (strcmp(line, "AT+CGMR") == 0) {
		emitf(self, "mfw_nrf9160_%s", self->version);
		emit(self, "OK");
	} else if (strcmp(line, "AT#XFOTA=?") == 0) {
		emitf(self, "#XFOTA: (0,1,2,3,%s7,9),<file_url>,<sec_tag>,<pdn_id>",
		      self->config.serial_modem ? "5," : "");
		emit(self, "OK");
	} else if (strcmp(line, "AT#XFOTA=0") == 0) {
		fota_stop(self);
	} else if (g_str_has_prefix(line, "AT#XFOTA=")) {
		fota_start(self, line, line + strlen("AT#XFOTA="));
	} else if (strcmp(line, "AT#XRESET") == 0) {
		emit(self, "OK");
		self->resets++;
		self->modem_off = FALSE;
		sim_atmodem_boot(self);
	} else if (strcmp(line, "AT#XMODEMRESET") == 0) {
		modem_reset(self);
	} else if (strcmp(line, "AT+CFUN=1") == 0) {
		self->modem_off = FALSE;
		emit(self, "OK");
	} else {
		emit(self, "ERROR");
	}
}

void
sim_atmodem_input(SimAtModem *self, const guint8 *data, gsize len)
{
	const char *term = self->config.terminator;
	char *end;

	if (self->uart_off)
		return;
	g_string_append_len(self->input, (const char *)data, len);
	/* the firmware skips what precedes AT and ignores empty commands */
	while ((end = strstr(self->input->str, term)) != NULL) {
		g_autofree char *line = g_strndup(self->input->str, end - self->input->str);
		char *at = strstr(line, "AT");

		g_string_erase(self->input, 0, end - self->input->str + strlen(term));
		if (at != NULL)
			command(self, at);
	}
}

SimAtModem *
sim_atmodem_new(const SimAtModemConfig *config, SimAtModemOutputFunc output, gpointer user_data)
{
	SimAtModem *self = g_new0(SimAtModem, 1);

	self->config = *config;
	if (self->config.terminator == NULL)
		self->config.terminator = "\r";
	self->config.step_percent = MAX(self->config.step_percent, 1u);
	self->config.step_ms = MAX(self->config.step_ms, 1u);
	self->output = output;
	self->user_data = user_data;
	self->input = g_string_new(NULL);
	self->version = g_strdup(config->version != NULL ? config->version : "1.0.0");
	if (self->config.new_version == NULL)
		self->config.new_version = "2.0.0";
	self->uart_off = config->dtr_active_ms > 0;
	if (self->uart_off && config->dtr_active_ms != G_MAXUINT)
		self->dtr_timer = g_timeout_add(config->dtr_active_ms, on_dtr_active, self);
	self->image = g_byte_array_new();
	return self;
}

void
sim_atmodem_free(SimAtModem *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_handle_id(&self->dtr_timer, g_source_remove);
	g_clear_pointer(&self->http, sim_http_download_cancel);
	g_byte_array_unref(self->image);
	g_free(self->image_version);
	g_string_free(self->input, TRUE);
	g_free(self->version);
	g_free(self->last_start);
	g_free(self);
}

char *
sim_atmodem_state_json(SimAtModem *self)
{
	return g_strdup_printf("{\"lineage\": \"%s\", \"version\": \"%s\", \"percent\": %u, \"pending\": %s, "
	                       "\"starts\": %u, \"downloads\": %u, \"stops\": %u, \"resets\": %u, "
	                       "\"modem_resets\": %u, \"modem_off\": %s}\n",
	                       self->config.serial_modem ? "sm" : "slm", self->version, self->percent,
	                       self->pending ? "true" : "false", self->starts, self->downloads, self->stops,
	                       self->resets, self->modem_resets, self->modem_off ? "true" : "false");
}

const char *
sim_atmodem_get_version(SimAtModem *self)
{
	return self->version;
}

guint
sim_atmodem_get_starts(SimAtModem *self)
{
	return self->starts;
}

guint
sim_atmodem_get_stops(SimAtModem *self)
{
	return self->stops;
}

guint
sim_atmodem_get_resets(SimAtModem *self)
{
	return self->resets;
}

guint
sim_atmodem_get_modem_resets(SimAtModem *self)
{
	return self->modem_resets;
}

gboolean
sim_atmodem_get_modem_off(SimAtModem *self)
{
	return self->modem_off;
}

const char *
sim_atmodem_get_last_start(SimAtModem *self)
{
	return self->last_start;
}
