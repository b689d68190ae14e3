/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-autoptr.h"
#include "bus-errors.h"
#include "bus-job.h"
#include "bus-variant.h"
#include "dfu-error.h"

struct _DfuBusJobs {
	sd_bus *bus;
	DfuManager *manager;
	DfuBusAuth auth;
	/* the jobs themselves are the manager's: only a job with changes to signal has a DfuBusJob */
	GHashTable *emitters; /* &DfuBusJob.id -> DfuBusJob */
	DfuJob *removing;     /* while its removal is announced, after the manager dropped it */
	sd_bus_slot *vtable_slot;
	sd_bus_slot *enumerator_slot;
	gulong changed_handler;
};

typedef struct {
	guint64 id;
	DfuBusJobs *owner;
	guint pending; /* DfuJobChanged bits not yet emitted */
	guint flush_source;
	gint64 last_emit;     /* monotonic µs */
	gboolean flush_timer; /* flush_source is the stall timer, not an idle */
} DfuBusJob;

/* changes that listeners want to see without delay */
#define URGENT_CHANGES (DFU_JOB_CHANGED_STATE | DFU_JOB_CHANGED_PHASE | DFU_JOB_CHANGED_RESULT)

static void
bus_job_free(DfuBusJob *obj)
{
	g_clear_handle_id(&obj->flush_source, g_source_remove);
	g_free(obj);
}

char *
dfu_bus_job_path(guint64 id)
{
	return g_strdup_printf(DFU_BUS_JOB_PATH_PREFIX "/%" G_GUINT64_FORMAT, id);
}

gboolean
dfu_bus_job_path_parse(const char *path, guint64 *id)
{
	const char *tail;

	if (path == NULL || !g_str_has_prefix(path, DFU_BUS_JOB_PATH_PREFIX "/"))
		return FALSE;
	tail = path + strlen(DFU_BUS_JOB_PATH_PREFIX "/");
	/* digits only: the parser below would take a sign */
	if (*tail == '\0' || !g_ascii_isdigit(*tail))
		return FALSE;
	return g_ascii_string_to_unsigned(tail, 10, 0, G_MAXUINT64, id, NULL);
}

/* the job an object path names, NULL when there is none */
static DfuJob *
bus_jobs_lookup(DfuBusJobs *self, const char *path)
{
	guint64 id;

	if (!dfu_bus_job_path_parse(path, &id))
		return NULL;
	if (self->removing != NULL && dfu_job_get_id(self->removing) == id)
		return self->removing;
	return dfu_manager_lookup(self->manager, id);
}

static const char *
job_state_name(DfuJob *job)
{
	return dfu_job_state_to_string(dfu_job_get_state(job));
}

static const char *
job_phase_name(DfuJob *job)
{
	return dfu_job_phase_to_string(dfu_job_get_phase(job));
}

static const char *
job_status_name(DfuJob *job)
{
	return dfu_status_to_name(dfu_job_get_status_code(job));
}

static const char *
job_message(DfuJob *job)
{
	const char *message = dfu_job_get_message(job);
	return message != NULL ? message : "";
}

static const char *
job_kind_name(DfuJob *job)
{
	return dfu_job_kind_to_string(dfu_job_get_kind(job));
}

static const char *
job_source(DfuJob *job)
{
	const char *source = dfu_job_get_source(job);
	return source != NULL ? source : "";
}

typedef struct {
	const char *name;
	char type;
	guint changed; /* DfuJobChanged bits that change it, 0 for constants */
	const char *(*get_s)(DfuJob *job);
	guint (*get_u)(DfuJob *job);
	guint64 (*get_t)(DfuJob *job);
	gint64 (*get_x)(DfuJob *job);
} DfuBusJobProperty;

/* the order is the order of the names in each PropertiesChanged */
static const DfuBusJobProperty job_properties[] = {
        {"Id", 't', 0, .get_t = dfu_job_get_id},
        {"Kind", 's', 0, .get_s = job_kind_name},
        {"Target", 's', 0, .get_s = dfu_job_get_target},
        {"Source", 's', 0, .get_s = job_source},
        {"State", 's', DFU_JOB_CHANGED_STATE, .get_s = job_state_name},
        {"Phase", 's', DFU_JOB_CHANGED_PHASE, .get_s = job_phase_name},
        {"Percentage", 'u', DFU_JOB_CHANGED_PROGRESS, .get_u = dfu_job_get_percentage},
        {"BytesDone", 't', DFU_JOB_CHANGED_PROGRESS, .get_t = dfu_job_get_bytes_done},
        {"BytesTotal", 't', DFU_JOB_CHANGED_PROGRESS, .get_t = dfu_job_get_bytes_total},
        {"BytesPerSecond", 't', DFU_JOB_CHANGED_PROGRESS, .get_t = dfu_job_get_bytes_per_second},
        {"StatusCode", 'u', DFU_JOB_CHANGED_RESULT, .get_u = dfu_job_get_status_code},
        {"StatusName", 's', DFU_JOB_CHANGED_RESULT, .get_s = job_status_name},
        {"Message", 's', DFU_JOB_CHANGED_RESULT, .get_s = job_message},
        {"DeviceError", 'a', DFU_JOB_CHANGED_RESULT},
        {"Attempt", 'u', DFU_JOB_CHANGED_ATTEMPT, .get_u = dfu_job_get_attempt},
        {"Created", 'x', 0, .get_x = dfu_job_get_created},
        {"Started", 'x', DFU_JOB_CHANGED_TIMESTAMPS, .get_x = dfu_job_get_started},
        {"Finished", 'x', DFU_JOB_CHANGED_TIMESTAMPS, .get_x = dfu_job_get_finished},
        {"MaxAttempts", 'u', DFU_JOB_CHANGED_ATTEMPT, .get_u = dfu_job_get_max_attempts},
        {"RetryAt", 'x', DFU_JOB_CHANGED_ATTEMPT, .get_x = dfu_job_get_retry_at},
};

static const DfuBusJobProperty *
job_property_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(job_properties); i++) {
		if (g_strcmp0(job_properties[i].name, name) == 0)
			return &job_properties[i];
	}
	return NULL;
}

static int
job_property_append(sd_bus_message *reply, const DfuBusJobProperty *prop, DfuJob *job)
{
	guint32 u;
	guint64 t;
	gint64 x;

	switch (prop->type) {
	case 's':
		return sd_bus_message_append_basic(reply, 's', prop->get_s(job));
	case 'u':
		u = prop->get_u(job);
		return sd_bus_message_append_basic(reply, 'u', &u);
	case 't':
		t = prop->get_t(job);
		return sd_bus_message_append_basic(reply, 't', &t);
	case 'x':
		x = prop->get_x(job);
		return sd_bus_message_append_basic(reply, 'x', &x);
	default:
		return dfu_bus_append_gvariant(reply, dfu_job_get_device_error(job));
	}
}

static int
job_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                 sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	DfuJob *job = bus_jobs_lookup(userdata, path);
	const DfuBusJobProperty *prop = job_property_lookup(property);

	if (prop == NULL || job == NULL)
		return -ENOENT;
	return job_property_append(reply, prop, job);
}

int
dfu_bus_job_append_row(sd_bus_message *reply, DfuJob *job, const char *device)
{
	int r = sd_bus_message_open_container(reply, 'r', DFU_BUS_JOB_ROW_FIELDS);

	/* the fields in the order of the properties, so that the signature is the table's */
	for (gsize i = 0; r >= 0 && i < G_N_ELEMENTS(job_properties); i++)
		r = job_property_append(reply, &job_properties[i], job);
	if (r >= 0)
		r = sd_bus_message_append_basic(reply, 's', device != NULL ? device : "");
	if (r < 0)
		return r;
	return sd_bus_message_close_container(reply);
}

/* a Cancel waiting for its authorization; the job is looked up again then */
typedef struct {
	DfuManager *manager;
	guint64 id;
} CancelRequest;

static void
cancel_request_free(gpointer data)
{
	CancelRequest *req = data;

	g_object_unref(req->manager);
	g_free(req);
}

static void
job_cancel_allowed(sd_bus_message *m, gpointer user_data)
{
	CancelRequest *req = user_data;
	g_autoptr(GError) error = NULL;

	if (!dfu_manager_cancel(req->manager, req->id, &error))
		dfu_bus_reply_error(m, error);
	else
		sd_bus_reply_method_return(m, NULL);
}

static int
job_method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuBusJobs *self = userdata;
	DfuJob *job = bus_jobs_lookup(self, sd_bus_message_get_path(m));
	g_autofree char *id = NULL;
	const char *details[] = {"job", NULL, "target", NULL, NULL};
	gint64 owner;
	CancelRequest *req;
	uid_t uid = (uid_t)-1;
	int r;

	if (job == NULL)
		return sd_bus_error_set(ret_error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No such job");
	id = g_strdup_printf("%" G_GUINT64_FORMAT, dfu_job_get_id(job));
	details[1] = id;
	details[3] = dfu_job_get_target(job);
	owner = dfu_job_get_owner_uid(job);
	r = dfu_bus_auth_sender_uid(m, &uid, ret_error);
	if (r < 0)
		return r;
	req = g_new0(CancelRequest, 1);
	req->manager = g_object_ref(self->manager);
	req->id = dfu_job_get_id(job);
	return dfu_bus_auth_check_async(&self->auth, m,
	                                owner >= 0 && (uid_t)owner == uid ? DFU_BUS_ACTION_CANCEL_OWN
	                                                                  : DFU_BUS_ACTION_CANCEL_ANY,
	                                details, job_cancel_allowed, req, cancel_request_free, ret_error);
}

/* one history line is "timestamp-µs\tmessage" */
static int
append_log_line(sd_bus_message *reply, const char *line)
{
	const char *tab = strchr(line, '\t');
	gint64 when = g_ascii_strtoll(line, NULL, 10);

	return sd_bus_message_append(reply, "(xs)", when, tab != NULL ? tab + 1 : line);
}

static int
job_method_get_log(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuJob *job = bus_jobs_lookup(userdata, sd_bus_message_get_path(m));
	g_autoptr(GPtrArray) history = NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	if (job == NULL)
		return sd_bus_error_set(ret_error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No such job");
	history = dfu_job_list_history(job);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(xs)");
	for (guint i = 0; r >= 0 && i < history->len; i++)
		r = append_log_line(reply, g_ptr_array_index(history, i));
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

#define JOB_PROPERTY(name, sig, flags) SD_BUS_PROPERTY(name, sig, job_property_get, 0, flags)
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Cancel", "", "", job_method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetLog", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(xs)", entries), job_method_get_log,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        JOB_PROPERTY("Id", "t", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("Kind", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("Target", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("Source", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("State", "s", EMITS),
        JOB_PROPERTY("Phase", "s", EMITS),
        JOB_PROPERTY("Percentage", "u", EMITS),
        JOB_PROPERTY("BytesDone", "t", EMITS),
        JOB_PROPERTY("BytesTotal", "t", EMITS),
        JOB_PROPERTY("BytesPerSecond", "t", EMITS),
        JOB_PROPERTY("StatusCode", "u", EMITS),
        JOB_PROPERTY("StatusName", "s", EMITS),
        JOB_PROPERTY("Message", "s", EMITS),
        JOB_PROPERTY("DeviceError", "a{sv}", EMITS),
        JOB_PROPERTY("Attempt", "u", EMITS),
        JOB_PROPERTY("Created", "x", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("Started", "x", EMITS),
        JOB_PROPERTY("Finished", "x", EMITS),
        JOB_PROPERTY("MaxAttempts", "u", EMITS),
        JOB_PROPERTY("RetryAt", "x", EMITS),
        SD_BUS_VTABLE_END,
};

static int
job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
         sd_bus_error *ret_error)
{
	DfuBusJobs *self = userdata;

	/* there is no object per job: the handlers find theirs by the path */
	if (bus_jobs_lookup(self, path) == NULL)
		return 0;
	*ret_found = self;
	return 1;
}

static int
job_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *ret_error)
{
	DfuBusJobs *self = userdata;
	/* by id */
	g_autoptr(GPtrArray) jobs = dfu_manager_list_jobs(self->manager);
	char **nodes;

	/* sd-bus frees the list with free(), which is g_free() since GLib 2.46 */
	nodes = g_new0(char *, jobs->len + 1);
	for (guint i = 0; i < jobs->len; i++)
		nodes[i] = dfu_bus_job_path(dfu_job_get_id(g_ptr_array_index(jobs, i)));
	*ret_nodes = nodes;
	return 1;
}

static void
bus_job_emit(DfuBusJob *obj)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autofree char *path = NULL;
	int r;

	g_clear_handle_id(&obj->flush_source, g_source_remove);
	if (obj->pending == 0)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(job_properties); i++) {
		if (job_properties[i].changed & obj->pending)
			g_ptr_array_add(names, (gpointer)job_properties[i].name);
	}
	g_ptr_array_add(names, NULL);
	obj->pending = 0;
	obj->last_emit = g_get_monotonic_time();

	path = dfu_bus_job_path(obj->id);
	r = sd_bus_emit_properties_changed_strv(obj->owner->bus, path, DFU_BUS_JOB_INTERFACE,
	                                        (char **)names->pdata);
	if (r < 0)
		g_warning("cannot emit the changes of job %" G_GUINT64_FORMAT ": %s", obj->id,
		          g_strerror(-r));
}

/* emits, and drops the state of a job that will not change again */
static void
bus_job_flush(DfuBusJob *obj)
{
	DfuBusJobs *self = obj->owner;
	guint64 id = obj->id;
	DfuJob *job;

	bus_job_emit(obj);
	job = dfu_manager_lookup(self->manager, id);
	if (job == NULL || dfu_job_is_finished(job))
		g_hash_table_remove(self->emitters, &id);
}

static gboolean
bus_job_flush_cb(gpointer user_data)
{
	DfuBusJob *obj = user_data;

	obj->flush_source = 0;
	bus_job_flush(obj);
	return G_SOURCE_REMOVE;
}

/* through the manager, which follows all its jobs at once */
static void
bus_job_changed_cb(DfuManager *manager, DfuJob *job, guint mask, gpointer user_data)
{
	DfuBusJobs *self = user_data;
	guint64 id = dfu_job_get_id(job);
	DfuBusJob *obj;
	gint64 due;
	gint64 now;

	mask &= ~(DFU_JOB_CHANGED_RECORD | DFU_JOB_CHANGED_REPORT);
	if (mask == 0)
		return;
	obj = g_hash_table_lookup(self->emitters, &id);
	if (obj == NULL) {
		obj = g_new0(DfuBusJob, 1);
		obj->id = id;
		obj->owner = self;
		g_hash_table_insert(self->emitters, &obj->id, obj);
	}
	obj->pending |= mask;
	if (mask & URGENT_CHANGES) {
		/* an idle flush collects everything changed in this iteration into one signal */
		g_clear_handle_id(&obj->flush_source, g_source_remove);
		obj->flush_source = g_idle_add_full(G_PRIORITY_DEFAULT, bus_job_flush_cb, obj, NULL);
		obj->flush_timer = FALSE;
		return;
	}
	now = g_get_monotonic_time();
	due = obj->last_emit + DFU_BUS_JOB_PROGRESS_INTERVAL_MS * 1000;
	if (due <= now) {
		/* replaces a waiting timer; an idle flush already due stays */
		if (obj->flush_source == 0 || obj->flush_timer) {
			g_clear_handle_id(&obj->flush_source, g_source_remove);
			obj->flush_source = g_idle_add_full(G_PRIORITY_DEFAULT, bus_job_flush_cb, obj, NULL);
			obj->flush_timer = FALSE;
		}
		return;
	}
	/* an upload's next change, due soon, sends this one: the timer only catches a stall, so
	 * that a slow link does not wake the daemon once more per request */
	if (obj->flush_source == 0) {
		obj->flush_source = g_timeout_add(DFU_BUS_JOB_PROGRESS_LATEST_MS, bus_job_flush_cb, obj);
		obj->flush_timer = TRUE;
	}
}

void
dfu_bus_jobs_add(DfuBusJobs *self, DfuJob *job)
{
	guint64 id = dfu_job_get_id(job);
	g_autofree char *path = dfu_bus_job_path(id);
	int r;

	r = sd_bus_emit_object_added(self->bus, path);
	if (r < 0)
		g_warning("cannot announce job %" G_GUINT64_FORMAT ": %s", id, g_strerror(-r));
}

void
dfu_bus_jobs_remove(DfuBusJobs *self, DfuJob *job)
{
	guint64 id = dfu_job_get_id(job);
	g_autofree char *path = dfu_bus_job_path(id);
	int r;

	/* sd-bus looks the object up to list its interfaces, which the manager no longer has */
	self->removing = job;
	r = sd_bus_emit_object_removed(self->bus, path);
	self->removing = NULL;
	if (r < 0)
		g_warning("cannot announce the removal of job %" G_GUINT64_FORMAT ": %s", id, g_strerror(-r));
	g_hash_table_remove(self->emitters, &id);
}

void
dfu_bus_jobs_flush_job(DfuBusJobs *self, DfuJob *job)
{
	guint64 id = dfu_job_get_id(job);
	DfuBusJob *obj = g_hash_table_lookup(self->emitters, &id);

	if (obj != NULL)
		bus_job_flush(obj);
}

void
dfu_bus_jobs_flush(DfuBusJobs *self)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->emitters);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		bus_job_emit(value);
}

DfuBusJobs *
dfu_bus_jobs_new(sd_bus *bus, DfuManager *manager, const DfuBusAuth *auth, GError **error)
{
	g_autoptr(DfuBusJobs) self = g_new0(DfuBusJobs, 1);
	int r;

	self->bus = sd_bus_ref(bus);
	self->manager = g_object_ref(manager);
	self->auth = *auth;
	self->emitters =
	        g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, (GDestroyNotify)bus_job_free);
	self->changed_handler =
	        g_signal_connect(manager, "job-changed", G_CALLBACK(bus_job_changed_cb), self);

	r = sd_bus_add_fallback_vtable(bus, &self->vtable_slot, DFU_BUS_JOB_PATH_PREFIX,
	                               DFU_BUS_JOB_INTERFACE, job_vtable, job_find, self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "Cannot export the job objects: %s",
		            g_strerror(-r));
		return NULL;
	}
	r = sd_bus_add_node_enumerator(bus, &self->enumerator_slot, DFU_BUS_JOB_PATH_PREFIX, job_enumerate,
	                               self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR,
		            "Cannot enumerate the job objects: %s", g_strerror(-r));
		return NULL;
	}
	return g_steal_pointer(&self);
}

void
dfu_bus_jobs_free(DfuBusJobs *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->enumerator_slot, sd_bus_slot_unref);
	g_clear_pointer(&self->vtable_slot, sd_bus_slot_unref);
	g_clear_signal_handler(&self->changed_handler, self->manager);
	g_clear_pointer(&self->emitters, g_hash_table_unref);
	g_clear_object(&self->manager);
	g_clear_pointer(&self->bus, sd_bus_unref);
	g_free(self);
}
