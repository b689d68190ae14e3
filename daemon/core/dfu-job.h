/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "dfu-status.h"

G_BEGIN_DECLS

typedef enum {
	DFU_JOB_STATE_QUEUED,
	DFU_JOB_STATE_RUNNING,
	DFU_JOB_STATE_SUCCEEDED,
	DFU_JOB_STATE_FAILED,
	DFU_JOB_STATE_CANCELLED,
} DfuJobState;

typedef enum {
	DFU_JOB_PHASE_NONE,
	DFU_JOB_PHASE_WAITING, /* queued behind another job or backing off before a retry */
	DFU_JOB_PHASE_FETCHING,
	DFU_JOB_PHASE_VERIFYING,
	DFU_JOB_PHASE_CONNECTING,
	DFU_JOB_PHASE_INSPECTING, /* reading parameters and image state */
	DFU_JOB_PHASE_UPLOADING,
	DFU_JOB_PHASE_TESTING,
	DFU_JOB_PHASE_RESETTING,
	DFU_JOB_PHASE_CONFIRMING,
	DFU_JOB_PHASE_DONE,
} DfuJobPhase;

/* what a job does to its device; all but an update run without a bundle */
typedef enum {
	DFU_JOB_KIND_UPDATE,
	DFU_JOB_KIND_REFRESH, /* reads the device's state and changes nothing */
	DFU_JOB_KIND_CONFIRM, /* finishes a staged update: reset into it if needed, confirm it */
	DFU_JOB_KIND_RESET,   /* resets a device with a staged update and reads it back */
} DfuJobKind;

/* what changed, passed with DfuJob::changed so that listeners can batch */
typedef enum {
	DFU_JOB_CHANGED_STATE = 1 << 0,
	DFU_JOB_CHANGED_PHASE = 1 << 1,
	DFU_JOB_CHANGED_PROGRESS = 1 << 2, /* Percentage, BytesDone, BytesTotal, BytesPerSecond */
	DFU_JOB_CHANGED_RESULT = 1 << 3,   /* StatusCode, StatusName, Message, DeviceError */
	DFU_JOB_CHANGED_ATTEMPT = 1 << 4,
	DFU_JOB_CHANGED_TIMESTAMPS = 1 << 5,
	DFU_JOB_CHANGED_RECORD = 1 << 6, /* bookkeeping that is persisted but not on D-Bus */
	DFU_JOB_CHANGED_REPORT = 1 << 7, /* what the device said of itself: persisted with the next write */
} DfuJobChanged;

/* upper bounds of the Submit options: no job holds its device's queue for ever, and every
 * reader of Source is spared a huge name */
#define DFU_JOB_MAX_ATTEMPTS 100
#define DFU_JOB_SOURCE_NAME_MAX 255 /* bytes of UTF-8 */
#define DFU_JOB_URL_MAX 4096        /* bytes */
#define DFU_JOB_VERSION_MAX 128     /* bytes of expected-version */

/* options accepted in Submit(..., a{sv} options); unknown keys are refused. Every job holds a
 * copy: the members go by size, which leaves no holes between them. */
typedef struct {
	gboolean confirm;         /* "confirm" b, default TRUE: FALSE stops at staged */
	gboolean force;           /* "force" b: upload even when the device already runs the image */
	gboolean allow_downgrade; /* "allow-downgrade" b */
	gboolean fetch_only;      /* "fetch-only" b: download the bundle into the cache, install nothing */
	gchar *allow_downgrade_images; /* "allow-downgrade" s: image numbers or names, comma separated */
	gchar *name;            /* "source-name" s: shown as Source, e.g. the file name; printable UTF-8 */
	gchar *expected_sha256; /* "expected-sha256" s: 64 hex digits the bundle's SHA-256 must have */
	gchar *signature_url;   /* "signature-url" s, SubmitUrl only: default is the URL with ".sig" */
	GBytes *signature;      /* "signature" ay: a detached signature, kept as the job's signature file */
	guint max_attempts;     /* "max-attempts" u, 0 = configured default, at most DFU_JOB_MAX_ATTEMPTS */
	/* atfota targets only: what the module downloads and how (AT#XFOTA=<op>,<url>,<sec_tag>,<pdn>) */
	guint fota_op; /* "fota-op" u: 1 application (default), 2 modem delta, 3 full modem, 5 bootloader */
	guint sec_tag; /* "sec-tag" u: the module's credentials for an https server */
	gboolean has_sec_tag;
	guint pdn; /* "pdn" u: a PDN other than the default */
	gboolean has_pdn;
	/* "expected-version" s: what the module's version answer must name after the update */
	gchar *expected_version;
	/* meshdfu targets only: "mesh-interval" u, milliseconds between DATA packets; 0 = configured */
	guint mesh_interval_ms;
} DfuJobOptions;

/* the interval a mesh accepts: Nordic's documented floor, and a minute */
#define DFU_MESH_INTERVAL_MIN_MS 60
#define DFU_MESH_INTERVAL_MAX_MS 60000

/* the AT#XFOTA ops a job may ask for */
#define DFU_FOTA_OP_APPLICATION 1
#define DFU_FOTA_OP_MODEM_DELTA 2
#define DFU_FOTA_OP_MODEM_FULL 3
#define DFU_FOTA_OP_BOOTLOADER 5

/*
 * The options that only some protocols take, checked against the target's
 * protocol (a DfuProtocolType) and the job's URL (NULL for a bundle given as
 * a file) when the job is submitted.
 */
gboolean dfu_job_options_check_protocol(const DfuJobOptions *options, guint protocol, const char *url,
                                        GError **error);

#define DFU_TYPE_JOB (dfu_job_get_type())
G_DECLARE_FINAL_TYPE(DfuJob, dfu_job, DFU, JOB, GObject)

/* Signals: "changed" (guint DfuJobChanged mask) emitted after every setter that changed something. */

DfuJob *dfu_job_new(guint64 id, const char *target, const char *source, const char *bundle_path,
                    const DfuJobOptions *options);

guint64 dfu_job_get_id(DfuJob *self);
DfuJobKind dfu_job_get_kind(DfuJob *self);
const char *dfu_job_get_target(DfuJob *self);
const char *dfu_job_get_source(DfuJob *self);
/* where the bundle is fetched from, NULL for a bundle passed as a file descriptor */
const char *dfu_job_get_url(DfuJob *self);
/* the bundle copy in the cache directory, owned by the job */
const char *dfu_job_get_bundle_path(DfuJob *self);
/* a detached signature of the bundle, owned by the job like the bundle; NULL when none came with it */
const char *dfu_job_get_signature_path(DfuJob *self);
const DfuJobOptions *dfu_job_get_options(DfuJob *self);

DfuJobState dfu_job_get_state(DfuJob *self);
DfuJobPhase dfu_job_get_phase(DfuJob *self);
guint dfu_job_get_percentage(DfuJob *self);
guint64 dfu_job_get_bytes_done(DfuJob *self);
guint64 dfu_job_get_bytes_total(DfuJob *self);
guint64 dfu_job_get_bytes_per_second(DfuJob *self);
guint dfu_job_get_status_code(DfuJob *self);
const char *dfu_job_get_message(DfuJob *self);
/* a{sv}, never NULL (empty dict when the device gave no error) */
GVariant *dfu_job_get_device_error(DfuJob *self);
guint dfu_job_get_attempt(DfuJob *self);
/* the attempts the job may take, and when (realtime µs) the next one starts after a recoverable
 * failure, 0 when none waits; kept by the manager, not persisted */
guint dfu_job_get_max_attempts(DfuJob *self);
gint64 dfu_job_get_retry_at(DfuJob *self);
void dfu_job_set_retry(DfuJob *self, gint64 retry_at, guint max_attempts);
/* TRUE once an attempt went as far as marking, resetting into or confirming the new image */
gboolean dfu_job_get_device_changed(DfuJob *self);
/*
 * What an engine saw of the device when the job first reached it (an a{sv}
 * of its own making), so that later attempts can tell it is the same device;
 * NULL until then.
 */
GVariant *dfu_job_get_device_identity(DfuJob *self);
/*
 * The device's state as the engine reported it (see DfuEngineCallbacks.report),
 * merged key by key over the job's attempts; NULL until the first report.
 */
GVariant *dfu_job_get_device_report(DfuJob *self);
/* a{sv}; floating refs are sunk */
void dfu_job_merge_device_report(DfuJob *self, GVariant *state);
/* the user who submitted the job, -1 when unknown (jobs from before it was kept) */
gint64 dfu_job_get_owner_uid(DfuJob *self);
void dfu_job_set_owner_uid(DfuJob *self, gint64 uid);
/* the serial framing ("console", "raw") an attempt found the device answering in, NULL before */
const char *dfu_job_get_found_framing(DfuJob *self);
/* realtime in microseconds since the epoch, 0 = not yet */
gint64 dfu_job_get_created(DfuJob *self);
gint64 dfu_job_get_started(DfuJob *self);
gint64 dfu_job_get_finished(DfuJob *self);
gboolean dfu_job_is_finished(DfuJob *self);

void dfu_job_set_state(DfuJob *self, DfuJobState state);
void dfu_job_set_phase(DfuJob *self, DfuJobPhase phase);
/* bytes_total 0 keeps the previous total; rate is computed here from the history of calls */
void dfu_job_set_progress(DfuJob *self, guint64 bytes_done, guint64 bytes_total);
/* message may be NULL; device_error may be NULL (floating refs are sunk) */
void dfu_job_set_result(DfuJob *self, guint status_code, const char *message, GVariant *device_error);
void dfu_job_set_attempt(DfuJob *self, guint attempt);
/* identity may be NULL (floating refs are sunk) */
void dfu_job_set_device_identity(DfuJob *self, GVariant *identity);
void dfu_job_set_found_framing(DfuJob *self, const char *framing);
/* appends a line to the job's history log (kept, persisted, shown by dfuctl status -v) */
void dfu_job_log(DfuJob *self, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* the history, oldest first: "timestamp-µs\tmessage" strings that are the job's own and valid
 * until its next dfu_job_log(), in an array of the caller's */
GPtrArray *dfu_job_list_history(DfuJob *self);

const char *dfu_job_state_to_string(DfuJobState state);
gboolean dfu_job_state_from_string(const char *str, DfuJobState *state);
const char *dfu_job_kind_to_string(DfuJobKind kind);
const char *dfu_job_phase_to_string(DfuJobPhase phase);
gboolean dfu_job_phase_from_string(const char *str, DfuJobPhase *phase);

/* persistence: the whole job as a JSON object (json-glib), and back */
char *dfu_job_to_json(DfuJob *self);
DfuJob *dfu_job_new_from_json(const char *json, GError **error);

void dfu_job_options_clear(DfuJobOptions *options);
/* a deep copy of src into dest, which holds nothing yet */
void dfu_job_options_copy(DfuJobOptions *dest, const DfuJobOptions *src);

G_END_DECLS
