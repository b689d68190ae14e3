/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bus-autoptr.h"
#include "bus-device.h"
#include "bus-errors.h"
#include "bus-job.h"
#include "bus-manager.h"
#include "bus-options.h"
#include "dfu-error.h"

struct _DfuBusManager {
	sd_bus *bus;
	DfuManager *manager;
	DfuBusAuth auth;
	DfuBusJobs *jobs;
	DfuBusDevices *devices;
	sd_bus_slot *object_manager_slot;
	sd_bus_slot *vtable_slot;
	gulong handlers[5];
};

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DfuJobOptions, dfu_job_options_clear)

/* a Submit or SubmitUrl waiting for its authorization; target, url and fd belong to the call */
typedef struct {
	DfuManager *manager;
	DfuJobOptions options;
	const char *target;
	const char *url; /* NULL: the bundle is fd */
	int fd;
} SubmitRequest;

static void
submit_request_free(gpointer data)
{
	SubmitRequest *req = data;

	dfu_job_options_clear(&req->options);
	g_clear_object(&req->manager);
	g_free(req);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SubmitRequest, submit_request_free)

/* the job, its owner and the reply with its path, or why there is none */
static void
submit_allowed(sd_bus_message *m, gpointer user_data)
{
	SubmitRequest *req = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;
	g_autofree char *path = NULL;
	uid_t uid = (uid_t)-1;

	/* the fd stays owned by the message; the manager dups what it keeps */
	if (req->url != NULL)
		job = dfu_manager_submit_url(req->manager, req->target, req->url, &req->options, &error);
	else
		job = dfu_manager_submit_fd(req->manager, req->target, req->fd, &req->options, &error);
	if (job == NULL) {
		dfu_bus_reply_error(m, error);
		return;
	}
	/* the owner may cancel the job under org.dfud1.cancel-own */
	if (dfu_bus_auth_sender_uid(m, &uid, NULL) >= 0)
		dfu_job_set_owner_uid(job, uid);
	path = dfu_bus_job_path(dfu_job_get_id(job));
	sd_bus_reply_method_return(m, "o", path);
}

/* reads the options and asks whether the caller may submit them: a downgrade is an action of its own */
static int
submit_authorize(DfuBusManager *self, sd_bus_message *m, SubmitRequest *request, sd_bus_error *ret_error)
{
	g_autoptr(SubmitRequest) req = request;
	const char *details[] = {"target", req->target, NULL};
	const char *action;
	int r;

	r = dfu_bus_options_read(m, &req->options, ret_error);
	if (r < 0)
		return r;
	action = req->options.allow_downgrade || req->options.allow_downgrade_images != NULL
	                 ? DFU_BUS_ACTION_UPDATE_DOWNGRADE
	                 : DFU_BUS_ACTION_UPDATE;
	req->manager = g_object_ref(self->manager);
	return dfu_bus_auth_check_async(&self->auth, m, action, details, submit_allowed,
	                                g_steal_pointer(&req), submit_request_free, ret_error);
}

static int
manager_method_submit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	g_autoptr(SubmitRequest) req = g_new0(SubmitRequest, 1);
	int r = sd_bus_message_read(m, "sh", &req->target, &req->fd);

	if (r < 0)
		return r;
	return submit_authorize(userdata, m, g_steal_pointer(&req), ret_error);
}

static int
manager_method_submit_url(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	g_autoptr(SubmitRequest) req = g_new0(SubmitRequest, 1);
	int r = sd_bus_message_read(m, "ss", &req->target, &req->url);

	if (r < 0)
		return r;
	return submit_authorize(userdata, m, g_steal_pointer(&req), ret_error);
}

static int
append_job_path(sd_bus_message *reply, gpointer job)
{
	g_autofree char *path = dfu_bus_job_path(dfu_job_get_id(job));
	return sd_bus_message_append_basic(reply, 'o', path);
}

static int
append_history_entry(sd_bus_message *reply, gpointer item)
{
	const DfuHistoryEntry *e = item;

	return sd_bus_message_append(reply, "a{sv}", 12, "Id", "t", e->id, "Target", "s", e->target, "Device",
	                             "s", e->device != NULL ? e->device : "", "Source", "s", e->source,
	                             "State", "s", dfu_job_state_to_string(e->state), "StatusCode", "u",
	                             e->status_code, "StatusName", "s", dfu_status_to_name(e->status_code),
	                             "Message", "s", e->message, "Attempts", "u", e->attempts, "Created", "x",
	                             e->created, "Started", "x", e->started, "Finished", "x", e->finished);
}

/* a method reply holding one array entry per item */
static int
reply_with_array(sd_bus_message *m, const char *contents, GPtrArray *items,
                 int (*append)(sd_bus_message *reply, gpointer item))
{
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', contents);
	if (r < 0)
		return r;
	for (guint i = 0; items != NULL && i < items->len; i++) {
		r = append(reply, g_ptr_array_index(items, i));
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int
manager_method_list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuBusManager *self = userdata;
	g_autoptr(GPtrArray) jobs = dfu_manager_list_jobs(self->manager);

	return reply_with_array(m, "o", jobs, append_job_path);
}

/* the filters of a QueryJobs call */
typedef struct {
	guint states;       /* bits 1 << DfuJobState; 0: any state */
	const char *device; /* a device name or a target; "": any */
	guint64 after;
	guint32 limit; /* 0: no limit */
} JobQuery;

static int
query_read_states(sd_bus_message *m, guint *states, sd_bus_error *ret_error)
{
	const char *name;
	int r = sd_bus_message_enter_container(m, 'a', "s");

	while (r >= 0 && (r = sd_bus_message_read_basic(m, 's', &name)) > 0) {
		DfuJobState state;

		if (!dfu_job_state_from_string(name, &state))
			return dfu_bus_error_setf(ret_error, DFU_STATUS_INVALID_ARGUMENT,
			                          "unknown job state \"%s\"", name);
		*states |= 1u << state;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static gboolean
query_matches(const JobQuery *query, DfuJob *job, const char *device)
{
	if (dfu_job_get_id(job) <= query->after)
		return FALSE;
	if (query->states != 0 && (query->states & (1u << dfu_job_get_state(job))) == 0)
		return FALSE;
	return query->device[0] == '\0' || g_strcmp0(query->device, device) == 0 ||
	       g_strcmp0(query->device, dfu_job_get_target(job)) == 0;
}

static int
manager_method_query_jobs(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuBusManager *self = userdata;
	DfuConfig *config = dfu_manager_get_config(self->manager);
	g_autoptr(GPtrArray) jobs = NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	JobQuery query = {0};
	guint64 last = 0;
	guint64 next = 0;
	guint32 n = 0;
	int r;

	r = query_read_states(m, &query.states, ret_error);
	if (r >= 0)
		r = sd_bus_message_read(m, "stu", &query.device, &query.after, &query.limit);
	if (r < 0)
		return r;
	/* by id, so that a page ends where the next one starts */
	jobs = dfu_manager_list_jobs(self->manager);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', DFU_BUS_JOB_ROW);
	for (guint i = 0; r >= 0 && i < jobs->len; i++) {
		DfuJob *job = g_ptr_array_index(jobs, i);
		const char *device = dfu_config_get_device_name(config, dfu_job_get_target(job));

		if (!query_matches(&query, job, device))
			continue;
		if (query.limit != 0 && n == query.limit) {
			next = last;
			break;
		}
		r = dfu_bus_job_append_row(reply, job, device);
		last = dfu_job_get_id(job);
		n++;
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append_basic(reply, 't', &next);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int
manager_method_get_history(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuBusManager *self = userdata;
	DfuHistory *history = dfu_manager_get_history(self->manager);

	return reply_with_array(m, "a{sv}", history != NULL ? dfu_history_get_entries(history) : NULL,
	                        append_history_entry);
}

static int
manager_method_refresh_devices(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuBusManager *self = userdata;

	return dfu_bus_devices_refresh_all(self->devices, m, ret_error);
}

static int
manager_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	DfuBusManager *self = userdata;
	guint32 value;

	if (g_strcmp0(property, "Version") == 0)
		return sd_bus_message_append_basic(reply, 's', PACKAGE_VERSION);
	if (g_strcmp0(property, "Loading") == 0)
		return sd_bus_message_append(reply, "b", dfu_manager_is_loading(self->manager));
	if (g_strcmp0(property, "QueueLength") == 0)
		value = dfu_manager_get_queue_length(self->manager);
	else
		value = dfu_manager_get_active_jobs(self->manager);
	return sd_bus_message_append_basic(reply, 'u', &value);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Submit", SD_BUS_ARGS("s", target, "h", bundle_fd, "a{sv}", options),
                                SD_BUS_RESULT("o", job), manager_method_submit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SubmitUrl", SD_BUS_ARGS("s", target, "s", url, "a{sv}", options),
                                SD_BUS_RESULT("o", job), manager_method_submit_url,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", jobs),
                                manager_method_list_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("QueryJobs", SD_BUS_ARGS("as", states, "s", device, "t", after, "u", limit),
                                SD_BUS_RESULT("a" DFU_BUS_JOB_ROW, jobs, "t", next),
                                manager_method_query_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHistory", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", jobs),
                                manager_method_get_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RefreshDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", jobs),
                                manager_method_refresh_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Version", "s", manager_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("QueueLength", "u", manager_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActiveJobs", "u", manager_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Loading", "b", manager_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_SIGNAL_WITH_ARGS("JobFinished", SD_BUS_ARGS("o", job, "u", status_code), 0),
        SD_BUS_VTABLE_END,
};

static void
manager_job_added_cb(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	DfuBusManager *self = user_data;

	dfu_bus_jobs_add(self->jobs, job);
}

static void
manager_job_removed_cb(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	DfuBusManager *self = user_data;

	dfu_bus_jobs_remove(self->jobs, job);
}

static void
manager_job_finished_cb(DfuManager *manager, DfuJob *job, gpointer user_data)
{
	DfuBusManager *self = user_data;
	g_autofree char *path = dfu_bus_job_path(dfu_job_get_id(job));
	int r;

	/* listeners see the final state before the signal that says it is final */
	dfu_bus_jobs_flush_job(self->jobs, job);
	r = sd_bus_emit_signal(self->bus, DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "JobFinished",
	                       "ou", path, (guint32)dfu_job_get_status_code(job));
	if (r < 0)
		g_warning("cannot emit JobFinished: %s", g_strerror(-r));
}

static void
manager_counts_changed_cb(DfuManager *manager, gpointer user_data)
{
	DfuBusManager *self = user_data;
	int r;

	r = sd_bus_emit_properties_changed(self->bus, DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE,
	                                   "QueueLength", "ActiveJobs", NULL);
	if (r < 0)
		g_warning("cannot emit the job counts: %s", g_strerror(-r));
}

static void
manager_loaded_cb(DfuManager *manager, gpointer user_data)
{
	DfuBusManager *self = user_data;
	int r;

	r = sd_bus_emit_properties_changed(self->bus, DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE,
	                                   "Loading", NULL);
	if (r < 0)
		g_warning("cannot emit Loading: %s", g_strerror(-r));
}

DfuBusManager *
dfu_bus_manager_new(sd_bus *bus, DfuManager *manager, DfuInventory *inventory, const DfuBusAuth *auth,
                    GError **error)
{
	g_autoptr(DfuBusManager) self = g_new0(DfuBusManager, 1);
	g_autoptr(GPtrArray) jobs = NULL;
	int r;

	self->bus = sd_bus_ref(bus);
	self->manager = g_object_ref(manager);
	self->auth = *auth;

	r = sd_bus_add_object_manager(bus, &self->object_manager_slot, DFU_BUS_MANAGER_PATH);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, &self->vtable_slot, DFU_BUS_MANAGER_PATH,
		                             DFU_BUS_MANAGER_INTERFACE, manager_vtable, self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "Cannot export %s: %s",
		            DFU_BUS_MANAGER_PATH, g_strerror(-r));
		return NULL;
	}
	self->jobs = dfu_bus_jobs_new(bus, manager, auth, error);
	if (self->jobs == NULL)
		return NULL;
	self->devices = dfu_bus_devices_new(bus, inventory, manager, auth, error);
	if (self->devices == NULL)
		return NULL;

	jobs = dfu_manager_list_jobs(manager);
	for (guint i = 0; i < jobs->len; i++)
		dfu_bus_jobs_add(self->jobs, g_ptr_array_index(jobs, i));

	self->handlers[0] = g_signal_connect(manager, "job-added", G_CALLBACK(manager_job_added_cb), self);
	self->handlers[1] =
	        g_signal_connect(manager, "job-removed", G_CALLBACK(manager_job_removed_cb), self);
	self->handlers[2] =
	        g_signal_connect(manager, "job-finished", G_CALLBACK(manager_job_finished_cb), self);
	self->handlers[3] =
	        g_signal_connect(manager, "counts-changed", G_CALLBACK(manager_counts_changed_cb), self);
	self->handlers[4] = g_signal_connect(manager, "loaded", G_CALLBACK(manager_loaded_cb), self);
	return g_steal_pointer(&self);
}

void
dfu_bus_manager_flush(DfuBusManager *self)
{
	dfu_bus_jobs_flush(self->jobs);
}

void
dfu_bus_manager_free(DfuBusManager *self)
{
	if (self == NULL)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(self->handlers); i++)
		g_clear_signal_handler(&self->handlers[i], self->manager);
	g_clear_pointer(&self->devices, dfu_bus_devices_free);
	g_clear_pointer(&self->jobs, dfu_bus_jobs_free);
	g_clear_pointer(&self->vtable_slot, sd_bus_slot_unref);
	g_clear_pointer(&self->object_manager_slot, sd_bus_slot_unref);
	g_clear_object(&self->manager);
	g_clear_pointer(&self->bus, sd_bus_unref);
	g_free(self);
}
