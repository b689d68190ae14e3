/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-error.h"
#include "dfuctl-bus.h"
#include "dfuctl-args.h"

#include "bus-connect.h"
#include "bus-job-row.h"
#include "bus-variant.h"

typedef struct {
	const char *name;
	guint status_code;
	const char *message; /* NULL: the error's own message */
} DfuctlBusErrorMap;

/* bus errors that are not dfud's own but mean something to the user */
static const DfuctlBusErrorMap bus_errors[] = {
        {SD_BUS_ERROR_UNKNOWN_OBJECT, DFU_STATUS_NOT_FOUND, "no such job"},
        {SD_BUS_ERROR_UNKNOWN_INTERFACE, DFU_STATUS_NOT_FOUND, "no such job"},
        {SD_BUS_ERROR_SERVICE_UNKNOWN, DFU_STATUS_INTERNAL_ERROR, "dfud is not running"},
        {SD_BUS_ERROR_NAME_HAS_NO_OWNER, DFU_STATUS_INTERNAL_ERROR, "dfud is not running"},
        {SD_BUS_ERROR_ACCESS_DENIED, DFU_STATUS_PERMISSION_DENIED, NULL},
};

gboolean
dfuctl_bus_check(int r, const sd_bus_error *bus_error, GError **error)
{
	if (r >= 0)
		return TRUE;
	if (bus_error == NULL || !sd_bus_error_is_set(bus_error)) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "%s", g_strerror(-r));
		return FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(bus_errors); i++) {
		if (g_strcmp0(bus_errors[i].name, bus_error->name) == 0) {
			g_set_error_literal(error, DFU_ERROR, (gint)bus_errors[i].status_code,
			                    bus_errors[i].message != NULL ? bus_errors[i].message
			                                                  : bus_error->message);
			return FALSE;
		}
	}
	g_set_error_literal(error, DFU_ERROR, (gint)dfu_error_from_dbus_name(bus_error->name),
	                    bus_error->message != NULL ? bus_error->message : bus_error->name);
	return FALSE;
}

sd_bus *
dfuctl_bus_open(gboolean session, GError **error)
{
	return dfu_bus_connect(session, error);
}

char *
dfuctl_bus_get_daemon(sd_bus *bus, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	const char *owner = NULL;
	int r;

	/* a call to the name activates the daemon where the bus can */
	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping",
	                       &bus_error, NULL, NULL);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	                       "GetNameOwner", &bus_error, &reply, "s", DFUCTL_BUS_NAME);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	r = sd_bus_message_read(reply, "s", &owner);
	if (!dfuctl_bus_check(r, NULL, error))
		return NULL;
	return g_strdup(owner);
}

static GVariant *
get_all(sd_bus *bus, const char *path, const char *interface, guint64 *reply_cookie, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
	                       &bus_error, &reply, "s", interface);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	if (reply_cookie != NULL && sd_bus_message_get_cookie(reply, reply_cookie) < 0)
		*reply_cookie = 0;
	return dfu_bus_read_gvariant(reply, error);
}

DfuctlJob *
dfuctl_bus_get_job(sd_bus *bus, const char *path, guint64 *reply_cookie, GError **error)
{
	g_autoptr(GVariant) properties = get_all(bus, path, DFUCTL_JOB_INTERFACE, reply_cookie, error);
	DfuctlJob *job;

	if (properties == NULL)
		return NULL;
	job = dfuctl_job_new(path);
	dfuctl_job_update(job, properties);
	return job;
}

GVariant *
dfuctl_bus_get_log(sd_bus *bus, const char *path, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, path, DFUCTL_JOB_INTERFACE, "GetLog", &bus_error, &reply,
	                       NULL);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	return dfu_bus_read_gvariant(reply, error);
}

GVariant *
dfuctl_bus_get_history(sd_bus *bus, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH, DFUCTL_MANAGER_INTERFACE,
	                       "GetHistory", &bus_error, &reply, NULL);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	return dfu_bus_read_gvariant(reply, error);
}

GVariant *
dfuctl_bus_get_manager(sd_bus *bus, GError **error)
{
	return get_all(bus, DFUCTL_MANAGER_PATH, DFUCTL_MANAGER_INTERFACE, NULL, error);
}

GVariant *
dfuctl_bus_get_objects(sd_bus *bus, guint64 *reply_cookie, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	/* one call for every object and its properties, however many there are */
	r = sd_bus_call_method(bus, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH,
	                       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &bus_error, &reply,
	                       NULL);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return NULL;
	if (reply_cookie != NULL && sd_bus_message_get_cookie(reply, reply_cookie) < 0)
		*reply_cookie = 0;
	return dfu_bus_read_gvariant(reply, error);
}

void
dfuctl_bus_for_each_object(GVariant *objects, const char *interface, DfuctlBusObjectFunc each_object,
                           gpointer data)
{
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;

	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		g_autoptr(GVariant) owned = interfaces;
		g_autoptr(GVariant) properties =
		        g_variant_lookup_value(interfaces, interface, G_VARIANT_TYPE_VARDICT);

		if (properties != NULL)
			each_object(path, properties, data);
	}
}

/* one DFU_BUS_JOB_ROW; the strings stay the reply's */
typedef struct {
	guint64 id;
	const char *kind, *target, *source, *state, *phase;
	guint32 percentage;
	guint64 bytes_done, bytes_total, bytes_per_second;
	guint32 status_code;
	const char *status_name, *message;
	guint32 attempt;
	gint64 created, started, finished;
	guint32 max_attempts;
	gint64 retry_at;
	const char *device;
} JobRow;

static void
replace_string(char **field, const char *value)
{
	g_free(*field);
	*field = g_strdup(value);
}

static DfuctlJob *
job_from_row(const JobRow *row, GVariant *device_error)
{
	g_autofree char *path = g_strdup_printf(DFUCTL_JOB_PATH_PREFIX "%" G_GUINT64_FORMAT, row->id);
	DfuctlJob *job = dfuctl_job_new(path);

	job->id = row->id;
	replace_string(&job->kind, row->kind);
	replace_string(&job->target, row->target);
	replace_string(&job->source, row->source);
	replace_string(&job->state, row->state);
	replace_string(&job->phase, row->phase);
	job->percentage = row->percentage;
	job->bytes_done = row->bytes_done;
	job->bytes_total = row->bytes_total;
	job->bytes_per_second = row->bytes_per_second;
	job->status_code = row->status_code;
	replace_string(&job->status_name, row->status_name);
	replace_string(&job->message, row->message);
	g_variant_unref(job->device_error);
	job->device_error = device_error;
	job->attempt = row->attempt;
	job->created = row->created;
	job->started = row->started;
	job->finished = row->finished;
	job->max_attempts = row->max_attempts;
	job->retry_at = row->retry_at;
	if (row->device[0] != '\0')
		job->device = g_strdup(row->device);
	return job;
}

/* reads one row into jobs: 1, 0 at the end of the array, or a negative errno */
static int
read_job_row(sd_bus_message *reply, GPtrArray *jobs, GError **error)
{
	JobRow row = {0};
	GVariant *device_error;
	int r = sd_bus_message_enter_container(reply, 'r', DFU_BUS_JOB_ROW_FIELDS);

	if (r <= 0)
		return r;
	r = sd_bus_message_read(reply, "tsssssutttuss", &row.id, &row.kind, &row.target, &row.source,
	                        &row.state, &row.phase, &row.percentage, &row.bytes_done, &row.bytes_total,
	                        &row.bytes_per_second, &row.status_code, &row.status_name, &row.message);
	if (r < 0)
		return r;
	/* the one field of no fixed type, mostly empty */
	device_error = dfu_bus_read_gvariant(reply, error);
	if (device_error == NULL)
		return -EBADMSG;
	r = sd_bus_message_read(reply, "uxxxuxs", &row.attempt, &row.created, &row.started, &row.finished,
	                        &row.max_attempts, &row.retry_at, &row.device);
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r < 0) {
		g_variant_unref(device_error);
		return r;
	}
	g_ptr_array_add(jobs, job_from_row(&row, device_error));
	return 1;
}

/* one QueryJobs call: its jobs go into jobs; *after becomes where the next page starts, 0 at the end */
static gboolean
query_page(sd_bus *bus, const char *const *states, const char *device, guint32 page_size, guint64 *after,
           GPtrArray *jobs, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) call = NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH,
	                                   DFUCTL_MANAGER_INTERFACE, "QueryJobs");
	if (r >= 0)
		r = sd_bus_message_append_strv(call, (char **)states);
	if (r >= 0)
		r = sd_bus_message_append(call, "stu", device != NULL ? device : "", *after, page_size);
	if (!dfuctl_bus_check(r, NULL, error))
		return FALSE;
	r = sd_bus_call(bus, call, 0, &bus_error, &reply);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return FALSE;
	r = sd_bus_message_enter_container(reply, 'a', DFU_BUS_JOB_ROW);
	while (r > 0)
		r = read_job_row(reply, jobs, error);
	if (r < 0 && error != NULL && *error != NULL)
		return FALSE;
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r >= 0)
		r = sd_bus_message_read_basic(reply, 't', after);
	return dfuctl_bus_check(r, NULL, error);
}

GPtrArray *
dfuctl_bus_query_jobs(sd_bus *bus, const char *const *states, const char *device, guint32 page_size,
                      GError **error)
{
	g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func((GDestroyNotify)dfuctl_job_free);
	const char *const any[] = {NULL};
	guint64 after = 0;

	do {
		if (!query_page(bus, states != NULL ? states : any, device, page_size, &after, jobs, error))
			return NULL;
	} while (after != 0);
	return g_steal_pointer(&jobs);
}

static void
add_device(const char *path, GVariant *properties, gpointer data)
{
	GVariantBuilder device;
	GVariantIter iter;
	GVariant *entry;

	g_variant_builder_init(&device, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&device, "{sv}", "Path", g_variant_new_object_path(path));
	g_variant_iter_init(&iter, properties);
	while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
		g_variant_builder_add_value(&device, entry);
		g_variant_unref(entry);
	}
	g_ptr_array_add(data, g_variant_ref_sink(g_variant_builder_end(&device)));
}

static gint
device_compare_name(gconstpointer a, gconstpointer b)
{
	const char *na = "";
	const char *nb = "";

	g_variant_lookup(*(GVariant **)a, "Name", "&s", &na);
	g_variant_lookup(*(GVariant **)b, "Name", "&s", &nb);
	return g_strcmp0(na, nb);
}

GPtrArray *
dfuctl_bus_get_devices(sd_bus *bus, GError **error)
{
	g_autoptr(GVariant) objects = dfuctl_bus_get_objects(bus, NULL, error);
	g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);

	if (objects == NULL)
		return NULL;
	dfuctl_bus_for_each_object(objects, DFUCTL_DEVICE_INTERFACE, add_device, devices);
	g_ptr_array_sort(devices, device_compare_name);
	return g_steal_pointer(&devices);
}
