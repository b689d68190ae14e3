/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "dfu-error.h"
#include "dfuctl-bus.h"
#include "dfuctl-follow.h"
#include "dfuctl-json.h"
#include "dfuctl-output.h"
#include "bus-variant.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_slot, sd_bus_slot_unref)

typedef struct {
	DfuctlJob *job;
	DfuctlProgress progress;
} DfuctlFollowed;

struct _DfuctlFollow {
	sd_bus *bus;
	char *daemon; /* unique name of the daemon */
	DfuctlOutputMode mode;
	GHashTable *jobs;         /* path -> DfuctlFollowed */
	guint64 min_cookie;       /* signals up to this cookie are older than the state read */
	gboolean all;             /* announce every job, not just the one followed */
	DfuctlFollowed *followed; /* the one job followed, if any */
	gboolean followed_done;
	gboolean daemon_gone;
	GError *error; /* the first error met in a signal handler */
	sd_bus_slot *slots[5];
};

static void
followed_free(DfuctlFollowed *followed)
{
	dfuctl_progress_clear(&followed->progress);
	dfuctl_job_free(followed->job);
	g_free(followed);
}

static DfuctlFollowed *
follow_track(DfuctlFollow *self, DfuctlJob *job)
{
	DfuctlFollowed *followed = g_new0(DfuctlFollowed, 1);

	/* several jobs cannot share one redrawn line */
	dfuctl_progress_init(&followed->progress,
	                     self->all && self->mode == DFUCTL_OUTPUT_TTY ? DFUCTL_OUTPUT_PLAIN : self->mode);
	followed->job = job;
	g_hash_table_replace(self->jobs, job->path, followed);
	return followed;
}

/* FALSE for signals that the state read already covers */
static gboolean
follow_is_new(DfuctlFollow *self, sd_bus_message *m)
{
	guint64 cookie = 0;

	if (sd_bus_message_get_cookie(m, &cookie) < 0)
		return TRUE;
	return cookie > self->min_cookie;
}

static void
follow_show(DfuctlFollow *self, DfuctlFollowed *followed, const char *event)
{
	if (self->mode == DFUCTL_OUTPUT_JSON && event != NULL) {
		dfuctl_json_print_job(stdout, followed->job, event);
		fflush(stdout);
		return;
	}
	dfuctl_progress_show(&followed->progress, followed->job, g_get_monotonic_time(), stdout);
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

static int
on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	DfuctlFollowed *followed = g_hash_table_lookup(self->jobs, sd_bus_message_get_path(m));
	g_autoptr(GVariant) changed = NULL;
	GError *error = NULL;
	const char *interface = NULL;

	if (followed == NULL || !follow_is_new(self, m))
		return 0;
	if (sd_bus_message_read(m, "s", &interface) < 0 || g_strcmp0(interface, DFUCTL_JOB_INTERFACE) != 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, &error);
	if (changed == NULL)
		return follow_fail(self, error);
	dfuctl_job_update(followed->job, changed);
	follow_show(self, followed, "changed");
	if (followed == self->followed && dfuctl_job_is_finished(followed->job))
		self->followed_done = TRUE;
	return 0;
}

static void
follow_add_from_interfaces(DfuctlFollow *self, const char *path, GVariant *interfaces, const char *event)
{
	g_autoptr(GVariant) properties =
	        g_variant_lookup_value(interfaces, DFUCTL_JOB_INTERFACE, G_VARIANT_TYPE_VARDICT);
	DfuctlFollowed *followed;
	DfuctlJob *job;

	if (properties == NULL)
		return;
	job = dfuctl_job_new(path);
	dfuctl_job_update(job, properties);
	followed = follow_track(self, job);
	follow_show(self, followed, event);
}

static int
on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	g_autoptr(GVariant) interfaces = NULL;
	GError *error = NULL;
	const char *path = NULL;

	if (!self->all || !follow_is_new(self, m))
		return 0;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	interfaces = dfu_bus_read_gvariant(m, &error);
	if (interfaces == NULL)
		return follow_fail(self, error);
	follow_add_from_interfaces(self, path, interfaces, "added");
	return 0;
}

static int
on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	DfuctlFollowed *followed;
	const char *path = NULL;

	if (!self->all || !follow_is_new(self, m) || sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	followed = g_hash_table_lookup(self->jobs, path);
	if (followed == NULL)
		return 0;
	if (self->mode == DFUCTL_OUTPUT_JSON)
		dfuctl_json_print_job(stdout, followed->job, "removed");
	else
		printf("job %" G_GUINT64_FORMAT ": removed\n", followed->job->id);
	fflush(stdout);
	g_hash_table_remove(self->jobs, path);
	return 0;
}

static int
on_job_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	DfuctlFollow *self = userdata;
	DfuctlFollowed *followed;
	g_autofree char *result = NULL;
	const char *path = NULL;
	guint32 code = 0;

	if (!self->all || !follow_is_new(self, m) || sd_bus_message_read(m, "ou", &path, &code) < 0)
		return 0;
	followed = g_hash_table_lookup(self->jobs, path);
	if (followed == NULL)
		return 0;
	if (self->mode == DFUCTL_OUTPUT_JSON) {
		dfuctl_json_print_job(stdout, followed->job, "finished");
	} else {
		result = dfuctl_format_result(followed->job);
		printf("%s\n", result);
	}
	fflush(stdout);
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
	g_autofree char *finished = NULL;

	self->bus = sd_bus_ref(bus);
	self->mode = mode;
	self->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)followed_free);
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
	finished = g_strdup_printf("type='signal',sender='%s',path='" DFUCTL_MANAGER_PATH "',"
	                           "interface='" DFUCTL_MANAGER_INTERFACE "',member='JobFinished'",
	                           self->daemon);
	if (!follow_add_match(self, 0,
	                      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
	                      "member='NameOwnerChanged',arg0='" DFUCTL_BUS_NAME "'",
	                      on_name_owner_changed, error) ||
	    !follow_add_match(self, 1, properties, on_properties_changed, error) ||
	    !follow_add_match(self, 2, added, on_interfaces_added, error) ||
	    !follow_add_match(self, 3, removed, on_interfaces_removed, error) ||
	    !follow_add_match(self, 4, finished, on_job_finished, error))
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
	g_clear_pointer(&self->jobs, g_hash_table_unref);
	g_clear_error(&self->error);
	g_free(self->daemon);
	sd_bus_unref(self->bus);
	g_free(self);
}

/* dispatches signals until done is set, the daemon goes away or an error occurs */
static gboolean
follow_run(DfuctlFollow *self, const gboolean *done, GError **error)
{
	while (!*done) {
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
			r = sd_bus_wait(self->bus, UINT64_MAX);
		if (r < 0 && r != -EINTR) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "lost the bus: %s",
			            g_strerror(-r));
			return FALSE;
		}
	}
	return TRUE;
}

DfuctlJob *
dfuctl_follow_job(DfuctlFollow *self, const char *path, GError **error)
{
	DfuctlFollowed *followed;
	DfuctlJob *job;
	gboolean ok;

	job = dfuctl_bus_get_job(self->bus, path, &self->min_cookie, error);
	if (job == NULL)
		return NULL;
	followed = follow_track(self, job);
	follow_show(self, followed, NULL);
	self->followed = followed;
	self->followed_done = dfuctl_job_is_finished(job);
	ok = follow_run(self, &self->followed_done, error);
	dfuctl_progress_finish(&followed->progress, stdout);
	self->followed = NULL;
	if (!ok)
		return NULL;
	followed->job = NULL;
	g_hash_table_remove(self->jobs, path);
	return job;
}

gboolean
dfuctl_follow_all(DfuctlFollow *self, GError **error)
{
	g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GVariant) objects = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;
	gboolean never = FALSE;
	int r;

	self->all = TRUE;
	r = sd_bus_call_method(self->bus, DFUCTL_BUS_NAME, DFUCTL_MANAGER_PATH,
	                       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &bus_error, &reply,
	                       NULL);
	if (!dfuctl_bus_check(r, &bus_error, error))
		return FALSE;
	if (sd_bus_message_get_cookie(reply, &self->min_cookie) < 0)
		self->min_cookie = 0;
	objects = dfu_bus_read_gvariant(reply, error);
	if (objects == NULL)
		return FALSE;
	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		follow_add_from_interfaces(self, path, interfaces, "present");
		g_variant_unref(interfaces);
	}
	return follow_run(self, &never, error);
}
