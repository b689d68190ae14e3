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
	/* host-pushed DFU */
	gboolean dfu_inited;
	guint dfu_type;
	GByteArray *dfu_image; /* AT#XDFUINIT's size, filled by the writes */
	guint64 dfu_filled;    /* bytes from 0 written without a gap */
	gboolean datamode;
	guint64 write_addr;
	GByteArray *chunk; /* data mode: the bytes of the write so far */
	gsize write_len;
	guint dfu_timer;
	guint datamode_timer;
	guint dfu_inits;
	guint dfu_writes;
	guint dfu_applies;
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
	/* an unapplied push is lost with the RAM that held its state */
	g_clear_handle_id(&self->dfu_timer, g_source_remove);
	g_clear_handle_id(&self->datamode_timer, g_source_remove);
	self->datamode = FALSE;
	self->dfu_inited = FALSE;
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

/* ---- host-pushed DFU (Serial Modem) ---- */

#define DFU_TYPE_APP 0
#define DFU_TYPE_DELTA 1
#define DFU_TYPE_BOOTLOADER 3
#define DFU_MAX_SIZE (4u * 1024 * 1024)
#define DFU_MAX_WRITE 8192

/* the #XFOTA op whose activation a pushed image of this type gets; this build has no full modem DFU */
static const struct {
	guint type;
	guint op;
} dfu_types[] = {{DFU_TYPE_APP, 1}, {DFU_TYPE_DELTA, 2}, {DFU_TYPE_BOOTLOADER, 5}};

static guint
dfu_op(guint64 type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(dfu_types); i++) {
		if (dfu_types[i].type == type)
			return dfu_types[i].op;
	}
	return 0;
}

/* "<n>,<n>..." after the command's '=': exactly n numbers */
static gboolean
dfu_args(const char *args, guint64 *values, guint n)
{
	g_auto(GStrv) fields = g_strsplit(args, ",", -1);

	if (g_strv_length(fields) != n)
		return FALSE;
	for (guint i = 0; i < n; i++) {
		if (!g_ascii_string_to_unsigned(fields[i], 10, 0, G_MAXUINT32, &values[i], NULL))
			return FALSE;
	}
	return TRUE;
}

static void
dfu_init(SimAtModem *self, const char *args)
{
	guint64 v[2];

	if (!dfu_args(args, v, 2) || dfu_op(v[0]) == 0 || v[1] == 0 || v[1] > self->config.dfu_max_size) {
		emit(self, "ERROR");
		return;
	}
	/* the update area starts over; an image an earlier push or download left is dropped */
	self->dfu_inited = TRUE;
	self->dfu_type = v[0];
	g_byte_array_set_size(self->dfu_image, v[1]);
	memset(self->dfu_image->data, 0xff, v[1]);
	self->dfu_filled = 0;
	self->pending = FALSE;
	self->dfu_inits++;
	emit(self, "OK");
}

static void
dfu_write_report(SimAtModem *self, gboolean ok)
{
	emit(self, "#XDATAMODE: 0");
	emitf(self, "#XDFU: %u,1,%d", self->dfu_type, ok ? 0 : -1);
}

static gboolean
on_dfu_written(gpointer user_data)
{
	SimAtModem *self = user_data;
	gboolean ok = self->config.dfu_write_error == 0 || self->dfu_writes != self->config.dfu_write_error;

	self->dfu_timer = 0;
	if (ok) {
		memcpy(self->dfu_image->data + self->write_addr, self->chunk->data, self->chunk->len);
		if (self->write_addr <= self->dfu_filled)
			self->dfu_filled = MAX(self->dfu_filled, self->write_addr + self->chunk->len);
	}
	self->config.dfu_write_error = ok ? self->config.dfu_write_error : 0;
	dfu_write_report(self, ok);
	return G_SOURCE_REMOVE;
}

/* the host stopped sending in the middle of a chunk: data mode ends without it */
static gboolean
on_datamode_timeout(gpointer user_data)
{
	SimAtModem *self = user_data;

	self->datamode_timer = 0;
	self->datamode = FALSE;
	dfu_write_report(self, FALSE);
	return G_SOURCE_REMOVE;
}

static void
dfu_write(SimAtModem *self, const char *args)
{
	guint64 v[3];

	if (!self->dfu_inited || !dfu_args(args, v, 3) || v[0] != self->dfu_type || v[2] == 0 ||
	    v[2] > DFU_MAX_WRITE || v[1] + v[2] > self->dfu_image->len) {
		emit(self, "ERROR");
		return;
	}
	self->write_addr = v[1];
	self->write_len = v[2];
	g_byte_array_set_size(self->chunk, 0);
	self->datamode = TRUE;
	self->dfu_writes++;
	emit(self, "OK");
	self->datamode_timer = g_timeout_add(self->config.datamode_timeout_ms, on_datamode_timeout, self);
}

/* data mode takes exactly the write's length; what follows is commands again */
static gsize
datamode_input(SimAtModem *self, const guint8 *data, gsize len)
{
	gsize n = MIN(len, self->write_len - self->chunk->len);

	g_byte_array_append(self->chunk, data, n);
	g_clear_handle_id(&self->datamode_timer, g_source_remove);
	if (self->chunk->len < self->write_len) {
		self->datamode_timer =
		        g_timeout_add(self->config.datamode_timeout_ms, on_datamode_timeout, self);
		return n;
	}
	self->datamode = FALSE;
	self->dfu_timer = g_timeout_add(self->config.dfu_write_ms, on_dfu_written, self);
	return n;
}

/* the image is checked as a downloaded one is: whole, and of the kind its type needs */
static void
dfu_apply(SimAtModem *self, const char *args)
{
	guint64 type;
	gboolean ok;

	if (!self->dfu_inited || !dfu_args(args, &type, 1) || type != self->dfu_type) {
		emit(self, "ERROR");
		return;
	}
	self->dfu_applies++;
	ok = self->dfu_filled == self->dfu_image->len &&
	     is_mcuboot_image(self->dfu_image) == (self->dfu_type != DFU_TYPE_DELTA);
	emit(self, "OK");
	emitf(self, "#XDFU: %u,2,%d", self->dfu_type, ok ? 0 : -1);
	if (!ok)
		return;
	self->dfu_inited = FALSE;
	self->op = dfu_op(type);
	g_clear_pointer(&self->image_version, g_free);
	if (self->op == 1) {
		const guint8 *v = self->dfu_image->data + MCUBOOT_VERSION_OFFSET;
		self->image_version = g_strdup_printf("%u.%u.%u", v[0], v[1], v[2] | v[3] << 8);
	}
	self->pending = TRUE;
}

static const struct {
	const char *prefix;
	void (*handle)(SimAtModem *self, const char *args);
} dfu_commands[] = {
        {"AT#XDFUINIT=", dfu_init},
        {"AT#XDFUWRITE=", dfu_write},
        {"AT#XDFUAPPLY=", dfu_apply},
};

/* TRUE when line is one of Serial Modem's DFU commands, handled */
static gboolean
dfu_command(SimAtModem *self, const char *line)
{
	if (!self->config.serial_modem || self->config.no_dfu)
		return FALSE;
	if (strcmp(line, "AT#XDFUINIT=?") == 0) {
		emit(self, "#XDFUINIT: (0,1,3),<size>");
		emit(self, "OK");
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(dfu_commands); i++) {
		if (g_str_has_prefix(line, dfu_commands[i].prefix)) {
			dfu_commands[i].handle(self, line + strlen(dfu_commands[i].prefix));
			return TRUE;
		}
	}
	return FALSE;
}

static void
command(SimAtModem *self, const char *line)
{
	const char *version_command = self->config.serial_modem ? "AT#XSMVER" : "AT#XSLMVER";

	if (dfu_command(self, line)) {
		return;
	} else if (strcmp(line, "AT") == 0) {
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
	if (self->datamode) {
		gsize n = datamode_input(self, data, len);
		data += n;
		len -= n;
	}
	g_string_append_len(self->input, (const char *)data, len);
	/* the firmware skips what precedes AT and ignores empty commands */
	while (!self->datamode && (end = strstr(self->input->str, term)) != NULL) {
		g_autofree char *line = g_strndup(self->input->str, end - self->input->str);
		char *at = strstr(line, "AT");

		g_string_erase(self->input, 0, end - self->input->str + strlen(term));
		if (at != NULL)
			command(self, at);
	}
	/* bytes after the write command, already here, are its data */
	if (self->datamode && self->input->len > 0) {
		g_autoptr(GString) rest = g_string_new_len(self->input->str, self->input->len);

		g_string_truncate(self->input, 0);
		sim_atmodem_input(self, (const guint8 *)rest->str, rest->len);
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
	self->dfu_image = g_byte_array_new();
	self->chunk = g_byte_array_new();
	if (self->config.datamode_timeout_ms == 0)
		self->config.datamode_timeout_ms = 1000;
	if (self->config.dfu_max_size == 0)
		self->config.dfu_max_size = DFU_MAX_SIZE;
	return self;
}

void
sim_atmodem_free(SimAtModem *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->timer, g_source_remove);
	g_clear_handle_id(&self->dtr_timer, g_source_remove);
	g_clear_handle_id(&self->dfu_timer, g_source_remove);
	g_clear_handle_id(&self->datamode_timer, g_source_remove);
	g_clear_pointer(&self->http, sim_http_download_cancel);
	g_byte_array_unref(self->image);
	g_byte_array_unref(self->dfu_image);
	g_byte_array_unref(self->chunk);
	g_free(self->image_version);
	g_string_free(self->input, TRUE);
	g_free(self->version);
	g_free(self->last_start);
	g_free(self);
}

char *
sim_atmodem_state_json(SimAtModem *self)
{
	return g_strdup_printf(
	        "{\"lineage\": \"%s\", \"version\": \"%s\", \"percent\": %u, \"pending\": %s, "
	        "\"starts\": %u, \"downloads\": %u, \"stops\": %u, \"resets\": %u, "
	        "\"modem_resets\": %u, \"modem_off\": %s, \"dfu_inits\": %u, \"dfu_writes\": %u, "
	        "\"dfu_filled\": %" G_GUINT64_FORMAT ", \"dfu_applies\": %u}\n",
	        self->config.serial_modem ? "sm" : "slm", self->version, self->percent,
	        self->pending ? "true" : "false", self->starts, self->downloads, self->stops, self->resets,
	        self->modem_resets, self->modem_off ? "true" : "false", self->dfu_inits, self->dfu_writes,
	        self->dfu_filled, self->dfu_applies);
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

guint
sim_atmodem_get_dfu_inits(SimAtModem *self)
{
	return self->dfu_inits;
}

guint
sim_atmodem_get_dfu_applies(SimAtModem *self)
{
	return self->dfu_applies;
}
