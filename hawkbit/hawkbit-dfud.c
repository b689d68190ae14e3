/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-autoptr.h"
#include "bus-connect.h"
#include "bus-glib.h"
#include "bus-variant.h"
#include "dfu-error.h"
#include "hawkbit-dfud.h"

#define DFUD_NAME "org.dfud1"
#define DFUD_PATH "/org/dfud1"
#define MANAGER_INTERFACE "org.dfud1.Manager"
#define JOB_INTERFACE "org.dfud1.Job"

struct _HbDfud {
	sd_bus *bus;
	guint source_id;
	sd_bus_slot *finished_slot;
	sd_bus_slot *changed_slot;
	sd_bus_slot *owner_slot;
	sd_bus_slot *manager_slot;
	/* dfud is on the bus and has loaded its stored jobs: a job it does not know is gone */
	gboolean loaded;
	HbDfudEvents events;
	gpointer user_data;
};

typedef struct {
	HbDfud *dfud;
	char *path;
	HbDfudJobDone job_done;
	HbDfudObjectsDone objects_done;
	gpointer user_data;
} Call;

static void
call_free(gpointer data)
{
	Call *call = data;

	g_free(call->path);
	g_free(call);
}

/* bus errors that mean dfud is not there (now): the call may be made again */
static const char *const absent_errors[] = {
        SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_NO_REPLY,
        SD_BUS_ERROR_TIMEOUT,         SD_BUS_ERROR_DISCONNECTED,
};

static GError *
reply_error(sd_bus_message *reply)
{
	const sd_bus_error *e = sd_bus_message_get_error(reply);

	if (e == NULL)
		return NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(absent_errors); i++) {
		if (sd_bus_error_has_name(e, absent_errors[i]))
			return g_error_new(DFU_ERROR, DFU_STATUS_DAEMON_STOPPED, "dfud is not running: %s",
			                   e->message != NULL ? e->message : e->name);
	}
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_INTERFACE))
		return g_error_new(DFU_ERROR, DFU_STATUS_NOT_FOUND, "no such job: %s", e->message);
	return g_error_new(DFU_ERROR, (gint)dfu_error_from_dbus_name(e->name), "%s",
	                   e->message != NULL ? e->message : e->name);
}

static int
job_reply_cb(sd_bus_message *reply, void *user_data, sd_bus_error *ret_error)
{
	Call *call = user_data;
	g_autoptr(GError) error = reply_error(reply);
	g_autoptr(GVariant) value = NULL;
	const char *path = call->path;

	/* while dfud loads its stored jobs after a start, a job not there yet is no gone job */
	if (error != NULL && error->code == DFU_STATUS_NOT_FOUND && !call->dfud->loaded) {
		g_clear_error(&error);
		error = g_error_new(DFU_ERROR, DFU_STATUS_DAEMON_STOPPED, "dfud is loading its jobs");
	}
	if (error == NULL && !sd_bus_message_is_empty(reply)) {
		value = dfu_bus_read_gvariant(reply, &error);
		if (value != NULL && g_variant_is_of_type(value, G_VARIANT_TYPE_OBJECT_PATH)) {
			path = g_variant_get_string(value, NULL);
		}
	}
	call->job_done(path,
	               value != NULL && g_variant_is_of_type(value, G_VARIANT_TYPE_VARDICT) ? value : NULL,
	               error, call->user_data);
	return 0;
}

static int
objects_reply_cb(sd_bus_message *reply, void *user_data, sd_bus_error *ret_error)
{
	Call *call = user_data;
	g_autoptr(GError) error = reply_error(reply);
	g_autoptr(GVariant) value = NULL;

	if (error == NULL)
		value = dfu_bus_read_gvariant(reply, &error);
	call->objects_done(value, error, call->user_data);
	return 0;
}

static Call *
call_new(HbDfud *self, const char *path, HbDfudJobDone done, gpointer user_data)
{
	Call *call = g_new0(Call, 1);

	call->dfud = self;
	call->path = g_strdup(path);
	call->job_done = done;
	call->user_data = user_data;
	return call;
}

/* an sd-bus error from starting a call goes to the callback from the main loop, like a reply's */
typedef struct {
	Call *call;
	GError *error;
} FailedCall;

static gboolean
failed_call_cb(gpointer data)
{
	FailedCall *f = data;

	if (f->call->job_done != NULL)
		f->call->job_done(f->call->path, NULL, f->error, f->call->user_data);
	else
		f->call->objects_done(NULL, f->error, f->call->user_data);
	call_free(f->call);
	g_error_free(f->error);
	g_free(f);
	return G_SOURCE_REMOVE;
}

static void
call_started(Call *call, sd_bus_slot *slot, int r)
{
	FailedCall *f;

	if (r >= 0) {
		sd_bus_slot_set_destroy_callback(slot, call_free);
		sd_bus_slot_set_floating(slot, 1);
		sd_bus_slot_unref(slot);
		return;
	}
	f = g_new0(FailedCall, 1);
	f->call = call;
	f->error = g_error_new(DFU_ERROR, DFU_STATUS_DAEMON_STOPPED, "cannot call dfud: %s", g_strerror(-r));
	g_idle_add(failed_call_cb, f);
}

void
hb_dfud_submit_url(HbDfud *self, const char *target, const char *url, GVariant *options, HbDfudJobDone done,
                   gpointer user_data)
{
	g_autoptr(GVariant) owned = g_variant_ref_sink(options);
	g_autoptr(sd_bus_message) m = NULL;
	Call *call = call_new(self, NULL, done, user_data);
	sd_bus_slot *slot = NULL;
	int r;

	r = sd_bus_message_new_method_call(self->bus, &m, DFUD_NAME, DFUD_PATH, MANAGER_INTERFACE,
	                                   "SubmitUrl");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", target, url);
	if (r >= 0)
		r = dfu_bus_append_gvariant(m, owned);
	if (r >= 0)
		r = sd_bus_call_async(self->bus, &slot, m, job_reply_cb, call, 0);
	call_started(call, slot, r);
}

void
hb_dfud_cancel(HbDfud *self, const char *path, HbDfudJobDone done, gpointer user_data)
{
	Call *call = call_new(self, path, done, user_data);
	sd_bus_slot *slot = NULL;
	int r = sd_bus_call_method_async(self->bus, &slot, DFUD_NAME, path, JOB_INTERFACE, "Cancel",
	                                 job_reply_cb, call, NULL);

	call_started(call, slot, r);
}

void
hb_dfud_get_job(HbDfud *self, const char *path, HbDfudJobDone done, gpointer user_data)
{
	Call *call = call_new(self, path, done, user_data);
	sd_bus_slot *slot = NULL;
	int r = sd_bus_call_method_async(self->bus, &slot, DFUD_NAME, path, "org.freedesktop.DBus.Properties",
	                                 "GetAll", job_reply_cb, call, "s", JOB_INTERFACE);

	call_started(call, slot, r);
}

void
hb_dfud_get_objects(HbDfud *self, HbDfudObjectsDone done, gpointer user_data)
{
	Call *call = call_new(self, NULL, NULL, user_data);
	sd_bus_slot *slot = NULL;
	int r;

	call->objects_done = done;
	/* a list without the jobs still loading would tell of submissions that never happened */
	if (!self->loaded) {
		call_started(call, NULL, -EAGAIN);
		return;
	}
	r = sd_bus_call_method_async(self->bus, &slot, DFUD_NAME, DFUD_PATH,
	                             "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
	                             objects_reply_cb, call, NULL);
	call_started(call, slot, r);
}

static int
job_finished_cb(sd_bus_message *m, void *user_data, sd_bus_error *ret_error)
{
	HbDfud *self = user_data;
	const char *path = NULL;
	guint32 code = 0;

	if (sd_bus_message_read(m, "ou", &path, &code) >= 0)
		self->events.job_finished(path, code, self->user_data);
	return 0;
}

static int
properties_changed_cb(sd_bus_message *m, void *user_data, sd_bus_error *ret_error)
{
	HbDfud *self = user_data;
	g_autoptr(GVariant) changed = NULL;
	const char *interface = NULL;

	if (sd_bus_message_read(m, "s", &interface) < 0 || g_strcmp0(interface, JOB_INTERFACE) != 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, NULL);
	if (changed != NULL)
		self->events.job_changed(sd_bus_message_get_path(m), changed, self->user_data);
	return 0;
}

static void
dfud_set_loaded(HbDfud *self)
{
	if (self->loaded)
		return;
	self->loaded = TRUE;
	self->events.daemon_appeared(self->user_data);
}

static int
loading_reply_cb(sd_bus_message *reply, void *user_data, sd_bus_error *ret_error)
{
	HbDfud *self = user_data;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	int loading = 0;

	/* not there: its NameOwnerChanged asks again; a dfud without the property loads before it answers */
	if (e != NULL && (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	                  sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER)))
		return 0;
	if (e == NULL && sd_bus_message_read(reply, "v", "b", &loading) >= 0 && loading)
		return 0;
	dfud_set_loaded(self);
	return 0;
}

static void
dfud_query_loading(HbDfud *self)
{
	self->loaded = FALSE;
	if (sd_bus_call_method_async(self->bus, NULL, DFUD_NAME, DFUD_PATH, "org.freedesktop.DBus.Properties",
	                             "Get", loading_reply_cb, self, "ss", MANAGER_INTERFACE, "Loading") < 0)
		g_warning("cannot ask dfud whether it is loading its jobs");
}

static int
manager_changed_cb(sd_bus_message *m, void *user_data, sd_bus_error *ret_error)
{
	HbDfud *self = user_data;
	g_autoptr(GVariant) changed = NULL;
	const char *interface = NULL;
	gboolean loading = TRUE;

	if (sd_bus_message_read(m, "s", &interface) < 0 || g_strcmp0(interface, MANAGER_INTERFACE) != 0)
		return 0;
	changed = dfu_bus_read_gvariant(m, NULL);
	if (changed != NULL && g_variant_lookup(changed, "Loading", "b", &loading) && !loading)
		dfud_set_loaded(self);
	return 0;
}

static int
owner_changed_cb(sd_bus_message *m, void *user_data, sd_bus_error *ret_error)
{
	HbDfud *self = user_data;
	const char *name = NULL, *old_owner = NULL, *new_owner = NULL;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	self->loaded = FALSE;
	if (new_owner[0] != '\0')
		dfud_query_loading(self);
	return 0;
}

static gboolean
bus_closed_cb(gpointer user_data)
{
	HbDfud *self = user_data;

	self->source_id = 0;
	self->events.bus_closed(self->user_data);
	return G_SOURCE_REMOVE;
}

HbDfud *
hb_dfud_new(const HbDfudEvents *events, gpointer user_data, GError **error)
{
	g_autoptr(sd_bus) bus = dfu_bus_connect(g_strcmp0(g_getenv("DFUD_BUS"), "session") == 0, error);
	HbDfud *self;
	int r;

	if (bus == NULL)
		return NULL;
	self = g_new0(HbDfud, 1);
	self->bus = g_steal_pointer(&bus);
	self->events = *events;
	self->user_data = user_data;
	r = sd_bus_match_signal(self->bus, &self->finished_slot, DFUD_NAME, DFUD_PATH, MANAGER_INTERFACE,
	                        "JobFinished", job_finished_cb, self);
	if (r >= 0)
		r = sd_bus_add_match(self->bus, &self->changed_slot,
		                     "type='signal',sender='" DFUD_NAME
		                     "',interface='org.freedesktop.DBus.Properties',"
		                     "member='PropertiesChanged',path_namespace='" DFUD_PATH "/job'",
		                     properties_changed_cb, self);
	if (r >= 0)
		r = sd_bus_add_match(
		        self->bus, &self->owner_slot,
		        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
		        "member='NameOwnerChanged',arg0='" DFUD_NAME "'",
		        owner_changed_cb, self);
	if (r >= 0)
		r = sd_bus_add_match(self->bus, &self->manager_slot,
		                     "type='signal',sender='" DFUD_NAME
		                     "',interface='org.freedesktop.DBus.Properties',"
		                     "member='PropertiesChanged',path='" DFUD_PATH "'",
		                     manager_changed_cb, self);
	if (r < 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INTERNAL_ERROR, "cannot watch dfud's signals: %s",
		            g_strerror(-r));
		hb_dfud_free(self);
		return NULL;
	}
	self->source_id = dfu_bus_attach_glib(self->bus, NULL, bus_closed_cb, self);
	dfud_query_loading(self);
	return self;
}

void
hb_dfud_free(HbDfud *self)
{
	if (self == NULL)
		return;
	sd_bus_slot_unref(self->finished_slot);
	sd_bus_slot_unref(self->changed_slot);
	sd_bus_slot_unref(self->owner_slot);
	sd_bus_slot_unref(self->manager_slot);
	g_clear_handle_id(&self->source_id, g_source_remove);
	sd_bus_flush_close_unref(self->bus);
	g_free(self);
}
