/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>

#include "dfu-error.h"
#include "dfu-job-private.h"
#include "dfu-nesting.h"
#include "dfu-target.h"

/* the rate is averaged over this window so that bursty links show a steady number */
#define RATE_WINDOW_US (4 * G_USEC_PER_SEC)
/* below this span a rate would be noise */
#define RATE_MIN_SPAN_US (G_USEC_PER_SEC / 4)
#define HISTORY_MAX_LINES 200
/* a job file holds a few nested objects and at most HISTORY_MAX_LINES lines */
#define JOB_FILE_MAX_SIZE (1024 * 1024)
#define JOB_FILE_MAX_DEPTH 64

typedef struct {
	gint64 time_us;
	guint64 bytes;
} RateSample;

/* every stored job has one: the members of four bytes go in pairs, which leaves no holes */
struct _DfuJob {
	GObject parent_instance;
	guint64 id;
	DfuJobKind kind;
	DfuJobState state;
	/* shared: many jobs name one target, source and bundle (GRefString, interned) */
	char *target;
	char *source;
	char *url;
	char *bundle_path;
	char *signature_path;
	DfuJobOptions options;
	DfuJobPhase phase;
	guint status_code;
	guint64 bytes_done;
	guint64 bytes_total;
	guint64 bytes_per_second;
	char *message;
	GVariant *device_error;
	guint attempt;
	guint max_attempts;
	gint64 retry_at;
	gboolean device_changed;
	gboolean stopped_cleanly;
	guint crashes;
	guint cause_code;
	gint64 owner_uid; /* who submitted the job, -1 when unknown */
	char *cause_message;
	GVariant *device_identity; /* a{sv} from the engine, NULL until it has seen the device */
	GVariant *device_report;   /* a{sv}: what the engines read of the device's state */
	char *found_framing;       /* the serial framing an attempt found the device to answer in */
	gint64 created;
	gint64 started;
	gint64 finished;
	/* the lines one after another, each with its NUL: one allocation for the whole log */
	char *history;
	guint history_size; /* bytes, NULs included */
	guint history_lines;
	GArray *samples;
};

G_DEFINE_TYPE(DfuJob, dfu_job, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST];

static const char *const state_names[] = {
        [DFU_JOB_STATE_QUEUED] = "queued",       [DFU_JOB_STATE_RUNNING] = "running",
        [DFU_JOB_STATE_SUCCEEDED] = "succeeded", [DFU_JOB_STATE_FAILED] = "failed",
        [DFU_JOB_STATE_CANCELLED] = "cancelled",
};

static const char *const kind_names[] = {
        [DFU_JOB_KIND_UPDATE] = "update",
        [DFU_JOB_KIND_REFRESH] = "refresh",
        [DFU_JOB_KIND_CONFIRM] = "confirm",
        [DFU_JOB_KIND_RESET] = "reset",
};

static const char *const phase_names[] = {
        [DFU_JOB_PHASE_NONE] = "",
        [DFU_JOB_PHASE_WAITING] = "waiting",
        [DFU_JOB_PHASE_FETCHING] = "fetching",
        [DFU_JOB_PHASE_VERIFYING] = "verifying",
        [DFU_JOB_PHASE_CONNECTING] = "connecting",
        [DFU_JOB_PHASE_INSPECTING] = "inspecting",
        [DFU_JOB_PHASE_UPLOADING] = "uploading",
        [DFU_JOB_PHASE_TESTING] = "testing",
        [DFU_JOB_PHASE_RESETTING] = "resetting",
        [DFU_JOB_PHASE_CONFIRMING] = "confirming",
        [DFU_JOB_PHASE_DONE] = "done",
};

static gboolean
name_lookup(const char *const *names, gsize n_names, const char *str, guint *value)
{
	for (gsize i = 0; i < n_names; i++) {
		if (g_strcmp0(names[i], str) == 0) {
			*value = i;
			return TRUE;
		}
	}
	return FALSE;
}

const char *
dfu_job_state_to_string(DfuJobState state)
{
	return (guint)state < G_N_ELEMENTS(state_names) ? state_names[state] : "unknown";
}

gboolean
dfu_job_state_from_string(const char *str, DfuJobState *state)
{
	guint value = 0;
	if (!name_lookup(state_names, G_N_ELEMENTS(state_names), str, &value))
		return FALSE;
	*state = value;
	return TRUE;
}

const char *
dfu_job_kind_to_string(DfuJobKind kind)
{
	return (guint)kind < G_N_ELEMENTS(kind_names) ? kind_names[kind] : "unknown";
}

static gboolean
kind_from_string(const char *str, guint *value)
{
	return name_lookup(kind_names, G_N_ELEMENTS(kind_names), str, value);
}

const char *
dfu_job_phase_to_string(DfuJobPhase phase)
{
	return (guint)phase < G_N_ELEMENTS(phase_names) ? phase_names[phase] : "unknown";
}

gboolean
dfu_job_phase_from_string(const char *str, DfuJobPhase *phase)
{
	guint value = 0;
	if (!name_lookup(phase_names, G_N_ELEMENTS(phase_names), str, &value))
		return FALSE;
	*phase = value;
	return TRUE;
}

void
dfu_job_options_clear(DfuJobOptions *options)
{
	g_clear_pointer(&options->name, g_free);
	g_clear_pointer(&options->expected_sha256, g_free);
	g_clear_pointer(&options->signature_url, g_free);
	g_clear_pointer(&options->expected_version, g_free);
	g_clear_pointer(&options->allow_downgrade_images, g_free);
	g_clear_pointer(&options->signature, g_bytes_unref);
}

void
dfu_job_options_copy(DfuJobOptions *dest, const DfuJobOptions *src)
{
	*dest = *src;
	dest->name = g_strdup(src->name);
	dest->expected_sha256 = g_strdup(src->expected_sha256);
	dest->expected_version = g_strdup(src->expected_version);
	dest->signature_url = g_strdup(src->signature_url);
	dest->allow_downgrade_images = g_strdup(src->allow_downgrade_images);
	dest->signature = src->signature != NULL ? g_bytes_ref(src->signature) : NULL;
}

static const guint fota_ops[] = {DFU_FOTA_OP_APPLICATION, DFU_FOTA_OP_MODEM_DELTA, DFU_FOTA_OP_MODEM_FULL,
                                 DFU_FOTA_OP_BOOTLOADER};

gboolean
dfu_job_options_check_protocol(const DfuJobOptions *options, guint protocol, const char *url, GError **error)
{
	gboolean known_op = options->fota_op == 0;

	if (options->mesh_interval_ms != 0 && protocol != DFU_PROTOCOL_MESHDFU) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "the option mesh-interval applies to meshdfu targets only");
		return FALSE;
	}
	if (options->mesh_interval_ms != 0 && (options->mesh_interval_ms < DFU_MESH_INTERVAL_MIN_MS ||
	                                       options->mesh_interval_ms > DFU_MESH_INTERVAL_MAX_MS)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "mesh-interval %u is outside %u to %u milliseconds", options->mesh_interval_ms,
		            DFU_MESH_INTERVAL_MIN_MS, DFU_MESH_INTERVAL_MAX_MS);
		return FALSE;
	}
	if (protocol != DFU_PROTOCOL_ATFOTA) {
		if (options->fota_op == 0 && !options->has_sec_tag && !options->has_pdn &&
		    options->expected_version == NULL)
			return TRUE;
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "the options fota-op, sec-tag, pdn and expected-version apply to atfota "
		                    "targets only");
		return FALSE;
	}
	/* a file is pushed over the UART: there is no download for these options to steer */
	if (url == NULL && (options->has_sec_tag || options->has_pdn)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "sec-tag and pdn steer the module's own download: they apply to a URL, "
		                    "not to a file the daemon pushes");
		return FALSE;
	}
	if (url == NULL && options->fota_op == DFU_FOTA_OP_MODEM_FULL) {
		g_set_error_literal(
		        error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		        "a full modem image (fota-op=3) cannot be pushed from a file: give its URL");
		return FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(fota_ops); i++)
		known_op |= options->fota_op == fota_ops[i];
	if (!known_op) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "fota-op %u is none of 1 (application), 2 (modem delta), 3 (full modem), "
		            "5 (bootloader)",
		            options->fota_op);
		return FALSE;
	}
	if (options->expected_version != NULL && (options->expected_version[0] == '\0' ||
	                                          strlen(options->expected_version) > DFU_JOB_VERSION_MAX ||
	                                          !g_utf8_validate(options->expected_version, -1, NULL))) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "expected-version must be 1 to %d bytes of UTF-8", DFU_JOB_VERSION_MAX);
		return FALSE;
	}
	if (options->expected_version != NULL && options->fota_op == DFU_FOTA_OP_BOOTLOADER) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "expected-version does not apply to a bootloader update: the module "
		                    "reports no bootloader version");
		return FALSE;
	}
	if (url != NULL && g_str_has_prefix(url, "https:") && !options->has_sec_tag) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "an https URL needs the sec-tag option: the tag under which the module "
		                    "holds the server's CA certificate (AT%CMNG)");
		return FALSE;
	}
	return TRUE;
}

static void
dfu_job_emit_changed(DfuJob *self, guint mask)
{
	if (mask != 0)
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0, mask);
}

/* an interned copy of str, NULL for NULL */
static char *
shared_string(const char *str)
{
	return str != NULL ? g_ref_string_new_intern(str) : NULL;
}

static void
shared_string_clear(char **str)
{
	g_clear_pointer(str, g_ref_string_release);
}

static void
dfu_job_finalize(GObject *object)
{
	DfuJob *self = DFU_JOB(object);

	shared_string_clear(&self->target);
	shared_string_clear(&self->source);
	g_free(self->url);
	shared_string_clear(&self->bundle_path);
	g_free(self->signature_path);
	dfu_job_options_clear(&self->options);
	g_free(self->message);
	g_variant_unref(self->device_error);
	g_clear_pointer(&self->device_identity, g_variant_unref);
	g_clear_pointer(&self->device_report, g_variant_unref);
	g_free(self->found_framing);
	g_free(self->cause_message);
	g_free(self->history);
	g_clear_pointer(&self->samples, g_array_unref);
	G_OBJECT_CLASS(dfu_job_parent_class)->finalize(object);
}

static void
dfu_job_class_init(DfuJobClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = dfu_job_finalize;
	signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

/* one empty a{sv} that every job without a device error shares */
static GVariant *
empty_vardict(void)
{
	static GVariant *empty;

	if (g_once_init_enter(&empty))
		g_once_init_leave(&empty, g_variant_ref_sink(g_variant_new("a{sv}", NULL)));
	return g_variant_ref(empty);
}

static void
dfu_job_init(DfuJob *self)
{
	self->options.confirm = TRUE;
	self->owner_uid = -1;
	self->device_error = empty_vardict();
}

DfuJob *
dfu_job_new(guint64 id, const char *target, const char *source, const char *bundle_path,
            const DfuJobOptions *options)
{
	DfuJob *self = g_object_new(DFU_TYPE_JOB, NULL);

	self->id = id;
	self->target = shared_string(target != NULL ? target : "");
	self->source = shared_string(source != NULL ? source : "");
	self->bundle_path = shared_string(bundle_path);
	if (options != NULL)
		dfu_job_options_copy(&self->options, options);
	self->created = g_get_real_time();
	return self;
}

guint64
dfu_job_get_id(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->id;
}

const char *
dfu_job_get_target(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->target;
}

const char *
dfu_job_get_source(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->source;
}

const char *
dfu_job_get_url(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->url;
}

void
dfu_job_set_url(DfuJob *self, const char *url)
{
	g_return_if_fail(DFU_IS_JOB(self));
	g_free(self->url);
	self->url = g_strdup(url);
}

DfuJobKind
dfu_job_get_kind(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), DFU_JOB_KIND_UPDATE);
	return self->kind;
}

void
dfu_job_set_kind(DfuJob *self, DfuJobKind kind)
{
	g_return_if_fail(DFU_IS_JOB(self));
	self->kind = kind;
}

const char *
dfu_job_get_bundle_path(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->bundle_path;
}

void
dfu_job_set_bundle_path(DfuJob *self, const char *bundle_path)
{
	g_return_if_fail(DFU_IS_JOB(self));
	shared_string_clear(&self->bundle_path);
	self->bundle_path = shared_string(bundle_path);
}

const char *
dfu_job_get_signature_path(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->signature_path;
}

void
dfu_job_set_signature_path(DfuJob *self, const char *signature_path)
{
	g_return_if_fail(DFU_IS_JOB(self));
	g_free(self->signature_path);
	self->signature_path = g_strdup(signature_path);
}

const DfuJobOptions *
dfu_job_get_options(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return &self->options;
}

DfuJobState
dfu_job_get_state(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), DFU_JOB_STATE_QUEUED);
	return self->state;
}

DfuJobPhase
dfu_job_get_phase(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), DFU_JOB_PHASE_NONE);
	return self->phase;
}

guint
dfu_job_get_percentage(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	if (self->bytes_total == 0)
		return 0;
	if (self->bytes_done >= self->bytes_total)
		return 100;
	if (self->bytes_total <= G_MAXUINT64 / 100)
		return (guint)(self->bytes_done * 100 / self->bytes_total);
	/* totals this large would overflow the multiplication */
	return (guint)MIN(self->bytes_done / (self->bytes_total / 100), 99);
}

guint64
dfu_job_get_bytes_done(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->bytes_done;
}

guint64
dfu_job_get_bytes_total(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->bytes_total;
}

guint64
dfu_job_get_bytes_per_second(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->bytes_per_second;
}

guint
dfu_job_get_status_code(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), DFU_STATUS_NONE);
	return self->status_code;
}

const char *
dfu_job_get_message(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->message != NULL ? self->message : "";
}

GVariant *
dfu_job_get_device_error(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->device_error;
}

guint
dfu_job_get_attempt(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->attempt;
}

gboolean
dfu_job_get_device_changed(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), FALSE);
	return self->device_changed;
}

GVariant *
dfu_job_get_device_identity(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->device_identity;
}

void
dfu_job_set_device_identity(DfuJob *self, GVariant *identity)
{
	g_autoptr(GVariant) owned = identity != NULL ? g_variant_ref_sink(identity) : NULL;

	g_return_if_fail(DFU_IS_JOB(self));
	if (self->device_identity == NULL && owned == NULL)
		return;
	if (self->device_identity != NULL && owned != NULL && g_variant_equal(self->device_identity, owned))
		return;
	g_clear_pointer(&self->device_identity, g_variant_unref);
	self->device_identity = g_steal_pointer(&owned);
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

GVariant *
dfu_job_get_device_report(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->device_report;
}

void
dfu_job_merge_device_report(DfuJob *self, GVariant *state)
{
	g_autoptr(GVariant) owned = g_variant_ref_sink(state);
	GVariantBuilder merged;
	GVariantIter iter;
	const char *key;
	GVariant *value;

	g_return_if_fail(DFU_IS_JOB(self));
	g_variant_builder_init(&merged, G_VARIANT_TYPE_VARDICT);
	if (self->device_report != NULL) {
		g_variant_iter_init(&iter, self->device_report);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
			g_autoptr(GVariant) replaced = g_variant_lookup_value(owned, key, NULL);

			if (replaced == NULL)
				g_variant_builder_add(&merged, "{sv}", key, value);
			g_variant_unref(value);
		}
	}
	g_variant_iter_init(&iter, owned);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_variant_builder_add(&merged, "{sv}", key, value);
		g_variant_unref(value);
	}
	g_clear_pointer(&self->device_report, g_variant_unref);
	self->device_report = g_variant_ref_sink(g_variant_builder_end(&merged));
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_REPORT);
}

const char *
dfu_job_get_found_framing(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->found_framing;
}

void
dfu_job_set_found_framing(DfuJob *self, const char *framing)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (g_strcmp0(self->found_framing, framing) == 0)
		return;
	g_free(self->found_framing);
	self->found_framing = g_strdup(framing);
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

gboolean
dfu_job_get_stopped_cleanly(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), FALSE);
	return self->stopped_cleanly;
}

void
dfu_job_set_stopped_cleanly(DfuJob *self, gboolean stopped_cleanly)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (self->stopped_cleanly == stopped_cleanly)
		return;
	self->stopped_cleanly = stopped_cleanly;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

gint64
dfu_job_get_owner_uid(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), -1);
	return self->owner_uid;
}

void
dfu_job_set_owner_uid(DfuJob *self, gint64 uid)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (self->owner_uid == uid)
		return;
	self->owner_uid = uid;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

guint
dfu_job_get_crashes(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->crashes;
}

void
dfu_job_set_crashes(DfuJob *self, guint crashes)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (self->crashes == crashes)
		return;
	self->crashes = crashes;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

guint
dfu_job_get_cause_code(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), DFU_STATUS_NONE);
	return self->cause_code;
}

const char *
dfu_job_get_cause_message(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	return self->cause_message != NULL ? self->cause_message : "";
}

void
dfu_job_set_cause(DfuJob *self, guint code, const char *message)
{
	g_return_if_fail(DFU_IS_JOB(self));
	self->cause_code = code;
	g_free(self->cause_message);
	self->cause_message = g_strdup(message);
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_RECORD);
}

gint64
dfu_job_get_created(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->created;
}

gint64
dfu_job_get_started(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->started;
}

gint64
dfu_job_get_finished(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->finished;
}

static gboolean
state_is_finished(DfuJobState state)
{
	return state == DFU_JOB_STATE_SUCCEEDED || state == DFU_JOB_STATE_FAILED ||
	       state == DFU_JOB_STATE_CANCELLED;
}

gboolean
dfu_job_is_finished(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), FALSE);
	return state_is_finished(self->state);
}

void
dfu_job_set_state(DfuJob *self, DfuJobState state)
{
	guint mask = 0;

	g_return_if_fail(DFU_IS_JOB(self));
	g_return_if_fail((guint)state < G_N_ELEMENTS(state_names));
	if (self->state == state)
		return;
	self->state = state;
	mask |= DFU_JOB_CHANGED_STATE;
	if (state == DFU_JOB_STATE_RUNNING && self->started == 0) {
		self->started = g_get_real_time();
		mask |= DFU_JOB_CHANGED_TIMESTAMPS;
	}
	if (state_is_finished(state)) {
		self->finished = g_get_real_time();
		mask |= DFU_JOB_CHANGED_TIMESTAMPS;
	} else if (self->finished != 0) {
		self->finished = 0;
		mask |= DFU_JOB_CHANGED_TIMESTAMPS;
	}
	/* a new attempt starts its own rate window */
	if (state != DFU_JOB_STATE_RUNNING) {
		g_clear_pointer(&self->samples, g_array_unref);
		if (self->bytes_per_second != 0) {
			self->bytes_per_second = 0;
			mask |= DFU_JOB_CHANGED_PROGRESS;
		}
	}
	dfu_job_emit_changed(self, mask);
}

void
dfu_job_set_phase(DfuJob *self, DfuJobPhase phase)
{
	g_return_if_fail(DFU_IS_JOB(self));
	g_return_if_fail((guint)phase < G_N_ELEMENTS(phase_names));
	if (self->phase == phase)
		return;
	self->phase = phase;
	/* from here on the device may run, or boot into, what this job sent */
	if (phase >= DFU_JOB_PHASE_TESTING && phase <= DFU_JOB_PHASE_CONFIRMING)
		self->device_changed = TRUE;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_PHASE);
}

static guint64
dfu_job_compute_rate(DfuJob *self, gint64 now_us, guint64 bytes_done)
{
	RateSample sample = {now_us, bytes_done};
	RateSample *first;
	guint drop = 0;
	gint64 span;

	/* only a job making progress has a window: a stored job costs no memory for it */
	if (self->samples == NULL)
		self->samples = g_array_new(FALSE, FALSE, sizeof(RateSample));
	/* progress going back (a resumed upload) invalidates the window */
	if (self->samples->len > 0 &&
	    bytes_done < g_array_index(self->samples, RateSample, self->samples->len - 1).bytes)
		g_array_set_size(self->samples, 0);
	g_array_append_val(self->samples, sample);
	/* two samples are kept even after a pause, so that a rate always exists */
	while (self->samples->len - drop > 2 &&
	       now_us - g_array_index(self->samples, RateSample, drop).time_us > RATE_WINDOW_US)
		drop++;
	if (drop > 0)
		g_array_remove_range(self->samples, 0, drop);
	first = &g_array_index(self->samples, RateSample, 0);
	span = now_us - first->time_us;
	if (span < RATE_MIN_SPAN_US)
		return self->bytes_per_second;
	return (bytes_done - first->bytes) * G_USEC_PER_SEC / (guint64)span;
}

void
dfu_job_set_progress_at(DfuJob *self, guint64 bytes_done, guint64 bytes_total, gint64 now_us)
{
	guint64 rate;
	gboolean changed = FALSE;

	g_return_if_fail(DFU_IS_JOB(self));
	if (bytes_total != 0 && bytes_total != self->bytes_total) {
		self->bytes_total = bytes_total;
		changed = TRUE;
	}
	rate = dfu_job_compute_rate(self, now_us, bytes_done);
	if (bytes_done != self->bytes_done) {
		self->bytes_done = bytes_done;
		changed = TRUE;
	}
	if (rate != self->bytes_per_second) {
		self->bytes_per_second = rate;
		changed = TRUE;
	}
	if (changed)
		dfu_job_emit_changed(self, DFU_JOB_CHANGED_PROGRESS);
}

void
dfu_job_set_progress(DfuJob *self, guint64 bytes_done, guint64 bytes_total)
{
	dfu_job_set_progress_at(self, bytes_done, bytes_total, g_get_monotonic_time());
}

void
dfu_job_set_result(DfuJob *self, guint status_code, const char *message, GVariant *device_error)
{
	g_autoptr(GVariant) error_dict = NULL;
	guint mask = 0;

	g_return_if_fail(DFU_IS_JOB(self));
	if (device_error != NULL)
		error_dict = g_variant_ref_sink(device_error);
	else
		error_dict = empty_vardict();
	g_return_if_fail(g_variant_is_of_type(error_dict, G_VARIANT_TYPE_VARDICT));

	if (self->status_code != status_code) {
		self->status_code = status_code;
		mask |= DFU_JOB_CHANGED_RESULT;
	}
	if (g_strcmp0(self->message != NULL ? self->message : "", message != NULL ? message : "") != 0) {
		g_free(self->message);
		self->message = g_strdup(message);
		mask |= DFU_JOB_CHANGED_RESULT;
	}
	if (!g_variant_equal(self->device_error, error_dict)) {
		g_variant_unref(self->device_error);
		self->device_error = g_steal_pointer(&error_dict);
		mask |= DFU_JOB_CHANGED_RESULT;
	}
	dfu_job_emit_changed(self, mask);
}

void
dfu_job_set_attempt(DfuJob *self, guint attempt)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (self->attempt == attempt)
		return;
	self->attempt = attempt;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_ATTEMPT);
}

guint
dfu_job_get_max_attempts(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->max_attempts;
}

gint64
dfu_job_get_retry_at(DfuJob *self)
{
	g_return_val_if_fail(DFU_IS_JOB(self), 0);
	return self->retry_at;
}

void
dfu_job_set_retry(DfuJob *self, gint64 retry_at, guint max_attempts)
{
	g_return_if_fail(DFU_IS_JOB(self));
	if (self->retry_at == retry_at && self->max_attempts == max_attempts)
		return;
	self->retry_at = retry_at;
	self->max_attempts = max_attempts;
	dfu_job_emit_changed(self, DFU_JOB_CHANGED_ATTEMPT);
}

static void
dfu_job_append_history(DfuJob *self, const char *line)
{
	gsize size = strlen(line) + 1;

	if (self->history_lines == HISTORY_MAX_LINES) {
		gsize first = strlen(self->history) + 1;

		memmove(self->history, self->history + first, self->history_size - first);
		self->history_size -= first;
		self->history_lines--;
	}
	self->history = g_realloc(self->history, self->history_size + size);
	memcpy(self->history + self->history_size, line, size);
	self->history_size += size;
	self->history_lines++;
}

void
dfu_job_log(DfuJob *self, const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;
	g_autofree char *line = NULL;

	g_return_if_fail(DFU_IS_JOB(self));
	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_debug("job %" G_GUINT64_FORMAT ": %s", self->id, text);
	line = g_strdup_printf("%" G_GINT64_FORMAT "\t%s", g_get_real_time(), text);
	dfu_job_append_history(self, line);
}

GPtrArray *
dfu_job_list_history(DfuJob *self)
{
	GPtrArray *lines;
	const char *line;

	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	lines = g_ptr_array_sized_new(self->history_lines);
	for (guint i = 0, at = 0; i < self->history_lines; i++, at += strlen(line) + 1) {
		line = self->history + at;
		g_ptr_array_add(lines, (gpointer)line);
	}
	return lines;
}

/*
 * Writers for the job document that leave out a member holding its default,
 * which the reader restores when the member is absent: a job file holds what
 * the job has, not its whole shape.
 */
static void
json_put_string(JsonBuilder *builder, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	json_builder_set_member_name(builder, name);
	json_builder_add_string_value(builder, value);
}

static void
json_put_int(JsonBuilder *builder, const char *name, gint64 value)
{
	if (value == 0)
		return;
	json_builder_set_member_name(builder, name);
	json_builder_add_int_value(builder, value);
}

static void
json_put_bool(JsonBuilder *builder, const char *name, gboolean value, gboolean default_value)
{
	if (!value == !default_value)
		return;
	json_builder_set_member_name(builder, name);
	json_builder_add_boolean_value(builder, value);
}

/* an a{sv} as GVariant text, which keeps the value types (u stays u) that JSON numbers would lose */
static void
json_put_vardict(JsonBuilder *builder, const char *name, GVariant *value)
{
	g_autofree char *text = NULL;

	if (value == NULL || g_variant_n_children(value) == 0)
		return;
	text = g_variant_print(value, TRUE);
	json_put_string(builder, name, text);
}

static void
json_put_options(JsonBuilder *builder, const DfuJobOptions *options)
{
	json_builder_set_member_name(builder, "options");
	json_builder_begin_object(builder);
	json_put_bool(builder, "confirm", options->confirm, TRUE);
	json_put_bool(builder, "force", options->force, FALSE);
	json_put_bool(builder, "fetch-only", options->fetch_only, FALSE);
	json_put_bool(builder, "allow-downgrade", options->allow_downgrade, FALSE);
	json_put_string(builder, "allow-downgrade-images", options->allow_downgrade_images);
	json_put_int(builder, "max-attempts", options->max_attempts);
	json_put_string(builder, "source-name", options->name);
	/* the signature bytes live on as the job's signature file */
	json_put_string(builder, "expected-sha256", options->expected_sha256);
	json_put_string(builder, "signature-url", options->signature_url);
	json_put_int(builder, "fota-op", options->fota_op);
	/* present or not is what tells a zero tag from none */
	if (options->has_sec_tag) {
		json_builder_set_member_name(builder, "sec-tag");
		json_builder_add_int_value(builder, options->sec_tag);
	}
	if (options->has_pdn) {
		json_builder_set_member_name(builder, "pdn");
		json_builder_add_int_value(builder, options->pdn);
	}
	json_put_string(builder, "expected-version", options->expected_version);
	json_put_int(builder, "mesh-interval", options->mesh_interval_ms);
	json_builder_end_object(builder);
}

char *
dfu_job_to_json(DfuJob *self)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	g_return_val_if_fail(DFU_IS_JOB(self), NULL);
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "id");
	json_builder_add_int_value(builder, (gint64)self->id);
	json_builder_set_member_name(builder, "kind");
	json_builder_add_string_value(builder, dfu_job_kind_to_string(self->kind));
	json_builder_set_member_name(builder, "target");
	json_builder_add_string_value(builder, self->target);
	json_put_string(builder, "source", self->source);
	json_put_string(builder, "url", self->url);
	json_put_string(builder, "bundle-path", self->bundle_path);
	json_put_string(builder, "signature-path", self->signature_path);
	json_put_options(builder, &self->options);
	json_builder_set_member_name(builder, "state");
	json_builder_add_string_value(builder, dfu_job_state_to_string(self->state));
	json_put_string(builder, "phase", dfu_job_phase_to_string(self->phase));
	json_put_int(builder, "bytes-done", (gint64)self->bytes_done);
	json_put_int(builder, "bytes-total", (gint64)self->bytes_total);
	json_put_int(builder, "status-code", self->status_code);
	json_put_string(builder, "message", self->message);
	json_put_vardict(builder, "device-error", self->device_error);
	json_put_int(builder, "attempt", self->attempt);
	json_put_bool(builder, "device-changed", self->device_changed, FALSE);
	json_put_bool(builder, "stopped-cleanly", self->stopped_cleanly, FALSE);
	json_put_int(builder, "crashes", self->crashes);
	/* -1 (unknown) is the default; 0 is root */
	if (self->owner_uid != -1) {
		json_builder_set_member_name(builder, "owner-uid");
		json_builder_add_int_value(builder, self->owner_uid);
	}
	if (self->cause_code != DFU_STATUS_NONE) {
		json_put_int(builder, "cause-code", self->cause_code);
		json_put_string(builder, "cause-message", self->cause_message);
	}
	json_put_string(builder, "found-framing", self->found_framing);
	/* kept even when empty: a job that has not seen its device has none at all */
	if (self->device_identity != NULL) {
		g_autofree char *identity_text = g_variant_print(self->device_identity, TRUE);

		json_put_string(builder, "device-identity", identity_text);
	}
	if (self->device_report != NULL) {
		g_autofree char *report_text = g_variant_print(self->device_report, TRUE);

		json_put_string(builder, "device-report", report_text);
	}
	json_put_int(builder, "created", self->created);
	json_put_int(builder, "started", self->started);
	json_put_int(builder, "finished", self->finished);
	json_builder_set_member_name(builder, "history");
	json_builder_begin_array(builder);
	for (guint at = 0; at < self->history_size; at += strlen(self->history + at) + 1)
		json_builder_add_string_value(builder, self->history + at);
	json_builder_end_array(builder);
	json_builder_end_object(builder);

	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/*
 * Typed readers for the job document: a member that is absent keeps the
 * default, a member of the wrong type fails the whole document.
 */
static gboolean
json_member_value(JsonObject *obj, const char *name, GType type, JsonNode **node, GError **error)
{
	*node = json_object_get_member(obj, name);
	if (*node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(*node) || json_node_get_value_type(*node) != type) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "job member '%s' is not a %s",
		            name, g_type_name(type));
		return FALSE;
	}
	return TRUE;
}

/* shared: value is an interned string (see shared_string()) */
static gboolean
json_read_string_as(JsonObject *obj, const char *name, char **value, gboolean shared, GError **error)
{
	JsonNode *node = NULL;

	if (!json_member_value(obj, name, G_TYPE_STRING, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (shared) {
		shared_string_clear(value);
		*value = shared_string(json_node_get_string(node));
	} else {
		g_free(*value);
		*value = g_strdup(json_node_get_string(node));
	}
	return TRUE;
}

static gboolean
json_read_string(JsonObject *obj, const char *name, char **value, GError **error)
{
	return json_read_string_as(obj, name, value, FALSE, error);
}

static gboolean
json_read_int(JsonObject *obj, const char *name, gint64 min, gint64 max, gint64 *value, GError **error)
{
	JsonNode *node = NULL;
	gint64 v;

	if (!json_member_value(obj, name, G_TYPE_INT64, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	v = json_node_get_int(node);
	if (v < min || v > max) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "job member '%s' is out of range",
		            name);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

static gboolean
json_read_uint(JsonObject *obj, const char *name, guint *value, GError **error)
{
	gint64 v = *value;
	if (!json_read_int(obj, name, 0, G_MAXUINT, &v, error))
		return FALSE;
	*value = (guint)v;
	return TRUE;
}

static gboolean
json_read_u64(JsonObject *obj, const char *name, guint64 *value, GError **error)
{
	gint64 v = (gint64)*value;
	if (!json_read_int(obj, name, 0, G_MAXINT64, &v, error))
		return FALSE;
	*value = (guint64)v;
	return TRUE;
}

static gboolean
json_read_bool(JsonObject *obj, const char *name, gboolean *value, GError **error)
{
	JsonNode *node = NULL;

	if (!json_member_value(obj, name, G_TYPE_BOOLEAN, &node, error))
		return FALSE;
	if (node != NULL)
		*value = json_node_get_boolean(node);
	return TRUE;
}

static gboolean
json_read_options(JsonObject *obj, DfuJobOptions *options, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "options");
	JsonObject *o;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "job member 'options' is not an object");
		return FALSE;
	}
	o = json_node_get_object(node);
	options->has_sec_tag = json_object_has_member(o, "sec-tag");
	options->has_pdn = json_object_has_member(o, "pdn");
	return json_read_bool(o, "confirm", &options->confirm, error) &&
	       json_read_bool(o, "force", &options->force, error) &&
	       json_read_bool(o, "fetch-only", &options->fetch_only, error) &&
	       json_read_bool(o, "allow-downgrade", &options->allow_downgrade, error) &&
	       json_read_string(o, "allow-downgrade-images", &options->allow_downgrade_images, error) &&
	       json_read_uint(o, "max-attempts", &options->max_attempts, error) &&
	       json_read_string(o, "source-name", &options->name, error) &&
	       json_read_string(o, "expected-sha256", &options->expected_sha256, error) &&
	       json_read_string(o, "signature-url", &options->signature_url, error) &&
	       json_read_uint(o, "fota-op", &options->fota_op, error) &&
	       json_read_uint(o, "sec-tag", &options->sec_tag, error) &&
	       json_read_uint(o, "pdn", &options->pdn, error) &&
	       json_read_uint(o, "mesh-interval", &options->mesh_interval_ms, error) &&
	       json_read_string(o, "expected-version", &options->expected_version, error);
}

static gboolean
json_read_enum(JsonObject *obj, const char *name, gboolean (*from_string)(const char *, guint *),
               guint *value, GError **error)
{
	g_autofree char *str = NULL;

	if (!json_read_string(obj, name, &str, error))
		return FALSE;
	if (str != NULL && !from_string(str, value)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "job member '%s' has unknown value '%s'", name, str);
		return FALSE;
	}
	return TRUE;
}

static gboolean
state_from_string(const char *str, guint *value)
{
	return name_lookup(state_names, G_N_ELEMENTS(state_names), str, value);
}

static gboolean
phase_from_string(const char *str, guint *value)
{
	return name_lookup(phase_names, G_N_ELEMENTS(phase_names), str, value);
}

/* an a{sv} kept as GVariant text; absent keeps *value */
static gboolean
json_read_vardict(JsonObject *obj, const char *name, GVariant **value, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);
	g_autoptr(GError) error_local = NULL;
	GVariant *dict;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "job member '%s' is not a string",
		            name);
		return FALSE;
	}
	dict = g_variant_parse(G_VARIANT_TYPE_VARDICT, json_node_get_string(node), NULL, NULL, &error_local);
	if (dict == NULL) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "job member '%s': %s", name,
		            error_local->message);
		return FALSE;
	}
	g_clear_pointer(value, g_variant_unref);
	/* g_variant_parse() gives a full, non-floating reference */
	*value = dict;
	return TRUE;
}

static gboolean
json_read_history(JsonObject *obj, DfuJob *job, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "history");
	JsonArray *array;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "job member 'history' is not an array");
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *line = json_array_get_element(array, i);
		if (!JSON_NODE_HOLDS_VALUE(line) || json_node_get_value_type(line) != G_TYPE_STRING) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "job history line %u is not a string", i);
			return FALSE;
		}
		dfu_job_append_history(job, json_node_get_string(line));
	}
	return TRUE;
}

static const DfuNestingLimits job_file_limits = {
        .what = "job file",
        .max_size = JOB_FILE_MAX_SIZE,
        .max_depth = JOB_FILE_MAX_DEPTH,
        .code = DFU_STATUS_INVALID_ARGUMENT,
};

DfuJob *
dfu_job_new_from_json(const char *json, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(DfuJob) job = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonNode *root;
	JsonObject *obj;
	gint64 id = 0;
	guint state = DFU_JOB_STATE_QUEUED;
	guint phase = DFU_JOB_PHASE_NONE;
	guint kind = DFU_JOB_KIND_UPDATE;
	g_autofree char *message = NULL;

	g_return_val_if_fail(json != NULL, NULL);
	/* a corrupt file must not take json-glib's recursion past the stack */
	if (!dfu_json_check_limits(json, strlen(json), &job_file_limits, error))
		return NULL;
	if (!json_parser_load_from_data(parser, json, -1, &error_local)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT, "job is not valid JSON: %s",
		            error_local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "job is not a JSON object");
		return NULL;
	}
	obj = json_node_get_object(root);
	if (!json_object_has_member(obj, "id") || !json_object_has_member(obj, "target")) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		                    "job lacks an id or a target");
		return NULL;
	}

	job = g_object_new(DFU_TYPE_JOB, NULL);
	if (!json_read_int(obj, "id", 1, G_MAXINT64, &id, error) ||
	    !json_read_enum(obj, "kind", kind_from_string, &kind, error) ||
	    !json_read_string_as(obj, "target", &job->target, TRUE, error) ||
	    !json_read_string_as(obj, "source", &job->source, TRUE, error) ||
	    !json_read_string(obj, "url", &job->url, error) ||
	    !json_read_string_as(obj, "bundle-path", &job->bundle_path, TRUE, error) ||
	    !json_read_string(obj, "signature-path", &job->signature_path, error) ||
	    !json_read_options(obj, &job->options, error) ||
	    !json_read_enum(obj, "state", state_from_string, &state, error) ||
	    !json_read_enum(obj, "phase", phase_from_string, &phase, error) ||
	    !json_read_u64(obj, "bytes-done", &job->bytes_done, error) ||
	    !json_read_u64(obj, "bytes-total", &job->bytes_total, error) ||
	    !json_read_uint(obj, "status-code", &job->status_code, error) ||
	    !json_read_string(obj, "message", &message, error) ||
	    !json_read_vardict(obj, "device-error", &job->device_error, error) ||
	    !json_read_uint(obj, "attempt", &job->attempt, error) ||
	    !json_read_bool(obj, "device-changed", &job->device_changed, error) ||
	    !json_read_bool(obj, "stopped-cleanly", &job->stopped_cleanly, error) ||
	    !json_read_uint(obj, "crashes", &job->crashes, error) ||
	    !json_read_int(obj, "owner-uid", -1, G_MAXUINT32, &job->owner_uid, error) ||
	    !json_read_uint(obj, "cause-code", &job->cause_code, error) ||
	    !json_read_string(obj, "cause-message", &job->cause_message, error) ||
	    !json_read_vardict(obj, "device-identity", &job->device_identity, error) ||
	    !json_read_vardict(obj, "device-report", &job->device_report, error) ||
	    !json_read_string(obj, "found-framing", &job->found_framing, error) ||
	    !json_read_int(obj, "created", 0, G_MAXINT64, &job->created, error) ||
	    !json_read_int(obj, "started", 0, G_MAXINT64, &job->started, error) ||
	    !json_read_int(obj, "finished", 0, G_MAXINT64, &job->finished, error) ||
	    !json_read_history(obj, job, error))
		return NULL;
	job->id = (guint64)id;
	job->kind = kind;
	job->state = state;
	job->phase = phase;
	if (message != NULL && message[0] != '\0')
		job->message = g_steal_pointer(&message);
	if (job->source == NULL)
		job->source = shared_string("");
	return g_steal_pointer(&job);
}
