/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "dfu-error.h"
#include "dfuctl-args.h"
#include "dfuctl-bus.h"
#include "dfuctl-fleet.h"
#include "dfuctl-follow.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"
#include "dfuctl-view.h"
#include "bus-variant.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_slot, sd_bus_slot_unref)

/* how often a terminal view is redrawn without news, for its countdowns */
#define FOLLOW_TICK_US G_USEC_PER_SEC

struct _DfuctlFollow {
	sd_bus *bus;
	char *daemon; /* unique name of the daemon */
	DfuctlOutputMode mode;
	DfuctlView *view;
	GHashTable *jobs;   /* path -> DfuctlJob shown */
	DfuctlFleet *fleet; /* the daemon's devices, to name the device of a job */
	guint64 min_cookie; /* signals up to this cookie are older than the state read */
	gboolean watching;  /* shows jobs that come, their results and their removal */
	GStrv filter;       /* what a watch shows, NULL: every job */
	gboolean until_idle;
	gboolean done;
	gboolean daemon_gone;
	GError *error; /* the first error met in a signal handler */
	sd_bus_slot *slots[4];
};

/* FALSE for signals that the state read already covers */
static gboolean
follow_is_new(DfuctlFollow *self, sd_bus_message *m)
{
	guint64 cookie = 0;

	if (sd_bus_message_get_cookie(m, &cookie) < 0)
		return TRUE;
	return cookie > self->min_cookie;
}

static int
follow_fail(DfuctlFollow *self, GError *error)
{
	if (self->error == NULL)
		self->error = error;
	else
		g_error_free(error);
	return 0;
}

/* TRUE when none of the jobs shown waits or runs */
static gboolean
follow_idle(DfuctlFollow *self)
{
	GHashTableIter iter;
	DfuctlJob *job;

	g_hash_table_iter_init(&iter, self->jobs);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&job)) {
		if (!dfuctl_job_is_finished(job))
			return FALSE;
	}
	return TRUE;
}

static void
follow_check_done(DfuctlFollow *self)
{
	if (!self->watching || self->until_idle)
		self->done = follow_idle(self);
}

static gboolean
filter_matches(const char *item, const DfuctlJob *job)
{
	g_autofree char *path = dfuctl_job_path_from_arg(item, NULL);

	if (path != NULL)
		return g_strcmp0(path, job->path) == 0;
	return g_strcmp0(item, job->target) == 0 || g_strcmp0(item, job->device) == 0;
}

static gboolean
follow_wants(DfuctlFollow *self, const DfuctlJob *job)
{
	if (self->filter == NULL || self->filter[0] == NULL)
		return TRUE;
	for (guint i = 0; self->filter[i] != NULL; i++) {
		if (filter_matches(self->filter[i], job))
			return TRUE;
	}
	return FALSE;
}

/* takes job; shows it when the watch's filter lets it through */
static void
follow_show_new(DfuctlFollow *self, DfuctlJob *job, const char *event)
{
	if (job->device == NULL)
		dfuctl_job_set_device(job, dfuctl_fleet_name_for_target(self->fleet, job->target));
	if (!follow_wants(self, job)) {
		dfuctl_job_free(job);
		return;
	}
	g_hash_table_replace(self->jobs, job->path, job);
	dfuctl_view_add(self->view, job, event);
}

/* a watch tells each result once, when the job finishes */
static void
follow_report_finished(DfuctlFollow *self, const DfuctlJob *job)
{
	g_autofree char *result = NULL;

	if (self->mode == DFUCTL_OUTPUT_JSON) {
		dfuctl_json_print_job(stdout, job, "finished");
	} else {
		result = dfuctl_format_result(job);
		printf("%s\n", result);
	}
	fflush(stdout);
}

static int
on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	DfuctlJob *job = g_hash_table_lookup(self->jobs, sd_bus_message_get_path(m));
	g_autoptr(GVariant) changed = NULL;
	GError *error = NULL;
	const char *interface = NULL;
	gboolean was_finished;

	if (job == NULL || !follow_is_new(self, m))
		return 0;
	if (sd_bus_message_read(m, "s", &interface) < 0 || g_strcmp0(interface, DFUCTL_JOB_INTERFACE) != 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, &error);
	if (changed == NULL)
		return follow_fail(self, error);
	was_finished = dfuctl_job_is_finished(job);
	dfuctl_job_update(job, changed);
	dfuctl_view_changed(self->view, job, "changed");
	if (self->watching && !was_finished && dfuctl_job_is_finished(job))
		follow_report_finished(self, job);
	follow_check_done(self);
	return 0;
}

static void
follow_add_from_interfaces(DfuctlFollow *self, const char *path, GVariant *interfaces, const char *event)
{
	g_autoptr(GVariant) job_props =
	        g_variant_lookup_value(interfaces, DFUCTL_JOB_INTERFACE, G_VARIANT_TYPE_VARDICT);
	g_autoptr(GVariant) device_props =
	        g_variant_lookup_value(interfaces, DFUCTL_DEVICE_INTERFACE, G_VARIANT_TYPE_VARDICT);
	DfuctlJob *job;

	if (device_props != NULL)
		dfuctl_fleet_add(self->fleet, path, device_props);
	if (job_props == NULL || !self->watching)
		return;
	job = dfuctl_job_new(path);
	dfuctl_job_update(job, job_props);
	follow_show_new(self, job, event);
}

static int
on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	g_autoptr(GVariant) interfaces = NULL;
	GError *error = NULL;
	const char *path = NULL;

	if (!follow_is_new(self, m) || sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	interfaces = dfu_bus_read_gvariant(m, &error);
	if (interfaces == NULL)
		return follow_fail(self, error);
	follow_add_from_interfaces(self, path, interfaces, "added");
	follow_check_done(self);
	return 0;
}

static int
on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	DfuctlJob *job;
	const char *path = NULL;

	if (!follow_is_new(self, m) || sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	dfuctl_fleet_remove(self->fleet, path);
	job = g_hash_table_lookup(self->jobs, path);
	if (job == NULL || !self->watching)
		return 0;
	if (self->mode == DFUCTL_OUTPUT_JSON)
		dfuctl_json_print_job(stdout, job, "removed");
	else
		printf("job %" G_GUINT64_FORMAT " %s: removed\n", job->id, dfuctl_job_device(job));
	fflush(stdout);
	dfuctl_view_remove(self->view, job);
	g_hash_table_remove(self->jobs, path);
	follow_check_done(self);
	return 0;
}

static int
on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	const char *name = NULL;
	const char *old_owner = NULL;
	const char *new_owner = NULL;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (g_strcmp0(old_owner, self->daemon) == 0)
		self->daemon_gone = TRUE;
	return 0;
}

static gboolean
follow_add_match(DfuctlFollow *self, gsize slot, const char *rule, sd_bus_message_handler_t handler,
                 GError **error)
{
	int r = sd_bus_add_match(self->bus, &self->slots[slot], rule, handler, self);

	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR,
		            "cannot subscribe to the daemon's signals: %s", g_strerror(-r));
		return FALSE;
	}
	return TRUE;
}

DfuctlFollow *
dfuctl_follow_new(sd_bus *bus, DfuctlOutputMode mode, GError **error)
{
	g_autoptr(DfuctlFollow) self = g_new0(DfuctlFollow, 1);
	g_autofree char *properties = NULL;
	g_autofree char *added = NULL;
	g_autofree char *removed = NULL;

	self->bus = sd_bus_ref(bus);
	self->mode = mode;
	self->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)dfuctl_job_free);
	self->fleet = dfuctl_fleet_new();
	self->daemon = dfuctl_bus_get_daemon(bus, error);
	if (self->daemon == NULL)
		return NULL;

	properties =
	        g_strdup_printf("type='signal',sender='%s',interface='org.freedesktop.DBus.Properties',"
	                        "member='PropertiesChanged',path_namespace='" DFUCTL_MANAGER_PATH "/job'",
	                        self->daemon);
	added = g_strdup_printf("type='signal',sender='%s',path='" DFUCTL_MANAGER_PATH "',"
	                        "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
	                        self->daemon);
	removed = g_strdup_printf("type='signal',sender='%s',path='" DFUCTL_MANAGER_PATH "',"
	                          "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
	                          self->daemon);
	if (!follow_add_match(self, 0,
	                      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
	                      "member='NameOwnerChanged',arg0='" DFUCTL_BUS_NAME "'",
	                      on_name_owner_changed, error) ||
	    !follow_add_match(self, 1, properties, on_properties_changed, error) ||
	    !follow_add_match(self, 2, added, on_interfaces_added, error) ||
	    !follow_add_match(self, 3, removed, on_interfaces_removed, error))
		return NULL;
	return g_steal_pointer(&self);
}

void
dfuctl_follow_free(DfuctlFollow *self)
{
	if (self == NULL)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(self->slots); i++)
		g_clear_pointer(&self->slots[i], sd_bus_slot_unref);
	g_clear_pointer(&self->view, dfuctl_view_free);
	g_clear_pointer(&self->jobs, g_hash_table_unref);
	g_clear_pointer(&self->fleet, dfuctl_fleet_free);
	g_clear_error(&self->error);
	g_strfreev(self->filter);
	g_free(self->daemon);
	sd_bus_unref(self->bus);
	g_free(self);
}

/* dispatches signals until done, the daemon goes away or an error occurs */
static gboolean
follow_run(DfuctlFollow *self, GError **error)
{
	guint64 timeout = self->mode == DFUCTL_OUTPUT_TTY && !self->watching ? FOLLOW_TICK_US : UINT64_MAX;

	while (!self->done) {
		int r = sd_bus_process(self->bus, NULL);

		if (self->error != NULL) {
			g_propagate_error(error, g_steal_pointer(&self->error));
			return FALSE;
		}
		if (self->daemon_gone) {
			g_set_error_literal(error, DFU_ERROR, DFU_STATUS_DAEMON_STOPPED, "dfud stopped");
			return FALSE;
		}
		if (r > 0)
			continue;
		if (r == 0)
			r = sd_bus_wait(self->bus, timeout);
		if (r == 0)
			dfuctl_view_tick(self->view);
		if (r < 0 && r != -EINTR) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "lost the bus: %s",
			            g_strerror(-r));
			return FALSE;
		}
	}
	return TRUE;
}

/* reads every object of the daemon; what signals say from here on is news */
static GVariant *
follow_read_objects(DfuctlFollow *self, GError **error)
{
	g_autoptr(GVariant) objects = dfuctl_bus_get_objects(self->bus, &self->min_cookie, error);
	g_autoptr(DfuctlFleet) fleet = NULL;

	if (objects == NULL)
		return NULL;
	fleet = dfuctl_fleet_new_from_objects(objects);
	dfuctl_fleet_free(self->fleet);
	self->fleet = g_steal_pointer(&fleet);
	return g_steal_pointer(&objects);
}

static DfuctlJob *
job_from_objects(GVariant *objects, const char *path)
{
	g_autoptr(GVariant) interfaces = g_variant_lookup_value(objects, path, G_VARIANT_TYPE("a{sa{sv}}"));
	g_autoptr(GVariant) properties = NULL;
	DfuctlJob *job;

	if (interfaces != NULL)
		properties = g_variant_lookup_value(interfaces, DFUCTL_JOB_INTERFACE, G_VARIANT_TYPE_VARDICT);
	if (properties == NULL)
		return NULL;
	job = dfuctl_job_new(path);
	dfuctl_job_update(job, properties);
	return job;
}

GPtrArray *
dfuctl_follow_jobs(DfuctlFollow *self, const char *const *paths, const char *const *devices, GError **error)
{
	g_autoptr(GVariant) objects = follow_read_objects(self, error);
	g_autoptr(GPtrArray) finished = g_ptr_array_new_with_free_func((GDestroyNotify)dfuctl_job_free);
	gboolean ok;

	if (objects == NULL)
		return NULL;
	self->view = dfuctl_view_new(self->mode, stdout);
	for (guint i = 0; paths[i] != NULL; i++) {
		DfuctlJob *job = job_from_objects(objects, paths[i]);

		if (job == NULL) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND, "job %s is gone", paths[i]);
			return NULL;
		}
		if (devices != NULL)
			dfuctl_job_set_device(job, devices[i]);
		follow_show_new(self, job, NULL);
	}
	follow_check_done(self);
	ok = follow_run(self, error);
	dfuctl_view_finish(self->view);
	if (!ok)
		return NULL;
	for (guint i = 0; paths[i] != NULL; i++) {
		gpointer key = NULL;
		gpointer job = NULL;

		if (g_hash_table_steal_extended(self->jobs, paths[i], &key, &job))
			g_ptr_array_add(finished, job);
	}
	return g_steal_pointer(&finished);
}

gboolean
dfuctl_follow_watch(DfuctlFollow *self, const char *const *filter, gboolean until_idle, GError **error)
{
	g_autoptr(GVariant) objects = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;

	self->watching = TRUE;
	self->until_idle = until_idle;
	self->filter = g_strdupv((GStrv)filter);
	/* several jobs come and go: a line per change, not lines redrawn in place */
	self->view =
	        dfuctl_view_new(self->mode == DFUCTL_OUTPUT_TTY ? DFUCTL_OUTPUT_PLAIN : self->mode, stdout);
	objects = follow_read_objects(self, error);
	if (objects == NULL)
		return FALSE;
	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		follow_add_from_interfaces(self, path, interfaces, "present");
		g_variant_unref(interfaces);
	}
	follow_check_done(self);
	return follow_run(self, error);
}
