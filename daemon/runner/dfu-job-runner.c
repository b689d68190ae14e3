/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "dfu-job-runner.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "at-line.h"
#include "atfota-engine.h"
#include "ble-transport.h"
#include "dfu-bundle.h"
#include "dfu-downgrade.h"
#include "dfu-error.h"
#include "dfu-framing-probe.h"
#include "dfu-job-private.h"
#include "dfu-target.h"
#include "dfu-verify.h"
#include "meshdfu-engine.h"
#include "nrfdfu-engine.h"
#include "serial-transport.h"
#include "smp-probed-engine.h"
#include "smp-update.h"
#include "udp-transport.h"

/* a device that answers at all answers within this, whatever ResponseTimeoutSec says */
#define PROBE_TIMEOUT_MS 1000u

#define PROGRESS_STEP_US (G_USEC_PER_SEC / 4)

typedef struct {
	DfuRunner parent;
	DfuConfig *config;
	char *exe;           /* the daemon's own program, for the bundle check process */
	DfuFetcher *fetcher; /* borrowed */
} JobRunner;

typedef struct {
	JobRunner *runner;
	DfuJob *job;
	DfuRunnerDoneFunc done;
	gpointer user_data;
	GCancellable *cancellable;
	GSubprocess *check; /* set while the bundle is parsed in a process of its own */
	GError *start_error;
	DfuEngine *engine;
	DfuTransport *ble; /* borrowed from update: to explain a silent BLE device */
	guint start_idle;  /* an engine without a bundle starts from the loop */
	gboolean finished;
	guint64 shown_done; /* the progress the job was last given, and when */
	gint64 shown_at;
} Attempt;

static void
attempt_free(Attempt *a)
{
	g_clear_handle_id(&a->start_idle, g_source_remove);
	g_clear_pointer(&a->engine, dfu_engine_free);
	g_clear_object(&a->check);
	g_clear_error(&a->start_error);
	g_clear_object(&a->cancellable);
	g_clear_object(&a->job);
	g_free(a);
}

static gboolean
on_attempt_free_idle(gpointer user_data)
{
	attempt_free(user_data);
	return G_SOURCE_REMOVE;
}

/* reports the outcome once; the attempt is freed from the loop, outside any of its own callbacks */
static void
attempt_finish(Attempt *a, guint result, const GError *error, GVariant *device_error)
{
	g_autoptr(GVariant) owned = device_error != NULL ? g_variant_ref_sink(device_error) : NULL;

	if (a->finished)
		return;
	a->finished = TRUE;
	a->done(a->job, result, error, owned, a->user_data);
	g_idle_add(on_attempt_free_idle, a);
}

static void
on_engine_phase(DfuEngine *engine, DfuJobPhase phase, gpointer user_data)
{
	Attempt *a = user_data;
	dfu_job_set_phase(a->job, phase);
}

static void
on_engine_progress(DfuEngine *engine, guint64 done, guint64 total, gpointer user_data)
{
	Attempt *a = user_data;
	gint64 now = g_get_monotonic_time();

	/* a fast link answers hundreds of times a second: the job, its listeners and the bus
	 * hear of it at most every PROGRESS_STEP_US, and at once of a restart or the end */
	if (done > a->shown_done && done < total && now - a->shown_at < PROGRESS_STEP_US)
		return;
	a->shown_done = done;
	a->shown_at = now;
	dfu_job_set_progress_at(a->job, done, total, now);
}

static void
on_engine_log(DfuEngine *engine, const char *line, gpointer user_data)
{
	Attempt *a = user_data;
	dfu_job_log(a->job, "%s", line);
}

static void
on_engine_identity(DfuEngine *engine, GVariant *identity, gpointer user_data)
{
	Attempt *a = user_data;
	dfu_job_set_device_identity(a->job, identity);
}

static void
on_engine_report(DfuEngine *engine, GVariant *state, gpointer user_data)
{
	Attempt *a = user_data;
	dfu_job_merge_device_report(a->job, state);
}

static void
on_engine_done(DfuEngine *engine, guint result, const GError *error, GVariant *device_error,
               gpointer user_data)
{
	Attempt *a = user_data;
	g_autoptr(GError) explained = NULL;

	if (error != NULL && error->code == DFU_STATUS_RESPONSE_TIMEOUT && a->ble != NULL)
		explained = dfu_ble_transport_explain_silence(a->ble);
	attempt_finish(a, result, explained != NULL ? explained : error, device_error);
}

static const DfuEngineCallbacks engine_callbacks = {
        .phase = on_engine_phase,
        .progress = on_engine_progress,
        .log = on_engine_log,
        .identity = on_engine_identity,
        .report = on_engine_report,
        .done = on_engine_done,
};

static DfuTarget *
resolve_target(JobRunner *self, const char *name, GError **error)
{
	return dfu_target_parse(dfu_config_resolve_target(self->config, name), error);
}

/* the adapter a BLE target names, else the configured default */
static const char *
ble_adapter(JobRunner *self, const DfuTarget *target, const char *uri)
{
	const char *query = strchr(uri, '?');
	g_auto(GStrv) pairs = query != NULL ? g_strsplit(query + 1, "&", -1) : NULL;

	for (guint i = 0; pairs != NULL && pairs[i] != NULL; i++) {
		if (g_str_has_prefix(pairs[i], "adapter="))
			return target->adapter;
	}
	return self->config->ble_adapter;
}

static guint
serial_baud(JobRunner *self, const DfuTarget *target)
{
	return target->baud != 0 ? target->baud : self->config->serial_baud;
}

static DfuTransport *
ble_transport_new(JobRunner *self, const DfuTarget *target, const char *uri, BleProfile profile)
{
	BleTransportOptions ble = {
	        .profile = profile,
	        .address = target->address,
	        .adapter = ble_adapter(self, target, uri),
	        .connect_timeout_ms = self->config->ble_connect_timeout_ms,
	        .discovery_timeout_ms = self->config->ble_discovery_timeout_ms,
	};

	return dfu_ble_transport_new(&ble);
}

/* the link an SMP target names: serial, BLE GATT or UDP */
static DfuTransport *
smp_transport_new(JobRunner *self, const DfuTarget *target, const char *uri)
{
	switch (target->link) {
	case DFU_LINK_SERIAL:
		return dfu_serial_transport_new(target->path, serial_baud(self, target), target->framing);
	case DFU_LINK_BLE:
		return ble_transport_new(self, target, uri, BLE_PROFILE_SMP);
	case DFU_LINK_UDP:
		return dfu_udp_transport_new(target->host, target->port,
		                             target->mtu != 0 ? target->mtu : self->config->udp_max_datagram);
	}
	g_return_val_if_reached(NULL);
}

/* the job keeps the framing a probe found: later attempts go straight to the update */
static void
on_framing_found(DfuFraming framing, gpointer user_data)
{
	dfu_job_set_found_framing(user_data, dfu_framing_to_string(framing));
}

static gboolean
use_found_framing(Attempt *a, DfuTransport *transport)
{
	DfuFraming framing = DFU_FRAMING_CONSOLE;

	if (!dfu_framing_from_string(dfu_job_get_found_framing(a->job), &framing) ||
	    framing == DFU_FRAMING_SLIP)
		return FALSE;
	dfu_serial_transport_set_framing(transport, framing);
	dfu_job_log(a->job, "device answers in %s SMP framing (found by an earlier attempt)",
	            dfu_framing_to_string(framing));
	return TRUE;
}

/* allow-downgrade may name an image by its file name only when the bundle has that file */
static gboolean
check_downgrade_files(const DfuPlan *plan, const char *names, GError **error)
{
	g_autofree const char **files = g_new0(const char *, plan->images->len + 1);
	g_autofree char *unknown = NULL;

	for (guint i = 0; i < plan->images->len; i++)
		files[i] = ((const DfuPlanImage *)g_ptr_array_index(plan->images, i))->name;
	unknown = dfu_downgrade_names_unknown_file(names, files);
	if (unknown == NULL)
		return TRUE;
	g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
	            "allow-downgrade names %s, which the bundle does not hold", unknown);
	return FALSE;
}

static DfuEngine *
smp_engine_new(Attempt *a, const DfuTarget *target, const char *uri, DfuPlan *plan, GError **error)
{
	JobRunner *self = a->runner;
	const DfuJobOptions *jo = dfu_job_get_options(a->job);
	g_autoptr(DfuPlan) owned_plan = plan;
	DfuTransport *transport;
	SmpUpdateOptions opt = {
	        .timeout_ms = self->config->smp_timeout_ms,
	        .first_timeout_ms = self->config->smp_erase_timeout_ms,
	        .retries = self->config->smp_retries,
	        .max_window = self->config->smp_max_window,
	        .reset_timeout_ms = self->config->reset_timeout_ms,
	        .confirm = jo->confirm,
	        .force = jo->force,
	        .allow_downgrade = jo->allow_downgrade,
	        .allow_downgrade_images = jo->allow_downgrade_images,
	        .identity = dfu_job_get_device_identity(a->job),
	        .kind = dfu_job_get_kind(a->job),
	};

	if (plan != NULL && (plan->kind == DFU_BUNDLE_NRF5_ZIP || plan->kind == DFU_BUNDLE_MESH_ZIP)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		                    plan->kind == DFU_BUNDLE_NRF5_ZIP
		                            ? "nRF5 DFU packages need a Nordic DFU target"
		                            : "mesh DFU packages need a meshdfu target");
		return NULL;
	}
	if (plan != NULL && !check_downgrade_files(plan, jo->allow_downgrade_images, error))
		return NULL;
	transport = smp_transport_new(self, target, uri);
	if (target->link == DFU_LINK_BLE)
		a->ble = transport;
	/*
	 * A serial target that does not name its framing: the device is asked in
	 * each framing with short timeouts before the update starts, so that a
	 * device speaking raw SMP works and a silent one fails in seconds.
	 */
	if (target->link == DFU_LINK_SERIAL && !target->framing_given && !use_found_framing(a, transport)) {
		const DfuFramingProbeOptions probe = {
		        .timeout_ms = MIN(self->config->smp_timeout_ms, PROBE_TIMEOUT_MS),
		        .retries = MIN(self->config->smp_retries, 1u),
		        .baud = serial_baud(self, target),
		        .set_framing = dfu_serial_transport_set_framing,
		        .found = on_framing_found,
		        .found_data = a->job,
		};

		return smp_probed_engine_new(transport, g_steal_pointer(&owned_plan), &opt, &probe,
		                             &engine_callbacks, a);
	}
	return smp_update_new(transport, g_steal_pointer(&owned_plan), &opt, &engine_callbacks, a);
}

/* the device report's entry that keeps the USB serial number of a job's serial port */
#define USB_SERIAL_KEY "usb-serial-number"

static const char *
job_usb_serial(DfuJob *job)
{
	GVariant *report = dfu_job_get_device_report(job);
	const char *serial = NULL;

	if (report != NULL)
		g_variant_lookup(report, USB_SERIAL_KEY, "&s", &serial);
	return serial;
}

/* persisted with the job, so that a daemon started again mid-update finds a port that came
 * back under another name */
static void
on_usb_serial_learned(const char *serial, gpointer user_data)
{
	Attempt *a = user_data;
	GVariantDict report;

	if (g_strcmp0(job_usb_serial(a->job), serial) == 0)
		return;
	g_variant_dict_init(&report, NULL);
	g_variant_dict_insert(&report, USB_SERIAL_KEY, "s", serial);
	dfu_job_merge_device_report(a->job, g_variant_dict_end(&report));
}

/*
 * Nordic Secure DFU over a serial port (SLIP) or BLE. PRN off: the UART's
 * flow control, and over BLE the link's own, pace the writes; a CRC mismatch
 * after an object turns it on.
 */
static DfuEngine *
nrfdfu_engine_create(Attempt *a, const DfuTarget *target, const char *uri, DfuPlan *plan, GError **error)
{
	JobRunner *self = a->runner;
	g_autoptr(DfuPlan) owned_plan = plan;
	const NrfDfuOptions opt = {
	        .timeout_ms = self->config->smp_timeout_ms,
	        .execute_timeout_ms = self->config->smp_erase_timeout_ms,
	        .prn = 0,
	        .object_retries = 3,
	        .reset_delay_ms = 500,
	        .reconnect_timeout_ms = self->config->reset_timeout_ms,
	        .gatt = target->link == DFU_LINK_BLE,
	};
	DfuTransport *transport;

	if (plan->kind != DFU_BUNDLE_NRF5_ZIP) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		                    plan->kind == DFU_BUNDLE_MESH_ZIP
		                            ? "a mesh DFU package goes through a meshdfu target, not nrfdfu"
		                            : "a Nordic DFU target takes an nRF5 DFU package");
		return NULL;
	}
	if (target->link == DFU_LINK_UDP) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "%s: Nordic DFU runs over serial ports and BLE only", target->uri);
		return NULL;
	}
	if (target->link == DFU_LINK_BLE)
		transport = ble_transport_new(self, target, uri, BLE_PROFILE_NRFDFU);
	else {
		transport =
		        dfu_serial_transport_new(target->path, serial_baud(self, target), DFU_FRAMING_SLIP);
		dfu_serial_transport_set_usb_serial(transport, job_usb_serial(a->job), on_usb_serial_learned,
		                                    a);
	}
	return nrfdfu_engine_new(transport, g_steal_pointer(&owned_plan), &opt, &engine_callbacks, a);
}

/* the module downloads the job's URL itself, or the engine pushes the job's file: no plan either way */
static DfuEngine *
atfota_engine_create(Attempt *a, const DfuTarget *target, const char *uri, DfuPlan *plan, GError **error)
{
	DfuConfig *config = a->runner->config;
	const DfuJobOptions *jo = dfu_job_get_options(a->job);
	AtfotaOptions opt = {
	        .op = jo->fota_op,
	        .url = dfu_job_get_url(a->job),
	        .file = dfu_job_get_url(a->job) == NULL ? dfu_job_get_bundle_path(a->job) : NULL,
	        .source = dfu_job_get_source(a->job),
	        .has_sec_tag = jo->has_sec_tag,
	        .sec_tag = jo->sec_tag,
	        .has_pdn = jo->has_pdn,
	        .pdn = jo->pdn,
	        .expected_version = jo->expected_version,
	        .confirm = jo->confirm,
	        .command_timeout_ms = config->atfota_command_timeout_ms,
	        .ready_timeout_ms = config->atfota_ready_timeout_ms,
	        .probes = config->atfota_probes,
	        .stall_timeout_ms = config->atfota_stall_timeout_ms,
	        .stall_retries = config->atfota_stall_retries,
	        .reset_timeout_ms = config->atfota_reset_timeout_ms,
	        .result_timeout_ms = config->atfota_result_timeout_ms,
	        .identity = dfu_job_get_device_identity(a->job),
	        .fetcher = a->runner->fetcher,
	};
	DfuTransport *transport;

	g_clear_pointer(&plan, dfu_plan_free);
	/* the target parser accepts only the names the codec knows */
	if (target->terminator != NULL)
		at_terminator_from_string(target->terminator, &opt.terminator);
	transport =
	        dfu_serial_transport_new_stream(target->path, serial_baud(a->runner, target), target->rtscts);
	return atfota_engine_new(transport, &opt, &engine_callbacks, a);
}

/* the mesh stack's UART runs at 115200 whatever the gateway's other serial devices do */
#define MESH_DEFAULT_BAUD 115200

/* nRF5 SDK for Mesh DFU through a serial node: the mesh serial framing, RTS/CTS unless turned off */
static DfuEngine *
meshdfu_engine_create(Attempt *a, const DfuTarget *target, const char *uri, DfuPlan *plan, GError **error)
{
	DfuConfig *config = a->runner->config;
	const DfuJobOptions *jo = dfu_job_get_options(a->job);
	guint baud = target->baud != 0 ? target->baud : MESH_DEFAULT_BAUD;
	MeshDfuOptions opt = {
	        .interval_ms = jo->mesh_interval_ms != 0 ? jo->mesh_interval_ms : config->meshdfu_interval_ms,
	        .ack_timeout_ms = config->meshdfu_ack_timeout_ms,
	        .tries = config->meshdfu_tries,
	        .busy_timeout_ms = config->meshdfu_busy_timeout_ms,
	        .state_wait_ms = config->meshdfu_state_wait_ms,
	        .erase_page_ms = config->meshdfu_erase_page_ms,
	        .fwid_timeout_ms = config->meshdfu_fwid_timeout_ms,
	        .tail_quiet_ms = config->meshdfu_tail_quiet_ms,
	        .end_timeout_ms = config->meshdfu_end_timeout_ms,
	        .node_timeout_ms = config->meshdfu_node_timeout_ms,
	        .identity = dfu_job_get_device_identity(a->job),
	        .baud = baud,
	        .rtscts = target->rtscts,
	};
	DfuTransport *transport;

	if (plan->kind != DFU_BUNDLE_MESH_ZIP) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_UNSUPPORTED_BUNDLE,
		                    "a meshdfu target takes a package of nrfutil dfu genpkg --mesh");
		dfu_plan_free(plan);
		return NULL;
	}
	if (target->pubkey != NULL &&
	    (opt.node_key = dfu_key_ring_load_file(target->pubkey, error)) == NULL) {
		g_prefix_error(error, "pubkey of the target: ");
		dfu_plan_free(plan);
		return NULL;
	}
	transport = dfu_serial_transport_new(target->path, baud, DFU_FRAMING_MESH);
	dfu_serial_transport_set_rtscts(transport, target->rtscts);
	return meshdfu_engine_new(transport, plan, &opt, &engine_callbacks, a);
}

/* The engine of each protocol: it takes the plan and makes the transport it speaks over. */
typedef DfuEngine *(*EngineNewFunc)(Attempt *a, const DfuTarget *target, const char *uri, DfuPlan *plan,
                                    GError **error);

static const struct {
	DfuProtocolType protocol;
	EngineNewFunc create;
	gboolean actions; /* also runs refresh, confirm and reset jobs, without a plan */
} engines[] = {
        {DFU_PROTOCOL_SMP, smp_engine_new, TRUE},
        {DFU_PROTOCOL_NRFDFU, nrfdfu_engine_create, FALSE},
        {DFU_PROTOCOL_ATFOTA, atfota_engine_create, FALSE},
        {DFU_PROTOCOL_MESHDFU, meshdfu_engine_create, FALSE},
};

static gboolean
protocol_runs(DfuProtocolType protocol, DfuJobKind kind)
{
	for (guint i = 0; i < G_N_ELEMENTS(engines); i++) {
		if (engines[i].protocol == protocol)
			return kind == DFU_JOB_KIND_UPDATE || engines[i].actions;
	}
	return FALSE;
}

static void
start_update(Attempt *a, DfuPlan *plan)
{
	JobRunner *self = a->runner;
	g_autoptr(DfuPlan) owned_plan = plan;
	g_autoptr(GError) error = NULL;
	const char *uri = dfu_config_resolve_target(self->config, dfu_job_get_target(a->job));
	g_autoptr(DfuTarget) target = dfu_target_parse(uri, &error);

	if (target != NULL && !protocol_runs(target->protocol, dfu_job_get_kind(a->job))) {
		g_set_error(&error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "%s: %s is not supported on %s targets", target->uri,
		            dfu_job_kind_to_string(dfu_job_get_kind(a->job)),
		            dfu_protocol_to_string(target->protocol));
		g_clear_pointer(&target, dfu_target_free);
	}
	for (guint i = 0; target != NULL && i < G_N_ELEMENTS(engines); i++) {
		if (engines[i].protocol != target->protocol)
			continue;
		a->engine = engines[i].create(a, target, uri, g_steal_pointer(&owned_plan), &error);
		if (a->engine == NULL)
			break;
		dfu_engine_start(a->engine);
		return;
	}
	if (target != NULL && error == NULL)
		g_set_error(&error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED,
		            "%s: the %s protocol is not supported by this version of dfud", target->uri,
		            dfu_protocol_to_string(target->protocol));
	attempt_finish(a, DFU_STATUS_NONE, error, NULL);
}

/* What the worker needs to load and verify a bundle: copies, so that it never touches the job. */
typedef struct {
	char *bundle_path;
	char *name;
	char *signature_path;
	char *key_dir;
	char *device_board;
	char *device;
	DfuSignaturePolicy policy;
	GPtrArray *log; /* filled by the worker, read once it is done */
} VerifyTask;

static void
verify_task_free(VerifyTask *vt)
{
	g_free(vt->bundle_path);
	g_free(vt->name);
	g_free(vt->signature_path);
	g_free(vt->key_dir);
	g_free(vt->device_board);
	g_free(vt->device);
	g_ptr_array_unref(vt->log);
	g_free(vt);
}

static VerifyTask *
verify_task_new(JobRunner *self, DfuJob *job)
{
	VerifyTask *vt = g_new0(VerifyTask, 1);
	g_autoptr(DfuTarget) target = resolve_target(self, dfu_job_get_target(job), NULL);

	vt->bundle_path = g_strdup(dfu_job_get_bundle_path(job));
	vt->name = g_strdup(dfu_job_get_source(job));
	vt->signature_path = g_strdup(dfu_job_get_signature_path(job));
	vt->key_dir = g_strdup(self->config->key_dir);
	vt->policy = self->config->signature_policy;
	vt->device = g_strdup(dfu_job_get_target(job));
	if (target != NULL)
		vt->device_board = g_strdup(dfu_config_get_board(self->config, target->uri));
	vt->log = g_ptr_array_new_with_free_func(g_free);
	return vt;
}

/* Test builds only: parsing the bundle of this name (DFUD_TEST_CRASH_BUNDLE) kills the process. */
static void
test_crash_hook(const char *name)
{
#if DFUD_TEST_HOOKS
	if (g_strcmp0(g_getenv("DFUD_TEST_CRASH_BUNDLE"), name) == 0)
		abort();
#endif
}

/*
 * One bundle is checked at a time: it is mapped and its images inflated while
 * it is, so jobs that start together would otherwise hold all their images in
 * memory at once.
 */
static GMutex verify_lock;

static void
load_plan_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&verify_lock);
	VerifyTask *vt = task_data;
	const DfuVerifyOptions options = {
	        .policy = vt->policy,
	        .key_dir = vt->key_dir,
	        .signature_path = vt->signature_path,
	        .device_board = vt->device_board,
	        .device = vt->device,
	};
	GError *error = NULL;
	DfuPlan *plan;

	test_crash_hook(vt->name);
	plan = dfu_verify_load_file(vt->bundle_path, vt->name, &options, vt->log, &error);
	/* the images are sent from files: a running job holds no copy of them */
	if (plan != NULL && !dfu_plan_stream_from_file(plan, vt->bundle_path, &error))
		g_clear_pointer(&plan, dfu_plan_free);
	if (plan == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, plan, (GDestroyNotify)dfu_plan_free);
}

static void
on_plan_loaded(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Attempt *a = user_data;
	g_autoptr(GError) error = NULL;
	DfuPlan *plan = g_task_propagate_pointer(G_TASK(res), &error);
	VerifyTask *vt = g_task_get_task_data(G_TASK(res));

	for (guint i = 0; i < vt->log->len; i++)
		dfu_job_log(a->job, "verify: %s", (const char *)g_ptr_array_index(vt->log, i));

	if (g_cancellable_is_cancelled(a->cancellable)) {
		g_autoptr(GError) cancelled =
		        g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled");
		g_clear_pointer(&plan, dfu_plan_free);
		attempt_finish(a, DFU_STATUS_NONE, cancelled, NULL);
		return;
	}
	if (plan == NULL) {
		attempt_finish(a, DFU_STATUS_NONE, error, NULL);
		return;
	}
	for (guint i = 0; i < plan->images->len; i++) {
		DfuPlanImage *img = g_ptr_array_index(plan->images, i);
		dfu_job_log(a->job, "bundle: image %u %s, version %s, %" G_GSIZE_FORMAT " bytes%s",
		            img->image_index, img->name, img->version, dfu_image_data_get_size(img->stream),
		            img->slot == 0   ? ", built for slot 0"
		            : img->slot == 1 ? ", built for slot 1"
		                             : "");
		if (img->padding > 0)
			dfu_job_log(a->job, "bundle: image %u: %" G_GSIZE_FORMAT " bytes of padding dropped",
			            img->image_index, img->padding);
	}
	start_update(a, plan);
}

static void
start_verify(Attempt *a)
{
	g_autoptr(GTask) task = NULL;

	/* hashing a large bundle and checking signatures would stall the loop: they run in a worker */
	task = g_task_new(NULL, a->cancellable, on_plan_loaded, a);
	g_task_set_task_data(task, verify_task_new(a->runner, a->job), (GDestroyNotify)verify_task_free);
	g_task_run_in_thread(task, load_plan_thread);
}

static void
on_check_exited(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Attempt *a = user_data;
	g_autoptr(GError) error = NULL;
	GSubprocess *check = G_SUBPROCESS(source);

	if (!g_subprocess_wait_finish(check, res, &error)) {
		g_subprocess_force_exit(check);
		g_set_error_literal(&error, DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled");
		attempt_finish(a, DFU_STATUS_NONE, error, NULL);
		return;
	}
	if (g_subprocess_get_if_exited(check) &&
	    (g_subprocess_get_exit_status(check) == EXIT_SUCCESS ||
	     g_subprocess_get_exit_status(check) == DFU_CHECK_BUNDLE_EXIT_REFUSED)) {
		dfu_job_log(a->job, "the bundle parses without harm in a process of its own");
		start_verify(a);
		return;
	}
	g_set_error(&error, DFU_ERROR, DFU_STATUS_CRASH_LOOP,
	            "parsing the bundle crashed the process that checked it (%s %d), as it may have crashed "
	            "the daemon before",
	            g_subprocess_get_if_signaled(check) ? "signal" : "exit status",
	            g_subprocess_get_if_signaled(check) ? g_subprocess_get_term_sig(check)
	                                                : g_subprocess_get_exit_status(check));
	attempt_finish(a, DFU_STATUS_NONE, error, NULL);
}

static gboolean
on_start_failed_idle(gpointer user_data)
{
	Attempt *a = user_data;

	attempt_finish(a, DFU_STATUS_NONE, a->start_error, NULL);
	return G_SOURCE_REMOVE;
}

/*
 * After the daemon died during one of the job's attempts, its bundle is first
 * parsed by a process of its own: a bundle that crashes the parser takes that
 * process down, not the daemon a second time.
 */
static void
start_check(Attempt *a)
{
	g_autoptr(GError) error = NULL;
	const char *argv[] = {a->runner->exe, DFU_CHECK_BUNDLE_OPTION, dfu_job_get_bundle_path(a->job),
	                      dfu_job_get_source(a->job), NULL};

	a->check = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_NONE, &error);
	if (a->check == NULL) {
		g_set_error(&a->start_error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR,
		            "cannot check the bundle in a process of its own: %s", error->message);
		/* done is never called from inside start */
		g_idle_add(on_start_failed_idle, a);
		return;
	}
	g_subprocess_wait_async(a->check, a->cancellable, on_check_exited, a);
}

int
dfu_job_runner_check_bundle(const char *path, const char *name)
{
	const DfuVerifyOptions options = {.policy = DFU_SIGNATURE_POLICY_OFF, .device = name};
	g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuPlan) plan = NULL;

	test_crash_hook(name);
	plan = dfu_verify_load_file(path, name, &options, log, &error);
	if (plan == NULL) {
		g_printerr("%s: %s\n", name, error->message);
		return DFU_CHECK_BUNDLE_EXIT_REFUSED;
	}
	return EXIT_SUCCESS;
}

static gboolean
runner_fetches_itself(DfuRunner *runner, DfuJob *job)
{
	JobRunner *self = (JobRunner *)runner;
	g_autoptr(DfuTarget) target = resolve_target(self, dfu_job_get_target(job), NULL);

	return target != NULL && target->protocol == DFU_PROTOCOL_ATFOTA;
}

static gboolean
on_start_engine_idle(gpointer user_data)
{
	Attempt *a = user_data;

	a->start_idle = 0;
	if (g_cancellable_is_cancelled(a->cancellable)) {
		g_autoptr(GError) cancelled =
		        g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled");

		attempt_finish(a, DFU_STATUS_NONE, cancelled, NULL);
		return G_SOURCE_REMOVE;
	}
	start_update(a, NULL);
	return G_SOURCE_REMOVE;
}

static gpointer
runner_start(DfuRunner *runner, DfuJob *job, DfuRunnerDoneFunc done, gpointer user_data)
{
	JobRunner *self = (JobRunner *)runner;
	Attempt *a = g_new0(Attempt, 1);

	a->runner = self;
	a->job = g_object_ref(job);
	a->done = done;
	a->user_data = user_data;
	a->cancellable = g_cancellable_new();
	if (runner_fetches_itself(runner, job) || dfu_job_get_kind(job) != DFU_JOB_KIND_UPDATE) {
		/* done is never called from inside start */
		a->start_idle = g_idle_add(on_start_engine_idle, a);
		return a;
	}
	dfu_job_set_phase(job, DFU_JOB_PHASE_VERIFYING);
	if (dfu_job_get_crashes(job) > 0)
		start_check(a);
	else
		start_verify(a);
	return a;
}

static void
runner_cancel(DfuRunner *runner, gpointer attempt)
{
	Attempt *a = attempt;

	g_cancellable_cancel(a->cancellable);
	if (a->engine != NULL)
		dfu_engine_cancel(a->engine);
}

static char *
runner_device_key(DfuRunner *runner, DfuJob *job)
{
	JobRunner *self = (JobRunner *)runner;
	g_autoptr(DfuTarget) target = resolve_target(self, dfu_job_get_target(job), NULL);

	if (target == NULL)
		return g_strdup(dfu_job_get_target(job));
	return g_strdup(dfu_target_device_key(target));
}

/* jobs on one adapter share its radio and connection slots */
static char *
runner_link_key(DfuRunner *runner, DfuJob *job, guint *limit)
{
	JobRunner *self = (JobRunner *)runner;
	const char *uri = dfu_config_resolve_target(self->config, dfu_job_get_target(job));
	g_autoptr(DfuTarget) target = dfu_target_parse(uri, NULL);

	if (target == NULL || target->link != DFU_LINK_BLE)
		return NULL;
	*limit = MAX(self->config->ble_max_connections, 1u);
	return g_strdup_printf("ble:%s", ble_adapter(self, target, uri));
}

static gboolean
runner_supports_kind(DfuRunner *runner, const char *target, DfuJobKind kind)
{
	g_autoptr(DfuTarget) parsed = resolve_target((JobRunner *)runner, target, NULL);

	return parsed != NULL && protocol_runs(parsed->protocol, kind);
}

static const DfuRunnerOps job_runner_ops = {
        .start = runner_start,
        .cancel = runner_cancel,
        .device_key = runner_device_key,
        .link_key = runner_link_key,
        .fetches_itself = runner_fetches_itself,
        .supports_kind = runner_supports_kind,
};

DfuRunner *
dfu_job_runner_new(DfuConfig *config)
{
	JobRunner *self = g_new0(JobRunner, 1);

	self->parent.ops = &job_runner_ops;
	self->config = config;
	/* the path, read now, rather than /proc/self/exe at exec time: that is the tool's own program
	 * when the daemon runs under one (valgrind); an upgrade that replaced the file leaves the link */
	self->exe = g_file_read_link("/proc/self/exe", NULL);
	if (self->exe == NULL || g_str_has_suffix(self->exe, " (deleted)")) {
		g_free(self->exe);
		self->exe = g_strdup("/proc/self/exe");
	}
	return &self->parent;
}

void
dfu_job_runner_set_fetcher(DfuRunner *runner, DfuFetcher *fetcher)
{
	((JobRunner *)runner)->fetcher = fetcher;
}

void
dfu_job_runner_free(DfuRunner *runner)
{
	JobRunner *self = (JobRunner *)runner;

	g_free(self->exe);
	g_free(self);
}
